"""GET /metrics: the Prometheus text exposition (0.0.4) on the S3 port, for the
admin only, and without authentication on [server] metrics_listen.

What is checked: the body passes `promtool check metrics` with nothing to
say (lint included); unsigned and non-admin requests are AccessDenied and
counted as such; the counters move exactly as the test's requests do (by S3
operation and status, body bytes each way, provider puts and bytes); each
histogram's count equals its counters; the store's gauges (objects, logical
and stored bytes, dedup ratio) match what was stored; the metadata counts
are kept for [server] metrics_cache while the request counters are live.

Runs in both provider modes: the servers use the default providers (three
disks, or the mixed set of ORCHARD_TEST_PROVIDERS=mixed) and the tests look
at whichever providers the exposition names."""

import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from support import mixed, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
KiB = 1024

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """{(name, ((label, value), ...sorted)): float} of every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted((k, unescape(v)) for k, v in _LABEL.findall(m.group(2) or "")))
        key = (m.group(1), labels)
        assert key not in samples, f"duplicate series: {line!r}"
        samples[key] = float(m.group(3))
    return samples


class Metrics:
    def __init__(self, body):
        self.body = body
        self.text = body.decode("utf-8")
        self.samples = parse(self.text)

    def get(self, name, default=0.0, **labels):
        """One series' value; default when absent (a counter not yet counted)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), default)

    def has(self, name, **labels):
        return (name, tuple(sorted(labels.items()))) in self.samples

    def series(self, name):
        """{labels dict as a sorted tuple: value} of one metric name."""
        return {labels: v for (n, labels), v in self.samples.items() if n == name}

    def providers(self):
        return sorted(dict(lb)["provider"] for lb in self.series("orchard_provider_up"))

    def requests(self, operation, status):
        return self.get("orchard_requests_total", operation=operation, status=str(status))


def scrape(server, path="/metrics"):
    r = s3raw.signed(server.port, server.creds, "GET", path)
    assert r.status == 200, r
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8", r.headers
    return Metrics(r.body)


def promtool_check(body):
    """`promtool check metrics` must pass and print nothing (lint warnings included)."""
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                       timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
        (p.returncode, p.stdout.decode(), p.stderr.decode())


