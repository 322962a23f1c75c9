"""CopyObject, DeleteObjects, conditional GET/HEAD/PUT, response-* overrides
and ListBuckets pagination: through boto3, awscli, curl and raw signed
requests, and the isolation between users for every one of them."""

import base64
import concurrent.futures
import datetime
import email.utils
import hashlib
import json
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from support import disk, s3raw
from support import server as srv
from support.data import expect_error, md5_etag, random_bytes, unique_bucket

AWS = "/usr/bin/aws"
CURL = "/usr/bin/curl"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
MiB = 1024 * 1024
FAST_GC = {"gc_interval": 1, "gc_grace": 1}
GC_WAIT = 15  # seconds: several GC passes at gc_interval = 1, gc_grace = 1


@pytest.fixture(scope="module")
def other(server):
    """A second user: (keys, client)."""
    keys = server.add_user("eve")
    return keys, server.client(keys)


def _get(s3, bucket, key):
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _http_date(ts):
    return email.utils.formatdate(ts, usegmt=True)


def _path(bucket, key=None):
    return f"/{bucket}" + (f"/{s3raw.quote_key(key)}" if key is not None else "")


# -- CopyObject ---------------------------------------------------------------------------


def test_copy_within_bucket_keeps_bytes_etag_and_metadata(s3, bucket):
    body = random_bytes(300_000, seed=1)
    s3.put_object(Bucket=bucket, Key="src", Body=body, ContentType="image/x-test",
                  Metadata={"color": "blue"}, CacheControl="max-age=60",
                  ContentDisposition='attachment; filename="s.bin"')
    res = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert res["CopyObjectResult"]["ETag"] == md5_etag(body)
    assert isinstance(res["CopyObjectResult"]["LastModified"], datetime.datetime)
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == body
    assert got["ETag"] == md5_etag(body)
    assert got["ContentType"] == "image/x-test"
    assert got["Metadata"] == {"color": "blue"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == 'attachment; filename="s.bin"'
    assert _get(s3, bucket, "src") == body  # the source is untouched


def test_copy_across_buckets_with_odd_keys(s3, bucket):
    dst = unique_bucket("dst")
    s3.create_bucket(Bucket=dst)
    for i, key in enumerate(["dir/a b+c.txt", "ünï/cödé?x=1&y", "per%cent~tilde", "a" * 1000]):
        body = random_bytes(1000 + i, seed=10 + i)
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        s3.copy_object(Bucket=dst, Key=key + ".copy", CopySource={"Bucket": bucket, "Key": key})
        assert _get(s3, dst, key + ".copy") == body, key


def test_copy_source_without_leading_slash_and_with_version_id(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="v src", Body=b"versioned?")
    for source in (f"{bucket}/v%20src", f"/{bucket}/v%20src?versionId=null"):
        resp = s3raw.signed(server.port, server.creds, "PUT", _path(bucket, "v copy"),
                            headers={"x-amz-copy-source": source})
        assert resp.status == 200, resp
        root = ET.fromstring(resp.body)
        assert root.tag == NS + "CopyObjectResult"
        assert root.find(NS + "ETag").text == md5_etag(b"versioned?")
        assert _get(s3, bucket, "v copy") == b"versioned?"


def test_copy_replace_takes_metadata_from_the_request(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", ContentType="text/plain",
                  Metadata={"old": "1"}, CacheControl="no-cache")
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"},
                   MetadataDirective="REPLACE", ContentType="application/x-new",
                   Metadata={"new": "2"}, ContentLanguage="fr")
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload"
    assert got["ContentType"] == "application/x-new"
    assert got["Metadata"] == {"new": "2"}
    assert got["ContentLanguage"] == "fr"
    assert "CacheControl" not in got
    # COPY (the default) ignores metadata sent with the request
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource={"Bucket": bucket, "Key": "src"},
                   Metadata={"ignored": "x"}, ContentType="application/ignored")
    got = s3.head_object(Bucket=bucket, Key="dst2")
    assert got["Metadata"] == {"old": "1"} and got["ContentType"] == "text/plain"


