"""The HTTP front under hostile clients: slow headers must not lock anyone out,
connections are capped per client address and in all (shedding the oldest
idle or slow ones first), request framing must be unambiguous (no request
smuggling), and an empty metadata value survives the round trip.

Slow clients come from other loopback addresses (127.0.0.2 and up), so the
per-address cap applies to them and not to the well-behaved client on
127.0.0.1."""

import os
import socket
import subprocess
import time

import boto3
import pytest
from botocore.config import Config

from support import s3raw
from support.data import random_bytes, unique_bucket
from support.server import clean_env, make_client

pytestmark = pytest.mark.own_backends


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class SlowClients:
    """n connections from sources 127.0.0.2.. (per_ip each), each sending a
    request's headers one byte at a time and never finishing them."""

    REQUEST = b"GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4096

    def __init__(self, port, n, per_ip, first_ip=0):
        self.port, self.socks, self.pos = port, [], []
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            k = first_ip + i // per_ip  # 127.0.0.2, 127.0.0.3, ...
            s.bind((f"127.0.{k // 250}.{2 + k % 250}", 0))
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", port))
            except BlockingIOError:
                pass
            self.socks.append(s)
            self.pos.append(0)

    def tick(self):
        """One more byte on every connection still open; returns how many
        the server has closed so far."""
        closed = 0
        for i, s in enumerate(self.socks):
            if s is None:
                closed += 1
                continue
            try:
                if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                self.socks[i] = None
                closed += 1
                continue
            try:
                s.send(self.REQUEST[self.pos[i]:self.pos[i] + 1])
                self.pos[i] = (self.pos[i] + 1) % len(self.REQUEST)
            except (BlockingIOError, OSError):
                pass
        return closed

    def close(self):
        for s in self.socks:
            if s is not None:
                s.close()


def _timed_gets(s3, bucket, key, body, seconds, slow):
    """Signed GETs for `seconds`, ticking the slow clients in between;
    returns the slowest GET's time."""
    worst = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        slow.tick()
        t0 = time.monotonic()
        got = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        worst = max(worst, time.monotonic() - t0)
        assert got == body
        time.sleep(0.2)
    return worst


def test_slow_header_clients_do_not_lock_out_a_normal_get(orchard_factory):
    # 2,000 slow-header connections from 40 addresses, 50 each: well under
    # every cap, so all are held open, and none may hold a thread.
    server = orchard_factory(header_timeout=30)
    s3 = server.client()
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(100 * 1024, seed=8)
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    rss_before = _rss_kib(server.pid)
    slow = SlowClients(server.port, 2000, per_ip=50)
    try:
        time.sleep(1.0)
        assert slow.tick() == 0  # all held open
        # A fresh connection for every GET, as a new client would make.
        worst = 0.0
        for _ in range(3):
            fresh = make_client(server.endpoint, *server.creds)
            worst = max(worst, _timed_gets(fresh, bucket, "k", body, 3, slow))
        assert worst < 1.0, f"a GET took {worst:.2f} s with 2,000 slow clients"
        assert slow.tick() < 50  # they were not simply all refused
        rss_after = _rss_kib(server.pid)
        # 2,000 connections with 64 KiB pools at most, and no thread each.
        assert rss_after - rss_before < 200 * 1024, (rss_before, rss_after)
    finally:
        slow.close()


def test_header_deadline_closes_slow_clients(orchard_factory):
    server = orchard_factory(header_timeout=2)
    slow = SlowClients(server.port, 20, per_ip=20)
    try:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 8 and slow.tick() < 20:
            time.sleep(0.25)
        assert slow.tick() == 20, "headers that never complete must be cut at the deadline"
        assert time.monotonic() - t0 > 1.5  # and not before it
        s3 = server.client()
        s3.list_buckets()
    finally:
        slow.close()


def test_at_the_connection_cap_the_oldest_slow_clients_are_shed(orchard_factory):
    server = orchard_factory(max_connections=200, header_timeout=60)
    s3 = server.client()
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    body = b"x" * 1000
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    old = SlowClients(server.port, 150, per_ip=10)
    time.sleep(0.5)
    old.tick()
    new = SlowClients(server.port, 150, per_ip=10, first_ip=100)
    try:
        time.sleep(1.0)
        new.tick()
        shed_old = old.tick()
        assert shed_old > 50, "the oldest slow connections make room"
        worst = _timed_gets(make_client(server.endpoint, *server.creds), bucket, "k", body, 3, new)
        assert worst < 1.0
    finally:
        old.close()
        new.close()


def test_connections_per_address_are_capped(orchard_factory):
    server = orchard_factory(max_connections_per_ip=10)
    slow = SlowClients(server.port, 30, per_ip=30)
    try:
        time.sleep(1.0)
        closed = slow.tick()
        time.sleep(0.5)
        closed = slow.tick()
        assert closed == 20, f"{closed} of 30 closed; the cap is 10 per address"
        server.client().list_buckets()  # another address is not affected
    finally:
        slow.close()


