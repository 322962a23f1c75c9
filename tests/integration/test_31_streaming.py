"""Streaming request bodies as current SDKs send them: aws-chunked with chunk
signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD), trailing checksums
(STREAMING-UNSIGNED-PAYLOAD-TRAILER and the signed -TRAILER variant),
x-amz-checksum-* headers, Transfer-Encoding: chunked, and Expect:
100-continue. Every rejected upload must leave nothing (or the old version)
behind."""

import base64
import hashlib
import socket

import botocore.httpchecksum
import pytest

from support import awschunked, s3raw
from support.data import expect_error, md5_etag, random_bytes

MiB = 1024 * 1024
CHECKSUM_KEYS = {"crc32": "ChecksumCRC32", "crc32c": "ChecksumCRC32C", "sha1": "ChecksumSHA1",
                 "sha256": "ChecksumSHA256"}


def get_bytes(s3, bucket, key, **kw):
    resp = s3.get_object(Bucket=bucket, Key=key, **kw)
    return resp, resp["Body"].read()


def assert_absent(s3, bucket, key):
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key=key)


# -- aws-chunked with chunk signatures ----------------------------------------------


@pytest.mark.parametrize("size,chunk", [(0, 65536), (1, 65536), (65536, 65536),
                                        (200_000, 65536), (int(2.5 * MiB), 65536),
                                        (10_000, 8192)])
def test_signed_aws_chunked_upload_round_trips(server, s3, bucket, size, chunk):
    data = random_bytes(size, seed=size)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/signed", data,
                          mode="signed", chunk_size=chunk)
    assert resp.status == 200, resp
    assert resp.headers["etag"] == md5_etag(data)
    got, body = get_bytes(s3, bucket, "signed")
    assert body == data
    assert got["ContentLength"] == size
    # aws-chunked only framed the upload: S3 does not store it as an encoding
    assert "ContentEncoding" not in got


def test_aws_chunked_keeps_the_other_content_encodings(server, s3, bucket):
    data = b"pretend this is gzip" * 50
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/gz", data, mode="signed",
                          headers={"Content-Encoding": "aws-chunked,gzip"})
    assert resp.status == 200, resp
    assert s3.head_object(Bucket=bucket, Key="gz")["ContentEncoding"] == "gzip"


@pytest.mark.parametrize("tamper", ["chunk-signature", "final-signature", "data"])
def test_bad_chunk_signature_is_rejected_and_nothing_is_created(server, s3, bucket, tamper):
    data = random_bytes(150_000, seed=7)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/forged", data, mode="signed",
                          tamper=tamper)
    assert resp.status == 403, resp
    assert resp.error_code() == "SignatureDoesNotMatch"
    assert_absent(s3, bucket, "forged")


def test_bad_chunk_signature_leaves_the_old_version(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"old version")
    data = random_bytes(3 * MiB, seed=3)  # through the pipeline, several chunks durable
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/keep", data, mode="signed",
                          tamper="final-signature")
    assert resp.error_code() == "SignatureDoesNotMatch", resp
    assert get_bytes(s3, bucket, "keep")[1] == b"old version"


def test_content_md5_covers_the_decoded_body(server, s3, bucket):
    data = random_bytes(100_000, seed=11)
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/md5", data, mode="signed",
                          headers={"Content-MD5": md5})
    assert resp.status == 200, resp
    assert get_bytes(s3, bucket, "md5")[1] == data
    wrong = base64.b64encode(hashlib.md5(data + b"x").digest()).decode()
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/md5-bad", data, mode="signed",
                          headers={"Content-MD5": wrong})
    assert resp.status == 400 and resp.error_code() == "BadDigest", resp
    assert_absent(s3, bucket, "md5-bad")


def test_decoded_length_must_match_the_chunks(server, s3, bucket):
    data = b"twelve bytes"
    for claimed in ("11", "13"):
        resp = awschunked.put(server.port, server.creds, f"/{bucket}/len", data, mode="signed",
                              headers={"x-amz-decoded-content-length": claimed})
        assert resp.status == 400 and resp.error_code() == "IncompleteBody", resp
    assert_absent(s3, bucket, "len")


