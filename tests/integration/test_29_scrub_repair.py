"""Scrub and the durable repair queue (issue 11).

A scrub reads back every copy of every chunk and compares it with what it
must hold; a copy changed or deleted behind Orchard's back is queued for
repair, which writes a new copy, reads it back, and only then counts it. The
queue is a table: it survives a kill -9. Local disks only: the tests change
provider files and fault rules directly."""

import json
import os
import subprocess
import time

import pytest

from support import disk, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket

pytestmark = pytest.mark.own_backends

MiB = 1024 * 1024


def admin(server, path, method="GET"):
    r = s3raw.signed(server.port, server.creds, method, path)
    assert r.status == 200, (r.status, r.body)
    return json.loads(r.body)


def cli(server, *args, timeout=120):
    env = srv.clean_env({"ORCHARD_ACCESS_KEY": server.access_key,
                         "ORCHARD_SECRET_KEY": server.secret_key})
    return subprocess.run([srv.orchard_bin(), *args, "--data", server.data, "--endpoint",
                           server.endpoint], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


def three_disks(tmp_path, faults=False):
    provs = {}
    for i in (1, 2, 3):
        spec = {"type": "fs", "path": str(tmp_path / f"d{i}")}
        if faults:
            spec["fault_file"] = str(tmp_path / f"faults{i}")
            (tmp_path / f"faults{i}").write_text("")
        provs[f"d{i}"] = spec
    return provs


def put_objects(server, n=4, size=2 * MiB, seed=290):
    s3 = server.client(read_timeout=60)
    bucket = unique_bucket("scrub")
    s3.create_bucket(Bucket=bucket)
    bodies = {}
    for i in range(n):
        bodies[f"k{i}"] = random_bytes(size, seed=seed + i)
        s3.put_object(Bucket=bucket, Key=f"k{i}", Body=bodies[f"k{i}"])
    return s3, bucket, bodies


def copies(tmp_path):
    """{chunk name: {disk: bytes}} of every copy on d1..d3."""
    out = {}
    for i in (1, 2, 3):
        for path in disk.chunk_files([str(tmp_path / f"d{i}")]):
            with open(path, "rb") as f:
                out.setdefault(os.path.basename(path), {})[f"d{i}"] = f.read()
    return out


def all_whole(tmp_path, want=2, ignore=()):
    """Every chunk has want copies on distinct disks, all byte-identical."""
    cs = {k: v for k, v in copies(tmp_path).items() if k not in ignore}
    return cs and all(len(c) == want and len(set(c.values())) == 1 for c in cs.values())


def test_scrub_finds_a_flipped_and_a_deleted_copy_and_repair_restores_both(orchard_factory,
                                                                           tmp_path):
    server = orchard_factory(providers=three_disks(tmp_path), placement="replicate:2",
                             gc_interval=1, scrub_interval=0, **srv.SMALL_CHUNKS)
    s3, bucket, bodies = put_objects(server)
    assert all_whole(tmp_path)
    before = copies(tmp_path)
    names = sorted(before)
    flipped, deleted = names[0], names[1]
    fdisk = sorted(before[flipped])[0]
    ddisk = sorted(before[deleted])[0]
    disk.flip_middle_byte(str(disk.chunk_names([str(tmp_path / fdisk)])[flipped][0]))
    disk.remove_copy(str(disk.chunk_names([str(tmp_path / ddisk)])[deleted][0]))

    res = cli(server, "scrub")
    assert res.returncode == 0, res.stderr
    assert "1 bad, 1 missing" in res.stdout, res.stdout
    view = admin(server, "/_orchard/scrub")
    assert view["running"] is False and view["chunks"] == len(names), view
    assert view["pieces"] == 2 * len(names)
    assert view["bad"] == 1 and view["missing"] == 1 and view["lost"] == 0, view

    # repair rebuilds both from the good copies, verified, and empties the queue
    assert disk.wait_until(lambda: admin(server, "/_orchard/repair")["items"] == 0, 60)
    assert disk.wait_until(lambda: all_whole(tmp_path), 10), copies(tmp_path)
    after = copies(tmp_path)
    for name in (flipped, deleted):
        assert set(after[name].values()) == {before[name][sorted(before[name])[-1]]}
    assert admin(server, "/_orchard/providers")["under_replicated"] == 0
    assert admin(server, "/_orchard/repair")["repaired"] >= 2
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    # a second pass finds nothing
    res = cli(server, "scrub")
    assert res.returncode == 0 and "0 bad, 0 missing" in res.stdout, res.stdout


def test_scrub_exits_1_when_every_copy_of_a_chunk_is_bad(orchard_factory, tmp_path):
    server = orchard_factory(providers=three_disks(tmp_path), placement="replicate:2",
                             scrub_interval=0, **srv.SMALL_CHUNKS)
    put_objects(server, n=1, size=1 * MiB)
    name = sorted(copies(tmp_path))[0]
    for path in disk.chunk_names([str(tmp_path / f"d{i}") for i in (1, 2, 3)])[name]:
        disk.flip_middle_byte(path)
    res = cli(server, "scrub")
    assert res.returncode == 1, (res.stdout, res.stderr)
    assert "no good copy" in res.stderr
    assert admin(server, "/_orchard/scrub")["lost"] == 1


def test_repair_never_counts_a_copy_that_reads_back_wrong(orchard_factory, tmp_path):
    # replicate:2 on three disks; a copy is deleted behind Orchard's back.
    # The only place repair can write the new copy is the disk that holds no
    # copy (the one that lost its copy refuses puts), and that disk hands back
    # flipped bytes: repair must see it, keep the chunk queued and below full
    # redundancy, and finish only once the disk is honest again.
    server = orchard_factory(providers=three_disks(tmp_path, faults=True),
                             placement="replicate:2", gc_interval=1, scrub_interval=0)
    put_objects(server, n=1, size=512 * 1024)
    cs = copies(tmp_path)
    assert len(cs) == 1
    name, held = next(iter(cs.items()))
    lost = sorted(held)[0]
    spare = ({"d1", "d2", "d3"} - set(held)).pop()
    disk.remove_copy(disk.chunk_names([str(tmp_path / lost)])[name][0])
    (tmp_path / f"faults{lost[1]}").write_text("put fail\n")
    (tmp_path / f"faults{spare[1]}").write_text("get corrupt\n")
    time.sleep(0.1)

    res = cli(server, "scrub")
    assert res.returncode == 0 and "1 missing" in res.stdout, res.stdout
    # repair tries, writes to the spare, reads it back wrong: never done
    assert disk.wait_until(lambda: admin(server, "/_orchard/repair")["failing"] == 1, 30)
    time.sleep(2)
    rq = admin(server, "/_orchard/repair")
    assert rq["items"] == 1 and rq["repaired"] == 0, rq
    assert admin(server, "/_orchard/providers")["under_replicated"] == 1
    # honest again: the next try finishes
    (tmp_path / f"faults{lost[1]}").write_text("")
    (tmp_path / f"faults{spare[1]}").write_text("")
    assert disk.wait_until(lambda: admin(server, "/_orchard/repair")["items"] == 0, 60)
    assert admin(server, "/_orchard/providers")["under_replicated"] == 0
    assert disk.wait_until(lambda: all_whole(tmp_path), 10), copies(tmp_path)


def test_the_repair_queue_survives_kill_9(orchard_factory, tmp_path):
    # Two disks, replicate:2: the disk that lost a copy is the only place for
    # the new one, and it refuses puts. The queued repair must be there after
    # a kill -9 and finish once the disk takes writes again.
    provs = three_disks(tmp_path, faults=True)
    del provs["d3"]
    server = orchard_factory(providers=provs, placement="replicate:2", gc_interval=1,
                             scrub_interval=0)
    s3, bucket, bodies = put_objects(server, n=1, size=512 * 1024)
    name = sorted(copies(tmp_path))[0]
    disk.remove_copy(disk.chunk_names([str(tmp_path / "d1")])[name][0])
    (tmp_path / "faults1").write_text("put fail\n")
    time.sleep(0.1)
    assert cli(server, "scrub").returncode == 0
    assert disk.wait_until(lambda: admin(server, "/_orchard/repair")["failing"] == 1, 30)
    server.kill()
    server.start()
    rq = admin(server, "/_orchard/repair")
    assert rq["items"] == 1 and rq["failing"] == 1, rq
    metrics = s3raw.signed(server.port, server.creds, "GET", "/metrics").body.decode()
    assert "\norchard_repair_queue_depth 1\n" in metrics, metrics[-2000:]
    assert "\norchard_repair_queue_failing 1\n" in metrics
    res = cli(server, "repair")
    assert res.returncode == 0 and "1 chunks" in res.stdout, res.stdout
    (tmp_path / "faults1").write_text("")
    assert disk.wait_until(lambda: admin(server, "/_orchard/repair")["items"] == 0, 60)
    assert disk.wait_until(lambda: all_whole(tmp_path), 10)
    assert s3_get(server, bucket, "k0") == bodies["k0"]


def s3_get(server, bucket, key):
    return server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def rate_server(orchard_factory, tmp_path):
    server = orchard_factory(providers=three_disks(tmp_path), placement="replicate:2",
                             scrub_interval=0, scrub_rate="2M", **srv.SMALL_CHUNKS)
    put_objects(server, n=2, size=3 * MiB)
    return server, len(copies(tmp_path))


def test_scrub_keeps_to_its_rate(orchard_factory, tmp_path):
    # About 18 MiB to read (6 MiB of data: each chunk, then its two copies)
    # at 2 MiB/s: the pass takes seconds, not the fraction of one the disks need.
    server, total = rate_server(orchard_factory, tmp_path)
    assert total > 16  # three steps or more of 8 chunks
    t0 = time.monotonic()
    res = cli(server, "scrub")
    took = time.monotonic() - t0
    assert res.returncode == 0 and "0 bad, 0 missing" in res.stdout, res.stdout
    view = admin(server, "/_orchard/scrub")
    assert view["chunks"] == total, view
    # every step but the last waits for its share of the rate
    assert took >= view["bytes"] / (2 * MiB) * 0.5, (took, view["bytes"])


def test_scrub_resumes_after_a_restart(orchard_factory, tmp_path):
    server, total = rate_server(orchard_factory, tmp_path)
    assert cli(server, "scrub", "--no-wait").returncode == 0
    assert disk.wait_until(lambda: admin(server, "/_orchard/scrub")["chunks"] > 0, 20)
    mid = admin(server, "/_orchard/scrub")
    assert mid["running"] and 0 < mid["chunks"] < total, mid
    server.restart()
    view = admin(server, "/_orchard/scrub")
    assert view["running"] and view["cursor"] >= mid["cursor"] > 0, (mid, view)
    assert view["started_ms"] == mid["started_ms"]
    assert disk.wait_until(lambda: not admin(server, "/_orchard/scrub")["running"], 60)
    view = admin(server, "/_orchard/scrub")
    # went on from where it was: every chunk checked once, none twice
    assert view["chunks"] == total and view["bad"] == 0, view


def test_fsck_finds_a_deleted_copy_and_a_planted_file(orchard_factory, tmp_path):
    server = orchard_factory(providers=three_disks(tmp_path), placement="replicate:2",
                             gc_interval=1, scrub_interval=0, **srv.SMALL_CHUNKS)
    s3, bucket, bodies = put_objects(server, n=2)
    cs = copies(tmp_path)
    name = sorted(cs)[0]
    lost = sorted(cs[name])[0]
    disk.remove_copy(disk.chunk_names([str(tmp_path / lost)])[name][0])
    planted = tmp_path / "d2" / "chunks" / "ab" / "cd" / ("abcd" + "0" * 60)
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_bytes(os.urandom(5000))
    res = cli(server, "fsck", "--grace", "2")
    assert res.returncode == 0, res.stderr
    assert "1 pieces missing" in res.stdout and "1 orphans found, 0 deleted" in res.stdout, \
        res.stdout
    # repair restores the copy; the planted file waits out its grace period
    assert disk.wait_until(lambda: admin(server, "/_orchard/repair")["items"] == 0, 60)
    assert disk.wait_until(lambda: all_whole(tmp_path, ignore={planted.name}), 10)
    assert planted.exists()
    time.sleep(2.2)
    res = cli(server, "fsck", "--grace", "2")
    assert res.returncode == 0, res.stderr
    assert "0 pieces missing" in res.stdout and "1 orphans found, 1 deleted" in res.stdout, \
        res.stdout
    assert not planted.exists()
    assert all_whole(tmp_path)  # nothing Orchard wrote was touched
    view = admin(server, "/_orchard/fsck")
    d2 = [p for p in view["providers"] if p["name"] == "d2"][0]
    assert d2["orphans_deleted"] == 1 and d2["orphan_bytes_deleted"] == 5000, d2
    for key, body in bodies.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body


def test_fsck_orphan_sweep_never_harms_an_upload_of_the_same_content(orchard_factory, tmp_path):
    # The copies of a chunk whose object was deleted and collected are put
    # back behind Orchard's back: orphans under exactly the names an upload
    # of the same content writes. fsck deletes them (grace 0) slowly (each
    # delete takes 0.8 s) while that upload runs: the upload must wait for
    # the sweep instead of having its fresh copies deleted under it.
    server = orchard_factory(providers=three_disks(tmp_path, faults=True),
                             placement="replicate:2", gc_interval=1, gc_grace=4,
                             scrub_interval=0)
    s3 = server.client(read_timeout=60)
    bucket = unique_bucket("fence")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(400 * 1024, seed=2950)
    s3.put_object(Bucket=bucket, Key="a", Body=body)
    saved = {}
    for i in (1, 2, 3):
        for path in disk.chunk_files([str(tmp_path / f"d{i}")]):
            saved[path] = open(path, "rb").read()
    assert len(saved) == 2
    s3.delete_object(Bucket=bucket, Key="a")
    assert disk.wait_until(lambda: not copies(tmp_path), 30)  # collected
    for path, data in saved.items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    for i in (1, 2, 3):
        (tmp_path / f"faults{i}").write_text("del delay 800\n")
    time.sleep(0.1)
    assert cli(server, "fsck", "--grace", "0", "--no-wait").returncode == 0
    # the sweep is deleting (each delete 0.8 s), its names fenced: upload now
    assert disk.wait_until(lambda: admin(server, "/_orchard/fsck")["fenced"] > 0, 10, 0.02)
    t0 = time.monotonic()
    s3.put_object(Bucket=bucket, Key="b", Body=body)
    waited = time.monotonic() - t0
    assert disk.wait_until(lambda: not admin(server, "/_orchard/fsck")["running"], 30)
    view = admin(server, "/_orchard/fsck")
    # the first orphan was deleted under the fence; the second too if its
    # sweep fenced it before the upload recorded its piece, else it is the
    # upload's now and stays
    assert view["orphans_deleted"] >= 1, view
    assert waited > 0.3, waited  # it waited for the fence
    for i in (1, 2, 3):
        (tmp_path / f"faults{i}").write_text("")
    time.sleep(0.1)
    # the upload's copies are there, whole, and read back exact
    assert all_whole(tmp_path), copies(tmp_path)
    assert s3.get_object(Bucket=bucket, Key="b")["Body"].read() == body
    res = cli(server, "scrub")
    assert res.returncode == 0 and "0 bad, 0 missing" in res.stdout, res.stdout
