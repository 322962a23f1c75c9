"""The provider decorator stack as a user sees it (issue 10): a provider
section's inline `faults = RULES` (a test build) slows or fails one provider
of a running server, the retry layer saves calls that a fault fails once, and
the admin view (GET /_orchard/providers) shows the slow provider's latency."""

import json
import time

import pytest

from support import s3raw
from support.data import random_bytes, unique_bucket

pytestmark = pytest.mark.own_backends

DELAY_MS = 300


def admin_view(server):
    r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return {p["name"]: p for p in json.loads(r.body)["providers"]}


def test_inline_get_delay_shows_in_that_providers_latency(orchard_factory, tmp_path):
    # Every read of "fast" fails, so each GET is served by "slow", whose reads
    # the fault decorator holds for 300 ms.
    providers = {
        "slow": {"type": "fs", "path": str(tmp_path / "s"), "faults": f"get delay {DELAY_MS}"},
        # No retries: a down provider would otherwise cost backoffs.
        "fast": {"type": "fs", "path": str(tmp_path / "f"), "faults": "get down",
                 "retry_attempts": "1"},
    }
    server = orchard_factory(providers=providers, placement="replicate:2")
    s3 = server.client()
    bucket = unique_bucket("dec")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(100 * 1024, seed=24)
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    for _ in range(3):
        t0 = time.monotonic()
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
        assert time.monotonic() - t0 >= DELAY_MS / 1000
    view = admin_view(server)
    slow, fast = view["slow"], view["fast"]
    # Quarter-log2 buckets: within ~20% of the true 300 ms.
    assert slow["latency_ms"]["p99"] >= DELAY_MS * 0.8, slow
    # what a hedged read waits for before asking another provider
    assert slow["recent_get_p95_ms"] >= DELAY_MS * 0.8, slow
    assert slow["cancelled"] == 0
    assert slow["ops"]["get"] >= 3 and slow["errors"] == 0, slow
    assert fast["latency_ms"]["p99"] < DELAY_MS * 0.5, fast
    assert fast["errors"] >= 1, fast


def test_a_put_failed_once_by_fail_nth_is_retried_inside_the_provider(orchard_factory, tmp_path):
    providers = {"only": {"type": "fs", "path": str(tmp_path / "o"), "faults": "put fail-nth 1",
                          "retry_base_ms": "10"}}
    server = orchard_factory(providers=providers, placement="replicate:1")
    s3 = server.client()
    bucket = unique_bucket("dec")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(50 * 1024, seed=25)
    s3.put_object(Bucket=bucket, Key="r", Body=body)  # its first chunk put fails once
    assert s3.get_object(Bucket=bucket, Key="r")["Body"].read() == body
    only = admin_view(server)["only"]
    assert only["up"] is True and only["errors"] == 0, only


def test_a_bad_fault_rule_is_refused_at_start(orchard_factory, tmp_path):
    providers = {"bad": {"type": "fs", "path": str(tmp_path / "b"), "faults": "get explode"}}
    with pytest.raises(Exception) as err:
        orchard_factory(providers=providers, placement="replicate:1")
    assert "faults" in str(err.value), err.value
