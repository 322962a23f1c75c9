"""What survives: restarts, dedup on disk, damaged or missing chunk copies,
clients that die mid-upload, and garbage collection of released chunks.

Each test gets a fresh server (orchard_factory), so every chunk file under
DATA/disks/*/chunks belongs to the objects that test wrote."""

import os
import socket
import stat
import time

import pytest
import urllib3.exceptions
from botocore.exceptions import BotoCoreError, ClientError

from support import disk, s3raw
from support import server as srv
from support.data import expect_error, md5_etag, random_bytes, unique_bucket

MiB = 1024 * 1024
FAST_GC = {"gc_interval": 1, "gc_grace": 1}
GC_WAIT = 15  # seconds: a few GC passes at gc_interval = 1, gc_grace = 1


def _setup(server, key="obj", body=None, size=5 * MiB, seed=5):
    s3 = server.client()
    bucket = unique_bucket("dur")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(size, seed=seed) if body is None else body
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    return s3, bucket, body


def _read(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _assert_never_wrong(server, bucket, key, expected):
    """A GET of an object whose data is lost must fail: an error status before
    the body, or a body cut short. A complete body of the right length with
    wrong bytes (or a silently short one with success) must never happen."""
    s3 = server.client(read_timeout=30)
    try:
        resp = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] >= 500, exc.response
        return "error status"
    except BotoCoreError:
        return "connection cut before headers"
    assert resp["ContentLength"] == len(expected)
    data = b""
    try:
        body = resp["Body"]
        while True:
            piece = body.read(1 << 20)
            if not piece:
                break
            data += piece
        body.close()
    except (BotoCoreError, urllib3.exceptions.HTTPError, ConnectionError, OSError):
        assert len(data) < len(expected)
        return "cut short"
    assert len(data) < len(expected), (
        "server sent a complete body although every copy of a chunk is bad"
        if len(data) == len(expected) else "body longer than the object")
    return "short read"


def test_restart_keeps_buckets_and_objects(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS)
    s3 = server.client()
    objects = {}
    buckets = [unique_bucket("keep") for _ in range(3)]
    for i, b in enumerate(buckets):
        s3.create_bucket(Bucket=b)
        for j, size in enumerate((0, 1, 300_000, 3 * MiB + 1)):
            key = f"dir{j}/obj-{size}"
            body = random_bytes(size, seed=100 * i + j)
            s3.put_object(Bucket=b, Key=key, Body=body, ContentType=f"test/{j}",
                          Metadata={"i": str(i)})
            objects[(b, key)] = body
    assert server.restart() == 0, "SIGTERM must stop the server with exit status 0"
    s3 = server.client()
    assert set(buckets) <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    for (b, key), body in objects.items():
        got = s3.get_object(Bucket=b, Key=key)
        assert got["Body"].read() == body
        assert got["ETag"] == md5_etag(body)
        assert got["Metadata"] == {"i": str(buckets.index(b))}
    for b in buckets:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]]
        assert keys == sorted(k for (bb, k) in objects if bb == b)
    # writes after the restart work too
    s3.put_object(Bucket=buckets[0], Key="after", Body=b"after restart")
    assert _read(s3, buckets[0], "after") == b"after restart"


def test_generated_admin_keys_are_stored_0600_and_survive_restart(orchard_factory):
    server = orchard_factory(generate_keys=True)
    assert server.access_key and server.secret_key
    cred = os.path.join(server.data, "credentials")
    assert stat.S_IMODE(os.stat(cred).st_mode) == 0o600
    s3 = server.client()
    b = unique_bucket("gen")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="k", Body=b"generated")
    assert server.restart() == 0
    assert _read(server.client(), b, "k") == b"generated"


def test_same_body_twice_is_stored_once(orchard_factory):
    server = orchard_factory()
    size = 50 * MiB
    s3, bucket, body = _setup(server, key="first", size=size, seed=50)
    roots = server.disk_roots()
    # A put hedged on another provider and cancelled may still land (its
    # last bytes were out); such a leftover is deleted in the background,
    # so the copies settle at two each.
    assert disk.wait_until(
        lambda: all(len(p) == 2 for p in disk.chunk_names(roots).values()), 20)
    after_first = disk.chunk_files(roots)
    s3.put_object(Bucket=bucket, Key="second", Body=body)
    after_second = disk.chunk_files(roots)
    assert after_second == after_first, "the second copy wrote new chunk files"
    names = disk.chunk_names(roots)
    n = len(names)
    assert n >= 1
    for name, paths in names.items():
        assert len(paths) == 2, (name, paths)  # replicate:2
        assert len({p.split(os.sep + "chunks" + os.sep)[0] for p in paths}) == 2  # 2 disks
    total = sum(after_second.values())
    # 2 copies of 50 MiB plus the per-chunk seal frame and padding (under
    # 1/16, and at most the floor for a tail chunk), not 4 copies
    assert 2 * size <= total <= 2 * ((size + 32 * n) * 17 / 16 + disk.PAD_FLOOR), (total, n)
    assert _read(s3, bucket, "first") == body
    assert _read(s3, bucket, "second") == body


