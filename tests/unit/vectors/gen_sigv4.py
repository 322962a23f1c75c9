#!/usr/bin/python3
"""Generates the SigV4 golden vectors in tests/unit/vectors/sigv4/ with botocore.

Each case is signed by botocore's own S3 signers (S3SigV4Auth for header auth,
S3SigV4QueryAuth for presigned URLs) at a fixed instant with fixed credentials, and
the canonical request, string to sign and signature botocore computed are recorded
with the request exactly as a server would receive it. tests/unit/s3/test_sigv4.c
replays them. Run with Debian's python (python3-botocore):

    /usr/bin/python3 tests/unit/vectors/gen_sigv4.py

File format (one case per file; every line is `key: value`, values verbatim to the
end of the line, `header: Name:value` with the value exactly as received, then
three verbatim sections each ended by the next `--- ` line):

    method: GET
    path: /bucket/key            raw, percent-encoded, as on the request line
    query: a=1&b                 raw, as after '?'; empty when none
    header: Host:s3.example.com  one line per header, in order
    access-key: / secret: / region:
    now: 1795618897              server clock, seconds since the epoch
    auth: header | query
    signed-headers: / payload-hash: / signature: / expires: (query only)
    --- canonical-request
    --- string-to-sign
    --- end
"""
import datetime
import os
import sys
import types
from urllib.parse import unquote, urlsplit

import botocore
from botocore import auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode, percent_encode_sequence

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
SIGNED_AT = datetime.datetime(2026, 11, 25, 15, 1, 30)
NOW = int(SIGNED_AT.replace(tzinfo=datetime.timezone.utc).timestamp()) + 7
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sigv4")


class _FixedDatetime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return cls(2026, 11, 25, 15, 1, 30)


# botocore.auth reads the clock through its module-level `datetime` import.
auth.datetime = types.SimpleNamespace(datetime=_FixedDatetime)


class _Capture:
    """Records what botocore signs, as it signs it."""

    def string_to_sign(self, request, canonical_request):
        sts = super().string_to_sign(request, canonical_request)
        self.captured = {"canonical": canonical_request, "sts": sts}
        return sts

    def signature(self, string_to_sign, request):
        sig = super().signature(string_to_sign, request)
        self.captured["signature"] = sig
        return sig


class HeaderSigner(_Capture, auth.S3SigV4Auth):
    pass


class StreamingSigner(_Capture, auth.S3SigV4Auth):
    def payload(self, request):
        return "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


class QuerySigner(_Capture, auth.S3SigV4QueryAuth):
    pass


def encode_path(key):
    """Encodes an object path the way botocore's serializer does (greedy label)."""
    return percent_encode(key, safe="/~")


def parse_raw_query(raw):
    """Decoded (name, value) pairs, '+' kept as '+', for botocore's params path."""
    pairs = []
    if raw:
        for part in raw.split("&"):
            name, _, value = part.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def sign_header(name, method, path, raw_query=None, params=None, headers=(), body=b"",
                context=None, signer_cls=HeaderSigner):
    """Header auth. The query is sent as raw_query (default: botocore's own
    encoding of params) and signed from its decoded params, as a client does."""
    if params is None:
        params = parse_raw_query(raw_query or "")
    if raw_query is None:
        raw_query = percent_encode_sequence(params) if params else ""
    req = AWSRequest(method=method, url="http://s3.example.com" + path, data=body)
    for hname, hvalue in headers:
        req.headers[hname] = hvalue
    if params:
        req.params = list(params)
    req.context.update(context or {})
    signer = signer_cls(Credentials(ACCESS_KEY, SECRET), "s3", REGION)
    signer.add_auth(req)
    sent = [(k, v) for k, v in req.headers.items()]
    payload = req.headers["X-Amz-Content-SHA256"]
    return write_case(name, method, path, raw_query, sent, signer, "header",
                      signed_from_cr(signer), payload, None)


def sign_query(name, method, path, raw_query="", headers=(), expires=3600):
    url = "http://s3.example.com" + path + ("?" + raw_query if raw_query else "")
    req = AWSRequest(method=method, url=url)
    for hname, hvalue in headers:
        req.headers[hname] = hvalue
    signer = QuerySigner(Credentials(ACCESS_KEY, SECRET), "s3", REGION, expires=expires)
    signer.add_auth(req)
    parts = urlsplit(req.url)
    assert parts.path == path, (parts.path, path)
    sent = [(k, v) for k, v in req.headers.items()]
    return write_case(name, method, path, parts.query, sent, signer, "query",
                      signed_from_cr(signer), "UNSIGNED-PAYLOAD", expires)


