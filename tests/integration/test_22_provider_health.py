"""Provider health as a user sees it: a cloud provider that dies in the middle
of a run of uploads costs no upload and no byte; the admin view
(GET /_orchard/providers, `orchard providers`) shows it down, and once it is
back it is probed up again and takes new copies. A provider answering 503
SlowDown a few times is retried. A refused Azure key names the provider and
never shows the key. min_copies: writes go on with fewer copies down to it,
and fail with 503 SlowDown below it, leaving nothing visible. No configured
secret ever reaches the server's log or `orchard providers`.

The servers here run on their own providers: fs disks, s3rver (through a tiny
HTTP proxy where a test needs to make it fail) and Azurite (killed by PID and
restarted on the same port and data dir)."""

import base64
import http.client
import http.server
import json
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest
from botocore.exceptions import ClientError

from support import mixed, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket
from support.disk import wait_until
from support.emulators import REPO, Azurite, S3rver

pytestmark = pytest.mark.own_backends

MiB = 1024 * 1024
PROBE = 2  # probe_interval, seconds
DOWN_AFTER = 3  # the default


# -- helpers -------------------------------------------------------------------


def admin_view(server, creds=None):
    r = s3raw.signed(server.port, creds or server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return json.loads(r.body)


def by_name(view):
    return {p["name"]: p for p in view["providers"]}


def providers_cli(server, as_json=False):
    """`orchard providers` against the server; returns its stdout + stderr."""
    cmd = [srv.orchard_bin(), "providers", "--endpoint", server.endpoint, "--data", server.data,
           "--config", server.config_path] + (["--json"] if as_json else [])
    env = srv.clean_env({"ORCHARD_ACCESS_KEY": server.access_key,
                         "ORCHARD_SECRET_KEY": server.secret_key})
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout, r.stderr


def server_output(server):
    text = ""
    for path in (server.stdout_path, server.stderr_path):
        with open(path, "rb") as f:
            text += f.read().decode("utf-8", "replace")
    return text


def assert_no_secret(text, secrets_, where):
    for s in secrets_:
        assert s not in text, f"a configured secret ({s[:4]}...) appears in {where}"


def s3rver_spec(s3rver, bucket, endpoint=None, secret=None):
    """An s3 provider on s3rver. s3rver ignores signatures, so the secret can
    be a random one that the log checks can look for."""
    return {"type": "s3", "endpoint": endpoint or s3rver.endpoint, "bucket": bucket,
            "access_key": s3rver.access_key, "secret_key": secret or s3rver.secret_key,
            "prefix": "chunks/"}


def azure_spec(az, container, key=None, create=True):
    return {"type": "azure", "account": az.account, "key": key or az.key,
            "endpoint": az.endpoint, "container": container, "prefix": "chunks/",
            "create_container": "true" if create else "false"}


def restart_same_port(emu):
    """Starts a stopped emulator again on its old port and data dir."""
    with open(emu.log_path, "ab") as log:
        emu.proc = subprocess.Popen(emu._command(), cwd=REPO, env=emu._env(),
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def accepts():
        try:
            with socket.create_connection(("127.0.0.1", emu.port), timeout=0.5):
                return True
        except OSError:
            return False
    assert wait_until(accepts, 30, 0.05), f"{emu.label} did not come back on port {emu.port}"


class FlakyProxy:
    """A tiny HTTP proxy in front of an S3 server: answers 503 SlowDown to the
    first fail_first requests (and to every request while failing is set),
    forwards the rest unchanged."""

    def __init__(self, upstream_port, fail_first=0):
        self.upstream_port = upstream_port
        self.fail_first = fail_first
        self.failing = False
        self.lock = threading.Lock()
        self.seen = 0
        self.refused = 0
        self.forwarded = []  # (method, path) of forwarded requests
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with proxy.lock:
                    proxy.seen += 1
                    refuse = proxy.failing or proxy.seen <= proxy.fail_first
                    if refuse:
                        proxy.refused += 1
                    else:
                        proxy.forwarded.append((self.command, self.path))
                if refuse:
                    msg = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
                           b"<Message>Please reduce your request rate.</Message></Error>")
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("expect", "connection", "content-length")}
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body if n else None,
                                 headers=hdrs)
                    resp = conn.getresponse()
                    data = resp.read()
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection",
                                             "content-length"):
                            self.send_header(k, v)
                    length = resp.getheader("Content-Length") if self.command == "HEAD" else None
                    self.send_header("Content-Length", length or str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    conn.close()

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    with S3rver(tmp_path_factory.mktemp("s3rver")) as s:
        s.client = srv.make_client(s.endpoint, s.access_key, s.secret_key)
        yield s


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    """An Azurite that no test kills."""
    with Azurite(tmp_path_factory.mktemp("azurite")) as az:
        yield az


def new_bucket(s3rver):
    name = unique_bucket("hp")
    s3rver.client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def proxies():
    made = []

    def make(upstream_port, fail_first=0):
        p = FlakyProxy(upstream_port, fail_first)
        made.append(p)
        return p
    yield make
    for p in made:
        p.close()


# -- tests -------------------------------------------------------------------------


def test_azurite_killed_mid_run_loses_nothing_and_comes_back(orchard_factory, s3rver,
                                                             tmp_path):
    az = Azurite(tmp_path / "own-azurite").start()
    try:
        _killed_mid_run(orchard_factory, s3rver, az, tmp_path)
    finally:
        az.stop()


def _killed_mid_run(orchard_factory, s3rver, az, tmp_path):
    s3_secret = "s3secret-" + secrets.token_urlsafe(24)
    providers = {
        "disk1": str(tmp_path / "disk1"),
        "disk2": str(tmp_path / "disk2"),
        "s3east": s3rver_spec(s3rver, new_bucket(s3rver), secret=s3_secret),
        "azwest": azure_spec(az, "health-" + secrets.token_hex(4)),
    }
    server = orchard_factory(providers=providers, placement="replicate:2",
                             probe_interval=PROBE, **srv.SMALL_CHUNKS)
    s3 = server.client()
    bucket = unique_bucket("kill")
    s3.create_bucket(Bucket=bucket)
    bodies = {f"obj{i:02d}": random_bytes((1 + i % 3) * MiB - 1000 * i, seed=100 + i)
              for i in range(30)}

    done, errors = [], []

    def upload():
        for key, body in bodies.items():
            try:
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                done.append(key)
            except Exception as exc:  # reported below, with the key
                errors.append((key, exc))

    worker = threading.Thread(target=upload)
    worker.start()
    assert wait_until(lambda: len(done) >= 10 or errors or not worker.is_alive(), 120, 0.02)
    az.proc.send_signal(signal.SIGKILL)  # by PID; uploads are still going
    az.proc.wait()
    worker.join(300)
    assert not worker.is_alive()
    assert not errors, errors
    assert done == list(bodies)
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key

    view = by_name(admin_view(server))
    assert set(view) == set(providers)
    assert view["azwest"]["up"] is False
    assert view["azwest"]["consecutive_failures"] >= DOWN_AFTER
    assert view["azwest"]["errors"] >= DOWN_AFTER
    for name in ("disk1", "disk2", "s3east"):
        assert view[name]["up"] is True, view[name]
    out_json, _ = providers_cli(server, as_json=True)
    assert by_name(json.loads(out_json))["azwest"]["up"] is False
    table, _ = providers_cli(server)
    assert all(name in table for name in providers), table

    # Back on the same port and data dir: probed up within ~3 intervals.
    restart_same_port(az)
    assert wait_until(lambda: by_name(admin_view(server))["azwest"]["up"], 3 * PROBE + 3, 0.1), (
        f"azwest not up again within {3 * PROBE + 3} s of Azurite answering")
    store = mixed.root_of("azwest", providers["azwest"])
    # Azurite keeps its metadata in memory and saves it every few seconds, so
    # SIGKILL can lose the container (and blobs) it had just created. Real
    # Azure does not; Orchard still has the other copy of every lost blob.
    if not store.container.exists():
        store.container.create_container()
    before_view = by_name(admin_view(server))["azwest"]["chunks"]
    before_blobs = len(store.chunk_files())
    more = {f"new{i}": random_bytes(2 * MiB, seed=200 + i) for i in range(5)}
    for key, body in more.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    after = by_name(admin_view(server))["azwest"]
    assert after["up"] is True
    assert after["chunks"] > before_view
    assert len(store.chunk_files()) > before_blobs  # the copies really are on Azurite
    for key, body in {**bodies, **more}.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key

    # After a run with failures, no configured secret is in the log or the CLI.
    table, err1 = providers_cli(server)
    out_json, err2 = providers_cli(server, as_json=True)
    secrets_ = [az.key, s3_secret, server.secret_key]
    assert_no_secret(server_output(server), secrets_, "the server's stdout/stderr")
    assert_no_secret(table + err1 + out_json + err2, secrets_, "`orchard providers`")
    server.stop()
    assert_no_secret(server_output(server), secrets_, "the server's log after shutdown")


def test_admin_view_fields_and_admin_only(orchard_factory, s3rver, azurite, tmp_path):
    providers = {"disk1": str(tmp_path / "disk1"),
                 "s3east": s3rver_spec(s3rver, new_bucket(s3rver)),
                 "azwest": azure_spec(azurite, "view-" + secrets.token_hex(4))}
    server = orchard_factory(providers=providers, placement="replicate:3", **srv.SMALL_CHUNKS)
    s3 = server.client()
    bucket = unique_bucket("view")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(3 * MiB, seed=7)
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    view = admin_view(server)
    assert view["under_replicated"] == 0
    got = by_name(view)
    assert {n: p["type"] for n, p in got.items()} == {"disk1": "fs", "s3east": "s3",
                                                      "azwest": "azure"}
    chunks = {p["chunks"] for p in got.values()}
    assert len(chunks) == 1 and chunks.pop() >= 3  # every chunk on all three
    for p in got.values():
        assert p["up"] is True and p["consecutive_failures"] == 0
        assert p["ops"]["put"] >= 3 and p["errors"] == 0
        assert p["bytes_in"] >= len(body) and p["bytes"] >= len(body)
        assert set(p["latency_ms"]) == {"p50", "p90", "p99"}
        assert 0 <= p["latency_ms"]["p50"] <= p["latency_ms"]["p90"] <= p["latency_ms"]["p99"]
        assert {"get", "del"} <= set(p["ops"]) and "bytes_out" in p
    assert sum(p["bytes_out"] for p in got.values()) >= len(body)

    other = server.add_user("someone")
    r = s3raw.signed(server.port, other, "GET", "/_orchard/providers")
    assert r.status == 403 and r.error_code() == "AccessDenied", r
    r = s3raw.send(server.port, "GET", "/_orchard/providers")
    assert r.status == 403, r


def test_503_slowdown_twice_is_retried_and_the_copy_lands(orchard_factory, s3rver, proxies,
                                                          tmp_path):
    proxy = proxies(s3rver.port, fail_first=2)
    bucket = new_bucket(s3rver)
    providers = {"disk1": str(tmp_path / "disk1"),
                 "s3east": s3rver_spec(s3rver, bucket, endpoint=proxy.endpoint)}
    server = orchard_factory(providers=providers, placement="replicate:2")
    s3 = server.client()
    b = unique_bucket("slow")
    s3.create_bucket(Bucket=b)
    body = random_bytes(200 * 1024, seed=3)  # one chunk
    s3.put_object(Bucket=b, Key="k", Body=body)
    assert proxy.refused == 2
    assert any(m == "PUT" for m, _ in proxy.forwarded), proxy.forwarded
    # The copy is on s3rver itself, not only on the disk.
    on_s3rver = mixed.root_of("s3east", s3rver_spec(s3rver, bucket)).chunk_files()
    assert len(on_s3rver) == 1
    view = admin_view(server)
    assert view["under_replicated"] == 0
    s3p = by_name(view)["s3east"]
    assert s3p["up"] is True and s3p["chunks"] == 1 and s3p["consecutive_failures"] == 0
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == body


def test_wrong_azure_key_at_startup_names_the_provider_not_the_key(azurite, tmp_path):
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    server = srv.Orchard(tmp_path, providers={
        "disk1": str(tmp_path / "disk1"),
        "azbad": azure_spec(azurite, "wrongkey-" + secrets.token_hex(4), key=wrong)})
    try:
        server.start()
    except RuntimeError:
        started = False  # refusing to start is fine, if it says why
    else:
        started = True
    try:
        log = server_output(server)
        assert wrong not in log and azurite.key not in log
        assert "azbad" in log, log[-2000:]
        if started:  # then the provider must be shown down and writes go elsewhere
            assert wait_until(lambda: not by_name(admin_view(server))["azbad"]["up"], 10)
        else:
            assert "check the account key" in log, log[-2000:]
    finally:
        server.stop()


def test_wrong_azure_key_on_first_write_names_the_provider_not_the_key(orchard_factory,
                                                                        azurite, tmp_path):
    from azure.storage.blob import BlobServiceClient  # Debian: python3-azure
    container = "firstwrite-" + secrets.token_hex(4)
    BlobServiceClient(account_url=azurite.endpoint,
                      credential={"account_name": azurite.account,
                                  "account_key": azurite.key}).create_container(container)
    wrong = base64.b64encode(secrets.token_bytes(64)).decode()
    server = orchard_factory(
        providers={"disk1": str(tmp_path / "disk1"),
                   "azbad": azure_spec(azurite, container, key=wrong, create=False)},
        placement="replicate:2", min_copies=2)
    s3 = server.client()
    b = unique_bucket("wk")
    s3.create_bucket(Bucket=b)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=b, Key="k", Body=b"x" * 1000)
    err = exc.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert err["Error"]["Code"] == "SlowDown"
    assert "azbad" in err["Error"]["Message"], err
    assert wrong not in str(err)
    log = server_output(server)
    assert "azbad" in log and "check the account key" in log, log[-2000:]
    assert wrong not in log and azurite.key not in log
    with pytest.raises(ClientError):
        s3.head_object(Bucket=b, Key="k")