def test_copy_to_itself_needs_replace(s3, bucket):
    s3.put_object(Bucket=bucket, Key="self", Body=b"me", Metadata={"v": "1"})
    before = s3.head_object(Bucket=bucket, Key="self")
    resp = expect_error(s3.copy_object, "InvalidRequest", 400, Bucket=bucket, Key="self",
                        CopySource={"Bucket": bucket, "Key": "self"})
    assert "copy an object to itself" in resp["Error"]["Message"]
    s3.copy_object(Bucket=bucket, Key="self", CopySource={"Bucket": bucket, "Key": "self"},
                   MetadataDirective="REPLACE", Metadata={"v": "2"}, ContentType="text/x-2")
    after = s3.get_object(Bucket=bucket, Key="self")
    assert after["Body"].read() == b"me"
    assert after["Metadata"] == {"v": "2"} and after["ContentType"] == "text/x-2"
    assert after["ETag"] == before["ETag"]
    assert after["LastModified"] >= before["LastModified"]


def test_copy_errors(s3, bucket):
    expect_error(s3.copy_object, "NoSuchKey", 404, Bucket=bucket, Key="d",
                 CopySource={"Bucket": bucket, "Key": "absent"})
    expect_error(s3.copy_object, "NoSuchBucket", 404, Bucket=bucket, Key="d",
                 CopySource={"Bucket": unique_bucket("gone"), "Key": "k"})
    s3.put_object(Bucket=bucket, Key="s", Body=b"s")
    expect_error(s3.copy_object, "NoSuchBucket", 404, Bucket=unique_bucket("gone"), Key="d",
                 CopySource={"Bucket": bucket, "Key": "s"})
    expect_error(s3.copy_object, "InvalidArgument", 400, Bucket=bucket, Key="d",
                 CopySource={"Bucket": bucket, "Key": "s"}, MetadataDirective="MERGE")
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="d")


def test_copy_source_conditions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"conditional source")
    head = s3.head_object(Bucket=bucket, Key="src")
    etag, mtime = head["ETag"], head["LastModified"]
    day = datetime.timedelta(days=1)
    src = {"Bucket": bucket, "Key": "src"}
    ok = [dict(CopySourceIfMatch=etag), dict(CopySourceIfNoneMatch='"0000"'),
          dict(CopySourceIfModifiedSince=mtime - day), dict(CopySourceIfUnmodifiedSince=mtime),
          # S3: if-match true + if-unmodified-since false -> copied
          dict(CopySourceIfMatch=etag, CopySourceIfUnmodifiedSince=mtime - day)]
    failing = [dict(CopySourceIfMatch='"0000"'), dict(CopySourceIfNoneMatch=etag),
               dict(CopySourceIfModifiedSince=mtime), dict(CopySourceIfUnmodifiedSince=mtime - day),
               # S3: if-none-match false + if-modified-since true -> 412
               dict(CopySourceIfNoneMatch=etag, CopySourceIfModifiedSince=mtime - day)]
    for i, cond in enumerate(ok):
        s3.copy_object(Bucket=bucket, Key=f"ok{i}", CopySource=src, **cond)
        assert _get(s3, bucket, f"ok{i}") == b"conditional source", cond
    for i, cond in enumerate(failing):
        expect_error(s3.copy_object, "PreconditionFailed", 412, Bucket=bucket, Key=f"no{i}",
                     CopySource=src, **cond)
        expect_error(s3.head_object, None, 404, Bucket=bucket, Key=f"no{i}")


def test_copy_overwrites_destination(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"A" * 5000)
    s3.put_object(Bucket=bucket, Key="b", Body=b"old b")
    s3.copy_object(Bucket=bucket, Key="b", CopySource={"Bucket": bucket, "Key": "a"})
    assert _get(s3, bucket, "b") == b"A" * 5000
    s3.put_object(Bucket=bucket, Key="a", Body=b"new a")  # the copy is independent
    assert _get(s3, bucket, "b") == b"A" * 5000


