"""Writes with long-tail cancellation (issue 10): a chunk's pieces go out in
parallel; a put slower than its patience (twice its provider's recent put
p95, at least 50 ms) is hedged on a spare provider, the first to finish
winning and the other cancelled; with `write_quorum` below K+M, once the
quorum is durable the late pieces with no spare left are cancelled and
handed to repair. Nothing is visible before its quorum is durable.

One provider hangs every put (the fault decorator), with a 2 s call
deadline: what the bounds below are measured against. Local disks only:
among the emulated clouds on this machine's two cores a PUT was once seen
to take 3.7 s with a hanging s3rver (to be looked into, see the issue
note), so the bound is not asserted there."""

import json
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from support import disk, mixed, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket

MiB = 1024 * 1024
DEADLINE_MS = 2000  # + 1 s per MiB: a hanging fragment put ends after ~2.3 s


def admin_view(server):
    r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return json.loads(r.body)


def by_name(view):
    return {p["name"]: p for p in view["providers"]}


def disks(tmp_path, n, faults_path):
    provs = {f"d{i}": {"type": "fs", "path": str(tmp_path / f"d{i}")} for i in range(1, n + 1)}
    provs["d2"]["fault_file"] = str(faults_path)
    return provs


def seven_with_one_hanging(tmp_path, faults_path):
    """Seven providers, {name: spec}, and the name of the one with the fault file."""
    if not mixed.enabled():
        return disks(tmp_path, 7, faults_path), "d2"
    provs = mixed.backends().providers_for(str(tmp_path))
    for i in (2, 3):
        provs[f"disk{i}"] = {"type": "fs", "path": str(tmp_path / f"disk{i}")}
    az2 = dict(provs["azurite"])
    az2["prefix"] = "second/" + az2["prefix"]
    provs["azurite2"] = az2
    provs["s3rver"] = dict(provs["s3rver"], fault_file=str(faults_path))
    return provs, "s3rver"


def put_timed(s3, bucket, key, body):
    t0 = time.monotonic()
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return time.monotonic() - t0


@pytest.mark.own_backends
def test_put_with_a_hanging_provider_finishes_on_a_spare(orchard_factory, tmp_path):
    # Seven disks for six fragments: the fragment given to the hanging disk
    # is hedged on the seventh, and the PUT does not wait for the deadline.
    faults = tmp_path / "faults"
    faults.write_text("")
    provs, hanging = seven_with_one_hanging(tmp_path, faults)
    server = orchard_factory(providers=provs, placement="ec:4+2", deadline_base_ms=DEADLINE_MS)
    s3 = server.client()
    bucket = unique_bucket("wq")
    s3.create_bucket(Bucket=bucket)
    # Warm-up: every provider has recent puts to measure patience by (one
    # never written to waits a cold 1 s before it is hedged). Each chunk
    # goes to 6 of the 7; eight chunks miss one provider with odds 7^-8.
    for i in range(8):
        s3.put_object(Bucket=bucket, Key=f"warm{i}", Body=random_bytes(MiB, seed=260 + i))
    faults.write_text("put hang\n")
    bodies = [random_bytes(MiB + 4096 * i, seed=271 + i) for i in range(8)]
    took = [put_timed(s3, bucket, f"k{i}", b) for i, b in enumerate(bodies)]
    assert max(took) < DEADLINE_MS / 1000 * 0.5, took
    for i, body in enumerate(bodies):
        assert s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() == body
    slow = by_name(admin_view(server))[hanging]
    assert slow["cancelled"] >= 1, slow  # its puts were given up on, not waited for
    # every chunk has its six fragments, on six distinct providers
    files = [disk.chunk_files([root]) for root in server.disk_roots()]
    assert sum(len(f) for f in files) == 6 * (len(bodies) + 8), [len(f) for f in files]
    assert admin_view(server)["under_replicated"] == 0


@pytest.mark.own_backends
def test_write_quorum_acknowledges_without_the_straggler_and_repair_completes(
        orchard_factory, tmp_path):
    # Six disks, ec:4+2 with write_quorum = 5: no spare, so the fragment on
    # the hanging disk is a straggler, cancelled once five are durable.
    faults = tmp_path / "faults"
    faults.write_text("")
    server = orchard_factory(providers=disks(tmp_path, 6, faults), placement="ec:4+2",
                             write_quorum=5, deadline_base_ms=DEADLINE_MS, gc_interval=1)
    s3 = server.client()
    bucket = unique_bucket("wq")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="warm", Body=random_bytes(MiB, seed=280))
    faults.write_text("put hang\n")
    bodies = [random_bytes(MiB + 4096 * i, seed=281 + i) for i in range(4)]
    took = [put_timed(s3, bucket, f"k{i}", b) for i, b in enumerate(bodies)]
    assert max(took) < DEADLINE_MS / 1000 * 0.5, took
    for i, body in enumerate(bodies):
        assert s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() == body
    view = admin_view(server)
    assert view["under_replicated"] >= 1, view
    assert by_name(view)["d2"]["cancelled"] >= 1
    # the disk comes back: repair writes the missing fragments
    faults.write_text("")
    assert disk.wait_until(lambda: admin_view(server)["under_replicated"] == 0, 60)
    files = {f"d{i}": disk.chunk_files([str(tmp_path / f"d{i}")]) for i in range(1, 7)}
    counts = {k: len(v) for k, v in files.items()}
    assert set(counts.values()) == {len(bodies) + 1}, counts
    for i, body in enumerate(bodies):
        assert s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read() == body


@pytest.mark.own_backends
def test_without_a_quorum_below_k_plus_m_a_hanging_provider_fails_the_put(
        orchard_factory, tmp_path):
    # The default quorum is every fragment; with no spare the PUT waits for
    # the hanging put's deadline, then fails 503 SlowDown, visible to nobody.
    faults = tmp_path / "faults"
    faults.write_text("put hang\n")
    server = orchard_factory(providers=disks(tmp_path, 6, faults), placement="ec:4+2",
                             deadline_base_ms=DEADLINE_MS)
    s3 = server.client()
    bucket = unique_bucket("wq")
    s3.create_bucket(Bucket=bucket)
    t0 = time.monotonic()
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=random_bytes(MiB, seed=290))
    assert time.monotonic() - t0 < 3 * DEADLINE_MS / 1000 + 5
    assert exc.value.response["Error"]["Code"] == "SlowDown"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.own_backends
@pytest.mark.parametrize("placement,quorum", [("ec:4+2", 4), ("ec:4+2", 7), ("replicate:2", 3)])
def test_config_refuses_a_write_quorum_out_of_range(orchard_factory, tmp_path, placement,
                                                     quorum):
    provs = {f"d{i}": str(tmp_path / f"d{i}") for i in range(1, 7)}
    server = orchard_factory(providers=provs, placement=placement, write_quorum=quorum,
                             start=False)
    server.port = srv.free_port()
    server.write_config()
    r = subprocess.run([srv.orchard_bin(), "serve", "--config", server.config_path],
                       capture_output=True, text=True, env=srv.clean_env(), timeout=20)
    assert r.returncode != 0
    assert "write_quorum" in r.stderr, r.stderr
