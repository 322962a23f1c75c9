"""Test bodies (seeded pseudo-random bytes: fast and reproducible), digests,
unique bucket names, and the check every error test makes."""

import hashlib
import itertools
import random
import secrets

import pytest
from botocore.exceptions import ClientError

_seq = itertools.count(1)


def random_bytes(size, seed=0):
    return random.Random(seed).randbytes(size)


def md5_etag(body):
    return '"' + hashlib.md5(body).hexdigest() + '"'


def sha256_hex(body):
    return hashlib.sha256(body).hexdigest()


def unique_bucket(prefix="b"):
    return f"{prefix}-{next(_seq)}-{secrets.token_hex(4)}"


def expect_error(fn, code, status, **kwargs):
    """Calls fn(**kwargs), which must fail with S3 error `code` and HTTP `status`.

    For HEAD requests S3 has no body, so botocore reports the status as the
    code; pass code=None to check the status only."""
    with pytest.raises(ClientError) as info:
        fn(**kwargs)
    resp = info.value.response
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == status, resp
    if code is not None:
        assert resp["Error"]["Code"] == code, resp
    return resp
