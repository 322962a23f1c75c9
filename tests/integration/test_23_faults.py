"""Faults found with a fault-injecting proxy (issue 9), reproduced with the
fault decorator (`fault_file` on a provider section, docs/configuration.md)
and with a proxy in front of s3rver that reads requests and never answers:

- a write whose client gave up is never committed later, and a write that
  started before an acknowledged one never replaces it (PUT, Complete);
- a hanging provider costs a request one deadline, not attempts x 30 s, is
  marked down, and a GET moves on to the other copy;
- a copy that fails verification counts as its provider's error;
- a GET with no good copy is a 503 with a message saying so, and a GET cut
  mid-body is an error for the client, never a short object."""

import http.client
import json
import os
import re
import socket
import threading
import time

import pytest
from botocore.exceptions import ClientError

from support import s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket
from support.disk import wait_until

pytestmark = pytest.mark.own_backends

MiB = 1024 * 1024
DEADLINE_MS = 6000  # longer than the clients' 3 s patience below


def set_faults(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def admin_view(server):
    r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return {p["name"]: p for p in json.loads(r.body)["providers"]}


def two_disks(orchard_factory, tmp_path, deadline_ms=DEADLINE_MS, **opts):
    """disk1 (with a fault file) and disk2, replicate:2, min_copies 1."""
    faults = str(tmp_path / "disk1.faults")
    set_faults(faults, "")
    providers = {
        "disk1": {"type": "fs", "path": str(tmp_path / "d1"), "fault_file": faults},
        "disk2": {"type": "fs", "path": str(tmp_path / "d2"), "fault_file": faults + "2"},
    }
    set_faults(faults + "2", "")
    server = orchard_factory(providers=providers, placement="replicate:2", min_copies=1,
                             deadline_base_ms=deadline_ms, probe_interval=1, **opts)
    s3 = server.client()
    bucket = unique_bucket("flt")
    s3.create_bucket(Bucket=bucket)
    return server, s3, bucket, faults, faults + "2"


def raw_put(server, bucket, key, body, timeout):
    """A signed PUT over a raw socket that gives up after timeout seconds
    (closing the connection, as an SDK that timed out does). Returns the
    status line, or None when it gave up."""
    path = f"/{bucket}/{key}"
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", path, body)
    hdrs["Content-Length"] = str(len(body))
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(s3raw.raw_head("PUT", path, hdrs) + body)
        sock.settimeout(timeout)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            return None
        return data.split(b"\r\n", 1)[0]
    finally:
        sock.close()


def test_put_whose_client_gave_up_is_never_committed(orchard_factory, tmp_path):
    server, s3, bucket, faults, _ = two_disks(orchard_factory, tmp_path)
    set_faults(faults, "put hang\n")
    t0 = time.monotonic()
    assert raw_put(server, bucket, "abandoned", random_bytes(MiB, seed=1), timeout=3) is None
    # The hang lasts the deadline; after it the gateway would commit. It must not.
    time.sleep(DEADLINE_MS / 1000 - (time.monotonic() - t0) + 2)
    set_faults(faults, "")
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="abandoned")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_slow_put_never_replaces_a_newer_acknowledged_put(orchard_factory, tmp_path):
    """The issue's sequence: the 1 MiB PUT is stuck on a hanging provider,
    a 0-byte PUT of the key is acknowledged meanwhile; the old one must not
    be what reads return."""
    server, s3, bucket, faults, _ = two_disks(orchard_factory, tmp_path)
    set_faults(faults, "put hang\n")
    result = {}
    slow = threading.Thread(target=lambda: result.setdefault(
        "status", raw_put(server, bucket, "k", random_bytes(MiB, seed=2), timeout=60)))
    slow.start()
    time.sleep(1)
    s3.put_object(Bucket=bucket, Key="k", Body=b"")  # acknowledged after the slow one began
    slow.join(60)
    assert result["status"] is not None and b" 200 " in result["status"] + b" "
    set_faults(faults, "")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b""


