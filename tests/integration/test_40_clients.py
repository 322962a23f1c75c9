"""The S3 clients people point at Orchard -- awscli, boto3's transfer manager,
s3cmd, rclone, and curl on presigned URLs -- used the way their users use
them: multipart uploads at the clients' own part sizes, tree syncs with
awkward names, copies, batch deletes, paginated listings. Every test compares
the bytes that come back (or the trees, file by file), not just exit codes.

One server for the module; trees are small where the point is correctness."""

import base64
import hashlib
import json
import os
import re
import urllib.parse
import zlib

import boto3.s3.transfer
import pytest

from support.clients import (KiB, MiB, Aws, Rclone, S3cmd, assert_same_tree, curl, make_tree,
                             md5_file, tree_files, write_random)
from support.data import expect_error, md5_etag, random_bytes


def multipart_etag(data, part_size):
    """What S3 reports for an object uploaded in parts of part_size: the MD5
    of the parts' binary MD5s, a dash, and the number of parts."""
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)] or [b""]
    inner = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(inner).hexdigest()}-{len(parts)}"'


def all_objects(s3, bucket, prefix=""):
    """{key: (size, LastModified, ETag)} of every object under prefix."""
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = (o["Size"], o["LastModified"], o["ETag"])
    return out


def get_bytes(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    return Aws(server, tmp_path_factory.mktemp("awscfg"))


@pytest.fixture(scope="module")
def s3cmd(server, tmp_path_factory):
    return S3cmd(server, tmp_path_factory.mktemp("s3cmdcfg"))


@pytest.fixture(scope="module")
def rclone(server, tmp_path_factory):
    return Rclone(server, tmp_path_factory.mktemp("rclonecfg"))


@pytest.fixture(scope="module")
def tree500(tmp_path_factory):
    """500 files, 0..200 KiB, nested, with spaces, unicode and URL characters."""
    root = str(tmp_path_factory.mktemp("tree500"))
    make_tree(root, 500, seed=500)
    return root


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory):
    """40 files of the same kinds; read-only for the tests that share it."""
    root = str(tmp_path_factory.mktemp("small_tree"))
    make_tree(root, 40, seed=40, max_size=96 * KiB)
    return root


# -- awscli ----------------------------------------------------------------------------


def test_awscli_cp_100mib_multipart_round_trip(aws, s3, bucket, tmp_path):
    # awscli's defaults: multipart above 8 MiB, 8 MiB parts, 10 in parallel;
    # the download is parallel ranged GETs of 8 MiB.
    src = tmp_path / "big.bin"
    data = write_random(src, 100 * MiB, seed=100)
    aws.run(["s3", "cp", str(src), f"s3://{bucket}/big/file.bin"])
    head = s3.head_object(Bucket=bucket, Key="big/file.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(data, 8 * MiB)
    # a range across the first part boundary is the right bytes
    edge = 8 * MiB
    assert get_bytes(s3, bucket, "big/file.bin",
                     Range=f"bytes={edge - 5}-{edge + 4}") == data[edge - 5:edge + 5]
    dst = tmp_path / "back.bin"
    aws.run(["s3", "cp", f"s3://{bucket}/big/file.bin", str(dst)])
    assert os.path.getsize(dst) == len(data)
    assert dst.read_bytes() == data


def test_awscli_server_side_cp_and_mv_of_large_object(aws, s3, bucket):
    # Above 8 MiB `aws s3 cp/mv s3://... s3://...` is a multipart copy
    # (UploadPartCopy ranges); awscli first reads the source's tags
    # (GetObjectTagging) to carry them over, as it does against S3.
    data = random_bytes(20 * MiB + 1, seed=201)
    s3.put_object(Bucket=bucket, Key="ss/src.bin", Body=data, ContentType="application/x-ss",
                  Metadata={"k": "v"})
    aws.run(["s3", "cp", f"s3://{bucket}/ss/src.bin", f"s3://{bucket}/ss/copy ü.bin"])
    got = s3.get_object(Bucket=bucket, Key="ss/copy ü.bin")
    assert got["ContentLength"] == len(data) and re.fullmatch(r'"[0-9a-f]{32}-3"', got["ETag"])
    assert got["Body"].read() == data
    # awscli copies type and metadata too (--copy-props default)
    assert got["ContentType"] == "application/x-ss" and got["Metadata"] == {"k": "v"}
    aws.run(["s3", "mv", f"s3://{bucket}/ss/copy ü.bin", f"s3://{bucket}/ss/moved.bin"])
    assert get_bytes(s3, bucket, "ss/moved.bin") == data
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="ss/copy ü.bin")


