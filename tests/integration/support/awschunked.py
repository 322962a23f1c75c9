"""aws-chunked uploads built by hand, following the S3 documentation's SigV4
streaming rules ("Signature Calculations for the Authorization Header:
Transferring Payload in Multiple Chunks" and its trailer variant), so a test
controls every byte: chunk sizes, signatures, trailers, and where to break
them. The request headers are signed by botocore (s3raw.sign_headers) with the
STREAMING-* payload hash; the chunks chain from that seed signature.

    resp = put(server.port, server.creds, "/bucket/key", data, mode="signed")
"""
import base64
import hashlib
import hmac
import http.client
import re
import zlib

from support import s3raw

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MODES = {
    "signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
    "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
    "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
}


def _hmac(key, msg):
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg, hashlib.sha256).digest()


def signing_key(secret, date8, region="us-east-1"):
    k = _hmac(("AWS4" + secret).encode(), date8)
    for part in (region, "s3", "aws4_request"):
        k = _hmac(k, part)
    return k


def _crc_table(poly):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc_table(0x82F63B78)
_CRC64NVME = _crc_table(0x9A6C9329AC4BC9B5)


def _crc(table, bits, data):
    mask = (1 << bits) - 1
    c = mask
    for b in data:
        c = (c >> 8) ^ table[(c ^ b) & 0xFF]
    return c ^ mask


def checksum(alg, data):
    """The base64 value S3 expects for x-amz-checksum-<alg>."""
    if alg == "crc32":
        raw = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif alg == "crc32c":
        raw = _crc(_CRC32C, 32, data).to_bytes(4, "big")
    elif alg == "crc64nvme":
        raw = _crc(_CRC64NVME, 64, data).to_bytes(8, "big")
    else:
        raw = hashlib.new(alg, data).digest()
    return base64.b64encode(raw).decode()


class Signer:
    """The chunk signature chain of one request."""

    def __init__(self, key, amz_date, scope, seed):
        self.key, self.amz_date, self.scope, self.prev = key, amz_date, scope, seed

    def chunk(self, data):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", self.amz_date, self.scope, self.prev,
                         EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
        self.prev = _hmac(self.key, sts).hex()
        return self.prev

    def trailer(self, canonical):
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", self.amz_date, self.scope, self.prev,
                         hashlib.sha256(canonical.encode()).hexdigest()])
        return _hmac(self.key, sts).hex()


def encode(data, chunk_size, signer=None, trailer=None, tamper=None, sign_trailer=False):
    """The aws-chunked body. trailer is (name, value) or None; sign_trailer
    adds x-amz-trailer-signature after it. tamper names
    one thing to break: "chunk-signature" (the first), "data" (a byte after
    signing), "trailer-signature", "final-signature"."""
    out = bytearray()
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    for n, piece in enumerate(pieces):
        if signer:
            sig = signer.chunk(piece)
            if (tamper == "chunk-signature" and n == 0) or \
                    (tamper == "final-signature" and not piece):
                sig = ("0" if sig[0] != "0" else "1") + sig[1:]
            out += f"{len(piece):x};chunk-signature={sig}\r\n".encode()
        else:
            out += f"{len(piece):x}\r\n".encode()
        if piece:
            if tamper == "data" and n == 0:
                piece = bytes([piece[0] ^ 1]) + piece[1:]
            out += piece + b"\r\n"
    if trailer:
        name, value = trailer
        out += f"{name}:{value}\r\n".encode()
        if sign_trailer:
            sig = signer.trailer(f"{name}:{value}\n")
            if tamper == "trailer-signature":
                sig = ("0" if sig[0] != "0" else "1") + sig[1:]
            out += f"x-amz-trailer-signature:{sig}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def put(port, creds, path, data, mode="signed", chunk_size=64 * 1024, trailer=None,
        trailer_value=None, tamper=None, headers=None, transfer_chunked=False):
    """Uploads data with PUT path as an aws-chunked body; returns s3raw.Response.

    trailer names a checksum algorithm ("crc32", ...) sent as the trailing
    x-amz-checksum-<alg> (trailer_value overrides its value). With
    transfer_chunked the body goes with Transfer-Encoding: chunked and no
    Content-Length, as botocore sends trailer checksums."""
    signed = mode != "unsigned-trailer"
    tr = None
    if trailer:
        tr = (f"x-amz-checksum-{trailer}", trailer_value or checksum(trailer, data))
    # The length does not depend on the signatures' values: encode once with
    # a dummy chain for the Content-Length that gets signed.
    sign_trailer = mode == "signed-trailer"
    dummy = Signer(b"k", "", "", "0" * 64)
    length = len(encode(data, chunk_size, dummy if signed else None, tr, None, sign_trailer))
    hdrs = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data))}
    if not transfer_chunked:
        hdrs["Content-Length"] = str(length)
    if tr:
        hdrs["x-amz-trailer"] = tr[0]
    hdrs.update(headers or {})
    signed_hdrs = s3raw.sign_headers(port, creds, "PUT", path, headers=hdrs,
                                     payload_hash=MODES[mode])
    signer = None
    if signed:
        seed = re.search(r"Signature=([0-9a-f]{64})", signed_hdrs["Authorization"]).group(1)
        amz_date = signed_hdrs["X-Amz-Date"]
        scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
        signer = Signer(signing_key(creds[1], amz_date[:8]), amz_date, scope, seed)
    body = encode(data, chunk_size, signer, tr, tamper, sign_trailer)
    if not transfer_chunked:
        assert len(body) == length
        return s3raw.send(port, "PUT", path, body=body, headers=signed_hdrs)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        pieces = (body[i:i + 10000] for i in range(0, len(body), 10000))
        conn.request("PUT", path, body=pieces, headers=signed_hdrs, encode_chunked=True)
        resp = conn.getresponse()
        return s3raw.Response(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                              resp.read())
    finally:
        conn.close()
