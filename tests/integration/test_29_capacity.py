"""Capacity and cost (issue 11): writes fill the cheapest providers that
have room (own disks, price 0) and spill to the priced ones when those are
full, never past a capacity; `orchard providers` shows this month's
requests, egress and an estimated cost that matches a hand computation.
Four local directories stand in for two own disks and two clouds (the
placement only sees prices and capacities), so each one's files can be
counted."""

import json
import os
import subprocess

import pytest

from support import disk, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket

pytestmark = pytest.mark.own_backends

KiB = 1024
CAP = 1200 * KiB
CLOUD = {"price_gb_month": "0.023", "price_put_1k": "0.005", "price_get_1k": "0.0004",
         "price_egress_gb": "0.09"}


def providers(tmp_path):
    p = {f"local{i}": {"type": "fs", "path": str(tmp_path / f"local{i}"), "capacity": "1200K"}
         for i in (1, 2)}
    for i in (1, 2):
        p[f"cloud{i}"] = {"type": "fs", "path": str(tmp_path / f"cloud{i}"), **CLOUD}
    return p


def files(tmp_path, name):
    return disk.chunk_files([str(tmp_path / name)])


def view(server):
    r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return {p["name"]: p for p in json.loads(r.body)["providers"]}, json.loads(r.body)


def test_writes_fill_own_disks_then_spill_to_clouds_never_past_capacity(orchard_factory,
                                                                        tmp_path):
    # hedging off: one get per chunk read, so the gets can be counted by hand
    server = orchard_factory(providers=providers(tmp_path), placement="replicate:2",
                             hedge_floor_ms=600000, scrub_interval=0)
    s3 = server.client()
    bucket = unique_bucket("cap")
    s3.create_bucket(Bucket=bucket)
    bodies = {}
    for i in range(8):  # one chunk of about 300 KiB sealed each
        bodies[f"o{i}"] = random_bytes(300 * KiB, seed=2970 + i)
        s3.put_object(Bucket=bucket, Key=f"o{i}", Body=bodies[f"o{i}"])
        for name in ("local1", "local2"):  # never past its capacity, at any moment
            assert sum(files(tmp_path, name).values()) <= CAP
    local = {n: files(tmp_path, n) for n in ("local1", "local2")}
    cloud = {n: files(tmp_path, n) for n in ("cloud1", "cloud2")}
    # the own disks took what fits (three chunks each), the clouds the rest
    for n in local:
        assert 3 <= len(local[n]) <= 4 and sum(local[n].values()) <= CAP, local[n]
    assert sum(len(f) for f in cloud.values()) == 2 * 8 - sum(len(f) for f in local.values())
    assert all(len(f) > 0 for f in cloud.values())
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body

    # this month's counts and cost, against a hand computation
    local_names = {os.path.basename(p) for f in local.values() for p in f}
    cloud_only = {}
    for f in cloud.values():
        for path, size in f.items():
            if os.path.basename(path) not in local_names:
                cloud_only[os.path.basename(path)] = size
    provs, whole = view(server)
    gets = sum(provs[n]["month"]["gets"] for n in cloud)
    egress = sum(provs[n]["month"]["egress_bytes"] for n in cloud)
    # reads go to the own disks when they hold a copy: the clouds serve only
    # the chunks they alone hold, once each
    assert gets == len(cloud_only), (gets, cloud_only)
    assert egress == sum(cloud_only.values())
    assert provs["local1"]["month"]["cost"] == 0
    total = 0.0
    for n, f in cloud.items():
        p = provs[n]
        assert p["month"]["puts"] == len(f)
        assert p["bytes"] == sum(f.values())
        want = (sum(f.values()) / 1e9 * 0.023 + len(f) / 1000 * 0.005 +
                p["month"]["gets"] / 1000 * 0.0004 + p["month"]["egress_bytes"] / 1e9 * 0.09)
        assert abs(p["month"]["cost"] - want) < 1e-6, (n, p, want)
        total += want
    assert abs(whole["month_cost"] - total) < 1e-6
    assert provs["local1"]["capacity"] == CAP

    # kept in the metadata: the month's counts survive a restart
    puts = {n: provs[n]["month"]["puts"] for n in cloud}
    server.restart()
    provs, _ = view(server)
    for n in cloud:
        assert provs[n]["month"]["puts"] == puts[n]
    env = srv.clean_env({"ORCHARD_ACCESS_KEY": server.access_key,
                         "ORCHARD_SECRET_KEY": server.secret_key})
    res = subprocess.run([srv.orchard_bin(), "providers", "--endpoint", server.endpoint],
                         capture_output=True, text=True, timeout=30, env=env)
    assert res.returncode == 0, res.stderr
    assert "COST" in res.stdout and f"total {total:.4f}" in res.stdout, res.stdout


def test_a_bad_capacity_or_price_fails_the_start(orchard_factory, tmp_path):
    for key, value in (("capacity", "lots"), ("price_gb_month", "-1"), ("price_put_1k", "1e3")):
        provs = providers(tmp_path)
        provs["local1"][key] = value
        server = orchard_factory(providers=provs, start=False)
        server.write_config()
        res = subprocess.run([srv.orchard_bin(), "serve", "--config", server.config_path,
                              "--data", server.data], capture_output=True, text=True,
                             timeout=30, env=srv.clean_env(), stdin=subprocess.DEVNULL)
        assert res.returncode != 0
        assert f"bad value for '{key}' in [provider.local1]" in res.stderr, res.stderr
