"""The S3 front's handling of what real clients and the conformance suite
send: keys that are not text (NUL, bytes that are not UTF-8), a
CompleteMultipartUpload listing 10,000 parts with checksums, retried
completes, empty continuation tokens, anonymous requests for missing
buckets, us-east-1's CreateBucket, out-of-range copy ranges, conditional
PUTs, huge Range ends, DeleteObjects' integrity header and OPTIONS."""

import base64
import hashlib
import socket
import xml.etree.ElementTree as ET
import zlib

import pytest

from support import s3raw
from support.data import expect_error, md5_etag, random_bytes, unique_bucket

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024


def _crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def _get(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


# -- keys that are not text ---------------------------------------------------------------


def test_key_with_nul_is_refused_and_overwrites_nothing(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="victim", Body=b"the real bytes")
    for path in (f"/{bucket}/victim%00evil", f"/{bucket}/%00", f"/{bucket}/victim%00"):
        resp = s3raw.signed(server.port, server.creds, "PUT", path, body=b"attacker bytes")
        assert resp.status == 400 and resp.error_code() == "InvalidURI", (path, resp)
        resp = s3raw.signed(server.port, server.creds, "GET", path)
        assert resp.status == 400 and resp.error_code() == "InvalidURI", (path, resp)
    assert _get(s3, bucket, "victim") == b"the real bytes"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["victim"]


def test_nul_in_bucket_or_any_query_value_is_refused(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    cases = [
        ("GET", f"/{bucket}%00x", ""),
        ("GET", f"/{bucket}", "list-type=2&prefix=a%00b"),
        ("GET", f"/{bucket}", "list-type=2&start-after=%00"),
        ("GET", f"/{bucket}", "list-type=2&continuation-token=eGE%00"),
        ("GET", f"/{bucket}", "marker=a%00"),
        ("GET", f"/{bucket}/a", "uploadId=abc%00def"),
        ("GET", f"/{bucket}/a", "response-content-type=text%00html"),
    ]
    for method, path, query in cases:
        resp = s3raw.signed(server.port, server.creds, method, path, query=query)
        assert resp.status == 400 and resp.error_code() == "InvalidURI", (path, query, resp)


def test_copy_source_with_nul_is_refused(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"src")
    s3.put_object(Bucket=bucket, Key="dst", Body=b"dst")
    resp = s3raw.signed(server.port, server.creds, "PUT", f"/{bucket}/dst",
                        headers={"x-amz-copy-source": f"/{bucket}/src%00junk"})
    assert resp.status == 400 and resp.error_code() == "InvalidArgument", resp
    assert _get(s3, bucket, "dst") == b"dst"


def test_raw_nul_in_a_metadata_header_never_stores_a_cut_value(server, s3, bucket):
    # A NUL byte sent raw in a header line, signed over what a C string of it
    # reads ("bef"): the request must be refused, never stored cut short.
    path = f"/{bucket}/meta-nul"
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", path, body=b"x",
                              headers={"x-amz-meta-note": "bef"})
    head = s3raw.raw_head("PUT", path, {**hdrs, "Content-Length": "1"})
    head = head.replace(b"x-amz-meta-note: bef", b"x-amz-meta-note: bef\x00ore")
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + b"x")
        status, _, _ = s3raw.read_raw_response(sock)
    assert status == 400, status
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="meta-nul")


def test_key_that_is_not_utf8_is_invalid_uri(server, s3, bucket):
    for path in (f"/{bucket}/%AE%8A-", f"/{bucket}/%C0%AF", f"/{bucket}/ok/%ED%A0%80"):
        for method in ("GET", "PUT", "DELETE"):
            resp = s3raw.signed(server.port, server.creds, method, path, body=b"x")
            assert resp.status == 400 and resp.error_code() == "InvalidURI", (method, path, resp)
    # UTF-8 keys of every length still work
    key = "caf\u00e9/\u20ac/\U0001f600"
    s3.put_object(Bucket=bucket, Key=key, Body=b"utf8")
    assert _get(s3, bucket, key) == b"utf8"


# -- CompleteMultipartUpload ----------------------------------------------------------------