def test_copy_of_large_object_moves_no_data(orchard_factory):
    """A copy is a new manifest over the same chunks: no chunk file appears;
    the copy outlives its source; and the references balance, so once both are
    deleted every chunk is collected."""
    server = orchard_factory(**srv.SMALL_CHUNKS, **FAST_GC)
    s3 = server.client()
    b1, b2 = unique_bucket("big"), unique_bucket("big")
    s3.create_bucket(Bucket=b1)
    s3.create_bucket(Bucket=b2)
    body = random_bytes(6 * MiB, seed=6)
    s3.put_object(Bucket=b1, Key="src", Body=body)
    roots = server.disk_roots()
    before = disk.chunk_files(roots)
    assert len(before) >= 2 * 5  # many chunks, 2 copies each
    s3.copy_object(Bucket=b2, Key="copy", CopySource={"Bucket": b1, "Key": "src"})
    s3.copy_object(Bucket=b1, Key="copy2", CopySource={"Bucket": b1, "Key": "src"})
    assert disk.chunk_files(roots) == before, "the copy wrote chunk files"
    s3.delete_object(Bucket=b1, Key="src")
    # Several collector passes must not take chunks the copies still use.
    for _ in range(3):
        time.sleep(1.2)
        assert disk.chunk_files(roots) == before
    assert _get(s3, b2, "copy") == body
    assert s3.get_object(Bucket=b2, Key="copy", Range="bytes=3000000-3999999")["Body"].read() \
        == body[3000000:4000000]
    s3.delete_object(Bucket=b2, Key="copy")
    assert _get(s3, b1, "copy2") == body
    s3.delete_object(Bucket=b1, Key="copy2")
    assert disk.wait_until(lambda: not disk.chunk_files(roots), GC_WAIT), (
        f"{len(disk.chunk_files(roots))} chunk files remain after deleting every copy")


# -- DeleteObjects ------------------------------------------------------------------------


def test_delete_objects_reports_each_key(s3, bucket):
    for k in ("k1", "k 2", "k3"):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    res = s3.delete_objects(Bucket=bucket, Delete={
        "Objects": [{"Key": "k1"}, {"Key": "k 2"}, {"Key": "missing"}]})
    assert sorted(d["Key"] for d in res["Deleted"]) == ["k 2", "k1", "missing"]
    assert not res.get("Errors")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == ["k3"]
    assert _get(s3, bucket, "k3") == b"k3"


def test_delete_objects_quiet_lists_nothing(s3, bucket):
    for k in ("q1", "q2"):
        s3.put_object(Bucket=bucket, Key=k, Body=b"q")
    res = s3.delete_objects(Bucket=bucket, Delete={
        "Objects": [{"Key": "q1"}, {"Key": "q2"}, {"Key": "nope"}], "Quiet": True})
    assert not res.get("Deleted") and not res.get("Errors")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_delete_objects_limits_and_bad_bodies(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="keep", Body=b"keep")
    objs = [{"Key": f"x{i}"} for i in range(1000)] + [{"Key": "keep"}]
    expect_error(s3.delete_objects, "MalformedXML", 400, Bucket=bucket,
                 Delete={"Objects": objs})
    assert _get(s3, bucket, "keep") == b"keep"
    res = s3.delete_objects(Bucket=bucket, Delete={"Objects": objs[-1000:], "Quiet": True})
    assert not res.get("Errors")
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="keep")

    def post(body, md5=None):
        md5 = md5 or base64.b64encode(hashlib.md5(body).digest()).decode()
        return s3raw.signed(server.port, server.creds, "POST", _path(bucket), body=body,
                            query="delete", headers={"Content-MD5": md5})

    good = b"<Delete><Object><Key>a</Key></Object></Delete>"
    assert post(good).status == 200
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    resp = post(good, md5=wrong)
    assert resp.status == 400 and resp.error_code() == "BadDigest", resp
    resp = post(good, md5="not-base64")
    assert resp.status == 400 and resp.error_code() == "InvalidDigest", resp
    for bad in (b"<Delete></Delete>", b"<Delete><Object></Object></Delete>", b"<Nope/>",
                b"<Delete><Object><Key>a</Key>", b""):
        resp = post(bad)
        assert resp.status == 400 and resp.error_code() == "MalformedXML", (bad, resp)
    # Without Content-MD5 or an x-amz-checksum-* header it is refused, as S3
    # refuses it, and nothing is deleted.
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    resp = s3raw.signed(server.port, server.creds, "POST", _path(bucket), body=good,
                        query="delete")
    assert resp.status == 400 and resp.error_code() == "InvalidRequest", resp
    assert _get(s3, bucket, "a") == b"a"


