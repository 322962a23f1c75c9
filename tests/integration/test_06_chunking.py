"""Content-defined chunking seen through the server: an edit shifts few chunk
boundaries, so a slightly changed object stores only a few new chunks."""

import pytest

from support import disk
from support import server as srv
from support.data import random_bytes, unique_bucket

MiB = 1024 * 1024
BASE = random_bytes(64 * MiB, seed=64)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = srv.Orchard(tmp_path_factory.mktemp("cdc"), **srv.SMALL_CHUNKS).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def base(s3):
    bucket = unique_bucket("cdc")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="base", Body=BASE)
    return bucket


@pytest.fixture(scope="module")
def base_files(server, base):
    """How many chunk files (copies included) the 64 MiB base object took."""
    return len(disk.chunk_files(server.disk_roots()))


@pytest.mark.parametrize("name,variant", [
    ("insert-front", lambda b: b"\x01" + b),
    ("insert-middle", lambda b: b[:len(b) // 2] + b"inserted" + b[len(b) // 2:]),
    ("overwrite-middle", lambda b: b[:40 * MiB] + bytes([b[40 * MiB] ^ 1]) + b[40 * MiB + 1:]),
    ("append", lambda b: b + b"tail"),
])
def test_small_edit_adds_few_chunks(server, s3, base, base_files, name, variant):
    roots = server.disk_roots()
    assert base_files >= 2 * 64  # 64 MiB in chunks of at most 1 MiB, 2 copies each
    before = set(disk.chunk_files(roots))
    body = variant(BASE)
    s3.put_object(Bucket=base, Key=name, Body=body)
    after = set(disk.chunk_files(roots))
    new = after - before
    assert 0 < len(new) <= 0.10 * base_files, (len(new), base_files)
    assert s3.get_object(Bucket=base, Key=name)["Body"].read() == body
    assert s3.get_object(Bucket=base, Key="base")["Body"].read() == BASE


def test_chunk_sizes_respect_configured_bounds(server, base, base_files):
    sizes = list(disk.chunk_files(server.disk_roots()).values())
    # sealed sizes are padded (format v2), so the bounds are on padded sizes
    assert all(disk.is_padded_size(s) for s in sizes), sorted(set(sizes))
    assert max(sizes) <= disk.sealed_len(srv.SMALL_CHUNKS["chunk_max"])
    # all chunks but the last one of each object are at least chunk_min
    small = [s for s in sizes if s < disk.sealed_len(srv.SMALL_CHUNKS["chunk_min"])]
    assert len(small) <= 2 * 8, small  # 2 copies x at most one tail per object
