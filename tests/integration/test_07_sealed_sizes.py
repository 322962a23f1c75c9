"""What a provider sees of an object's size: sealed chunks are padded (format
v2, Padmé with a 4 KiB floor), so objects whose sizes differ a little leave
chunk files of the same size, and the exact length lives only inside the
ciphertext and in the metadata. Reads still return every byte exactly."""

import os

import pytest

from support import disk
from support import server as srv
from support.data import random_bytes, unique_bucket

MiB = 1024 * 1024
# Objects up to chunk_min are one chunk, so an object's size is its chunk's.
ONE_CHUNK_UP_TO_4MIB = {"chunk_min": 4 * MiB, "chunk_avg": 8 * MiB, "chunk_max": 16 * MiB}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = srv.Orchard(tmp_path_factory.mktemp("pad"), **ONE_CHUNK_UP_TO_4MIB).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def bucket(s3):
    name = unique_bucket("pad")
    s3.create_bucket(Bucket=name)
    return name


def put_and_see(server, s3, bucket, key, body):
    """PUTs body and returns {path: size} of the chunk files it added."""
    roots = server.disk_roots()
    before = set(disk.chunk_files(roots))
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    after = disk.chunk_files(roots)
    return {path: size for path, size in after.items() if path not in before}


@pytest.mark.parametrize("sizes", [[1000, 1001], [1, 700, 4000], [3 * MiB, 3 * MiB + 1,
                                                                  3 * MiB + 20000]],
                         ids=["1000-1001", "tiny", "3MiB"])
def test_near_sizes_leave_equal_chunk_files(server, s3, bucket, sizes):
    seen = {}
    bodies = {}
    for i, size in enumerate(sizes):
        key = f"near-{size}-{i}"
        bodies[key] = random_bytes(size, seed=size + 7 * i)
        added = put_and_see(server, s3, bucket, key, bodies[key])
        assert added, size  # one chunk, in as many copies as the placement wants
        assert len({os.path.basename(p) for p in added}) == 1, added
        seen[size] = set(added.values())
    # every object, whatever its exact size, is one file size on the providers
    assert len(set().union(*seen.values())) == 1, seen
    (stored,) = set().union(*seen.values())
    assert stored == disk.sealed_len(max(sizes))
    assert stored > max(sizes)  # the length is hidden by padding, not by truncating
    for key, body in bodies.items():
        got = s3.get_object(Bucket=bucket, Key=key)
        assert got["ContentLength"] == len(body)
        assert got["Body"].read() == body


def test_pipelined_chunks_are_padded_and_read_back_exactly(server, s3, bucket):
    # 40 MiB goes through the sealer and writer threads in chunks of up to
    # 16 MiB, each sealed into a buffer sized for the largest padded chunk.
    body = random_bytes(40 * MiB + 12345, seed=40)
    added = put_and_see(server, s3, bucket, "big", body)
    chunks = {os.path.basename(p): size for p, size in added.items()}  # one per chunk
    assert len(chunks) >= 3, chunks  # chunks of at most 16 MiB
    assert all(disk.is_padded_size(s) for s in added.values()), added
    assert max(chunks.values()) <= disk.sealed_len(ONE_CHUNK_UP_TO_4MIB["chunk_max"])
    # padding costs under 1/32 for chunks this big, the floor at most for the tail
    n = len(chunks)
    assert sum(chunks.values()) <= (len(body) + 32 * n) * 33 / 32 + disk.PAD_FLOOR
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == body
    # a range across chunk boundaries, decrypted in place like the whole
    lo, hi = 5 * MiB - 3, 37 * MiB + 5
    got = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={lo}-{hi}")["Body"].read()
    assert got == body[lo:hi + 1]


def test_equal_bodies_still_dedup_with_padding(server, s3, bucket):
    body = random_bytes(2 * MiB + 99, seed=2)
    first = put_and_see(server, s3, bucket, "dedup-a", body)
    assert first
    assert put_and_see(server, s3, bucket, "dedup-b", body) == {}  # same sealed bytes, same name
    assert s3.get_object(Bucket=bucket, Key="dedup-b")["Body"].read() == body