def signed_from_cr(signer):
    return signer.captured["canonical"].split("\n")[-2]


def write_case(name, method, path, raw_query, headers, signer, kind, signed, payload,
               expires):
    cap = signer.captured
    lines = [
        "# generated by gen_sigv4.py with botocore %s; do not edit by hand" % botocore.__version__,
        "method: " + method,
        "path: " + path,
        "query: " + raw_query,
    ]
    for hname, hvalue in headers:
        assert "\n" not in hvalue and "\r" not in hvalue
        lines.append("header: %s:%s" % (hname, hvalue))
    lines += [
        "access-key: " + ACCESS_KEY,
        "secret: " + SECRET,
        "region: " + REGION,
        "now: %d" % NOW,
        "auth: " + kind,
        "signed-headers: " + signed,
        "payload-hash: " + payload,
        "signature: " + cap["signature"],
    ]
    if expires is not None:
        lines.append("expires: %d" % expires)
    lines += ["--- canonical-request", cap["canonical"], "--- string-to-sign", cap["sts"],
              "--- end", ""]
    with open(os.path.join(OUT, name + ".txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines))


HOST = ("Host", "s3.example.com")


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".txt"):
            os.remove(os.path.join(OUT, old))
    sign_header("01-get-bucket-root", "GET", "/mybucket", headers=[HOST])
    sign_header("02-list-v2-query", "GET", "/mybucket",
                raw_query="list-type=2&prefix=a%2Fb&delimiter=/", headers=[HOST])
    sign_header("03-key-with-spaces", "GET", encode_path("/mybucket/my file name.txt"),
                headers=[HOST])
    sign_header("04-key-unicode", "GET", encode_path("/mybucket/café/€ µ.txt"),
                headers=[HOST])
    sign_header("05-key-plus-tilde", "GET", encode_path("/mybucket/a+b~c/~d"),
                headers=[HOST])
    sign_header("06-key-equals-percent", "DELETE", encode_path("/mybucket/x=y%z&w"),
                headers=[HOST])
    sign_header("07-put-hex-payload", "PUT", "/mybucket/hello.txt",
                headers=[HOST, ("Content-Type", "text/plain"), ("Content-Length", "12")],
                body=b"hello world\n")
    sign_header("08-put-unsigned-payload", "PUT", "/mybucket/big.bin",
                headers=[HOST, ("Content-Length", "5")], body=b"01234",
                context={"client_config": Config(s3={"payload_signing_enabled": False})})
    sign_query("09-presigned-get", "GET", encode_path("/mybucket/photos/cat 1.jpg"),
               headers=[HOST], expires=3600)
    sign_query("10-presigned-put-part", "PUT", "/mybucket/video.mp4",
               raw_query="partNumber=3&uploadId=VXBsb2FkIElE~-_.x", headers=[HOST],
               expires=900)
    sign_header("11-header-space-runs", "PUT", "/mybucket/note",
                headers=[HOST, ("X-Amz-Meta-Note", "  hello    big\t world  "),
                         ("Content-Type", "text/plain;   charset=utf-8")],
                body=b"x")
    sign_header("12-header-twice", "PUT", "/mybucket/tagged",
                headers=[HOST, ("X-Amz-Meta-Tag", "first"), ("X-Amz-Meta-Tag", " second ")],
                body=b"")
    sign_header("13-virtual-host", "GET", "/photo%20a.jpg",
                headers=[("Host", "mybucket.s3.example.com:9000")])
    sign_header("14-query-without-value", "POST", "/mybucket/big.bin",
                raw_query="uploads", headers=[HOST])
    sign_header("15-date-header", "GET", "/mybucket/dated",
                headers=[HOST, ("Date", "placeholder, botocore rewrites it")])
    sign_header("16-streaming-signed", "PUT", "/mybucket/stream.bin",
                headers=[HOST, ("Content-Encoding", "aws-chunked"),
                         ("X-Amz-Decoded-Content-Length", "66560")],
                signer_cls=StreamingSigner)
    sign_header("17-streaming-unsigned-trailer", "PUT", "/mybucket/trailer.bin",
                headers=[HOST, ("X-Amz-Trailer", "x-amz-checksum-crc32")],
                context={"checksum": {"request_algorithm": {"in": "trailer",
                                                            "name": "x-amz-checksum-crc32"}}})
    sign_header("18-query-reserved-chars", "GET", "/mybucket",
                params=[("prefix", "a b+c=d&e/é"), ("marker", "~z*")], headers=[HOST])
    return 0


if __name__ == "__main__":
    sys.exit(main())
