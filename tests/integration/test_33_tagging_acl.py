"""Object tagging (x-amz-tagging on PUT, copy and multipart; Get/Put/Delete
ObjectTagging), composite checksums of multipart uploads, and the read-only
versioning and ACL answers clients ask for: through boto3, raw signed
requests, s3cmd and rclone, comparing what comes back with what was sent."""

import base64
import hashlib
import urllib.parse
import xml.etree.ElementTree as ET
import zlib

import pytest

from support import s3raw
from support.clients import Rclone, S3cmd
from support.data import expect_error, md5_etag, random_bytes

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024


def tags_of(s3, bucket, key):
    return s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]


def _path(bucket, key=None):
    return f"/{bucket}" + (f"/{s3raw.quote_key(key)}" if key is not None else "")


def _crc32(data):
    return (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")


# -- tagging ---------------------------------------------------------------------------


def test_put_object_with_tagging_then_get_put_delete_tagging(s3, bucket):
    body = random_bytes(3000, seed=1)
    s3.put_object(Bucket=bucket, Key="t/one", Body=body,
                  Tagging="colour=blue&shape=round%20ish&empty=&%C3%BC=%E2%82%AC+sign")
    assert tags_of(s3, bucket, "t/one") == [
        {"Key": "colour", "Value": "blue"}, {"Key": "shape", "Value": "round ish"},
        {"Key": "empty", "Value": ""}, {"Key": "ü", "Value": "€ sign"}]
    got = s3.get_object(Bucket=bucket, Key="t/one")
    assert got["TagCount"] == 4 and got["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key="t/one")["ResponseMetadata"]["HTTPHeaders"][
        "x-amz-tagging-count"] == "4"
    # the tag line is never sent as a header of its own
    assert "x-amz-tagging" not in got["ResponseMetadata"]["HTTPHeaders"]

    # PutObjectTagging replaces the whole set; bytes, ETag and time stay
    before = s3.head_object(Bucket=bucket, Key="t/one")
    s3.put_object_tagging(Bucket=bucket, Key="t/one", Tagging={"TagSet": [
        {"Key": "a/b:c", "Value": "x+y=z@w"}, {"Key": "k 2", "Value": "v_2.-"}]})
    assert tags_of(s3, bucket, "t/one") == [{"Key": "a/b:c", "Value": "x+y=z@w"},
                                           {"Key": "k 2", "Value": "v_2.-"}]
    after = s3.get_object(Bucket=bucket, Key="t/one")
    assert after["TagCount"] == 2 and after["Body"].read() == body
    assert after["ETag"] == before["ETag"] == md5_etag(body)
    assert after["LastModified"] == before["LastModified"]

    # DeleteObjectTagging: 204, an empty TagSet, no count header
    res = s3.delete_object_tagging(Bucket=bucket, Key="t/one")
    assert res["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert tags_of(s3, bucket, "t/one") == []
    got = s3.get_object(Bucket=bucket, Key="t/one")
    assert "TagCount" not in got and got["Body"].read() == body

    # an empty TagSet is how a client removes tags too
    s3.put_object_tagging(Bucket=bucket, Key="t/one",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    s3.put_object_tagging(Bucket=bucket, Key="t/one", Tagging={"TagSet": []})
    assert tags_of(s3, bucket, "t/one") == []


def test_tags_belong_to_the_version(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t/v", Body=b"old", Tagging="gen=1")
    s3.put_object(Bucket=bucket, Key="t/v", Body=b"new")  # an overwrite without tags
    assert tags_of(s3, bucket, "t/v") == []
    s3.put_object(Bucket=bucket, Key="t/v", Body=b"newer", Tagging="gen=3")
    assert tags_of(s3, bucket, "t/v") == [{"Key": "gen", "Value": "3"}]
    s3.delete_object(Bucket=bucket, Key="t/v")
    expect_error(s3.get_object_tagging, "NoSuchKey", 404, Bucket=bucket, Key="t/v")
    expect_error(s3.put_object_tagging, "NoSuchKey", 404, Bucket=bucket, Key="t/v",
                 Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    expect_error(s3.delete_object_tagging, "NoSuchKey", 404, Bucket=bucket, Key="t/v")


def test_invalid_tags_are_refused_and_nothing_changes(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t/keep", Body=b"keep", Tagging="a=1")
    eleven = "&".join(f"k{i}=v" for i in range(11))
    bad_headers = [eleven, "dup=1&dup=2", "k=" + "v" * 257, "k" * 129 + "=v", "=v",
                   "aws:reserved=1", "bad%01ctl=1"]
    for h in bad_headers:
        expect_error(s3.put_object, "InvalidTag", 400, Bucket=bucket, Key="t/new", Body=b"x",
                     Tagging=h)
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="t/new")
    # limits count characters, not bytes: 128 and 256 three-byte characters pass
    s3.put_object(Bucket=bucket, Key="t/new", Body=b"x",
                  Tagging=urllib.parse.urlencode({"€" * 128: "ü" * 256}))
    assert tags_of(s3, bucket, "t/new") == [{"Key": "€" * 128, "Value": "ü" * 256}]
    ten = [{"Key": f"k{i}", "Value": str(i)} for i in range(10)]
    s3.put_object_tagging(Bucket=bucket, Key="t/new", Tagging={"TagSet": ten})
    assert tags_of(s3, bucket, "t/new") == ten

    bad_sets = [ten + [{"Key": "k10", "Value": "x"}],
                [{"Key": "same", "Value": "1"}, {"Key": "same", "Value": "2"}],
                [{"Key": "k", "Value": "v" * 257}], [{"Key": "aws:x", "Value": "v"}]]
    for ts in bad_sets:
        expect_error(s3.put_object_tagging, "InvalidTag", 400, Bucket=bucket, Key="t/keep",
                     Tagging={"TagSet": ts})
    assert tags_of(s3, bucket, "t/keep") == [{"Key": "a", "Value": "1"}]


def test_put_object_tagging_body_must_be_a_tagging_document(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="t/x", Body=b"x", Tagging="a=1")
    bodies = [b"not xml", b"<Tagging/>", b"<Other><TagSet/></Other>",
              b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
              b"<Tagging><TagSet><Oops/></TagSet></Tagging>"]
    for body in bodies:
        resp = s3raw.signed(server.port, server.creds, "PUT", _path(bucket, "t/x"), body=body,
                            query="tagging=")
        assert resp.status == 400 and resp.error_code() == "MalformedXML", (body, resp)
    # a wrong Content-MD5 is BadDigest, and the tags are untouched
    good = (b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag>'
            b"<Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
    resp = s3raw.signed(server.port, server.creds, "PUT", _path(bucket, "t/x"), body=good,
                        query="tagging=", headers={
                            "Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode()})
    assert resp.status == 400 and resp.error_code() == "BadDigest", resp
    assert tags_of(s3, bucket, "t/x") == [{"Key": "a", "Value": "1"}]
    resp = s3raw.signed(server.port, server.creds, "PUT", _path(bucket, "t/x"), body=good,
                        query="tagging=")
    assert resp.status == 200, resp
    assert tags_of(s3, bucket, "t/x") == [{"Key": "k", "Value": "v"}]


def test_copy_object_tagging_directive(s3, bucket):
    data = random_bytes(100_000, seed=3)
    s3.put_object(Bucket=bucket, Key="c/src", Body=data, Tagging="from=src&n=1",
                  Metadata={"m": "src"}, ContentType="text/x-src")
    src = {"Bucket": bucket, "Key": "c/src"}
    # default COPY: the source's tags come along (and the x-amz-tagging sent is ignored)
    s3.copy_object(Bucket=bucket, Key="c/copy", CopySource=src, Tagging="ignored=1")
    assert tags_of(s3, bucket, "c/copy") == [{"Key": "from", "Value": "src"},
                                            {"Key": "n", "Value": "1"}]
    # REPLACE: the request's tags, metadata still copied
    s3.copy_object(Bucket=bucket, Key="c/repl", CopySource=src, TaggingDirective="REPLACE",
                   Tagging="new=yes")
    got = s3.get_object(Bucket=bucket, Key="c/repl")
    assert tags_of(s3, bucket, "c/repl") == [{"Key": "new", "Value": "yes"}]
    assert got["Metadata"] == {"m": "src"} and got["ContentType"] == "text/x-src"
    assert got["Body"].read() == data
    # REPLACE without tags: none
    s3.copy_object(Bucket=bucket, Key="c/none", CopySource=src, TaggingDirective="REPLACE")
    assert tags_of(s3, bucket, "c/none") == []
    # metadata REPLACE, tagging COPY: new metadata, the source's tags
    s3.copy_object(Bucket=bucket, Key="c/meta", CopySource=src, MetadataDirective="REPLACE",
                   Metadata={"m": "new"}, ContentType="text/x-new", Tagging="ignored=2")
    got = s3.get_object(Bucket=bucket, Key="c/meta")
    assert got["Metadata"] == {"m": "new"} and got["ContentType"] == "text/x-new"
    assert tags_of(s3, bucket, "c/meta") == [{"Key": "from", "Value": "src"},
                                            {"Key": "n", "Value": "1"}]
    # both REPLACE
    s3.copy_object(Bucket=bucket, Key="c/both", CopySource=src, MetadataDirective="REPLACE",
                   TaggingDirective="REPLACE", Tagging="b=2", Metadata={"m": "both"})
    assert tags_of(s3, bucket, "c/both") == [{"Key": "b", "Value": "2"}]
    assert s3.head_object(Bucket=bucket, Key="c/both")["Metadata"] == {"m": "both"}
    # bad directive and bad tags
    expect_error(s3.copy_object, "InvalidArgument", 400, Bucket=bucket, Key="c/bad",
                 CopySource=src, TaggingDirective="MERGE")
    expect_error(s3.copy_object, "InvalidTag", 400, Bucket=bucket, Key="c/bad",
                 CopySource=src, TaggingDirective="REPLACE", Tagging="d=1&d=2")
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="c/bad")


def test_multipart_with_tags_and_composite_crc32(s3, bucket):
    parts = [random_bytes(5 * MiB, seed=10), random_bytes(5 * MiB, seed=11),
             random_bytes(1234, seed=12)]
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp/tagged", Tagging="mp=yes&n=3",
                                    ChecksumAlgorithm="CRC32")
    uid = up["UploadId"]
    assert up["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-algorithm") == "CRC32"
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key="mp/tagged", UploadId=uid, PartNumber=i, Body=p,
                           ChecksumAlgorithm="CRC32")
        assert r["ChecksumCRC32"] == base64.b64encode(_crc32(p)).decode()
        done.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    listed = s3.list_parts(Bucket=bucket, Key="mp/tagged", UploadId=uid)["Parts"]
    assert [p["ChecksumCRC32"] for p in listed] == [d["ChecksumCRC32"] for d in done]

    # a listed checksum that is not the part's: InvalidPart, nothing completed
    wrong = [dict(d) for d in done]
    wrong[1]["ChecksumCRC32"] = base64.b64encode(b"\0\0\0\0").decode()
    expect_error(s3.complete_multipart_upload, "InvalidPart", 400, Bucket=bucket,
                 Key="mp/tagged", UploadId=uid, MultipartUpload={"Parts": wrong})
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="mp/tagged")

    res = s3.complete_multipart_upload(Bucket=bucket, Key="mp/tagged", UploadId=uid,
                                       MultipartUpload={"Parts": done})
    inner = b"".join(_crc32(p) for p in parts)
    composite = base64.b64encode(_crc32(inner)).decode() + "-3"
    assert res.get("ChecksumCRC32") == composite, res
    head = s3.head_object(Bucket=bucket, Key="mp/tagged", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == composite
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "COMPOSITE"
    # the upload's algorithm line is not an object header
    assert "x-amz-checksum-algorithm" not in head["ResponseMetadata"]["HTTPHeaders"]
    got = s3.get_object(Bucket=bucket, Key="mp/tagged", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == composite and got["TagCount"] == 2
    assert got["Body"].read() == b"".join(parts)
    assert "ChecksumCRC32" not in s3.head_object(Bucket=bucket, Key="mp/tagged")
    assert tags_of(s3, bucket, "mp/tagged") == [{"Key": "mp", "Value": "yes"},
                                               {"Key": "n", "Value": "3"}]


def test_multipart_checksum_algorithm_is_enforced(server, s3, bucket):
    for hdrs, code in [({"x-amz-checksum-algorithm": "MD4"}, "InvalidRequest"),
                       ({"x-amz-checksum-type": "COMPOSITE"}, "InvalidRequest"),
                       ({"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type":
                         "FULL_OBJECT"}, "NotImplemented")]:
        resp = s3raw.signed(server.port, server.creds, "POST", _path(bucket, "mp/x"),
                            query="uploads=", headers=hdrs)
        assert resp.error_code() == code, (hdrs, resp)
    assert not s3.list_multipart_uploads(Bucket=bucket).get("Uploads")
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp/sha", ChecksumAlgorithm="SHA256")
    uid = up["UploadId"]
    expect_error(s3.upload_part, "InvalidRequest", 400, Bucket=bucket, Key="mp/sha",
                 UploadId=uid, PartNumber=1, Body=b"x" * 100, ChecksumAlgorithm="CRC32")
    p = random_bytes(1000, seed=5)
    r = s3.upload_part(Bucket=bucket, Key="mp/sha", UploadId=uid, PartNumber=1, Body=p,
                       ChecksumAlgorithm="SHA256")
    want = base64.b64encode(hashlib.sha256(p).digest()).decode()
    assert r["ChecksumSHA256"] == want
    res = s3.complete_multipart_upload(Bucket=bucket, Key="mp/sha", UploadId=uid,
                                       MultipartUpload={"Parts": [
                                           {"PartNumber": 1, "ETag": r["ETag"]}]})
    composite = base64.b64encode(hashlib.sha256(hashlib.sha256(p).digest()).digest()).decode()
    assert res.get("ChecksumSHA256") == composite + "-1"
    # a multipart upload without checksums has none
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp/plain")
    r = s3.upload_part(Bucket=bucket, Key="mp/plain", UploadId=up["UploadId"], PartNumber=1,
                       Body=b"plain")
    s3.complete_multipart_upload(Bucket=bucket, Key="mp/plain", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": r["ETag"]}]})
    head = s3.head_object(Bucket=bucket, Key="mp/plain", ChecksumMode="ENABLED")
    assert not any(k.startswith("Checksum") for k in head), head
    assert s3.get_object(Bucket=bucket, Key="mp/plain")["Body"].read() == b"plain"


# -- versioning and ACLs ---------------------------------------------------------------


def test_versioning_and_acl_reads(server, s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    resp = s3raw.signed(server.port, server.creds, "GET", _path(bucket), query="versioning=")
    root = ET.fromstring(resp.body)
    assert resp.status == 200 and root.tag == NS + "VersioningConfiguration" and len(root) == 0

    owner = s3.list_buckets()["Owner"]
    for acl in (s3.get_bucket_acl(Bucket=bucket),):
        assert acl["Owner"] == owner
        assert acl["Grants"] == [{"Grantee": {"ID": owner["ID"], "DisplayName":
                                              owner["DisplayName"], "Type": "CanonicalUser"},
                                  "Permission": "FULL_CONTROL"}]
    s3.put_object(Bucket=bucket, Key="acl/o", Body=b"o")
    acl = s3.get_object_acl(Bucket=bucket, Key="acl/o")
    assert acl["Owner"] == owner and acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    expect_error(s3.get_object_acl, "NoSuchKey", 404, Bucket=bucket, Key="acl/missing")

    # the canned private ACL changes nothing and succeeds; anything else is 501
    s3.put_object_acl(Bucket=bucket, Key="acl/o", ACL="private")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": owner, "Grants": [{"Grantee": {"ID": owner["ID"], "Type": "CanonicalUser"},
                                    "Permission": "FULL_CONTROL"}]})
    expect_error(s3.put_object_acl, "NotImplemented", 501, Bucket=bucket, Key="acl/o",
                 ACL="public-read")
    expect_error(s3.put_bucket_acl, "NotImplemented", 501, Bucket=bucket, AccessControlPolicy={
        "Owner": owner, "Grants": [{"Grantee": {"Type": "Group", "URI":
                                    "http://acs.amazonaws.com/groups/global/AllUsers"},
                                    "Permission": "READ"}]})
    expect_error(s3.put_object_acl, "NoSuchKey", 404, Bucket=bucket, Key="acl/missing",
                 ACL="private")
    # still not implemented: enabling versioning, bucket tagging
    expect_error(s3.put_bucket_versioning, "NotImplemented", 501, Bucket=bucket,
                 VersioningConfiguration={"Status": "Enabled"})
    expect_error(s3.get_bucket_tagging, "NotImplemented", 501, Bucket=bucket)
    expect_error(s3.delete_bucket_tagging, "NotImplemented", 501, Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="acl/o")["Body"].read() == b"o"
    s3.head_bucket(Bucket=bucket)  # DELETE ?tagging did not delete the bucket


def test_other_users_cannot_read_tags_or_acls(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="priv", Body=b"p", Tagging="secret=1")
    eve = server.client(server.add_user("eve-tags"))
    expect_error(eve.get_object_tagging, "AccessDenied", 403, Bucket=bucket, Key="priv")
    expect_error(eve.put_object_tagging, "AccessDenied", 403, Bucket=bucket, Key="priv",
                 Tagging={"TagSet": []})
    expect_error(eve.get_object_acl, "AccessDenied", 403, Bucket=bucket, Key="priv")
    expect_error(eve.get_bucket_acl, "AccessDenied", 403, Bucket=bucket)
    assert tags_of(s3, bucket, "priv") == [{"Key": "secret", "Value": "1"}]


# -- clients ---------------------------------------------------------------------------


def test_s3cmd_info_shows_owner_acl_and_metadata(server, s3, bucket, tmp_path):
    s3cmd = S3cmd(server, tmp_path)
    s3.put_object(Bucket=bucket, Key="info/obj", Body=b"hello", ContentType="text/plain",
                  Metadata={"k": "v"})
    res = s3cmd.run(["info", f"s3://{bucket}/info/obj"], check=False)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "501" not in out + res.stderr and "NotImplemented" not in res.stderr, res.stderr
    name = s3.list_buckets()["Owner"]["DisplayName"]
    assert f"ACL:       {name}: FULL_CONTROL" in out, out
    assert md5_etag(b"hello").strip('"') in out and "text/plain" in out, out
    res = s3cmd.run(["info", f"s3://{bucket}"], check=False)
    assert res.returncode == 0, res.stderr
    assert f"{name}: FULL_CONTROL" in res.stdout, res.stdout


def test_rclone_purge(server, s3, bucket, tmp_path):
    rclone = Rclone(server, tmp_path)
    keys = [f"p/{i}/f{i}.txt" for i in range(12)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode(), Tagging="by=test")
    s3.put_object(Bucket=bucket, Key="keep/me", Body=b"stay")
    res = rclone.run(["purge", f"orch:{bucket}/p"], check=False)
    assert res.returncode == 0, res.stderr
    assert "501" not in res.stderr and "NotImplemented" not in res.stderr, res.stderr
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert listed == ["keep/me"]
    assert s3.get_object(Bucket=bucket, Key="keep/me")["Body"].read() == b"stay"
