#!/usr/bin/python3
"""Generates the aws-chunked vectors in tests/unit/vectors/chunked/.

The chunk and trailer signatures are computed here from the SigV4 streaming
rules (an independent implementation of what src/s3/chunked.c checks), and
the implementation is first checked against the worked example of the S3
documentation ("Signature Calculations for the Authorization Header:
Transferring Payload in Multiple Chunks"): 66560 bytes of 'a' in a 64 KiB and
a 1 KiB chunk, whose chunk signatures the documentation lists.
tests/unit/s3/test_chunked.c replays the files. Run with:

    /usr/bin/python3 tests/unit/vectors/gen_chunked.py

File format, one `key: value` per line:

    mode: signed | signed-trailer | unsigned-trailer
    signing-key: 64 hex          (signed modes)
    seed-signature: 64 hex       (signed modes)
    amz-date: / scope:           (signed modes)
    trailer-name: NAME           (trailer modes: what x-amz-trailer declared)
    trailer-value: VALUE         (the decoded trailer value expected back)
    data: fill XX | pattern      decoded byte j: XX (hex), or (31 * j + 7) & 0xff
    decoded-length: N
    chunk: SIZE SIGNATURE|-      one per chunk, the final zero-length one included
    trailer: LINE                one per trailer line, as sent (CRLF excluded)
"""
import base64
import hashlib
import hmac
import os
import zlib

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chunked")
EMPTY = hashlib.sha256(b"").hexdigest()
DATE, DAY, REGION = "20130524T000000Z", "20130524", "us-east-1"
SCOPE = f"{DAY}/{REGION}/s3/aws4_request"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def hm(key, msg):
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg, hashlib.sha256).digest()


def signing_key(secret):
    k = hm(("AWS4" + secret).encode(), DAY)
    for part in (REGION, "s3", "aws4_request"):
        k = hm(k, part)
    return k


def chunk_sig(key, prev, data):
    sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", DATE, SCOPE, prev, EMPTY,
                     hashlib.sha256(data).hexdigest()])
    return hm(key, sts).hex()


def trailer_sig(key, prev, canonical):
    sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", DATE, SCOPE, prev,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    return hm(key, sts).hex()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def data_of(kind, n):
    if kind == "pattern":
        return bytes((31 * j + 7) & 0xFF for j in range(n))
    return bytes([int(kind.split()[1], 16)]) * n


def b64_be(value, size):
    return base64.b64encode(value.to_bytes(size, "big")).decode()


def write(name, mode, data_kind, sizes, seed=None, trailer=None):
    key = signing_key(SECRET)
    total = sum(sizes)
    data = data_of(data_kind, total)
    lines = [f"mode: {mode}"]
    signed = mode != "unsigned-trailer"
    if signed:
        lines += [f"signing-key: {key.hex()}", f"seed-signature: {seed}",
                  f"amz-date: {DATE}", f"scope: {SCOPE}"]
    lines += [f"data: {data_kind}", f"decoded-length: {total}"]
    prev, off, chunks = seed, 0, []
    for size in sizes + [0]:
        sig = "-"
        if signed:
            sig = prev = chunk_sig(key, prev, data[off:off + size])
        chunks.append(f"chunk: {size} {sig}")
        off += size
    tlines = []
    if trailer:
        tname, tvalue = trailer(data)
        lines += [f"trailer-name: {tname}", f"trailer-value: {tvalue}"]
        tlines.append(f"trailer: {tname}:{tvalue}")
        if mode == "signed-trailer":
            sig = trailer_sig(key, prev, f"{tname}:{tvalue}\n")
            tlines.append(f"trailer: x-amz-trailer-signature:{sig}")
    with open(os.path.join(HERE, name), "w") as f:
        f.write("\n".join(lines + chunks + tlines) + "\n")
    return chunks


def main():
    os.makedirs(HERE, exist_ok=True)
    # The S3 documentation's example: its seed and its three chunk signatures.
    doc_seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    chunks = write("01-aws-doc-example.txt", "signed", "fill 61", [65536, 1024], seed=doc_seed)
    assert chunks == [
        "chunk: 65536 ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "chunk: 1024 0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "chunk: 0 b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ], chunks
    seed2 = hashlib.sha256(b"orchard seed").hexdigest()  # any seed: the chain is what counts
    write("02-signed-trailer-crc32.txt", "signed-trailer", "pattern", [100, 17], seed=seed2,
          trailer=lambda d: ("x-amz-checksum-crc32", b64_be(zlib.crc32(d), 4)))
    write("03-unsigned-trailer-crc32c.txt", "unsigned-trailer", "pattern", [8192, 5],
          trailer=lambda d: ("x-amz-checksum-crc32c", b64_be(crc32c(d), 4)))
    write("04-signed-trailer-sha256.txt", "signed-trailer", "fill 00", [3], seed=seed2,
          trailer=lambda d: ("x-amz-checksum-sha256",
                             base64.b64encode(hashlib.sha256(d).digest()).decode()))
    write("05-signed-empty-body.txt", "signed", "fill 00", [], seed=seed2)


if __name__ == "__main__":
    main()
