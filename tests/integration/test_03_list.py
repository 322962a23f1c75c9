"""ListObjectsV2: prefixes, delimiters, pagination and URL encoding, checked
against a reference listing computed here from the keys we wrote."""

import urllib.parse
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest

from support import s3raw
from support.data import unique_bucket

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
TOPS = ["alpha", "beta", "gamma", "delta"]


def _key(i):
    top = TOPS[i % 4]
    if i % 5 == 0:
        return f"{top}-file{i:04d}"
    return f"{top}/sub{i % 3}/obj{i:04d}"


KEYS = [_key(i) for i in range(1000)]
ODD_KEYS = ["with space", "with space/inner key", "ünïcödé", "日本/語.txt", "a+b", "x%20y",
            "amp&er", "lt<gt>", "tab\there", "emoji-😀", "plain"]


def utf8_sorted(keys):
    return sorted(keys, key=lambda k: k.encode("utf-8"))


def reference(keys, prefix="", delimiter=None, start_after=None):
    """(contents, common_prefixes) as S3 lists them, both sorted."""
    contents, prefixes = [], set()
    for k in utf8_sorted(keys):
        if not k.startswith(prefix):
            continue
        if start_after is not None and k.encode() <= start_after.encode():
            continue
        if delimiter:
            pos = k.find(delimiter, len(prefix))
            if pos >= 0:
                prefixes.add(k[:pos + len(delimiter)])
                continue
        contents.append(k)
    return contents, utf8_sorted(prefixes)


def _put_all(s3, bucket, keys):
    def put(k):
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode("utf-8"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, keys))


@pytest.fixture(scope="module")
def many(s3):
    bucket = unique_bucket("list")
    s3.create_bucket(Bucket=bucket)
    _put_all(s3, bucket, KEYS)
    return bucket


@pytest.fixture(scope="module")
def odd(s3):
    bucket = unique_bucket("odd")
    s3.create_bucket(Bucket=bucket)
    _put_all(s3, bucket, ODD_KEYS)
    return bucket