def test_slow_complete_never_replaces_a_newer_acknowledged_put(orchard_factory, tmp_path):
    """CompleteMultipartUpload whose request started before a 0-byte PUT was
    acknowledged (its body arrives late) completes, but is superseded."""
    server, s3, bucket, _, _ = two_disks(orchard_factory, tmp_path)
    up = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="m", UploadId=up, PartNumber=1,
                          Body=b"part")["ETag"]
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
            f"</Part></CompleteMultipartUpload>").encode()
    path, query = f"/{bucket}/m", f"uploadId={up}"
    hdrs = s3raw.sign_headers(server.port, server.creds, "POST", path, body, query=query)
    hdrs["Content-Length"] = str(len(body))
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        sock.sendall(s3raw.raw_head("POST", f"{path}?{query}", hdrs) + body[:10])
        time.sleep(1)  # the server has the headers: the request has started
        s3.put_object(Bucket=bucket, Key="m", Body=b"")
        sock.sendall(body[10:])
        sock.settimeout(30)
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    finally:
        sock.close()
    assert b" 200 " in status + b" "
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b""
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_get_whose_first_copy_hangs_is_served_from_the_other_at_once(
        orchard_factory, tmp_path):
    server, s3, bucket, faults, _ = two_disks(orchard_factory, tmp_path, deadline_ms=1000)
    body = random_bytes(300 * 1024, seed=3)
    s3.put_object(Bucket=bucket, Key="g", Body=body)
    set_faults(faults, "get hang\nhead hang\n")
    took = []
    for _ in range(4):
        t0 = time.monotonic()
        assert s3.get_object(Bucket=bucket, Key="g")["Body"].read() == body
        took.append(time.monotonic() - t0)
    # Reads are hedged: the hanging copy is asked first, the other one too
    # once the first is slower than the hedge floor, and the other answers;
    # the hanging get is cancelled. No GET waits for the deadline (1 s + 1 s
    # for its MiB).
    assert max(took) < 1, took
    view = admin_view(server)
    assert view["disk1"]["cancelled"] >= 1


def test_put_with_a_hanging_provider_is_bounded_and_marks_it_down(orchard_factory, tmp_path):
    server, s3, bucket, faults, _ = two_disks(orchard_factory, tmp_path, deadline_ms=1000)
    set_faults(faults, "put hang\n")
    for i in range(4):
        t0 = time.monotonic()
        s3.put_object(Bucket=bucket, Key=f"p{i}", Body=random_bytes(100 * 1024, seed=10 + i))
        assert time.monotonic() - t0 < 5
    assert admin_view(server)["disk1"]["up"] is False


def test_corrupt_copy_counts_as_an_error_of_its_provider(orchard_factory, tmp_path):
    server, s3, bucket, faults, _ = two_disks(orchard_factory, tmp_path)
    body = random_bytes(200 * 1024, seed=4)
    s3.put_object(Bucket=bucket, Key="c", Body=body)
    before = admin_view(server)["disk1"]
    set_faults(faults, "get corrupt\n")
    for _ in range(2):
        assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == body
    after = admin_view(server)
    assert after["disk1"]["corrupt"] >= 1
    assert after["disk1"]["errors"] > before["errors"]
    assert after["disk2"]["corrupt"] == 0


def test_get_with_no_good_copy_is_503_saying_so(orchard_factory, tmp_path):
    server, s3, bucket, f1, f2 = two_disks(orchard_factory, tmp_path)
    s3.put_object(Bucket=bucket, Key="n", Body=b"x" * 1000)
    set_faults(f1, "get corrupt\n")
    set_faults(f2, "get fail\n")
    r = s3raw.signed(server.port, server.creds, "GET", f"/{bucket}/n")
    assert r.status == 503, r
    assert b"<Code>ServiceUnavailable</Code>" in r.body
    assert b"No verified copy" in r.body