# -- conditional GET and HEAD -------------------------------------------------------------


@pytest.fixture
def cond_obj(s3, bucket):
    body = b"conditional body"
    s3.put_object(Bucket=bucket, Key="c", Body=body)
    head = s3.head_object(Bucket=bucket, Key="c")
    return bucket, body, head["ETag"], head["LastModified"].timestamp()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_conditional_get_and_head(server, cond_obj, method):
    bucket, body, etag, mtime = cond_obj
    past, future = _http_date(mtime - 86400), _http_date(mtime + 86400 * 365 * 10)
    now = _http_date(mtime)
    cases = [
        ({"If-Match": etag}, 200),
        ({"If-Match": etag.strip('"')}, 200),
        ({"If-Match": '"abc", ' + etag}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": '"0123"'}, 412),
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"0123"'}, 200),
        ({"If-Modified-Since": now}, 304),
        ({"If-Modified-Since": past}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        ({"If-Unmodified-Since": now}, 200),
        ({"If-Unmodified-Since": past}, 412),
        # the other two HTTP date formats
        ({"If-Modified-Since": time.strftime("%A, %d-%b-%y %H:%M:%S GMT",
                                             time.gmtime(mtime))}, 304),
        ({"If-Modified-Since": time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(mtime))}, 304),
        # S3's precedence rules
        ({"If-Match": etag, "If-Unmodified-Since": past}, 200),
        ({"If-None-Match": etag, "If-Modified-Since": past}, 304),
        ({"If-None-Match": '"0123"', "If-Modified-Since": future}, 200),
        ({"If-Match": '"0123"', "If-None-Match": etag}, 412),
    ]
    for headers, want in cases:
        resp = s3raw.signed(server.port, server.creds, method, _path(bucket, "c"), headers=headers)
        assert resp.status == want, (headers, resp)
        if want == 200:
            assert resp.body == (body if method == "GET" else b"")
            assert resp.headers["etag"] == etag
        elif want == 304:
            assert resp.body == b"", resp
            assert resp.headers["etag"] == etag
            assert resp.headers["last-modified"] == now
        elif method == "GET":
            assert resp.error_code() == "PreconditionFailed", resp
            assert body not in resp.body


def test_conditional_get_with_boto3(s3, cond_obj):
    bucket, body, etag, mtime = cond_obj
    when = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == body
    expect_error(s3.get_object, "PreconditionFailed", 412, Bucket=bucket, Key="c",
                 IfMatch='"nope"')
    expect_error(s3.get_object, None, 304, Bucket=bucket, Key="c", IfNoneMatch=etag)
    expect_error(s3.head_object, None, 304, Bucket=bucket, Key="c", IfModifiedSince=when)
    expect_error(s3.head_object, None, 412, Bucket=bucket, Key="c",
                 IfUnmodifiedSince=when - datetime.timedelta(hours=1))
    got = s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"nope"', Range="bytes=0-10")
    assert got["Body"].read() == body[:11]


# -- conditional PUT ----------------------------------------------------------------------


def _put(server, bucket, key, body, headers):
    return s3raw.signed(server.port, server.creds, "PUT", _path(bucket, key), body=body,
                        headers=headers)


def test_put_if_none_match_creates_only_once(server, s3, bucket):
    first = _put(server, bucket, "once", b"first", {"If-None-Match": "*"})
    assert first.status == 200, first
    second = _put(server, bucket, "once", b"second", {"If-None-Match": "*"})
    assert second.status == 412 and second.error_code() == "PreconditionFailed", second
    assert _get(s3, bucket, "once") == b"first"
    # an ETag other than the current one holds (RFC 9110 13.1.2); the current fails
    resp = _put(server, bucket, "once", b"x", {"If-None-Match": '"abc"'})
    assert resp.status == 200, resp
    resp = _put(server, bucket, "once", b"y", {"If-None-Match": md5_etag(b"x")})
    assert resp.status == 412 and resp.error_code() == "PreconditionFailed", resp
    assert _get(s3, bucket, "once") == b"x"


def test_put_if_none_match_through_a_boto3_event_hook(server, bucket):
    s3 = server.client()

    def add_header(request, **_kwargs):
        request.headers["If-None-Match"] = "*"

    s3.meta.events.register("before-sign.s3.PutObject", add_header)
    s3.put_object(Bucket=bucket, Key="hooked", Body=b"one")
    expect_error(s3.put_object, "PreconditionFailed", 412, Bucket=bucket, Key="hooked",
                 Body=b"two")
    assert _get(server.client(), bucket, "hooked") == b"one"


def test_put_if_match_is_compare_and_swap(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="cas", Body=b"v1")
    e1 = md5_etag(b"v1")
    resp = _put(server, bucket, "cas", b"v2", {"If-Match": e1})
    assert resp.status == 200 and resp.headers["etag"] == md5_etag(b"v2"), resp
    resp = _put(server, bucket, "cas", b"v3", {"If-Match": e1})  # stale
    assert resp.status == 412 and resp.error_code() == "PreconditionFailed", resp
    assert _get(s3, bucket, "cas") == b"v2"
    resp = _put(server, bucket, "absent", b"v", {"If-Match": e1})
    assert resp.status == 412, resp
    expect_error(s3.head_object, None, 404, Bucket=bucket, Key="absent")
    # a large body (the write pipeline) checks the condition at commit too
    big = random_bytes(3 * MiB, seed=3)
    resp = _put(server, bucket, "cas", big, {"If-Match": md5_etag(b"v2")})
    assert resp.status == 200, resp
    assert _get(s3, bucket, "cas") == big


def test_concurrent_create_only_puts_have_one_winner(server, s3, bucket):
    bodies = [random_bytes(200_000 + i, seed=100 + i) for i in range(8)]

    def attempt(i):
        return i, _put(server, bucket, "race", bodies[i], {"If-None-Match": "*"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(attempt, range(8)))
    winners = [i for i, r in results if r.status == 200]
    assert len(winners) == 1, [(i, r.status) for i, r in results]
    assert all(r.status == 412 for i, r in results if i not in winners), results
    assert _get(s3, bucket, "race") == bodies[winners[0]]


# -- response-* overrides -----------------------------------------------------------------


def test_response_overrides_on_presigned_get_with_curl(s3, bucket):
    body = random_bytes(5000, seed=55)
    s3.put_object(Bucket=bucket, Key="dl.bin", Body=body, ContentType="application/octet-stream",
                  CacheControl="no-store")
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "dl.bin", "ResponseContentType": "text/x-override",
        "ResponseContentDisposition": 'attachment; filename="renamed.txt"',
        "ResponseCacheControl": "max-age=5", "ResponseContentLanguage": "de",
        "ResponseExpires": "Thu, 01 Dec 2044 16:00:00 GMT", "ResponseContentEncoding": "identity",
    }, ExpiresIn=300)
    res = subprocess.run([CURL, "-sS", "-D", "-", "-o", "-", url], capture_output=True,
                         timeout=60, env=srv.clean_env())
    assert res.returncode == 0, res.stderr
    head, _, got = res.stdout.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    assert head.startswith(b"HTTP/1.1 200"), head
    assert got == body
    assert headers["content-type"] == ["text/x-override"]
    assert headers["content-disposition"] == ['attachment; filename="renamed.txt"']
    assert headers["cache-control"] == ["max-age=5"]  # replaces the stored one
    assert headers["content-language"] == ["de"]
    assert headers["expires"] == ["Thu, 01 Dec 2044 16:00:00 GMT"]
    # without overrides the stored values come back
    plain = s3.get_object(Bucket=bucket, Key="dl.bin")
    assert plain["ContentType"] == "application/octet-stream"
    assert plain["CacheControl"] == "no-store"