def settled(server, done, timeout=10):
    """Scrapes until done(metrics) holds (a request's counters are added once its
    connection is over, which can be just after the client has its answer)."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(server)
        if done(m) or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def provider_sum(m, name, **labels):
    return sum(m.get(name, provider=p, **labels) for p in m.providers())


def test_promtool_passes_and_counters_move_exactly_with_the_requests(orchard_factory):
    server = orchard_factory(metrics_cache=0)
    s3 = server.client()
    bucket = unique_bucket("metrics")
    s3.create_bucket(Bucket=bucket)
    bodies = [random_bytes(size, seed=280 + i) for i, size in enumerate((3, 70 * KiB, 300 * KiB))]
    before = settled(server, lambda m: m.requests("CreateBucket", 200) == 1)
    promtool_check(before.body)

    for i, body in enumerate(bodies):
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=body)
    got = [s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() for i in (1, 2)]
    assert got == bodies[1:]
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="missing")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    after = settled(server, lambda m: m.requests("PutObject", 200) >= 3 and
                    m.requests("GetObject", 200) >= 2 and m.requests("GetObject", 404) >= 1)
    promtool_check(after.body)

    # exactly the requests made, by operation and status
    assert after.requests("PutObject", 200) - before.requests("PutObject", 200) == 3
    assert after.requests("GetObject", 200) - before.requests("GetObject", 200) == 2
    assert after.requests("GetObject", 404) - before.requests("GetObject", 404) == 1
    assert after.requests("CreateBucket", 200) == 1
    # body bytes: at least the bodies sent and received (headers are not body)
    d_in = (after.get("orchard_request_bytes_total", direction="in") -
            before.get("orchard_request_bytes_total", direction="in"))
    d_out = (after.get("orchard_request_bytes_total", direction="out") -
             before.get("orchard_request_bytes_total", direction="out"))
    assert d_in >= sum(map(len, bodies)), d_in
    assert d_out >= len(bodies[1]) + len(bodies[2]), d_out
    # the providers: each new chunk went to two of them (replicate:2)
    puts = (provider_sum(after, "orchard_provider_operations_total", operation="put") -
            provider_sum(before, "orchard_provider_operations_total", operation="put"))
    assert puts >= 2 * len(bodies), puts
    p_in = (provider_sum(after, "orchard_provider_bytes_total", direction="in") -
            provider_sum(before, "orchard_provider_bytes_total", direction="in"))
    assert p_in >= 2 * sum(map(len, bodies)), p_in  # sealed copies are larger still

    # each operation's histogram counts exactly its answered requests (the
    # scrapes themselves are still being counted while the next one runs)
    for labels, count in after.series("orchard_request_duration_seconds_count").items():
        op = dict(labels)["operation"]
        if op == "OrchardMetrics":
            continue
        total = sum(v for lb, v in after.series("orchard_requests_total").items()
                    if dict(lb)["operation"] == op)
        assert count == total, (op, count, total)
        assert after.get("orchard_request_duration_seconds_bucket", operation=op,
                         le="+Inf") == count
    # a provider's histogram holds its timed calls; on local disks nothing
    # runs in the background, among the clouds a cancelled hedge may end late
    for p in after.providers():
        timed = sum(after.get("orchard_provider_operations_total", provider=p, operation=o)
                    for o in ("put", "get", "delete", "head"))
        timed -= after.get("orchard_provider_cancelled_total", provider=p)
        count = after.get("orchard_provider_request_duration_seconds_count", provider=p)
        if mixed.enabled():
            assert count <= timed, (p, count, timed)
        else:
            assert count == timed, (p, count, timed)

    # the store's gauges: what was stored
    assert after.get("orchard_objects", None) == 3
    assert after.get("orchard_logical_bytes", None) == sum(map(len, bodies))
    assert after.get("orchard_dedup_ratio", None) == 1.0
    stored = after.get("orchard_stored_bytes", None)
    assert stored == provider_sum(after, "orchard_provider_stored_bytes")
    assert stored >= 2 * sum(map(len, bodies))
    assert after.get("orchard_stored_bytes_per_logical_byte", None) == \
        pytest.approx(stored / sum(map(len, bodies)), rel=1e-9)
    assert provider_sum(after, "orchard_provider_stored_chunks") == 2 * len(bodies)
    assert after.get("orchard_chunks_under_replicated", None) == 0
    for p in after.providers():
        assert after.get("orchard_provider_up", provider=p) == 1, p


def test_operations_are_named_as_s3_names_them(orchard_factory):
    server = orchard_factory(metrics_cache=0)
    s3 = server.client()
    bucket = unique_bucket("ops")
    s3.create_bucket(Bucket=bucket)
    before = settled(server, lambda m: m.requests("CreateBucket", 200) == 1)
    s3.put_object(Bucket=bucket, Key="a", Body=b"hello")
    s3.copy_object(Bucket=bucket, Key="b", CopySource={"Bucket": bucket, "Key": "a"})
    s3.head_object(Bucket=bucket, Key="b")
    s3.head_bucket(Bucket=bucket)
    s3.list_objects_v2(Bucket=bucket)
    s3.list_objects(Bucket=bucket)
    s3.list_buckets()
    mp = s3.create_multipart_upload(Bucket=bucket, Key="m")
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1,
                          Body=b"part")
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": part["ETag"]}]})
    s3.delete_object(Bucket=bucket, Key="a")
    want = {("PutObject", 200): 1, ("CopyObject", 200): 1, ("HeadObject", 200): 1,
            ("HeadBucket", 200): 1, ("ListObjectsV2", 200): 1, ("ListObjects", 200): 1,
            ("ListBuckets", 200): 1, ("CreateMultipartUpload", 200): 1, ("UploadPart", 200): 1,
            ("CompleteMultipartUpload", 200): 1, ("DeleteObject", 204): 1}
    after = settled(server, lambda m: m.requests("DeleteObject", 204) >= 1)
    got = {k: after.requests(*k) - before.requests(*k) for k in want}
    assert got == want
    # nothing else was counted meanwhile but the scrapes
    others = {dict(lb)["operation"] for lb in after.series("orchard_requests_total")}
    assert others - {k[0] for k in want} == {"CreateBucket", "OrchardMetrics"}
    promtool_check(after.body)


def test_only_the_admin_may_read_the_metrics(orchard_factory):
    server = orchard_factory()
    other = server.add_user("metrics-reader")
    first = scrape(server)
    denied = 0
    for path in ("/metrics", "/_orchard/metrics"):
        r = s3raw.send(server.port, "GET", path)
        assert r.status == 403 and r.error_code() == "AccessDenied", (path, r)
        r = s3raw.signed(server.port, other, "GET", path)
        assert r.status == 403 and r.error_code() == "AccessDenied", (path, r)
        denied += 2
    # the other spelling gives the same families
    alias = scrape(server, "/_orchard/metrics")
    names = {n for n, _ in alias.samples}
    assert {n for n, _ in first.samples} <= names | {"orchard_requests_abandoned_total"}
    promtool_check(alias.body)
    # the refusals are counted as what they asked for
    after = settled(server, lambda m: m.requests("OrchardMetrics", 403) >= denied)
    assert after.requests("OrchardMetrics", 403) == denied


def test_a_bucket_named_metrics_is_still_served_to_its_owner(orchard_factory):
    server = orchard_factory()
    keys = server.add_user("metrics-owner")
    s3 = server.client(keys)
    s3.create_bucket(Bucket="metrics")
    s3.put_object(Bucket="metrics", Key="k", Body=b"v")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="metrics")["Contents"]] == ["k"]
    assert [o["Key"] for o in s3.list_objects(Bucket="metrics")["Contents"]] == ["k"]
    assert s3.get_object(Bucket="metrics", Key="k")["Body"].read() == b"v"
    # only the bare GET /metrics is taken, and it is the admin's
    r = s3raw.signed(server.port, keys, "GET", "/metrics")
    assert r.status == 403 and r.error_code() == "AccessDenied", r
    assert scrape(server).has("orchard_objects")  # the admin's is the exposition


def test_dedup_ratio_and_the_metadata_cache(orchard_factory):
    server = orchard_factory(metrics_cache=3600)
    s3 = server.client()
    bucket = unique_bucket("dedup")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(200 * KiB, seed=281)
    s3.put_object(Bucket=bucket, Key="one", Body=body)
    s3.put_object(Bucket=bucket, Key="two", Body=body)  # stored once
    m = settled(server, lambda m: m.requests("PutObject", 200) >= 2)
    assert m.get("orchard_objects", None) == 2
    assert m.get("orchard_logical_bytes", None) == 2 * len(body)
    assert m.get("orchard_dedup_ratio", None) == 2.0
    assert provider_sum(m, "orchard_provider_stored_chunks") == 2  # one chunk, two copies
    # an hour of cache: the metadata counts stay, the request counters move
    s3.put_object(Bucket=bucket, Key="three", Body=random_bytes(10 * KiB, seed=282))
    later = settled(server, lambda m: m.requests("PutObject", 200) >= 3)
    assert later.requests("PutObject", 200) == 3
    assert later.get("orchard_objects", None) == 2
    assert later.get("orchard_dedup_ratio", None) == 2.0
    # and a restart reads them anew
    server.restart()
    fresh = scrape(server)
    assert fresh.get("orchard_objects", None) == 3
    assert fresh.requests("PutObject", 200) == 0  # counters are since the start
    promtool_check(fresh.body)


def test_metrics_listen_serves_them_without_authentication(orchard_factory):
    port = srv.free_port()
    server = orchard_factory(metrics_listen=f"127.0.0.1:{port}", metrics_cache=0)
    assert f"metrics: http://127.0.0.1:{port}/metrics" in server.stdout_text
    url = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        body = r.read()
    promtool_check(body)
    m = Metrics(body)
    assert m.get("orchard_objects", None) == 0
    assert m.providers() == scrape(server).providers()
    for path, method, status in (("/", "GET", 404), ("/metrics/x", "GET", 404),
                                 ("/metrics", "POST", 405)):
        req = urllib.request.Request(url + path, method=method, data=b"" if method == "POST"
                                     else None)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=10)
        assert info.value.code == status, (path, method)
    req = urllib.request.Request(url + "/metrics", method="HEAD")
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200 and r.read() == b""
    # the S3 port still asks for the admin
    r = s3raw.send(server.port, "GET", "/metrics")
    assert r.status == 403 and r.error_code() == "AccessDenied", r
    # the listener's own requests are not S3 requests: they are not counted;
    # the S3 port's were one admin scrape and one refusal
    after = settled(server, lambda m: m.requests("OrchardMetrics", 200) >= 1 and
                    m.requests("OrchardMetrics", 403) >= 1)
    assert after.series("orchard_requests_total") == {
        (("operation", "OrchardMetrics"), ("status", "200")): 1.0,
        (("operation", "OrchardMetrics"), ("status", "403")): 1.0}


def test_a_metrics_listen_address_in_use_fails_the_start(orchard_factory):
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server = orchard_factory(metrics_listen=f"127.0.0.1:{port}", start=False)
        with pytest.raises(RuntimeError) as info:
            server.start(attempts=1)
    assert "metrics_listen" in str(info.value) and "in use" in str(info.value)