def test_get_with_no_good_copy_is_logged_once_with_its_request_id(orchard_factory, tmp_path):
    """One failed GET: one warn line per bad copy (which provider, why), and
    one line for the request, with its id and the reason; not the same
    failure again from every layer it passed through."""
    server, s3, bucket, f1, f2 = two_disks(orchard_factory, tmp_path)
    s3.put_object(Bucket=bucket, Key="n1", Body=b"y" * 1000)
    set_faults(f1, "get corrupt\n")
    set_faults(f2, "get fail\n")
    r = s3raw.signed(server.port, server.creds, "GET", f"/{bucket}/n1")
    assert r.status == 503, r
    rid = re.search(rb"<RequestId>([^<]+)</RequestId>", r.body).group(1).decode()
    with open(server.stderr_path, encoding="utf-8", errors="replace") as f:
        log = f.read().splitlines()
    failure = [ln for ln in log if "no good copy" in ln]
    assert len(failure) == 1, failure
    assert rid in failure[0] and f"/{bucket}/n1" in failure[0], failure
    assert "ServiceUnavailable" in failure[0]
    assert [ln for ln in log if rid in ln] == failure
    for disk in ("disk1", "disk2"):
        copies = [ln for ln in log if f"copy on provider {disk} is unusable" in ln]
        assert len(copies) == 1, copies


def test_get_cut_mid_body_is_an_error_for_the_client(orchard_factory, tmp_path):
    server, s3, bucket, f1, f2 = two_disks(orchard_factory, tmp_path, **srv.SMALL_CHUNKS)
    body = random_bytes(12 * MiB, seed=5)
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    path = f"/{bucket}/big"
    hdrs = s3raw.sign_headers(server.port, server.creds, "GET", path)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers=hdrs)
    resp = conn.getresponse()
    assert resp.status == 200
    assert int(resp.getheader("Content-Length")) == len(body)
    got = resp.read(64 * 1024)
    set_faults(f1, "get fail\n")
    set_faults(f2, "get fail\n")
    try:
        while True:
            piece = resp.read(256 * 1024)
            if not piece:
                break
            got += piece
    except http.client.IncompleteRead:
        pass
    conn.close()
    # The connection was cut: fewer bytes than the Content-Length promised,
    # which is how any client tells a cut body from a complete one.
    assert len(got) < len(body)
    assert got == body[:len(got)]
    # boto3 sees the same cut as an error, not a short object.
    set_faults(f1, "")
    set_faults(f2, "")
    obj = s3.get_object(Bucket=bucket, Key="big")
    stream = obj["Body"]
    stream.read(64 * 1024)
    set_faults(f1, "get fail\n")
    set_faults(f2, "get fail\n")
    with pytest.raises(Exception) as ei:
        stream.read()
    assert "IncompleteRead" in type(ei.value).__name__ or "Incomplete" in str(ei.value) or \
        "length" in str(ei.value).lower()


class HangingProxy:
    """Accepts connections and reads requests, never answers (issue 9's hang)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    @staticmethod
    def _drain(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_cloud_provider_that_never_answers_costs_one_deadline(orchard_factory, tmp_path):
    """The bound in http_client.c: before it, each call took 4 attempts of
    30 s (the low-speed timeout) and then failed, or succeeded on a retry
    and was never counted."""
    proxy = HangingProxy()
    try:
        providers = {
            "disk1": str(tmp_path / "d1"),
            "hung": {"type": "s3", "endpoint": f"http://127.0.0.1:{proxy.port}",
                     "bucket": "never", "access_key": "AK", "secret_key": "SK",
                     "path_style": "true"},
        }
        server = orchard_factory(providers=providers, placement="replicate:2", min_copies=1,
                                 deadline_base_ms=1500, probe_interval=1)
        s3 = server.client()
        bucket = unique_bucket("hang")
        s3.create_bucket(Bucket=bucket)
        for i in range(3):
            t0 = time.monotonic()
            s3.put_object(Bucket=bucket, Key=f"h{i}", Body=random_bytes(64 * 1024, seed=i))
            assert time.monotonic() - t0 < 6
        view = admin_view(server)
        assert view["hung"]["up"] is False
        assert view["hung"]["errors"] >= 3
        assert s3.get_object(Bucket=bucket, Key="h0")["Body"].read() == random_bytes(
            64 * 1024, seed=0)
    finally:
        proxy.close()
