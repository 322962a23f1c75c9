"""Multipart uploads as clients use them: boto3's low-level calls, awscli's
`s3 cp` (multipart above 8 MiB) and boto3's managed transfers. Every test
compares the bytes that come back, not only status codes."""

import base64
import hashlib
import subprocess

import pytest
from boto3.s3.transfer import TransferConfig

from support import disk
from support import s3raw
from support import server as srv
from support.data import expect_error, random_bytes, unique_bucket

MiB = 1024 * 1024
AWS = "/usr/bin/aws"
FAST_GC = {"gc_interval": 1, "gc_grace": 1}
GC_WAIT = 15  # seconds: a few GC passes at gc_interval = 1, gc_grace = 1


def _mp_etag(parts):
    """S3's multipart ETag: MD5 of the concatenated binary part MD5s, "-N"."""
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def _upload(s3, bucket, key, parts, **create_args):
    """Creates an upload and sends parts (1-based, in order); returns
    (upload_id, [{"PartNumber", "ETag"}])."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key, **create_args)["UploadId"]
    done = []
    for i, body in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=body)
        assert r["ETag"] == '"' + hashlib.md5(body).hexdigest() + '"'
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return uid, done


def _complete(s3, bucket, key, uid, parts):
    return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                        MultipartUpload={"Parts": parts})


def _get(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


@pytest.fixture(scope="module")
def three_parts(s3):
    """A completed object of 5 MiB + 5 MiB + 1 byte of random data."""
    bucket = unique_bucket("mp")
    s3.create_bucket(Bucket=bucket)
    parts = [random_bytes(5 * MiB, seed=301), random_bytes(5 * MiB, seed=302),
             random_bytes(1, seed=303)]
    uid, done = _upload(s3, bucket, "dir/big.bin", parts, ContentType="application/x-test",
                        Metadata={"color": "green"})
    res = _complete(s3, bucket, "dir/big.bin", uid, done)
    return bucket, "dir/big.bin", parts, res


def test_complete_gives_the_bytes_and_the_multipart_etag(s3, three_parts):
    bucket, key, parts, res = three_parts
    body = b"".join(parts)
    assert res["ETag"] == _mp_etag(parts)
    assert res["ETag"].endswith('-3"')
    assert res["Key"] == key and res["Bucket"] == bucket
    got = s3.get_object(Bucket=bucket, Key=key)
    assert got["ETag"] == _mp_etag(parts)
    assert got["ContentLength"] == len(body)
    assert got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"color": "green"}
    assert got["Body"].read() == body
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [(key, len(body), res["ETag"])]
    # the upload is gone once completed
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize("first,last", [
    (5 * MiB - 10, 5 * MiB + 10),          # across the first part boundary
    (10 * MiB - 3, 10 * MiB),              # across the second, to the last byte
    (100, 10 * MiB - 100),                 # spanning all three parts
    (10 * MiB, 10 * MiB),                  # the one-byte last part alone
])
def test_ranged_get_across_part_boundaries(s3, three_parts, first, last):
    bucket, key, parts, _ = three_parts
    body = b"".join(parts)
    got = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={first}-{last}")
    assert got["ContentRange"] == f"bytes {first}-{last}/{len(body)}"
    assert got["Body"].read() == body[first:last + 1]


def test_get_and_head_part_number(s3, three_parts):
    bucket, key, parts, res = three_parts
    total = sum(len(p) for p in parts)
    got = s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["PartsCount"] == 3
    assert got["ETag"] == res["ETag"]  # the object's, as S3
    assert got["ContentRange"] == f"bytes {5 * MiB}-{10 * MiB - 1}/{total}"
    assert got["Body"].read() == parts[1]
    assert _get(s3, bucket, key, PartNumber=3) == parts[2]
    head = s3.head_object(Bucket=bucket, Key=key, PartNumber=1)
    assert head["ContentLength"] == 5 * MiB and head["PartsCount"] == 3
    expect_error(s3.get_object, "InvalidPart", 400, Bucket=bucket, Key=key, PartNumber=4)
    expect_error(s3.head_object, None, 400, Bucket=bucket, Key=key, PartNumber=4)
    # a plain object: part 1 is the whole object, there is no part 2
    s3.put_object(Bucket=bucket, Key="plain", Body=b"single part body")
    got = s3.get_object(Bucket=bucket, Key="plain", PartNumber=1)
    assert got["Body"].read() == b"single part body" and "PartsCount" not in got
    expect_error(s3.get_object, "InvalidPart", 400, Bucket=bucket, Key="plain", PartNumber=2)


def test_complete_refuses_bad_part_lists_and_keeps_the_upload(s3, bucket):
    small = [random_bytes(1 * MiB, seed=311), random_bytes(10, seed=312)]
    uid, done = _upload(s3, bucket, "small", small)
    expect_error(_complete, "EntityTooSmall", 400, s3=s3, bucket=bucket, key="small", uid=uid,
                 parts=done)
    s3.abort_multipart_upload(Bucket=bucket, Key="small", UploadId=uid)

    parts = [random_bytes(5 * MiB, seed=313), random_bytes(1000, seed=314)]
    uid, done = _upload(s3, bucket, "k", parts)
    wrong = [done[0], {"PartNumber": 2, "ETag": '"' + "0" * 32 + '"'}]
    expect_error(_complete, "InvalidPart", 400, s3=s3, bucket=bucket, key="k", uid=uid,
                 parts=wrong)
    missing = done + [{"PartNumber": 3, "ETag": done[1]["ETag"]}]
    expect_error(_complete, "InvalidPart", 400, s3=s3, bucket=bucket, key="k", uid=uid,
                 parts=missing)
    expect_error(_complete, "InvalidPartOrder", 400, s3=s3, bucket=bucket, key="k", uid=uid,
                 parts=[done[1], done[0]])
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="k")
    # nothing was lost: the same upload still completes
    res = _complete(s3, bucket, "k", uid, done)
    assert res["ETag"] == _mp_etag(parts)
    assert _get(s3, bucket, "k") == b"".join(parts)


def test_unknown_upload_id_is_no_such_upload(s3, bucket):
    bogus = "0" * 44
    expect_error(s3.upload_part, "NoSuchUpload", 404, Bucket=bucket, Key="k", UploadId=bogus,
                 PartNumber=1, Body=b"x")
    expect_error(s3.list_parts, "NoSuchUpload", 404, Bucket=bucket, Key="k", UploadId=bogus)
    expect_error(s3.abort_multipart_upload, "NoSuchUpload", 404, Bucket=bucket, Key="k",
                 UploadId=bogus)
    expect_error(_complete, "NoSuchUpload", 404, s3=s3, bucket=bucket, key="k", uid=bogus,
                 parts=[{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}])
    # an upload id is bound to its key
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mine")["UploadId"]
    expect_error(s3.upload_part, "NoSuchUpload", 404, Bucket=bucket, Key="other", UploadId=uid,
                 PartNumber=1, Body=b"x")
    expect_error(s3.upload_part, "InvalidArgument", 400, Bucket=bucket, Key="mine", UploadId=uid,
                 PartNumber=10001, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key="mine", UploadId=uid)


def test_upload_part_body_checks_are_their_s3_errors(server, s3, bucket):
    """UploadPart's own failures (a wrong Content-MD5 or x-amz-content-sha256)
    come out as their S3 errors, and leave no part."""
    uid = s3.create_multipart_upload(Bucket=bucket, Key="chk")["UploadId"]
    body = b"part body " * 100
    wrong_md5 = base64.b64encode(hashlib.md5(body + b"!").digest()).decode()
    expect_error(s3.upload_part, "BadDigest", 400, Bucket=bucket, Key="chk", UploadId=uid,
                 PartNumber=1, Body=body, ContentMD5=wrong_md5)
    r = s3raw.signed(server.port, server.creds, "PUT", f"/{bucket}/chk", body=body,
                     query=f"partNumber=2&uploadId={uid}",
                     payload_hash=hashlib.sha256(body + b"!").hexdigest())
    assert r.status == 400 and r.error_code() == "XAmzContentSHA256Mismatch", r
    assert s3.list_parts(Bucket=bucket, Key="chk", UploadId=uid).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=bucket, Key="chk", UploadId=uid)


def test_reuploaded_part_replaces_the_old_one(s3, bucket):
    first = random_bytes(5 * MiB, seed=321)
    second = random_bytes(5 * MiB, seed=322)
    tail = b"tail"
    uid, _ = _upload(s3, bucket, "k", [first, tail])
    r = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=second)
    listed = s3.list_parts(Bucket=bucket, Key="k", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (1, r["ETag"], len(second)), (2, '"' + hashlib.md5(tail).hexdigest() + '"', 4)]
    _complete(s3, bucket, "k", uid, [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                     for p in listed])
    assert _get(s3, bucket, "k") == second + tail


def test_list_parts_pages(s3, bucket):
    bodies = [random_bytes(1000 + i, seed=330 + i) for i in range(5)]
    uid, done = _upload(s3, bucket, "paged", bodies)
    seen, marker, pages = [], 0, 0
    while True:
        page = s3.list_parts(Bucket=bucket, Key="paged", UploadId=uid, MaxParts=2,
                             PartNumberMarker=marker)
        pages += 1
        assert page["MaxParts"] == 2 and page["UploadId"] == uid
        assert page["Initiator"]["ID"] == page["Owner"]["ID"]
        seen += [(p["PartNumber"], p["Size"], p["ETag"]) for p in page["Parts"]]
        if not page["IsTruncated"]:
            break
        marker = page["NextPartNumberMarker"]
        assert marker == page["Parts"][-1]["PartNumber"]
    assert pages == 3
    assert seen == [(i + 1, len(b), '"' + hashlib.md5(b).hexdigest() + '"')
                    for i, b in enumerate(bodies)]
    s3.abort_multipart_upload(Bucket=bucket, Key="paged", UploadId=uid)


def test_list_uploads_prefix_delimiter_and_pages(s3, bucket):
    ids = {}
    for key in ("logs/a", "logs/b", "img/x", "top", "logs/a"):
        ids.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
    res = s3.list_multipart_uploads(Bucket=bucket, Prefix="logs/")
    assert [(u["Key"], u["UploadId"]) for u in res["Uploads"]] == (
        [("logs/a", i) for i in ids["logs/a"]] + [("logs/b", ids["logs/b"][0])])
    assert res["Uploads"][0]["Initiator"]["DisplayName"] == "admin"
    res = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in res["CommonPrefixes"]] == ["img/", "logs/"]
    assert [u["Key"] for u in res["Uploads"]] == ["top"]
    # one at a time with the markers, as a paginating client does
    seen, km, um = [], None, None
    while True:
        kw = {"KeyMarker": km, "UploadIdMarker": um} if km else {}
        page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1, **kw)
        seen += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
        if not page["IsTruncated"]:
            break
        km, um = page["NextKeyMarker"], page["NextUploadIdMarker"]
    assert seen == sorted(seen) and len(seen) == 5
    for key, uids in ids.items():
        for uid in uids:
            s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_upload_part_copy_of_a_range(s3, bucket):
    # 20 MiB with the default 1-8 MiB chunks: the range starts and ends inside
    # chunks and covers whole ones in between.
    src = random_bytes(20 * MiB, seed=340)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    first, last = 1000, 14 * MiB + 77
    r1 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "src"},
                             CopySourceRange=f"bytes={first}-{last}")
    r2 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=2,
                             CopySource=f"{bucket}/src")  # the whole object
    tail = random_bytes(333, seed=341)
    r3 = s3.upload_part(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=3, Body=tail)
    sizes = [p["Size"] for p in s3.list_parts(Bucket=bucket, Key="dst", UploadId=uid)["Parts"]]
    assert sizes == [last - first + 1, len(src), len(tail)]
    _complete(s3, bucket, "dst", uid, [
        {"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]},
        {"PartNumber": 3, "ETag": r3["ETag"]}])
    want = src[first:last + 1] + src + tail
    assert _get(s3, bucket, "dst") == want
    assert _get(s3, bucket, "dst", Range=f"bytes={last - first - 5}-{last - first + 5}") == (
        want[last - first - 5:last - first + 6])
    # the source is untouched, and deleting it leaves the copy whole
    s3.delete_object(Bucket=bucket, Key="src")
    assert _get(s3, bucket, "dst") == want
    uid = s3.create_multipart_upload(Bucket=bucket, Key="bad")["UploadId"]
    s3.put_object(Bucket=bucket, Key="src2", Body=b"0123456789")
    expect_error(s3.upload_part_copy, "InvalidRange", 416, Bucket=bucket, Key="bad",
                 UploadId=uid, PartNumber=1, CopySource=f"{bucket}/src2",
                 CopySourceRange="bytes=5-10")
    expect_error(s3.upload_part_copy, "NoSuchKey", 404, Bucket=bucket, Key="bad", UploadId=uid,
                 PartNumber=1, CopySource=f"{bucket}/nothing-here")
    s3.abort_multipart_upload(Bucket=bucket, Key="bad", UploadId=uid)


def test_abort_releases_chunks_for_the_collector(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS, **FAST_GC)
    s3 = server.client()
    bucket = unique_bucket("abort")
    s3.create_bucket(Bucket=bucket)
    roots = server.disk_roots()
    uid, _ = _upload(s3, bucket, "k", [random_bytes(3 * MiB, seed=350),
                                       random_bytes(2 * MiB, seed=351)])
    files = disk.chunk_files(roots)
    assert files
    # GC passes run meanwhile: parts hold references, nothing is taken
    assert not disk.wait_until(lambda: disk.chunk_files(roots) != files, 3)
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert disk.wait_until(lambda: not disk.chunk_files(roots), GC_WAIT), (
        f"{len(disk.chunk_files(roots))} chunk files of the aborted upload remain")
    expect_error(s3.list_parts, "NoSuchUpload", 404, Bucket=bucket, Key="k", UploadId=uid)
    s3.delete_bucket(Bucket=bucket)  # no upload in progress keeps it


def test_abandoned_upload_expires(orchard_factory):
    server = orchard_factory(**srv.SMALL_CHUNKS, **FAST_GC, multipart_expiry=1)
    s3 = server.client()
    bucket = unique_bucket("expire")
    s3.create_bucket(Bucket=bucket)
    roots = server.disk_roots()
    _upload(s3, bucket, "left", [random_bytes(2 * MiB, seed=360)])
    assert disk.wait_until(
        lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"), GC_WAIT)
    assert disk.wait_until(lambda: not disk.chunk_files(roots), GC_WAIT)


def _aws(server, tmp_path, args):
    # awscli's default multipart_threshold (8 MiB) and chunksize are kept.
    cfg = tmp_path / "aws.cfg"
    cfg.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    env = srv.clean_env({"AWS_ACCESS_KEY_ID": server.access_key,
                         "AWS_SECRET_ACCESS_KEY": server.secret_key,
                         "AWS_CONFIG_FILE": str(cfg)})
    res = subprocess.run([AWS, "--endpoint-url", server.endpoint, "--no-cli-pager"] + args,
                         capture_output=True, text=True, env=env, timeout=600,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"aws {args}: {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.mark.slow
def test_awscli_cp_100mib_multipart_round_trip(server, s3, bucket, tmp_path):
    body = random_bytes(100 * MiB, seed=370)
    src, dst = tmp_path / "up.bin", tmp_path / "down.bin"
    src.write_bytes(body)
    _aws(server, tmp_path, ["s3", "cp", str(src), f"s3://{bucket}/cli/big.bin"])
    head = s3.head_object(Bucket=bucket, Key="cli/big.bin")
    assert head["ContentLength"] == len(body)
    assert head["ETag"].endswith('-13"')  # 8 MiB parts: awscli went multipart
    _aws(server, tmp_path, ["s3", "cp", f"s3://{bucket}/cli/big.bin", str(dst)])
    assert dst.read_bytes() == body


def test_boto3_managed_transfer_40mib(s3, bucket, tmp_path):
    body = random_bytes(40 * MiB, seed=380)
    src, dst = tmp_path / "up.bin", tmp_path / "down.bin"
    src.write_bytes(body)
    cfg = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB,
                         max_concurrency=4)
    s3.upload_file(str(src), bucket, "managed.bin", Config=cfg)
    parts = [body[i:i + 5 * MiB] for i in range(0, len(body), 5 * MiB)]
    assert s3.head_object(Bucket=bucket, Key="managed.bin")["ETag"] == _mp_etag(parts)
    s3.download_file(bucket, "managed.bin", str(dst), Config=cfg)
    assert dst.read_bytes() == body