def _raw(port, request, timeout=5):
    """Sends raw bytes and returns everything the server answers until it
    closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(request)
        out = b""
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        except socket.timeout:
            pass
        return out


@pytest.mark.parametrize("framing", [
    b"Content-Length: 3\r\nContent-Length: 30\r\n",
    b"Content-Length: 3\r\nContent-Length: 3\r\n",
    b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip\r\n",
    b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: 3x\r\n",
], ids=["two-lengths", "repeated-length", "length-and-chunked", "gzip", "two-te", "bad-length"])
def test_ambiguous_framing_is_refused_and_the_connection_closed(server, s3, framing):
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    # A validly signed PUT of "abc" (unsigned payload), then the framing
    # headers under test, then bytes a proxy might read as a second request.
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", f"/{bucket}/smuggled",
                              payload_hash=s3raw.UNSIGNED_PAYLOAD)
    head = s3raw.raw_head("PUT", f"/{bucket}/smuggled", hdrs)[:-2]
    req = (head + framing + b"\r\nabc" + b"GET /" + bucket.encode() +
           b" HTTP/1.1\r\nHost: x\r\n\r\n" + b"0" * 27)
    out = _raw(server.port, req)
    status = out.split(b"\r\n", 1)[0]
    assert status.startswith(b"HTTP/1.1 400"), out[:200]
    # Nothing after the refused request may be served (it would be an
    # unsigned GET, answered AccessDenied).
    assert b"AccessDenied" not in out
    if framing != b"Content-Length: 3x\r\n":
        assert b"<Code>InvalidRequest</Code>" in out
        assert out.count(b"HTTP/1.1 ") == 1
    # else libmicrohttpd refuses it itself (0.9.75 sends its status line twice).
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="smuggled")


def test_empty_metadata_value_round_trips(s3, bucket):
    s3.put_object(Bucket=bucket, Key="m", Body=b"1", Metadata={"empty": "", "full": "v"})
    head = s3.head_object(Bucket=bucket, Key="m")
    assert head["Metadata"] == {"empty": "", "full": "v"}
    got = s3.get_object(Bucket=bucket, Key="m")
    assert got["Metadata"] == {"empty": "", "full": "v"}


def test_large_put_and_get_through_the_event_loop(s3, bucket):
    # Bodies larger than the pipeline's buffers pause and resume the
    # connection many times; bytes must come back exact.
    body = os.urandom(40 * 1024 * 1024 + 123)
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body
    got = s3.get_object(Bucket=bucket, Key="big", Range="bytes=1000-20000000")["Body"].read()
    assert got == body[1000:20000001]


def _self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_native_tls_with_boto3_and_awscli(orchard_factory, tmp_path):
    cert, key = _self_signed(tmp_path)
    server = orchard_factory(start=False, tls_cert=cert, tls_key=key)
    server.start()
    assert "endpoint: https://" in server.stdout_text
    endpoint = f"https://127.0.0.1:{server.port}"
    session = boto3.session.Session(aws_access_key_id=server.access_key,
                                    aws_secret_access_key=server.secret_key,
                                    region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=endpoint, verify=str(cert),
                        config=Config(s3={"addressing_style": "path"}))
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(3 * 1024 * 1024 + 5, seed=3)
    s3.put_object(Bucket=bucket, Key="secret", Body=body)
    assert s3.get_object(Bucket=bucket, Key="secret")["Body"].read() == body
    env = clean_env({"AWS_ACCESS_KEY_ID": server.access_key,
                     "AWS_SECRET_ACCESS_KEY": server.secret_key})
    out = subprocess.run(["aws", "--endpoint-url", endpoint, "--no-verify-ssl", "s3", "ls",
                          f"s3://{bucket}/"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "secret" in out.stdout
    # Plain HTTP to a TLS port is not served.
    with pytest.raises(Exception):
        make_client(server.endpoint, *server.creds).list_buckets()


def test_tls_with_a_bad_key_fails_the_start_with_one_line(orchard_factory, tmp_path):
    cert, _ = _self_signed(tmp_path)
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    server = orchard_factory(start=False, tls_cert=cert, tls_key=bad)
    with pytest.raises(RuntimeError) as exc:
        server.start(attempts=1)
    assert "tls_key" in str(exc.value)


def test_raw_nul_in_the_request_target_is_refused(server, s3):
    # PUT /b/victim<NUL>evil, signed over what a C string of it reads: must
    # not overwrite /b/victim.
    bucket = unique_bucket()
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="victim", Body=b"original")
    path = f"/{bucket}/victim"
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", path, body=b"x")
    head = s3raw.raw_head("PUT", path, {**hdrs, "Content-Length": "1"})
    head = head.replace(f"PUT {path} ".encode(), f"PUT {path}\0evil ".encode())
    out = _raw(server.port, head + b"x")
    assert out.startswith(b"HTTP/1.1 400"), out[:200]
    assert s3.get_object(Bucket=bucket, Key="victim")["Body"].read() == b"original"