def test_response_override_with_boto3_and_header_injection(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"o")
    got = s3.get_object(Bucket=bucket, Key="o", ResponseContentType="text/csv")
    assert got["ContentType"] == "text/csv" and got["Body"].read() == b"o"
    resp = s3raw.signed(server.port, server.creds, "HEAD", _path(bucket, "o"),
                        query="response-content-type=text%2Fcsv&response-content-language=en")
    assert resp.status == 200 and resp.headers["content-type"] == "text/csv", resp
    assert resp.headers["content-language"] == "en"
    resp = s3raw.signed(server.port, server.creds, "GET", _path(bucket, "o"),
                        query="response-content-type=text%2Fplain%0D%0AX-Evil%3A%201")
    assert resp.status == 400 and resp.error_code() == "InvalidArgument", resp
    assert "x-evil" not in resp.headers


# -- ListBuckets pagination ---------------------------------------------------------------


def _list_buckets_raw(server, creds, query=""):
    resp = s3raw.signed(server.port, creds, "GET", "/", query=query)
    assert resp.status == 200, resp
    root = ET.fromstring(resp.body)
    names = [b.find(NS + "Name").text for b in root.iter(NS + "Bucket")]
    tok = root.find(NS + "ContinuationToken")
    return names, tok.text if tok is not None else None, root