def test_aws_chunked_without_decoded_length_is_missing_content_length(server, bucket):
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", f"/{bucket}/nolen",
                              headers={"Content-Encoding": "aws-chunked"},
                              payload_hash=awschunked.MODES["unsigned-trailer"])
    resp = s3raw.send(server.port, "PUT", f"/{bucket}/nolen", body=b"0\r\n\r\n", headers=hdrs)
    assert resp.status == 411 and resp.error_code() == "MissingContentLength", resp


def test_malformed_framing_is_rejected(server, s3, bucket):
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", f"/{bucket}/garbled",
                              headers={"Content-Encoding": "aws-chunked",
                                       "x-amz-decoded-content-length": "5"},
                              payload_hash=awschunked.MODES["unsigned-trailer"])
    resp = s3raw.send(server.port, "PUT", f"/{bucket}/garbled", body=b"zz\r\nhello\r\n0\r\n\r\n",
                      headers=hdrs)
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    assert "hex size" in resp.error_fields()["Message"]
    assert_absent(s3, bucket, "garbled")


# -- trailing checksums -------------------------------------------------------------


@pytest.mark.parametrize("alg", ["crc32", "crc32c", "sha256", "sha1"])
def test_unsigned_trailer_checksum_is_stored_and_returned(server, s3, bucket, alg):
    data = random_bytes(300_000, seed=len(alg))
    want = awschunked.checksum(alg, data)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/t-{alg}", data,
                          mode="unsigned-trailer", trailer=alg)
    assert resp.status == 200, resp
    assert resp.headers[f"x-amz-checksum-{alg}"] == want
    got, body = get_bytes(s3, bucket, f"t-{alg}", ChecksumMode="ENABLED")
    assert body == data
    assert got[CHECKSUM_KEYS[alg]] == want
    assert s3.head_object(Bucket=bucket, Key=f"t-{alg}",
                          ChecksumMode="ENABLED")[CHECKSUM_KEYS[alg]] == want
    # only when asked for, as S3
    assert CHECKSUM_KEYS[alg] not in s3.head_object(Bucket=bucket, Key=f"t-{alg}")


def test_crc64nvme_trailer(server, s3, bucket):
    data = random_bytes(5000, seed=64)
    want = awschunked.checksum("crc64nvme", data)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/nvme", data,
                          mode="unsigned-trailer", trailer="crc64nvme")
    assert resp.status == 200, resp
    resp = s3raw.signed(server.port, server.creds, "HEAD", f"/{bucket}/nvme",
                        headers={"x-amz-checksum-mode": "ENABLED"})
    assert resp.headers["x-amz-checksum-crc64nvme"] == want


@pytest.mark.parametrize("mode", ["unsigned-trailer", "signed-trailer"])
def test_wrong_trailer_checksum_is_bad_digest_and_nothing_is_created(server, s3, bucket, mode):
    data = random_bytes(70_000, seed=5)
    wrong = awschunked.checksum("crc32", data + b"!")
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/badsum", data, mode=mode,
                          trailer="crc32", trailer_value=wrong)
    assert resp.status == 400 and resp.error_code() == "BadDigest", resp
    assert "CRC32" in resp.error_fields()["Message"]
    assert_absent(s3, bucket, "badsum")


def test_signed_trailer_round_trips(server, s3, bucket):
    data = random_bytes(150_000, seed=9)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/st", data,
                          mode="signed-trailer", trailer="crc32c")
    assert resp.status == 200, resp
    got, body = get_bytes(s3, bucket, "st", ChecksumMode="ENABLED")
    assert body == data
    assert got["ChecksumCRC32C"] == awschunked.checksum("crc32c", data)