def test_min_copies_under_replicates_then_refuses(orchard_factory, s3rver, proxies, tmp_path):
    pa, pb = proxies(s3rver.port), proxies(s3rver.port)
    providers = {"disk1": str(tmp_path / "disk1"),
                 "s3a": s3rver_spec(s3rver, new_bucket(s3rver), endpoint=pa.endpoint),
                 "s3b": s3rver_spec(s3rver, new_bucket(s3rver), endpoint=pb.endpoint)}
    server = orchard_factory(providers=providers, placement="replicate:3", min_copies=2,
                             probe_interval=1, gc_interval=1, **srv.SMALL_CHUNKS)
    s3 = server.client()
    b = unique_bucket("minc")
    s3.create_bucket(Bucket=b)
    whole = random_bytes(2 * MiB, seed=30)
    s3.put_object(Bucket=b, Key="whole", Body=whole)
    assert admin_view(server)["under_replicated"] == 0

    pa.failing = True  # one of three down: two copies are enough
    under = random_bytes(2 * MiB, seed=31)
    s3.put_object(Bucket=b, Key="under", Body=under)
    view = admin_view(server)
    assert view["under_replicated"] > 0
    assert s3.get_object(Bucket=b, Key="under")["Body"].read() == under

    pb.failing = True  # two of three down: below min_copies
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=b, Key="refused", Body=random_bytes(2 * MiB, seed=32))
    err = exc.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert err["Error"]["Code"] == "SlowDown"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=b, Key="refused")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
    assert keys == ["under", "whole"]
    assert s3.get_object(Bucket=b, Key="whole")["Body"].read() == whole
    assert s3.get_object(Bucket=b, Key="under")["Body"].read() == under

    # Both back: the probes mark them up and repair gives every chunk its
    # third copy; then the local disk's copies alone can be lost.
    pa.failing = pb.failing = False
    deadline = time.monotonic() + 60
    while admin_view(server)["under_replicated"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert admin_view(server)["under_replicated"] == 0
    shutil.rmtree(tmp_path / "disk1" / "chunks")
    assert s3.get_object(Bucket=b, Key="under")["Body"].read() == under
    assert s3.get_object(Bucket=b, Key="whole")["Body"].read() == whole
