"""Draining a provider (issue 11): `orchard provider drain NAME` moves every
copy off NAME while clients keep working, never with less redundancy than
before, and survives a kill -9; `orchard provider remove` refuses while NAME
holds anything. Local disks: the tests look at each disk's chunk files."""

import json
import os
import random
import signal
import subprocess
import threading
import time

import pytest

from support import disk, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket

pytestmark = pytest.mark.own_backends

MiB = 1024 * 1024


def admin(server, path, method="GET"):
    r = s3raw.signed(server.port, server.creds, method, path)
    return r.status, (json.loads(r.body) if r.status == 200 else r.body)


def cli(server, *args, timeout=300):
    env = srv.clean_env({"ORCHARD_ACCESS_KEY": server.access_key,
                         "ORCHARD_SECRET_KEY": server.secret_key})
    return subprocess.run([srv.orchard_bin(), *args, "--data", server.data, "--endpoint",
                           server.endpoint], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


def disks(tmp_path, n=4):
    return {f"d{i}": {"type": "fs", "path": str(tmp_path / f"d{i}")} for i in range(1, n + 1)}


def files_on(tmp_path, name):
    return set(disk.chunk_files([str(tmp_path / name)]))


def fill(server, n=12, seed=2900):
    s3 = server.client(read_timeout=60)
    bucket = unique_bucket("drain")
    s3.create_bucket(Bucket=bucket)
    bodies = {}
    for i in range(n):
        bodies[f"o{i}"] = random_bytes(256 * 1024 * (1 + i % 5), seed=seed + i)
        s3.put_object(Bucket=bucket, Key=f"o{i}", Body=bodies[f"o{i}"])
    return s3, bucket, bodies


class Load:
    """Client threads doing PUT, GET (checked), DELETE and multipart
    uploads on keys of their own, each about every 30 ms, until stopped."""

    def __init__(self, server, bucket, threads=3):
        self.server, self.bucket = server, bucket
        self.stop_flag = threading.Event()
        self.errors, self.ops = [], 0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(threads)]
        self.kept = {}

    def run(self, t):
        s3 = self.server.client(read_timeout=60, max_attempts=1)
        rnd = random.Random(t)
        mine = {}
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            try:
                op = rnd.random()
                if op < 0.4 or not mine:
                    key = f"load{t}-{n}"
                    body = random_bytes(rnd.randint(1, 600 * 1024), seed=t * 100000 + n)
                    s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                    mine[key] = body
                elif op < 0.75:
                    key = rnd.choice(sorted(mine))
                    got = s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                    if got != mine[key]:
                        raise AssertionError(f"{key}: wrong bytes")
                elif op < 0.9:
                    key = rnd.choice(sorted(mine))
                    s3.delete_object(Bucket=self.bucket, Key=key)
                    del mine[key]
                elif n % 4 == 0:
                    key = f"mp{t}-{n}"
                    up = s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
                    parts, body = [], b""
                    for p, size in ((1, 5 * MiB), (2, 300 * 1024)):
                        data = random_bytes(size, seed=t * 1000 + n * 10 + p)
                        r = s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up,
                                           PartNumber=p, Body=data)
                        parts.append({"PartNumber": p, "ETag": r["ETag"]})
                        body += data
                    s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up,
                                                 MultipartUpload={"Parts": parts})
                    mine[key] = body
                with self.lock:
                    self.ops += 1
            except Exception as exc:  # every failure counts, whatever it is
                with self.lock:
                    self.errors.append(repr(exc))
            time.sleep(0.03)
        with self.lock:
            self.kept.update(mine)

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for th in self.threads:
            th.join(120)


def test_drain_under_load_moves_everything_and_remove_then_succeeds(orchard_factory, tmp_path):
    server = orchard_factory(providers=disks(tmp_path), placement="replicate:2", gc_interval=1,
                             drain_rate="8M", scrub_interval=0, **srv.SMALL_CHUNKS)
    s3, bucket, bodies = fill(server)
    st, view = admin(server, "/_orchard/providers")
    assert view["under_replicated"] == 0
    held = files_on(tmp_path, "d1")
    assert held
    # refused while it holds anything
    res = cli(server, "provider", "remove", "d1")
    assert res.returncode != 0 and "holds" in res.stderr, res.stderr
    below = []
    with Load(server, bucket) as load:
        time.sleep(1)
        res = cli(server, "provider", "drain", "d1", "--no-wait")
        assert res.returncode == 0, res.stderr
        held = files_on(tmp_path, "d1")  # from now on it only shrinks
        drain = subprocess.Popen([srv.orchard_bin(), "provider", "drain", "d1", "--data",
                                  server.data, "--endpoint", server.endpoint],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=srv.clean_env({"ORCHARD_ACCESS_KEY": server.access_key,
                                                    "ORCHARD_SECRET_KEY": server.secret_key}))
        while drain.poll() is None:  # redundancy never drops below what it was
            below.append(admin(server, "/_orchard/providers")[1]["under_replicated"])
            # d1 takes no new pieces while it drains
            assert files_on(tmp_path, "d1") <= held
            time.sleep(0.2)
        out, err = drain.communicate()
        time.sleep(1)
    assert drain.returncode == 0, err
    assert "drained" in out, out
    assert load.ops > 20 and load.errors == [], (load.ops, load.errors[:5])
    assert max(below) == 0, below
    assert files_on(tmp_path, "d1") == set()
    st, one = admin(server, "/_orchard/providers/d1")
    assert one["state"] == "draining" and one["pieces"] == 0, one
    for key, body in {**bodies, **load.kept}.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
    assert admin(server, "/_orchard/providers")[1]["under_replicated"] == 0
    res = cli(server, "provider", "remove", "d1")
    assert res.returncode == 0, res.stderr
    assert "removed" in cli(server, "provider", "status", "d1").stdout
    # new writes keep off it; reads still exact after a restart
    s3.put_object(Bucket=bucket, Key="after", Body=b"x" * 300000)
    assert files_on(tmp_path, "d1") == set()
    server.restart()
    s3 = server.client()
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"x" * 300000
    assert files_on(tmp_path, "d1") == set()