def test_list_buckets_pagination(server):
    keys = server.add_user("pager")
    c = server.client(keys)
    names = sorted([f"pg-{i}-{unique_bucket('x')}" for i in range(5)] + ["other-" +
                                                                       unique_bucket("x")])
    for n in names:
        c.create_bucket(Bucket=n)
    everything, tok, _ = _list_buckets_raw(server, keys)
    assert everything == names and tok is None
    seen, tok, pages = [], None, 0
    while True:
        q = "max-buckets=2" + (f"&continuation-token={s3raw.quote_key(tok)}" if tok else "")
        page, tok, _ = _list_buckets_raw(server, keys, q)
        assert len(page) <= 2
        seen += page
        pages += 1
        if not tok:
            break
    assert seen == names and pages == 3
    page, tok, root = _list_buckets_raw(server, keys, "prefix=pg-&max-buckets=4")
    assert page == [n for n in names if n.startswith("pg-")][:4] and tok
    assert root.find(NS + "Prefix").text == "pg-"
    page, tok, _ = _list_buckets_raw(server, keys,
                                     "prefix=pg-&max-buckets=4&continuation-token="
                                     + s3raw.quote_key(tok))
    assert page == [n for n in names if n.startswith("pg-")][4:] and tok is None
    for bad in ("max-buckets=0", "max-buckets=10001", "max-buckets=x",
                "continuation-token=%21%21"):
        resp = s3raw.signed(server.port, keys, "GET", "/", query=bad)
        assert resp.status == 400 and resp.error_code() == "InvalidArgument", (bad, resp)


# -- isolation between users --------------------------------------------------------------


