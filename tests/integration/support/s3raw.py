"""SigV4-signed (or anonymous) S3 requests sent with plain http.client.

boto3 cannot send the requests some tests need: a signature dated 20 minutes
ago, an x-amz-content-sha256 that does not match the body, or a Host header
naming a bucket under a domain that does not resolve. botocore's own S3 signer
builds the signature; only the timestamp and the payload hash are overridable,
so what the server checks is what real clients send."""

import datetime
import http.client
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


class _Signer(S3SigV4Auth):
    """S3SigV4Auth with a settable clock and payload hash."""

    def __init__(self, credentials, region, when=None, payload_hash=None):
        super().__init__(credentials, "s3", region)
        self._when = when
        self._payload_hash = payload_hash

    def payload(self, request):
        if self._payload_hash is not None:
            return self._payload_hash
        return super().payload(request)

    def add_auth(self, request):
        # Same steps as SigV4Auth.add_auth, with our clock instead of utcnow().
        when = self._when or datetime.datetime.utcnow()
        request.context["timestamp"] = when.strftime(SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        sts = self.string_to_sign(request, canonical)
        self._inject_signature_to_request(request, self.signature(sts, request))


class Response:
    """A fully read HTTP response."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body

    def error_code(self):
        """The <Code> of an S3 error body, or None."""
        try:
            root = ET.fromstring(self.body)
        except ET.ParseError:
            return None
        node = root.find("Code")
        return node.text if node is not None else None

    def error_fields(self):
        root = ET.fromstring(self.body)
        return {child.tag: (child.text or "") for child in root}

    def __repr__(self):
        return f"Response({self.status}, {self.headers!r}, {self.body[:300]!r})"


def quote_key(key):
    return urllib.parse.quote(key, safe="/~")


def send(port, method, path, body=b"", headers=None, host="127.0.0.1", timeout=60):
    """Sends one request to 127.0.0.1:port as given (no signing) and reads it all."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body if body else None, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return Response(resp.status, hdrs, data)
    finally:
        conn.close()


def sign_headers(port, creds, method, path, body=b"", headers=None, query="", host_header=None,
                 when=None, payload_hash=None, region="us-east-1"):
    """The headers (Authorization included) of a SigV4-signed request to
    127.0.0.1:port, for sending by http.client or a raw socket.

    path is already URI-encoded ("/bucket/some%20key"); query is the raw query
    string without '?'. host_header replaces the Host that is signed and sent
    (for virtual-hosted-style). when is a naive UTC datetime; payload_hash
    forces x-amz-content-sha256 (and the hash in the canonical request)."""
    url = f"http://127.0.0.1:{port}{path}" + (f"?{query}" if query else "")
    req_headers = dict(headers or {})
    req_headers["Host"] = host_header or f"127.0.0.1:{port}"
    req = AWSRequest(method=method, url=url, data=body, headers=req_headers)
    _Signer(Credentials(creds[0], creds[1]), region, when=when,
            payload_hash=payload_hash).add_auth(req)
    return {k: v for k, v in req.headers.items()}


def signed(port, creds, method, path, body=b"", headers=None, query="", host_header=None,
           when=None, payload_hash=None, region="us-east-1", timeout=60):
    """Signs (see sign_headers) and sends; returns the whole Response."""
    hdrs = sign_headers(port, creds, method, path, body, headers, query, host_header, when,
                        payload_hash, region)
    target = path + (f"?{query}" if query else "")
    return send(port, method, target, body=body, headers=hdrs, timeout=timeout)


def raw_head(method, target, headers):
    """The request line and headers as bytes, for writing to a socket."""
    lines = [f"{method} {target} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_raw_response(sock, limit=1 << 20):
    """Reads what the server sends until it closes or the headers and
    Content-Length bytes are in; returns (status, headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    want = int(hdrs.get("content-length", "0") or 0)
    while len(body) < min(want, limit):
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return status, hdrs, body
