"""Hedged reads (issue 10): a read asks the fastest holders, and when one has
not answered within its provider's recent p95 (or [server] hedge_floor_ms),
the next holder is asked too; the first good answers win and the rest are
cancelled. So a provider that turns slow costs a hedge, not its latency.

Two servers run side by side on six providers each (six local disks; with
ORCHARD_TEST_PROVIDERS=mixed two disks, s3rver, Azurite, orchard-as-S3 and a
second Azurite container), ec:4+2, and their GETs are interleaved so the
machine's noise falls on both alike; on one, a disk turns slow (+300 ms per
read, the fault decorator's run-time fault file) after the warm-up. Its GET
p99 must stay within 1.3x of the other's (on local disks; among the
emulated clouds their own jitter is larger than that), no GET may wait for
the slow disk, and its reads are seen cancelled."""

import json
import time

import pytest

from support import mixed, s3raw
from support.data import random_bytes, unique_bucket

MiB = 1024 * 1024
DELAY_MS = 300
OBJECTS = 20
ROUNDS = 12  # 240 measured GETs per server


def admin_view(server):
    r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return {p["name"]: p for p in json.loads(r.body)["providers"]}


# A provider among the four fastest, so reads ask it (in the mixed set the
# disks are the fastest; the hedge then goes to a cloud).
SLOW = "disk1" if mixed.enabled() else "d3"


def six_providers(root):
    if not mixed.enabled():
        return {f"d{i}": {"type": "fs", "path": str(root / f"d{i}")} for i in range(1, 7)}
    provs = mixed.backends().providers_for(str(root))
    provs["disk2"] = {"type": "fs", "path": str(root / "disk2")}
    az2 = dict(provs["azurite"])
    az2["prefix"] = "second/" + az2["prefix"]
    provs["azurite2"] = az2
    return provs


def ec_server(orchard_factory, tmp_path, tag, fault_file=None, **opts):
    provs = six_providers(tmp_path / tag)
    if fault_file:
        provs[SLOW] = dict(provs[SLOW], fault_file=fault_file)
    return orchard_factory(providers=provs, placement="ec:4+2", **opts)


def load(server, bodies):
    s3 = server.client()
    bucket = unique_bucket("hedge")
    s3.create_bucket(Bucket=bucket)
    for i, body in enumerate(bodies):
        s3.put_object(Bucket=bucket, Key=f"o{i}", Body=body)
    return s3, bucket


def timed_get(s3, bucket, i, body):
    t0 = time.monotonic()
    got = s3.get_object(Bucket=bucket, Key=f"o{i}")["Body"].read()
    took = time.monotonic() - t0
    assert got == body, f"o{i}: wrong bytes"
    return took


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


def run_pair(orchard_factory, tmp_path, **opts):
    """(base GET times, slow GET times, slow server's admin view, max slow GET
    from the moment the disk turned slow)."""
    faults = tmp_path / "faults"
    faults.write_text("")
    base = ec_server(orchard_factory, tmp_path, "b", **opts)
    slow = ec_server(orchard_factory, tmp_path, "s", fault_file=str(faults), **opts)
    bodies = [random_bytes(MiB, seed=260 + i) for i in range(OBJECTS)]
    (bs3, bb), (ss3, sb) = load(base, bodies), load(slow, bodies)
    for i, body in enumerate(bodies):  # warm-up: every disk has a latency record
        timed_get(bs3, bb, i, body)
        timed_get(ss3, sb, i, body)
    faults.write_text(f"get delay {DELAY_MS}\n")
    time.sleep(0.2)  # the fault file is re-read on the next call (its size changed)
    base_t, slow_t = [], []
    for _ in range(ROUNDS):
        for i, body in enumerate(bodies):
            base_t.append(timed_get(bs3, bb, i, body))
            slow_t.append(timed_get(ss3, sb, i, body))
    return base_t, slow_t, admin_view(slow)


def test_a_slow_provider_costs_a_hedge_not_its_latency(orchard_factory, tmp_path):
    base_t, slow_t, view = run_pair(orchard_factory, tmp_path)
    # the slow disk was asked and its reads were cancelled once others won
    assert view[SLOW]["cancelled"] >= 1, view[SLOW]
    # no GET waited for the slow disk
    assert max(slow_t) < DELAY_MS / 1000 * 0.8, sorted(slow_t)[-5:]
    if mixed.enabled():
        # Among the emulated clouds (Node processes on the same two cores)
        # a GET's own latency swings by more than 30% between neighbouring
        # GETs, so the p99 of 240 is no measure of the slow disk there: the
        # bound that shows it is the one above (no GET waited for it).
        return
    assert p99(slow_t) <= 1.3 * p99(base_t), (p99(slow_t), p99(base_t))


@pytest.mark.own_backends
def test_without_hedging_the_slow_provider_sets_the_tail(orchard_factory, tmp_path):
    # The same run with hedging effectively off: the reads that ask the slow
    # disk before it falls back in the read order wait for it in full, and
    # nothing is cancelled. (Shows the first test can fail.)
    base_t, slow_t, view = run_pair(orchard_factory, tmp_path, hedge_floor_ms=600000)
    assert view[SLOW]["cancelled"] == 0, view[SLOW]
    assert max(slow_t) >= DELAY_MS / 1000, sorted(slow_t)[-5:]