def _complete_body(parts):
    """parts: (number, etag, crc32 b64 or None), pretty-printed as SDKs do."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">']
    for number, etag, ck in parts:
        out.append("  <Part>")
        out.append(f"    <ETag>{etag}</ETag>")
        out.append(f"    <PartNumber>{number}</PartNumber>")
        if ck:
            out.append(f"    <ChecksumCRC32>{ck}</ChecksumCRC32>")
        out.append("  </Part>")
    out.append("</CompleteMultipartUpload>")
    return "\n".join(out).encode()


def test_complete_listing_ten_thousand_parts_with_crc32_is_parsed(server, s3, bucket):
    key = "many"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key,
                                     ChecksumAlgorithm="CRC32")["UploadId"]
    body = b"tiny part"
    r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=body,
                       ChecksumAlgorithm="CRC32")
    parts = [(1, r["ETag"], _crc32_b64(body))]
    # The other 9,999 parts were never sent: the answer must say so (or that
    # part 1 is too small), which means the 1.3 MB body was read and parsed.
    parts += [(n, md5_etag(b"%d" % n), _crc32_b64(b"%d" % n)) for n in range(2, 10001)]
    doc = _complete_body(parts)
    assert len(doc) > MiB
    resp = s3raw.signed(server.port, server.creds, "POST", f"/{bucket}/{key}", body=doc,
                        query=f"uploadId={uid}")
    assert resp.status == 400, resp
    assert resp.error_code() in ("InvalidPart", "EntityTooSmall"), resp
    # The upload is still there and can be completed with what exists.
    res = s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"],
                                    "ChecksumCRC32": _crc32_b64(body)}]})
    assert res["ETag"].endswith('-1"')
    assert _get(s3, bucket, key) == body


def test_complete_with_crc32_on_every_part(s3, bucket):
    key = "crc"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key,
                                     ChecksumAlgorithm="CRC32")["UploadId"]
    bodies = [random_bytes(5 * MiB, seed=341), random_bytes(5 * MiB, seed=342),
              random_bytes(100, seed=343)]
    parts = []
    for i, b in enumerate(bodies, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=b,
                           ChecksumAlgorithm="CRC32")
        assert r["ChecksumCRC32"] == _crc32_b64(b)
        parts.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
    res = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                       MultipartUpload={"Parts": parts})
    assert res["ETag"].endswith('-3"')
    assert _get(s3, bucket, key) == b"".join(bodies)


def test_repeated_complete_answers_the_same_etag(server, s3, bucket):
    key = "again"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    bodies = [random_bytes(5 * MiB, seed=344), b"tail"]
    parts = []
    for i, b in enumerate(bodies, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=b)
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    first = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                         MultipartUpload={"Parts": parts})
    again = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                         MultipartUpload={"Parts": parts})
    assert again["ETag"] == first["ETag"]
    assert again["Key"] == key and again["Bucket"] == bucket
    assert _get(s3, bucket, key) == b"".join(bodies)
    # Another part list is no repeat of that complete; nor is another key.
    expect_error(s3.complete_multipart_upload, "NoSuchUpload", 404, Bucket=bucket, Key=key,
                 UploadId=uid, MultipartUpload={"Parts": parts[:1]})
    expect_error(s3.complete_multipart_upload, "NoSuchUpload", 404, Bucket=bucket,
                 Key="other", UploadId=uid, MultipartUpload={"Parts": parts})
    # An aborted upload stays gone.
    uid2 = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid2, PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid2)
    expect_error(s3.complete_multipart_upload, "NoSuchUpload", 404, Bucket=bucket, Key=key,
                 UploadId=uid2, MultipartUpload={"Parts": [{"PartNumber": 1,
                                                            "ETag": r["ETag"]}]})


def test_upload_part_copy_range_past_the_source_is_invalid_range(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
    for rng in ("bytes=5-10", "bytes=10-20", "bytes=0-99999"):
        expect_error(s3.upload_part_copy, "InvalidRange", 416, Bucket=bucket, Key="dst",
                     UploadId=uid, PartNumber=1, CopySource=f"{bucket}/src",
                     CopySourceRange=rng)
    # a malformed range is still InvalidArgument
    expect_error(s3.upload_part_copy, "InvalidArgument", 400, Bucket=bucket, Key="dst",
                 UploadId=uid, PartNumber=1, CopySource=f"{bucket}/src",
                 CopySourceRange="bytes=7-3")
    r = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1,
                            CopySource=f"{bucket}/src", CopySourceRange="bytes=2-9")
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert _get(s3, bucket, "dst") == b"23456789"


# -- listings and buckets --------------------------------------------------------------------


def test_empty_continuation_token_is_treated_as_absent(server, s3, bucket):
    for k in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    resp = s3raw.signed(server.port, server.creds, "GET", f"/{bucket}",
                        query="continuation-token=&list-type=2")
    assert resp.status == 200, resp
    keys = [k.text for k in ET.fromstring(resp.body).iter(f"{NS}Key")]
    assert keys == ["a", "b"]
    resp = s3raw.signed(server.port, server.creds, "GET", "/", query="continuation-token=")
    assert resp.status == 200, resp
    names = [n.text for n in ET.fromstring(resp.body).iter(f"{NS}Name")]
    assert bucket in names


def test_anonymous_request_for_missing_bucket_is_no_such_bucket(server, bucket):
    missing = unique_bucket("gone")
    for method, path in (("GET", f"/{missing}"), ("GET", f"/{missing}/k"),
                         ("PUT", f"/{missing}/k")):
        resp = s3raw.send(server.port, method, path, body=b"x" if method == "PUT" else b"")
        assert resp.status == 404 and resp.error_code() == "NoSuchBucket", (method, path, resp)
    resp = s3raw.send(server.port, "HEAD", f"/{missing}")
    assert resp.status == 404
    # an existing bucket is still denied, with nothing said about its keys
    for path in (f"/{bucket}", f"/{bucket}/k"):
        resp = s3raw.send(server.port, "GET", path)
        assert resp.status == 403 and resp.error_code() == "AccessDenied", resp


def test_create_bucket_again_in_us_east_1_succeeds_elsewhere_409(server, s3):
    name = unique_bucket("again")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"kept")
    res = s3.create_bucket(Bucket=name)
    assert res["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _get(s3, name, "k") == b"kept"  # nothing was reset
    eu = unique_bucket("eu")
    s3.create_bucket(Bucket=eu, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    expect_error(s3.create_bucket, "BucketAlreadyOwnedByYou", 409, Bucket=eu,
                 CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    other = server.client(server.add_user("mallory"))
    expect_error(other.create_bucket, "BucketAlreadyExists", 409, Bucket=name)


# -- conditional PUT and Range ---------------------------------------------------------------


def test_put_if_match_star_needs_an_existing_object(server, s3, bucket):
    def put(body):
        return s3raw.signed(server.port, server.creds, "PUT", f"/{bucket}/k", body=body,
                            headers={"If-Match": "*"})

    resp = put(b"1")
    assert resp.status == 412 and resp.error_code() == "PreconditionFailed", resp
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="k")
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    resp = put(b"2")
    assert resp.status == 200, resp
    assert _get(s3, bucket, "k") == b"2"


def test_put_if_none_match_etag_is_honoured(server, s3, bucket):
    def put(body, inm):
        return s3raw.signed(server.port, server.creds, "PUT", f"/{bucket}/k", body=body,
                            headers={"If-None-Match": inm})

    assert put(b"1", md5_etag(b"other")).status == 200  # absent: holds
    resp = put(b"2", md5_etag(b"1"))  # the current ETag: fails
    assert resp.status == 412 and resp.error_code() == "PreconditionFailed", resp
    assert _get(s3, bucket, "k") == b"1"
    resp = put(b"3", md5_etag(b"something else"))
    assert resp.status == 200, resp
    assert _get(s3, bucket, "k") == b"3"
    resp = put(b"4", "*")
    assert resp.status == 412, resp


def test_range_end_past_uint64_is_clamped(s3, bucket):
    body = random_bytes(1000, seed=345)
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=0-99999999999999999999999")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["ContentRange"] == "bytes 0-999/1000"
    assert got["Body"].read() == body
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=990-123456789012345678901234567")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == body[990:]


# -- DeleteObjects and OPTIONS ---------------------------------------------------------------


def test_delete_objects_needs_content_md5_or_a_checksum(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    doc = b"<Delete><Object><Key>a</Key></Object></Delete>"
    path = f"/{bucket}"
    resp = s3raw.signed(server.port, server.creds, "POST", path, body=doc, query="delete")
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    assert b"Content-MD5" in resp.body
    assert _get(s3, bucket, "a") == b"a"
    wrong = _crc32_b64(b"other")
    resp = s3raw.signed(server.port, server.creds, "POST", path, body=doc, query="delete",
                        headers={"x-amz-checksum-crc32": wrong})
    assert resp.status == 400 and resp.error_code() == "BadDigest", resp
    assert _get(s3, bucket, "a") == b"a"
    resp = s3raw.signed(server.port, server.creds, "POST", path, body=doc, query="delete",
                        headers={"x-amz-checksum-crc32": _crc32_b64(doc)})
    assert resp.status == 200, resp
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="a")
    # boto3's own DeleteObjects (whatever integrity header it sends) passes
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}]})
    assert [d["Key"] for d in res["Deleted"]] == ["b"]


def test_options_gets_a_cors_answer_not_a_signature_error(server, bucket):
    resp = s3raw.send(server.port, "OPTIONS", f"/{bucket}/k")
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    assert b"Origin" in resp.body
    resp = s3raw.send(server.port, "OPTIONS", f"/{bucket}/k",
                      headers={"Origin": "https://example.com"})
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    resp = s3raw.send(server.port, "OPTIONS", f"/{bucket}/k",
                      headers={"Origin": "https://example.com",
                               "Access-Control-Request-Method": "GET"})
    assert resp.status == 403 and resp.error_code() == "AccessForbidden", resp
    assert b"CORS" in resp.body


@pytest.mark.parametrize("path", ["/", "/nobucket"])
def test_options_on_service_and_missing_bucket(server, path):
    resp = s3raw.send(server.port, "OPTIONS", path)
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