def test_one_corrupt_copy_is_skipped(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS)
    s3, bucket, body = _setup(server, size=6 * MiB, seed=6)
    names = disk.chunk_names(server.disk_roots())
    assert len(names) > 3
    name = sorted(names)[len(names) // 2]
    disk.flip_middle_byte(names[name][0])
    assert _read(s3, bucket, "obj") == body
    # one bad copy of every chunk, spread over the disks: still whole
    for i, (name, paths) in enumerate(sorted(names.items())):
        if i != len(names) // 2:
            disk.flip_middle_byte(sorted(paths)[i % 2])
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == body
    resp = s3.get_object(Bucket=bucket, Key="obj", Range="bytes=1000000-4000000")
    assert resp["Body"].read() == body[1000000:4000001]


def test_one_missing_copy_is_skipped(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS)
    s3, bucket, body = _setup(server, size=6 * MiB, seed=7)
    names = disk.chunk_names(server.disk_roots())
    for i, (name, paths) in enumerate(sorted(names.items())):
        disk.remove_copy(sorted(paths)[i % 2])
    assert _read(s3, bucket, "obj") == body


@pytest.mark.parametrize("which", ["one chunk", "every chunk"])
def test_all_copies_bad_never_returns_wrong_bytes(orchard_factory, which):
    server = orchard_factory(**srv.SMALL_CHUNKS)
    s3, bucket, body = _setup(server, size=6 * MiB, seed=8)
    names = disk.chunk_names(server.disk_roots())  # the chunks of "obj" only
    s3.put_object(Bucket=bucket, Key="healthy", Body=b"unrelated object")
    victims = sorted(names)
    if which == "one chunk":
        victims = [victims[len(victims) // 2]]
    for name in victims:
        for path in names[name]:
            disk.flip_middle_byte(path)
    _assert_never_wrong(server, bucket, "obj", body)
    # the server is still up and serves what is intact
    assert _read(server.client(), bucket, "healthy") == b"unrelated object"


def _kill_mid_upload(server, bucket, key, declared, sent):
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", f"/{bucket}/{key}",
                              payload_hash=s3raw.UNSIGNED_PAYLOAD)
    hdrs["Content-Length"] = str(declared)
    block = random_bytes(MiB, seed=9)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(s3raw.raw_head("PUT", f"/{bucket}/{key}", hdrs))
        for i in range(sent // MiB):
            sock.sendall(bytes([i & 0xFF]) + block[1:])  # distinct blocks: no dedup
        sock.shutdown(socket.SHUT_RDWR)


def _tmp_files(roots):
    out = []
    for root in (r for r in roots if isinstance(r, str)):  # clouds have no temp files
        for dirpath, _dirs, files in os.walk(os.path.join(root, "tmp")):
            out += [os.path.join(dirpath, f) for f in files]
    return out


def test_client_killed_mid_upload_leaves_nothing(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS, **FAST_GC)
    s3 = server.client()
    bucket = unique_bucket("cut")
    s3.create_bucket(Bucket=bucket)
    _kill_mid_upload(server, bucket, "partial", declared=64 * MiB, sent=20 * MiB)
    roots = server.disk_roots()
    assert disk.wait_until(lambda: not disk.chunk_files(roots), GC_WAIT), (
        f"{len(disk.chunk_files(roots))} chunk files of the aborted upload remain")
    assert disk.wait_until(lambda: not _tmp_files(roots), GC_WAIT), _tmp_files(roots)
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="partial")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # and the server still takes a whole upload of the same key
    body = random_bytes(2 * MiB, seed=10)
    s3.put_object(Bucket=bucket, Key="partial", Body=body)
    assert _read(s3, bucket, "partial") == body


def test_overwrite_and_delete_release_chunks(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS, **FAST_GC)
    roots = server.disk_roots()
    s3, bucket, old = _setup(server, key="k", size=4 * MiB, seed=11)
    old_names = set(disk.chunk_names(roots))
    assert old_names
    new = random_bytes(3 * MiB, seed=12)
    s3.put_object(Bucket=bucket, Key="k", Body=new)
    assert disk.wait_until(lambda: not (old_names & set(disk.chunk_names(roots))), GC_WAIT), (
        "chunks of the overwritten version were not collected")
    new_names = set(disk.chunk_names(roots))
    assert new_names and not (new_names & old_names)
    assert _read(s3, bucket, "k") == new
    s3.delete_object(Bucket=bucket, Key="k")
    assert disk.wait_until(lambda: not disk.chunk_files(roots), GC_WAIT), (
        "chunks of the deleted object were not collected")
    expect_error(s3.get_object, "NoSuchKey", 404, Bucket=bucket, Key="k")


def test_deleting_one_of_two_references_keeps_the_chunks(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS, **FAST_GC)
    roots = server.disk_roots()
    s3, bucket, body = _setup(server, key="a", size=3 * MiB, seed=13)
    s3.put_object(Bucket=bucket, Key="b", Body=body)
    files = disk.chunk_files(roots)
    s3.delete_object(Bucket=bucket, Key="a")
    # Several GC passes must not take chunks that "b" still uses.
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        assert disk.chunk_files(roots) == files
        time.sleep(0.5)
    assert _read(s3, bucket, "b") == body
    s3.delete_object(Bucket=bucket, Key="b")
    assert disk.wait_until(lambda: not disk.chunk_files(roots), GC_WAIT)