def test_other_user_is_denied_everything(server, s3, bucket, other):
    _keys, eve = other
    secret = b"my secret bytes"
    s3.put_object(Bucket=bucket, Key="mine", Body=secret)
    etag = md5_etag(secret)
    theirs = unique_bucket("eve")
    eve.create_bucket(Bucket=theirs)
    eve.put_object(Bucket=theirs, Key="hers", Body=b"hers")
    # copy out of, into, and within someone else's bucket
    expect_error(eve.copy_object, "AccessDenied", 403, Bucket=theirs, Key="stolen",
                 CopySource={"Bucket": bucket, "Key": "mine"})
    expect_error(eve.copy_object, "AccessDenied", 403, Bucket=bucket, Key="planted",
                 CopySource={"Bucket": theirs, "Key": "hers"})
    expect_error(eve.copy_object, "AccessDenied", 403, Bucket=bucket, Key="mine2",
                 CopySource={"Bucket": bucket, "Key": "mine"})
    expect_error(s3.copy_object, "AccessDenied", 403, Bucket=bucket, Key="x",
                 CopySource={"Bucket": theirs, "Key": "hers"})
    # UploadPartCopy out of someone else's bucket into one's own upload
    up = eve.create_multipart_upload(Bucket=theirs, Key="stolen-mp")["UploadId"]
    expect_error(eve.upload_part_copy, "AccessDenied", 403, Bucket=theirs, Key="stolen-mp",
                 UploadId=up, PartNumber=1, CopySource={"Bucket": bucket, "Key": "mine"})
    eve.abort_multipart_upload(Bucket=theirs, Key="stolen-mp", UploadId=up)
    expect_error(eve.delete_objects, "AccessDenied", 403, Bucket=bucket,
                 Delete={"Objects": [{"Key": "mine"}]})
    expect_error(eve.get_object, "AccessDenied", 403, Bucket=bucket, Key="mine", IfMatch=etag)
    expect_error(eve.head_object, None, 403, Bucket=bucket, Key="mine", IfNoneMatch=etag)
    resp = s3raw.signed(server.port, other[0], "GET", _path(bucket, "mine"),
                        query="response-content-type=text%2Fplain")
    assert resp.status == 403 and secret not in resp.body, resp
    resp = s3raw.signed(server.port, other[0], "PUT", _path(bucket, "mine"), body=b"evil",
                        headers={"If-Match": etag})
    assert resp.status == 403 and resp.error_code() == "AccessDenied", resp
    resp = s3raw.signed(server.port, other[0], "PUT", _path(bucket, "new"), body=b"evil",
                        headers={"If-None-Match": "*"})
    assert resp.status == 403 and resp.error_code() == "AccessDenied", resp
    assert bucket not in [b["Name"] for b in eve.list_buckets()["Buckets"]]
    names, _, _ = _list_buckets_raw(server, other[0], "max-buckets=1000")
    assert bucket not in names and theirs in names
    assert _get(s3, bucket, "mine") == secret
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["mine"]
    assert _get(eve, theirs, "hers") == b"hers"


# -- awscli -------------------------------------------------------------------------------


def _aws(server, tmp_path, args):
    cfg = tmp_path / "aws.cfg"
    cfg.write_text("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    env = srv.clean_env({"AWS_ACCESS_KEY_ID": server.access_key,
                         "AWS_SECRET_ACCESS_KEY": server.secret_key,
                         "AWS_CONFIG_FILE": str(cfg)})
    res = subprocess.run([AWS, "--endpoint-url", server.endpoint, "--no-cli-pager",
                          "--output", "json"] + args,
                         capture_output=True, text=True, env=env, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"aws {args}: {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


def test_awscli_copy_delete_list_presign(server, s3, bucket, tmp_path):
    body = random_bytes(70_000, seed=70)
    s3.put_object(Bucket=bucket, Key="cli src", Body=body)
    out = json.loads(_aws(server, tmp_path, ["s3api", "copy-object", "--bucket", bucket,
                                             "--key", "cli dst",
                                             "--copy-source", f"{bucket}/cli src"]))
    assert out["CopyObjectResult"]["ETag"] == md5_etag(body)
    assert _get(s3, bucket, "cli dst") == body
    out = json.loads(_aws(server, tmp_path, ["s3api", "list-objects", "--bucket", bucket]))
    assert sorted(o["Key"] for o in out["Contents"]) == ["cli dst", "cli src"]
    url = _aws(server, tmp_path, ["s3", "presign", f"s3://{bucket}/cli dst",
                                  "--expires-in", "300"]).strip()
    res = subprocess.run([CURL, "-sS", "-f", url], capture_output=True, timeout=60,
                         env=srv.clean_env())
    assert res.returncode == 0 and res.stdout == body, res.stderr
    out = json.loads(_aws(server, tmp_path, [
        "s3api", "delete-objects", "--bucket", bucket, "--delete",
        json.dumps({"Objects": [{"Key": "cli src"}, {"Key": "cli dst"}, {"Key": "none"}]})]))
    assert sorted(d["Key"] for d in out["Deleted"]) == ["cli dst", "cli src", "none"]
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