def test_bad_trailer_signature_is_rejected(server, s3, bucket):
    data = random_bytes(1000, seed=1)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/ts", data,
                          mode="signed-trailer", trailer="sha256", tamper="trailer-signature")
    assert resp.status == 403 and resp.error_code() == "SignatureDoesNotMatch", resp
    assert_absent(s3, bucket, "ts")


def test_malformed_trailer_value_is_invalid_request(server, s3, bucket):
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/tv", b"abc",
                          mode="unsigned-trailer", trailer="crc32", trailer_value="not-b64!")
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    assert_absent(s3, bucket, "tv")


def test_declared_trailer_missing_is_rejected(server, s3, bucket):
    body = awschunked.encode(b"abc", 64)  # no trailer sent
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", f"/{bucket}/tm",
                              headers={"Content-Encoding": "aws-chunked",
                                       "x-amz-decoded-content-length": "3",
                                       "x-amz-trailer": "x-amz-checksum-crc32"},
                              payload_hash=awschunked.MODES["unsigned-trailer"])
    resp = s3raw.send(server.port, "PUT", f"/{bucket}/tm", body=body, headers=hdrs)
    assert resp.status == 400 and resp.error_code() == "MalformedTrailerError", resp
    assert_absent(s3, bucket, "tm")


@pytest.fixture
def trailer_checksums(monkeypatch):
    """Makes botocore send flexible checksums as it does over HTTPS: an
    aws-chunked body with Transfer-Encoding: chunked, no Content-Length, and
    the checksum as an unsigned trailer."""
    original = botocore.httpchecksum.resolve_request_checksum_algorithm

    def as_trailer(request, operation_model, params, supported_algorithms=None):
        original(request, operation_model, params, supported_algorithms)
        algorithm = request["context"].get("checksum", {}).get("request_algorithm")
        if isinstance(algorithm, dict) and operation_model.has_streaming_input:
            algorithm["in"] = "trailer"

    monkeypatch.setattr(botocore.httpchecksum, "resolve_request_checksum_algorithm", as_trailer)


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "SHA256"])
def test_botocore_trailer_checksum_upload(server, s3, bucket, trailer_checksums, alg):
    data = random_bytes(MiB + 12345, seed=21)
    put = s3.put_object(Bucket=bucket, Key="bt", Body=data, ChecksumAlgorithm=alg)
    want = awschunked.checksum(alg.lower(), data)
    assert put[CHECKSUM_KEYS[alg.lower()]] == want
    got, body = get_bytes(s3, bucket, "bt", ChecksumMode="ENABLED")
    assert body == data
    assert got[CHECKSUM_KEYS[alg.lower()]] == want


# -- x-amz-checksum-* headers ------------------------------------------------------


@pytest.mark.parametrize("alg", ["SHA256", "CRC32", "CRC32C", "SHA1"])
def test_boto3_checksum_algorithm_round_trips(s3, bucket, alg):
    data = random_bytes(1_500_000, seed=31)
    key = f"ck-{alg}"
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=alg)
    want = awschunked.checksum(alg.lower(), data)
    assert put[CHECKSUM_KEYS[alg.lower()]] == want
    # botocore checks the returned checksum against the body it reads
    got, body = get_bytes(s3, bucket, key, ChecksumMode="ENABLED")
    assert body == data
    assert got[CHECKSUM_KEYS[alg.lower()]] == want
    assert got["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"] == "FULL_OBJECT"
    # a range is not the whole object: no checksum for it
    part, pbody = get_bytes(s3, bucket, key, ChecksumMode="ENABLED", Range="bytes=10-99")
    assert pbody == data[10:100]
    assert CHECKSUM_KEYS[alg.lower()] not in part
    plain, _ = get_bytes(s3, bucket, key)
    assert CHECKSUM_KEYS[alg.lower()] not in plain


