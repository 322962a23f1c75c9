"""Buckets and whole-object round trips: the first thing any S3 client does."""

import pytest

from support import s3raw
from support.data import expect_error, md5_etag, random_bytes, unique_bucket

MiB = 1024 * 1024


# -- buckets ------------------------------------------------------------------


def test_create_list_head_delete_bucket(s3):
    name = unique_bucket()
    assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in names
    assert names == sorted(names)
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    expect_error(s3.head_bucket, None, 404, Bucket=name)


def test_create_bucket_with_location_constraint_body(s3):
    name = unique_bucket()
    s3.create_bucket(Bucket=name,
                     CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    s3.head_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"located")
    assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"located"


def test_list_buckets_has_owner_and_creation_date(s3, bucket):
    resp = s3.list_buckets()
    entry = [b for b in resp["Buckets"] if b["Name"] == bucket]
    assert len(entry) == 1
    assert entry[0]["CreationDate"] is not None
    assert "Owner" in resp


def test_head_missing_bucket_is_404(s3):
    expect_error(s3.head_bucket, None, 404, Bucket=unique_bucket("missing"))


def test_duplicate_create_by_owner_is_already_owned(s3, bucket):
    # us-east-1 answers 200 (S3's legacy behaviour there); other regions 409
    assert s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    eu = unique_bucket("eu")
    s3.create_bucket(Bucket=eu, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    expect_error(s3.create_bucket, "BucketAlreadyOwnedByYou", 409, Bucket=eu,
                 CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})


def test_duplicate_create_by_other_user_is_already_exists(server, s3, bucket):
    other = server.client(server.add_user("dup-other"))
    expect_error(other.create_bucket, "BucketAlreadyExists", 409, Bucket=bucket)
    # and the bucket is still the owner's
    s3.put_object(Bucket=bucket, Key="still-mine", Body=b"x")


@pytest.mark.parametrize("name", [
    "ab",                 # too short
    "a" * 64,             # too long
    "UpperCase",          # capitals
    "under_score",        # underscore
    "-leading-dash",
    "trailing-dash-",
    "two..dots",
    "192.168.5.4",        # IP address form
])
def test_invalid_bucket_names_are_rejected(server, s3, name):
    # Sent raw: boto3 would refuse some of these names itself.
    resp = s3raw.signed(server.port, server.creds, "PUT", "/" + name)
    assert resp.status == 400, resp
    assert resp.error_code() == "InvalidBucketName", resp
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_delete_non_empty_bucket_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    expect_error(s3.delete_bucket, "BucketNotEmpty", 409, Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket(Bucket=bucket)
    expect_error(s3.head_bucket, None, 404, Bucket=bucket)


def test_delete_missing_bucket_is_no_such_bucket(s3):
    expect_error(s3.delete_bucket, "NoSuchBucket", 404, Bucket=unique_bucket("missing"))


# -- objects ------------------------------------------------------------------


def _roundtrip(s3, bucket, key, body):
    put = s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert put["ETag"] == md5_etag(body)
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(body)
    assert head["ETag"] == md5_etag(body)
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ContentLength"] == len(body)
    assert got["ETag"] == md5_etag(body)
    data = got["Body"].read()
    assert len(data) == len(body)
    assert data == body


@pytest.mark.parametrize("size", [0, 1, 5 * MiB], ids=["0B", "1B", "5MiB"])
def test_object_roundtrip_is_byte_exact(s3, bucket, size):
    _roundtrip(s3, bucket, f"obj-{size}", random_bytes(size, seed=size))


@pytest.mark.slow
def test_200mib_object_roundtrip_is_byte_exact(s3, bucket):
    body = random_bytes(200 * MiB, seed=200)
    _roundtrip(s3, bucket, "big/200mib.bin", body)
    s3.delete_object(Bucket=bucket, Key="big/200mib.bin")


def test_content_type_and_user_metadata_roundtrip(s3, bucket):
    meta = {"color": "green", "owner-name": "Ada Lovelace", "n": "42"}
    s3.put_object(Bucket=bucket, Key="doc.json", Body=b'{"a": 1}',
                  ContentType="application/json; charset=utf-8", Metadata=meta)
    head = s3.head_object(Bucket=bucket, Key="doc.json")
    assert head["ContentType"] == "application/json; charset=utf-8"
    assert head["Metadata"] == meta
    assert head["ContentLength"] == 8
    got = s3.get_object(Bucket=bucket, Key="doc.json")
    assert got["ContentType"] == "application/json; charset=utf-8"
    assert got["Metadata"] == meta
    assert got["Body"].read() == b'{"a": 1}'


def test_keys_with_slashes_spaces_and_unicode(s3, bucket):
    keys = ["a/b/c.txt", "with space.txt", "ünïcødé/文件", "plus+sign", "per%cent", "tilde~"]
    for i, key in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=key, Body=f"body {i}".encode())
    for i, key in enumerate(keys):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == f"body {i}".encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == sorted(keys, key=lambda k: k.encode())


def test_get_missing_key_is_no_such_key(s3, bucket):
    expect_error(s3.get_object, "NoSuchKey", 404, Bucket=bucket, Key="nope")
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="nope")


def test_get_in_missing_bucket_is_no_such_bucket(s3):
    expect_error(s3.get_object, "NoSuchBucket", 404, Bucket=unique_bucket("missing"), Key="k")
    expect_error(s3.put_object, "NoSuchBucket", 404, Bucket=unique_bucket("missing"), Key="k",
                 Body=b"x")


def test_delete_missing_key_is_204(s3, bucket):
    resp = s3.delete_object(Bucket=bucket, Key="never-existed")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_overwrite_returns_new_content(s3, bucket):
    old = random_bytes(300_000, seed=1)
    new = random_bytes(123_456, seed=2)
    s3.put_object(Bucket=bucket, Key="k", Body=old, ContentType="text/old",
                  Metadata={"v": "1"})
    s3.put_object(Bucket=bucket, Key="k", Body=new, ContentType="text/new")
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == new
    assert got["ETag"] == md5_etag(new)
    assert got["ContentLength"] == len(new)
    assert got["ContentType"] == "text/new"
    assert got["Metadata"] == {}


def test_delete_then_get_is_no_such_key(s3, bucket):
    s3.put_object(Bucket=bucket, Key="gone", Body=b"soon gone")
    resp = s3.delete_object(Bucket=bucket, Key="gone")
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.get_object, "NoSuchKey", 404, Bucket=bucket, Key="gone")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_error_body_is_s3_xml_with_request_id(server, bucket):
    resp = s3raw.signed(server.port, server.creds, "GET", f"/{bucket}/missing-key")
    assert resp.status == 404
    fields = resp.error_fields()
    assert fields["Code"] == "NoSuchKey"
    assert fields.get("Message")
    assert fields.get("RequestId")
    assert resp.headers.get("content-type", "").startswith(("application/xml", "text/xml"))
