"""Ranged GETs (RFC 9110 byte ranges as S3 serves them), on an object cut into
many small chunks so that ranges start, end and cross inside chunks."""

import random

import pytest

from support import server as srv
from support.data import expect_error, random_bytes, unique_bucket

SIZE = 3 * 1024 * 1024 + 12345  # several 64 KiB..1 MiB chunks, odd tail
BODY = random_bytes(SIZE, seed=2)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = srv.Orchard(tmp_path_factory.mktemp("range"), **srv.SMALL_CHUNKS).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def obj(s3):
    bucket = unique_bucket("range")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="body.bin", Body=BODY)
    return bucket, "body.bin"


def _get_range(s3, obj, spec):
    bucket, key = obj
    resp = s3.get_object(Bucket=bucket, Key=key, Range=spec)
    return resp, resp["Body"].read()


def _check(s3, obj, spec, first, last):
    resp, data = _get_range(s3, obj, spec)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 206, spec
    assert resp["ContentRange"] == f"bytes {first}-{last}/{SIZE}", spec
    assert resp["ContentLength"] == last - first + 1, spec
    assert data == BODY[first:last + 1], spec


@pytest.mark.parametrize("spec,first,last", [
    ("bytes=0-0", 0, 0),
    ("bytes=10-19", 10, 19),
    ("bytes=100-", 100, SIZE - 1),
    ("bytes=-100", SIZE - 100, SIZE - 1),
    (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
    (f"bytes={SIZE - 10}-{SIZE + 1000}", SIZE - 10, SIZE - 1),  # last clamped
    (f"bytes=0-{SIZE - 1}", 0, SIZE - 1),
])
def test_range_returns_exact_bytes_and_content_range(s3, obj, spec, first, last):
    _check(s3, obj, spec, first, last)


def test_suffix_longer_than_object_returns_whole_object(s3, obj):
    resp, data = _get_range(s3, obj, f"bytes=-{SIZE + 10}")
    assert data == BODY
    status = resp["ResponseMetadata"]["HTTPStatusCode"]
    assert status in (200, 206)
    if status == 206:
        assert resp["ContentRange"] == f"bytes 0-{SIZE - 1}/{SIZE}"


def test_range_across_chunk_boundaries(s3, obj):
    # Chunks are at most 1 MiB, so any range longer than 1 MiB crosses a
    # boundary; the random ones start and end at arbitrary offsets in chunks.
    _check(s3, obj, "bytes=1000000-2200001", 1000000, 2200001)
    rng = random.Random(7)
    for _ in range(20):
        first = rng.randrange(0, SIZE - 1)
        last = min(SIZE - 1, first + rng.randrange(1, 1536 * 1024))
        _check(s3, obj, f"bytes={first}-{last}", first, last)


def test_range_starting_at_or_past_end_is_416(s3, obj):
    bucket, key = obj
    for spec in (f"bytes={SIZE}-", f"bytes={SIZE}-{SIZE + 5}", f"bytes={SIZE + 100}-"):
        expect_error(s3.get_object, "InvalidRange", 416, Bucket=bucket, Key=key, Range=spec)


def test_whole_get_after_ranges_is_still_exact(s3, obj):
    bucket, key = obj
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == BODY