def _list_all(s3, **kwargs):
    """Follows continuation tokens with a paginator; checks every page."""
    contents, prefixes, pages = [], [], 0
    max_keys = kwargs.get("PaginationConfig", {}).get("PageSize", 1000)
    for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
        pages += 1
        page_contents = [o["Key"] for o in page.get("Contents", [])]
        page_prefixes = [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        assert page["KeyCount"] == len(page_contents) + len(page_prefixes)
        assert page["KeyCount"] <= max_keys
        if page["IsTruncated"]:
            assert page["KeyCount"] == max_keys
            assert page["NextContinuationToken"]
        contents += page_contents
        prefixes += page_prefixes
    return contents, prefixes, pages


def test_full_listing_is_sorted_and_complete(s3, many):
    resp = s3.list_objects_v2(Bucket=many)
    assert resp["KeyCount"] == 1000
    assert resp["IsTruncated"] is False
    assert resp["MaxKeys"] == 1000
    assert [o["Key"] for o in resp["Contents"]] == utf8_sorted(KEYS)
    one = [o for o in resp["Contents"] if o["Key"] == KEYS[7]][0]
    assert one["Size"] == len(KEYS[7].encode())
    assert one["ETag"].startswith('"') and len(one["ETag"]) == 34


def test_object_bodies_are_their_keys(s3, many):
    for k in (KEYS[0], KEYS[1], KEYS[999]):
        assert s3.get_object(Bucket=many, Key=k)["Body"].read() == k.encode()


@pytest.mark.parametrize("prefix", ["alpha", "alpha/", "beta/sub1/", "gamma-file",
                                    "delta/sub2/obj0", "zzz", ""])
def test_prefix(s3, many, prefix):
    resp = s3.list_objects_v2(Bucket=many, Prefix=prefix)
    expected, _ = reference(KEYS, prefix)
    assert [o["Key"] for o in resp.get("Contents", [])] == expected
    assert resp["KeyCount"] == len(expected)
    assert resp["IsTruncated"] is False


@pytest.mark.parametrize("prefix", ["", "alpha/", "beta/sub0/", "nope/"])
def test_delimiter_gives_common_prefixes(s3, many, prefix):
    resp = s3.list_objects_v2(Bucket=many, Prefix=prefix, Delimiter="/")
    contents, prefixes = reference(KEYS, prefix, "/")
    assert [o["Key"] for o in resp.get("Contents", [])] == contents
    assert [p["Prefix"] for p in resp.get("CommonPrefixes", [])] == prefixes
    assert resp["KeyCount"] == len(contents) + len(prefixes)
    if prefix == "":
        assert prefixes == ["alpha/", "beta/", "delta/", "gamma/"]
        assert len(contents) == 200


def test_pagination_with_max_keys_100(s3, many):
    contents, prefixes, pages = _list_all(s3, Bucket=many, PaginationConfig={"PageSize": 100})
    assert pages == 10
    assert prefixes == []
    assert contents == utf8_sorted(KEYS)


def test_pagination_with_prefix_and_delimiter(s3, many):
    contents, prefixes, _ = _list_all(s3, Bucket=many, Prefix="alpha/", Delimiter="/",
                                      PaginationConfig={"PageSize": 2})
    exp_contents, exp_prefixes = reference(KEYS, "alpha/", "/")
    assert contents == exp_contents
    assert prefixes == exp_prefixes
    contents, _, pages = _list_all(s3, Bucket=many, Prefix="beta/",
                                   PaginationConfig={"PageSize": 33})
    assert contents == reference(KEYS, "beta/")[0]
    assert pages == -(-len(contents) // 33)


def test_max_keys_page_is_truncated(s3, many):
    resp = s3.list_objects_v2(Bucket=many, MaxKeys=100)
    assert resp["IsTruncated"] is True
    assert resp["KeyCount"] == 100
    assert resp["MaxKeys"] == 100
    assert [o["Key"] for o in resp["Contents"]] == utf8_sorted(KEYS)[:100]
    nxt = s3.list_objects_v2(Bucket=many, MaxKeys=100,
                             ContinuationToken=resp["NextContinuationToken"])
    assert nxt["ContinuationToken"] == resp["NextContinuationToken"]
    assert [o["Key"] for o in nxt["Contents"]] == utf8_sorted(KEYS)[100:200]


def test_start_after(s3, many):
    ordered = utf8_sorted(KEYS)
    resp = s3.list_objects_v2(Bucket=many, StartAfter=ordered[499])
    assert [o["Key"] for o in resp["Contents"]] == ordered[500:]
    assert resp["KeyCount"] == 500
    # a start-after that is not itself a key
    resp = s3.list_objects_v2(Bucket=many, StartAfter="beta/sub1/")
    assert [o["Key"] for o in resp["Contents"]] == reference(KEYS, start_after="beta/sub1/")[0]
    # paged
    contents, _, _ = _list_all(s3, Bucket=many, StartAfter=ordered[949],
                               PaginationConfig={"PageSize": 20})
    assert contents == ordered[950:]
    resp = s3.list_objects_v2(Bucket=many, StartAfter=ordered[-1])
    assert resp["KeyCount"] == 0 and "Contents" not in resp and resp["IsTruncated"] is False


def test_empty_bucket_listing(s3, bucket):
    resp = s3.list_objects_v2(Bucket=bucket)
    assert resp["KeyCount"] == 0
    assert resp["IsTruncated"] is False
    assert "Contents" not in resp


def test_odd_keys_roundtrip_through_boto_listing(s3, odd):
    # boto3 asks for encoding-type=url and decodes the answer itself.
    resp = s3.list_objects_v2(Bucket=odd)
    assert [o["Key"] for o in resp["Contents"]] == utf8_sorted(ODD_KEYS)
    resp = s3.list_objects_v2(Bucket=odd, Delimiter="/", Prefix="with ")
    assert [o["Key"] for o in resp["Contents"]] == ["with space"]
    assert [p["Prefix"] for p in resp["CommonPrefixes"]] == ["with space/"]


def _raw_list(server, bucket, query):
    resp = s3raw.signed(server.port, server.creds, "GET", f"/{bucket}", query=query)
    assert resp.status == 200, resp
    return resp, ET.fromstring(resp.body)


def test_encoding_type_url_encodes_keys_on_the_wire(server, odd):
    query = "delimiter=%2F&encoding-type=url&list-type=2"
    resp, root = _raw_list(server, odd, query)
    assert root.findtext(f"{NS}EncodingType") == "url"
    raw_keys = [c.findtext(f"{NS}Key") for c in root.findall(f"{NS}Contents")]
    raw_prefixes = [c.findtext(f"{NS}Prefix") for c in root.findall(f"{NS}CommonPrefixes")]
    for k in raw_keys + raw_prefixes:
        assert k.isascii() and " " not in k and "\t" not in k, k
    assert root.findtext(f"{NS}Delimiter") in ("/", "%2F")
    contents, prefixes = reference(ODD_KEYS, "", "/")
    assert [urllib.parse.unquote_plus(k) for k in raw_keys] == contents
    assert [urllib.parse.unquote_plus(p) for p in raw_prefixes] == prefixes


def test_without_encoding_type_keys_are_verbatim_xml(server, odd):
    resp, root = _raw_list(server, odd, "list-type=2")
    assert root.tag == f"{NS}ListBucketResult"
    assert root.findtext(f"{NS}KeyCount") == str(len(ODD_KEYS))
    assert root.findtext(f"{NS}IsTruncated") == "false"
    raw_keys = [c.findtext(f"{NS}Key") for c in root.findall(f"{NS}Contents")]
    assert raw_keys == utf8_sorted(ODD_KEYS)


def test_url_encoded_prefix_and_start_after(s3, odd):
    resp = s3.list_objects_v2(Bucket=odd, Prefix="日本/")
    assert [o["Key"] for o in resp["Contents"]] == ["日本/語.txt"]
    resp = s3.list_objects_v2(Bucket=odd, StartAfter="with space")
    assert [o["Key"] for o in resp["Contents"]] == reference(ODD_KEYS, start_after="with space")[0]