def test_awscli_cp_streams_stdin_up_and_stdout_down(aws, s3, bucket, tmp_path):
    # From a pipe awscli cannot know the size: it uploads in 8 MiB parts as
    # they fill, and the last part is whatever is left.
    src = tmp_path / "stream.in"
    data = write_random(src, 19 * MiB + 77, seed=19)
    aws.pipe(["s3", "cp", "-", f"s3://{bucket}/stream/from stdin.bin"], stdin_path=src)
    head = s3.head_object(Bucket=bucket, Key="stream/from stdin.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(data, 8 * MiB)
    dst = tmp_path / "stream.out"
    aws.pipe(["s3", "cp", f"s3://{bucket}/stream/from stdin.bin", "-"], stdout_path=dst)
    assert dst.read_bytes() == data
    # and a small one from a pipe is a single PUT
    small = tmp_path / "small.in"
    sdata = write_random(small, 1000, seed=1000)
    aws.pipe(["s3", "cp", "-", f"s3://{bucket}/stream/small"], stdin_path=small)
    got = s3.get_object(Bucket=bucket, Key="stream/small")
    assert got["Body"].read() == sdata and got["ETag"] == md5_etag(sdata)


def test_awscli_checksums_are_stored_and_verified(aws, s3, bucket, tmp_path):
    # --checksum-algorithm: awscli sends x-amz-checksum-sha256; with
    # --checksum-mode ENABLED it verifies the body of a GET against the
    # stored value.
    src = tmp_path / "ck.bin"
    data = write_random(src, MiB + 3, seed=3)
    want = base64.b64encode(hashlib.sha256(data).digest()).decode()
    res = aws.json(["s3api", "put-object", "--bucket", bucket, "--key", "ck/one",
                    "--body", str(src), "--checksum-algorithm", "SHA256"])
    assert res.get("ChecksumSHA256") == want, res
    res = aws.json(["s3api", "head-object", "--bucket", bucket, "--key", "ck/one",
                    "--checksum-mode", "ENABLED"])
    assert res.get("ChecksumSHA256") == want, res
    dst = tmp_path / "ck.out"
    res = aws.json(["s3api", "get-object", "--bucket", bucket, "--key", "ck/one",
                    "--checksum-mode", "ENABLED", str(dst)])
    assert res.get("ChecksumSHA256") == want, res
    assert dst.read_bytes() == data


def test_awscli_sync_tree_up_down_and_again(aws, s3, bucket, tree500, tmp_path):
    want = tree_files(tree500)
    out = aws.out(["s3", "sync", tree500, f"s3://{bucket}/tree/"])
    assert out.count("upload: ") == len(want)
    listed = all_objects(s3, bucket, "tree/")
    assert {k[len("tree/"):]: v[0] for k, v in listed.items()} == want

    down = tmp_path / "down"
    down.mkdir()
    aws.run(["s3", "sync", f"s3://{bucket}/tree/", str(down)])
    assert_same_tree(tree500, str(down))

    # Nothing changed: size and time match, so nothing is uploaded again.
    # (pages of 37 keys: every page of the listing must line up with the tree)
    out = aws.out(["s3", "sync", tree500, f"s3://{bucket}/tree/", "--page-size", "37"])
    assert "upload:" not in out, out
    assert all_objects(s3, bucket, "tree/") == listed

    # One file changes in a copy of the tree: exactly that one goes up.
    down_name = "a/b/changed by sync ü.txt"
    changed = down / down_name
    changed.parent.mkdir(parents=True, exist_ok=True)
    changed.write_bytes(b"new content " * 1000)
    out = aws.out(["s3", "sync", str(down), f"s3://{bucket}/tree/"])
    uploads = [line for line in out.splitlines() if line.startswith("upload:")]
    assert len(uploads) == 1 and uploads[0].endswith(f"s3://{bucket}/tree/{down_name}"), out
    assert get_bytes(s3, bucket, f"tree/{down_name}") == b"new content " * 1000

    # --delete removes what is gone locally, names with spaces and unicode too
    gone = ["with space.txt", "ünïcödé/emoji 🍎.bin", "odd/plus+sign.txt"]
    for name in gone:
        (down / name).unlink()
    out = aws.out(["s3", "sync", str(down), f"s3://{bucket}/tree/", "--delete"])
    deletes = sorted(line for line in out.splitlines() if line.startswith("delete:"))
    assert deletes == sorted(f"delete: s3://{bucket}/tree/{n}" for n in gone), out
    assert "upload:" not in out, out
    expected = {f"tree/{n}" for n in tree_files(str(down))}
    assert set(all_objects(s3, bucket, "tree/")) == expected


def test_awscli_s3api_copy_object(aws, s3, bucket, tmp_path):
    src = tmp_path / "src.bin"
    data = write_random(src, 3 * MiB + 11, seed=7)
    src_key = "copy src/ü ñ+x.bin"
    aws.run(["s3api", "put-object", "--bucket", bucket, "--key", src_key, "--body", str(src),
             "--content-type", "application/x-src", "--metadata", "colour=blue"])
    # awscli (botocore) percent-encodes --copy-source itself: users pass it raw
    copy_source = f"{bucket}/{src_key}"

    # default directive COPY: bytes, type and user metadata come along
    res = aws.json(["s3api", "copy-object", "--bucket", bucket, "--key", "copy dst/one.bin",
                    "--copy-source", copy_source])
    assert res["CopyObjectResult"]["ETag"] == md5_etag(data)
    got = s3.get_object(Bucket=bucket, Key="copy dst/one.bin")
    assert got["Body"].read() == data
    assert got["ContentType"] == "application/x-src"
    assert got["Metadata"] == {"colour": "blue"}

    # REPLACE: same bytes, only the new metadata
    aws.run(["s3api", "copy-object", "--bucket", bucket, "--key", "copy dst/two.bin",
             "--copy-source", copy_source, "--metadata-directive", "REPLACE",
             "--content-type", "text/x-new", "--metadata", "shape=round"])
    got = s3.get_object(Bucket=bucket, Key="copy dst/two.bin")
    assert got["Body"].read() == data
    assert got["ContentType"] == "text/x-new" and got["Metadata"] == {"shape": "round"}

    # copying an object onto itself with REPLACE is how metadata is edited
    aws.run(["s3api", "copy-object", "--bucket", bucket, "--key", src_key,
             "--copy-source", copy_source, "--metadata-directive", "REPLACE",
             "--metadata", "colour=green"])
    got = s3.get_object(Bucket=bucket, Key=src_key)
    assert got["Body"].read() == data and got["Metadata"] == {"colour": "green"}
    # the first copy keeps what it copied when its source changes later
    assert s3.head_object(Bucket=bucket, Key="copy dst/one.bin")["Metadata"] == {"colour": "blue"}


def test_awscli_s3api_delete_objects(aws, s3, bucket, tmp_path):
    keys = [f"del/{i:02d}.txt" for i in range(8)] + ["del/sp ace ü.txt", "del/plus+.txt"]
    for i, k in enumerate(keys):
        s3.put_object(Bucket=bucket, Key=k, Body=f"body {i}".encode())
    doomed = keys[:4] + ["del/sp ace ü.txt", "del/plus+.txt", "del/never-existed"]
    spec = tmp_path / "delete.json"
    spec.write_text(json.dumps({"Objects": [{"Key": k} for k in doomed], "Quiet": False}),
                    encoding="utf-8")
    res = aws.json(["s3api", "delete-objects", "--bucket", bucket, "--delete",
                    f"file://{spec}"])
    # S3 reports a key that did not exist as deleted too
    assert sorted(d["Key"] for d in res.get("Deleted", [])) == sorted(doomed)
    assert not res.get("Errors"), res
    left = sorted(all_objects(s3, bucket, "del/"))
    assert left == sorted(set(keys) - set(doomed))
    for k in left:
        assert get_bytes(s3, bucket, k) == f"body {keys.index(k)}".encode()

    # Quiet: success is silent, and the keys are gone
    spec.write_text(json.dumps({"Objects": [{"Key": k} for k in left], "Quiet": True}))
    res = aws.json(["s3api", "delete-objects", "--bucket", bucket, "--delete",
                    f"file://{spec}"])
    assert not res.get("Deleted") and not res.get("Errors"), res
    assert all_objects(s3, bucket, "del/") == {}


def test_awscli_s3api_list_objects_v1_delimiter_and_pagination(aws, s3, bucket):
    keys = ([f"top-{i}" for i in range(5)] + [f"a/{i}" for i in range(7)]
            + [f"b/c/{i}" for i in range(3)] + ["d/", "e f/ü+%.txt"])
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    base = ["s3api", "list-objects", "--bucket", bucket]

    # delimiter, pages of 2: awscli follows NextMarker and merges the pages
    res = aws.json(base + ["--delimiter", "/", "--page-size", "2"])
    assert [o["Key"] for o in res.get("Contents", [])] == [f"top-{i}" for i in range(5)]
    assert [p["Prefix"] for p in res.get("CommonPrefixes", [])] == ["a/", "b/", "d/", "e f/"]

    # prefix + delimiter
    res = aws.json(base + ["--prefix", "b/", "--delimiter", "/", "--page-size", "1"])
    assert not res.get("Contents") and [p["Prefix"] for p in res["CommonPrefixes"]] == ["b/c/"]
    res = aws.json(base + ["--prefix", "a/", "--delimiter", "/", "--page-size", "3"])
    assert [o["Key"] for o in res["Contents"]] == [f"a/{i}" for i in range(7)]
    assert [o["Size"] for o in res["Contents"]] == [len(f"a/{i}") for i in range(7)]

    # no delimiter, pages of 3, at most 7 items per call: resume with the token
    everything = sorted(keys)
    res = aws.json(base + ["--page-size", "3", "--max-items", "7"])
    first = [o["Key"] for o in res["Contents"]]
    assert first == everything[:7] and res.get("NextToken"), res
    res = aws.json(base + ["--page-size", "3", "--max-items", "100", "--starting-token",
                           res["NextToken"]])
    assert [o["Key"] for o in res["Contents"]] == everything[7:]
    assert not res.get("NextToken")
    # listed ETags and sizes are the objects'
    res = aws.json(base + ["--prefix", "e f/"])
    [obj] = res["Contents"]
    assert obj["Key"] == "e f/ü+%.txt" and obj["Size"] == len("e f/ü+%.txt".encode())
    assert obj["ETag"] == md5_etag("e f/ü+%.txt".encode())


def test_awscli_presign_then_curl_get(aws, s3, bucket, tmp_path):
    src = tmp_path / "p.bin"
    data = write_random(src, 2 * MiB + 3, seed=9)
    key = "pre signed/ünï code+plus.bin"
    aws.run(["s3", "cp", str(src), f"s3://{bucket}/{key}"])
    url = aws.out(["s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "300"]).strip()
    assert "X-Amz-Signature=" in url, url
    assert curl([url]) == data
    # a ranged GET on the same URL works too (Range is not signed)
    assert curl(["-r", "1000-1999", url]) == data[1000:2000]


# -- boto3 ------------------------------------------------------------------------------

TRANSFER = boto3.s3.transfer.TransferConfig(multipart_threshold=8 * MiB,
                                            multipart_chunksize=8 * MiB, max_concurrency=4,
                                            use_threads=True)


def test_boto3_upload_file_download_file_multipart(s3, bucket, tmp_path):
    src = tmp_path / "fifty.bin"
    data = write_random(src, 50 * MiB, seed=50)
    s3.upload_file(str(src), bucket, "managed/fifty.bin", Config=TRANSFER)
    head = s3.head_object(Bucket=bucket, Key="managed/fifty.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(data, 8 * MiB)
    dst = tmp_path / "fifty.back"
    s3.download_file(bucket, "managed/fifty.bin", str(dst), Config=TRANSFER)
    assert dst.read_bytes() == data


def test_boto3_upload_file_with_crc32_checksums(s3, bucket, tmp_path):
    # Each part carries x-amz-checksum-crc32; S3 then reports the composite:
    # the CRC32 of the parts' CRC32s, a dash, the number of parts.
    src = tmp_path / "ck-big.bin"
    data = write_random(src, 20 * MiB, seed=2)
    s3.upload_file(str(src), bucket, "ck/big", Config=TRANSFER,
                   ExtraArgs={"ChecksumAlgorithm": "CRC32"})
    parts = [data[i:i + 8 * MiB] for i in range(0, len(data), 8 * MiB)]
    inner = b"".join((zlib.crc32(p) & 0xFFFFFFFF).to_bytes(4, "big") for p in parts)
    composite = base64.b64encode((zlib.crc32(inner) & 0xFFFFFFFF).to_bytes(4, "big")).decode()
    head = s3.head_object(Bucket=bucket, Key="ck/big", ChecksumMode="ENABLED")
    assert head.get("ChecksumCRC32") == f"{composite}-{len(parts)}", head
    assert head["ETag"] == multipart_etag(data, 8 * MiB)
    assert get_bytes(s3, bucket, "ck/big") == data


def test_boto3_managed_copy(s3, bucket):
    # Above the threshold the transfer manager copies with UploadPartCopy
    # ranges; below it, one CopyObject.
    big = random_bytes(20 * MiB + 5, seed=21)
    s3.put_object(Bucket=bucket, Key="mc/big src", Body=big)
    s3.copy({"Bucket": bucket, "Key": "mc/big src"}, bucket, "mc/big dst", Config=TRANSFER)
    got = s3.get_object(Bucket=bucket, Key="mc/big dst")
    assert got["ContentLength"] == len(big)
    assert got["Body"].read() == big
    # Three parts. Orchard's UploadPartCopy ETag is an MD5 over the part's
    # chunk hashes, not over its bytes (object.h: reading every byte would be
    # needed), so only the multipart form is S3's here.
    assert re.fullmatch(r'"[0-9a-f]{32}-3"', got["ETag"]), got["ETag"]

    small = random_bytes(300 * KiB, seed=22)
    s3.put_object(Bucket=bucket, Key="mc/small src ü", Body=small, Metadata={"m": "1"},
                  ContentType="application/x-small")
    s3.copy({"Bucket": bucket, "Key": "mc/small src ü"}, bucket, "mc/small dst",
            Config=TRANSFER)
    got = s3.get_object(Bucket=bucket, Key="mc/small dst")
    assert got["Body"].read() == small and got["ETag"] == md5_etag(small)
    # one CopyObject, directive COPY: metadata and type come along (the
    # multipart path above starts a new upload with neither, as on S3)
    assert got["Metadata"] == {"m": "1"} and got["ContentType"] == "application/x-small"
    assert get_bytes(s3, bucket, "mc/big src") == big  # the source is untouched


def test_boto3_delete_objects(s3, bucket):
    keys = [f"bd/{i:03d}" for i in range(30)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode() * 10)
    doomed = keys[::3] + ["bd/missing"]
    res = s3.delete_objects(Bucket=bucket,
                            Delete={"Objects": [{"Key": k} for k in doomed]})
    assert sorted(d["Key"] for d in res["Deleted"]) == sorted(doomed)
    assert not res.get("Errors"), res
    left = sorted(all_objects(s3, bucket, "bd/"))
    assert left == sorted(set(keys) - set(doomed))
    for k in left[:5]:
        assert get_bytes(s3, bucket, k) == k.encode() * 10
    expect_error(s3.get_object, "NoSuchKey", 404, Bucket=bucket, Key=keys[0])


def test_boto3_presigned_put_and_get_with_curl(s3, bucket, tmp_path):
    src = tmp_path / "curl-up.bin"
    data = write_random(src, 5 * MiB + 1, seed=31)
    key = "presigned/ü space+plus.bin"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key},
                                        ExpiresIn=300)
    curl(["-T", str(src), put_url])
    assert s3.head_object(Bucket=bucket, Key=key)["ETag"] == md5_etag(data)
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                        ExpiresIn=300)
    dst = tmp_path / "curl-down.bin"
    curl(["-o", str(dst), get_url])
    assert dst.read_bytes() == data
    # a presigned URL is for its own key only
    other = get_url.replace(urllib.parse.quote("plus.bin"), "plus.bim")
    assert other != get_url
    with pytest.raises(AssertionError, match="SignatureDoesNotMatch"):
        curl([other])


# -- s3cmd ------------------------------------------------------------------------------


def _s3cmd_ls(text):
    """`s3cmd ls` lines -> {url: size or 'DIR'}."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(?:\S+\s+\S+\s+)?(DIR|\d+)\s+(s3://.*)$", line)
        if m:
            out[m.group(2)] = m.group(1) if m.group(1) == "DIR" else int(m.group(1))
    return out


def test_s3cmd_put_get_ls_del(s3cmd, s3, bucket, tmp_path):
    src = tmp_path / "one.bin"
    data = write_random(src, 700 * KiB + 1, seed=61)
    s3cmd.run(["put", str(src), f"s3://{bucket}/dir/one file.bin"])
    assert get_bytes(s3, bucket, "dir/one file.bin") == data
    dst = tmp_path / "one.back"
    s3cmd.run(["get", f"s3://{bucket}/dir/one file.bin", str(dst)])
    assert dst.read_bytes() == data

    assert _s3cmd_ls(s3cmd.out(["ls", f"s3://{bucket}/"])) == {f"s3://{bucket}/dir/": "DIR"}
    assert _s3cmd_ls(s3cmd.out(["ls", f"s3://{bucket}/dir/"])) == {
        f"s3://{bucket}/dir/one file.bin": len(data)}
    assert bucket in s3cmd.out(["ls"])

    # server-side cp and mv
    s3cmd.run(["cp", f"s3://{bucket}/dir/one file.bin", f"s3://{bucket}/dir/two ü.bin"])
    s3cmd.run(["mv", f"s3://{bucket}/dir/two ü.bin", f"s3://{bucket}/moved/three+.bin"])
    assert get_bytes(s3, bucket, "moved/three+.bin") == data
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="dir/two ü.bin")
    # modify: a copy onto itself that replaces a header, bytes untouched
    s3cmd.run(["modify", "--add-header=Cache-Control: max-age=5",
               f"s3://{bucket}/moved/three+.bin"])
    got = s3.get_object(Bucket=bucket, Key="moved/three+.bin")
    assert got.get("CacheControl") == "max-age=5" and got["Body"].read() == data
    s3cmd.run(["del", f"s3://{bucket}/moved/three+.bin"])

    s3cmd.run(["del", f"s3://{bucket}/dir/one file.bin"])
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="dir/one file.bin")
    assert _s3cmd_ls(s3cmd.out(["ls", "-r", f"s3://{bucket}/"])) == {}


def test_s3cmd_sync_up_and_down(s3cmd, s3, bucket, small_tree, tmp_path):
    want = tree_files(small_tree)
    out = s3cmd.out(["sync", small_tree + "/", f"s3://{bucket}/st/"])
    assert out.count("upload: ") == len(want), out
    listed = all_objects(s3, bucket, "st/")
    assert {k[len("st/"):]: v[0] for k, v in listed.items()} == want
    down = tmp_path / "down"
    down.mkdir()
    s3cmd.run(["sync", f"s3://{bucket}/st/", str(down) + "/"])
    assert_same_tree(small_tree, str(down))
    # s3cmd compares sizes and MD5s (the ETags): a second sync sends nothing
    out = s3cmd.out(["sync", small_tree + "/", f"s3://{bucket}/st/"])
    assert "upload:" not in out, out
    assert all_objects(s3, bucket, "st/") == listed


def test_s3cmd_multipart_12mib(s3cmd, s3, bucket, tmp_path):
    src = tmp_path / "twelve.bin"
    data = write_random(src, 12 * MiB, seed=12)
    s3cmd.run(["put", str(src), f"s3://{bucket}/mp/twelve.bin"])  # 5 MiB parts
    head = s3.head_object(Bucket=bucket, Key="mp/twelve.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(data, 5 * MiB)
    assert get_bytes(s3, bucket, "mp/twelve.bin") == data
    dst = tmp_path / "twelve.back"
    s3cmd.run(["get", f"s3://{bucket}/mp/twelve.bin", str(dst)])  # checks its stored MD5
    assert dst.read_bytes() == data


# -- rclone ------------------------------------------------------------------------------


def test_rclone_sync_check_and_back(rclone, s3, bucket, small_tree, tmp_path):
    rclone.run(["sync", small_tree, f"orch:{bucket}/rt"])
    want = tree_files(small_tree)
    listed = all_objects(s3, bucket, "rt/")
    assert {k[len("rt/"):]: v[0] for k, v in listed.items()} == want
    res = rclone.run(["check", small_tree, f"orch:{bucket}/rt"])
    assert "0 differences found" in res.stderr, res.stderr
    # the other listing flavour: ListObjectsV2 with encoding-type=url
    out = rclone.out(["lsf", "-R", "--files-only", "--s3-list-version", "2",
                      "--s3-list-url-encode", "true", f"orch:{bucket}/rt"])
    assert sorted(out.splitlines()) == sorted(want)
    down = tmp_path / "down"
    rclone.run(["sync", f"orch:{bucket}/rt", str(down)])
    assert_same_tree(small_tree, str(down))

    # check compares content (MD5 = ETag), not just sizes: same size, new bytes
    victim = sorted(k for k, size in want.items() if size > 0)[0]
    s3.put_object(Bucket=bucket, Key=f"rt/{victim}",
                  Body=random_bytes(want[victim], seed=999))
    res = rclone.run(["check", small_tree, f"orch:{bucket}/rt"], check=False)
    assert res.returncode != 0, res.stderr
    assert "1 differences found" in res.stderr, res.stderr


def test_rclone_multipart_copy_and_md5sum(rclone, s3, bucket, tmp_path):
    src_dir = tmp_path / "up"
    src_dir.mkdir()
    src = src_dir / "twenty.bin"
    data = write_random(src, 20 * MiB, seed=2020)
    rclone.run(["copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", str(src),
                f"orch:{bucket}/rc"])
    head = s3.head_object(Bucket=bucket, Key="rc/twenty.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == multipart_etag(data, 5 * MiB)
    # for a multipart object rclone reads the MD5 it stored in the metadata
    out = rclone.out(["md5sum", f"orch:{bucket}/rc"])
    assert out.split() == [md5_file(src), "twenty.bin"], out
    back = tmp_path / "back"
    rclone.run(["copy", f"orch:{bucket}/rc/twenty.bin", str(back)])
    assert (back / "twenty.bin").read_bytes() == data
    res = rclone.run(["check", str(src_dir), f"orch:{bucket}/rc"])
    assert "0 differences found" in res.stderr, res.stderr
    # server-side copy (CopyObject, metadata along) and move keep the MD5
    rclone.run(["copyto", f"orch:{bucket}/rc/twenty.bin", f"orch:{bucket}/rc2/copy ü.bin"])
    rclone.run(["moveto", f"orch:{bucket}/rc2/copy ü.bin", f"orch:{bucket}/rc3/moved.bin"])
    out = rclone.out(["md5sum", f"orch:{bucket}/rc3"])
    assert out.split() == [md5_file(src), "moved.bin"], out
    assert get_bytes(s3, bucket, "rc3/moved.bin") == data
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="rc2/copy ü.bin")