def test_drain_survives_kill_9(orchard_factory, tmp_path):
    server = orchard_factory(providers=disks(tmp_path), placement="replicate:2", gc_interval=1,
                             drain_rate="1M", scrub_interval=0, **srv.SMALL_CHUNKS)
    s3, bucket, bodies = fill(server, n=30)
    total = len(files_on(tmp_path, "d2"))
    assert total > 32  # more than two of the drain's steps (16 pieces each)
    res = cli(server, "provider", "drain", "d2", "--no-wait")
    assert res.returncode == 0, res.stderr

    def some_moved():
        return admin(server, "/_orchard/providers/d2")[1]["pieces"] < total
    assert disk.wait_until(some_moved, 30)
    assert admin(server, "/_orchard/providers/d2")[1]["pieces"] > 0  # still going
    server.kill()
    server.server_opts["drain_rate"] = "64M"
    server.start()
    st, one = admin(server, "/_orchard/providers/d2")
    assert one["state"] == "draining", one
    metrics = s3raw.signed(server.port, server.creds, "GET", "/metrics").body.decode()
    assert 'orchard_drain_remaining_pieces{provider="d2"}' in metrics
    res = cli(server, "provider", "drain", "d2")  # follows the drain under way
    assert res.returncode == 0, res.stderr
    assert files_on(tmp_path, "d2") == set()
    s3 = server.client()
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, key
    assert admin(server, "/_orchard/providers")[1]["under_replicated"] == 0
    # every chunk has its two copies, byte-identical, on the other three
    names = disk.chunk_names([str(tmp_path / f"d{i}") for i in (1, 3, 4)])
    for name, paths in names.items():
        assert len(paths) == 2, (name, paths)
        a, b = (open(p, "rb").read() for p in paths)
        assert a == b
    assert cli(server, "provider", "remove", "d2").returncode == 0


def test_drain_refused_when_a_class_would_lack_providers(orchard_factory, tmp_path):
    server = orchard_factory(providers=disks(tmp_path, 2), placement="replicate:2")
    res = cli(server, "provider", "drain", "d1", "--no-wait")
    assert res.returncode != 0
    assert "STANDARD" in res.stderr and "replicate:2" in res.stderr, res.stderr
    st, one = admin(server, "/_orchard/providers/d1")
    assert one["state"] == "active"
    res = cli(server, "provider", "drain", "nosuch")
    assert res.returncode != 0 and "nosuch" in res.stderr
    # undrain ends a drain: the provider takes writes again
    server2 = orchard_factory(providers=disks(tmp_path / "b", 3), placement="replicate:2")
    assert cli(server2, "provider", "drain", "d3", "--no-wait").returncode == 0
    assert cli(server2, "provider", "undrain", "d3").returncode == 0
    assert admin(server2, "/_orchard/providers/d3")[1]["state"] == "active"


def test_a_provider_added_without_a_restart_lets_a_full_placement_drain(orchard_factory,
                                                                        tmp_path):
    server = orchard_factory(providers=disks(tmp_path, 2), placement="replicate:2",
                             gc_interval=1, scrub_interval=0, **srv.SMALL_CHUNKS)
    s3, bucket, bodies = fill(server, n=4)
    assert cli(server, "provider", "drain", "d1", "--no-wait").returncode != 0  # needs both
    pid = server.pid
    res = cli(server, "provider", "add", "d3", "type=fs", f"path={tmp_path / 'd3'}",
              "--config", server.config_path)
    assert res.returncode == 0, res.stderr
    assert server.pid == pid and server.proc.poll() is None  # no restart
    names = [p["name"] for p in admin(server, "/_orchard/providers")[1]["providers"]]
    assert "d3" in names, names
    res = cli(server, "provider", "drain", "d1")
    assert res.returncode == 0, res.stderr
    assert files_on(tmp_path, "d1") == set() and files_on(tmp_path, "d3")
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    # by hand and SIGHUP: the same
    with open(server.config_path, "a") as f:
        f.write(f"\n[provider.d4]\ntype = fs\npath = {tmp_path / 'd4'}\n")
    os.kill(server.pid, signal.SIGHUP)

    def has_d4():
        return "d4" in [p["name"] for p in admin(server, "/_orchard/providers")[1]["providers"]]
    assert disk.wait_until(has_d4, 10)
    # a section the server cannot open is refused, and the file put back
    before = open(server.config_path).read()
    res = cli(server, "provider", "add", "d5", "type=nosuch", "--config", server.config_path)
    assert res.returncode != 0 and "nosuch" in res.stderr, res.stderr
    assert open(server.config_path).read() == before
    s3.put_object(Bucket=bucket, Key="new", Body=b"n" * 200000)
    assert s3.get_object(Bucket=bucket, Key="new")["Body"].read() == b"n" * 200000