def test_wrong_checksum_header_is_bad_digest(server, s3, bucket):
    data = b"checksummed body"
    wrong = awschunked.checksum("crc32c", b"something else")
    resp = s3raw.signed(server.port, server.creds, "PUT", f"/{bucket}/hdr", body=data,
                        headers={"x-amz-checksum-crc32c": wrong})
    assert resp.status == 400 and resp.error_code() == "BadDigest", resp
    assert resp.error_fields()["Message"] == \
        "The CRC32C you specified did not match the calculated checksum."
    assert_absent(s3, bucket, "hdr")


@pytest.mark.parametrize("headers", [
    {"x-amz-checksum-crc32": "AAAA"},                      # too short
    {"x-amz-checksum-sha256": "not base64 at all"},
    {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-sha1": "A" * 27 + "="},
    {"x-amz-sdk-checksum-algorithm": "CRC32"},             # no value anywhere
])
def test_bad_checksum_headers_are_invalid_request(server, s3, bucket, headers):
    resp = s3raw.signed(server.port, server.creds, "PUT", f"/{bucket}/inv", body=b"x",
                        headers=headers)
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    assert_absent(s3, bucket, "inv")


# -- Transfer-Encoding: chunked and Expect: 100-continue ----------------------------


def test_transfer_chunked_aws_chunked_without_content_length(server, s3, bucket):
    data = random_bytes(250_000, seed=41)
    resp = awschunked.put(server.port, server.creds, f"/{bucket}/te", data, mode="signed",
                          transfer_chunked=True)
    assert resp.status == 200, resp
    assert get_bytes(s3, bucket, "te")[1] == data


def _chunked_put(server, path, data, headers):
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", path, headers=headers,
                              payload_hash=s3raw.UNSIGNED_PAYLOAD)
    hdrs["Transfer-Encoding"] = "chunked"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        body = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n" if data else b"0\r\n\r\n"
        sock.sendall(s3raw.raw_head("PUT", path, hdrs) + body)
        return s3raw.read_raw_response(sock)


def test_plain_chunked_without_length_is_missing_content_length(server, s3, bucket):
    status, _, body = _chunked_put(server, f"/{bucket}/nolength", b"some bytes", {})
    assert status == 411
    assert b"<Code>MissingContentLength</Code>" in body
    assert_absent(s3, bucket, "nolength")


def test_plain_chunked_with_decoded_length_is_accepted(server, s3, bucket):
    data = b"sized elsewhere"
    status, _, body = _chunked_put(server, f"/{bucket}/sized", data,
                                   {"x-amz-decoded-content-length": str(len(data))})
    assert status == 200, body
    assert get_bytes(s3, bucket, "sized")[1] == data


def _expect_continue(server, path, data):
    """Sends the headers with Expect: 100-continue and waits for the interim
    response before sending the body; returns (interim status line, final
    status, final body)."""
    hdrs = s3raw.sign_headers(server.port, server.creds, "PUT", path, body=data,
                              headers={"Expect": "100-continue",
                                       "Content-Length": str(len(data))})
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(s3raw.raw_head("PUT", path, hdrs))
        first = b""
        while b"\r\n\r\n" not in first:
            piece = sock.recv(1)  # byte by byte: stop exactly after the interim response
            if not piece:
                break
            first += piece
        line = first.split(b"\r\n", 1)[0].decode()
        if " 100 " not in line + " ":
            return line, None, first
        sock.sendall(data)
        status, _, body = s3raw.read_raw_response(sock)
        return line, status, body


def test_expect_100_continue(server, s3, bucket):
    data = random_bytes(300_000, seed=51)
    line, status, body = _expect_continue(server, f"/{bucket}/continued", data)
    assert line.startswith("HTTP/1.1 100"), line
    assert status == 200, body
    assert get_bytes(s3, bucket, "continued")[1] == data


def test_expect_100_continue_refused_early(server, s3, bucket):
    """A request that fails on its headers gets its answer instead of 100."""
    line, status, body = _expect_continue(server, "/no-such-bucket-31/x", b"never sent")
    assert status is None
    assert line.startswith("HTTP/1.1 404"), line
