#!/usr/bin/python3
"""Orchard benchmark: starts `orchard serve` on a temp data dir and measures

  1. single-stream PUT and GET throughput of one large object (curl --aws-sigv4,
     a C client, so the client is not the bottleneck),
  2. 4 KiB PUT and GET operations per second with 32 concurrent clients (wrk with
     presigned URLs; a Python multiprocess loop if wrk is missing, which is then
     the bottleneck and the output says so),
  3. the server's peak RSS (VmHWM) after each phase, ending with a 5 GiB PUT
     (the largest single PUT S3 allows; larger objects go multipart) streamed
     from a pseudo-random generator, to show memory stays bounded however
     large the object.

Prints a markdown table. The server is always stopped at the end.

  /usr/bin/python3 bench/bench.py [--size 1G] [--skip-10g] [--ops-seconds 10]
                                  [--config FILE] [--workdir DIR]

Use a Release build (ORCHARD_BIN, default build/orchard); ASan numbers are
meaningless. Configure it with -DORCHARD_FAULTS=ON when a --config makes a
provider slow with `faults = ...`: Release leaves the fault decorator out."""

import argparse
import hashlib
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from support import s3raw  # noqa: E402
from support.server import clean_env, free_port, make_client  # noqa: E402

CURL = "/usr/bin/curl"
MiB = 1024 * 1024
GiB = 1024 * MiB
SMALL = 4096
CONCURRENCY = 32
# Fast, non-repeating pseudo-random bytes (repeating data would dedup).
PRNG_CMD = ["openssl", "enc", "-aes-128-ctr", "-pass", "pass:orchard-bench", "-nosalt",
            "-pbkdf2"]


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size: {text}")
    return int(m.group(1)) * {"": 1, "K": 1024, "M": MiB, "G": GiB}[m.group(2).upper()]


def human(n):
    for unit, div in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


class Server:
    def __init__(self, binary, workdir, config):
        self.binary = binary
        self.data = os.path.join(workdir, "data")
        self.log = os.path.join(workdir, "server.log")
        self.config = config
        self.port = free_port()
        self.ak = "AKBENCH" + secrets.token_hex(6).upper()
        self.sk = secrets.token_urlsafe(30)
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        cmd = [self.binary, "serve", "--data", self.data, "--listen", f"127.0.0.1:{self.port}"]
        if self.config:
            cmd += ["--config", self.config]
        env = clean_env({"ORCHARD_ACCESS_KEY": self.ak, "ORCHARD_SECRET_KEY": self.sk})
        os.makedirs(self.data, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open(self.log, "rb") as f:
                if re.search(rb"^endpoint: http://", f.read(), re.M):
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"orchard did not start; log:\n{open(self.log).read()[-3000:]}")

    def memory(self):
        """(VmHWM, VmRSS) in bytes."""
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0]) * 1024
        return out["VmHWM"], out["VmRSS"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None


def curl(server, args):
    cmd = [CURL, "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
           f"{server.ak}:{server.sk}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
           "-w", "%{http_code} %{size_download} %{size_upload}"] + args
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(),
                         stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    if res.returncode != 0:
        raise RuntimeError(f"curl {args[-1]} failed ({res.returncode}): {res.stderr.strip()}")
    code, down, up = res.stdout.split()[-3:]
    return elapsed, int(code), int(float(down)), int(float(up))


def make_random_file(path, size):
    with open(path, "wb") as out:
        gen = subprocess.Popen(PRNG_CMD, stdin=open("/dev/zero", "rb"), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        md5 = hashlib.md5()
        left = size
        while left:
            block = gen.stdout.read(min(left, 4 * MiB))
            out.write(block)
            md5.update(block)
            left -= len(block)
        gen.kill()
        gen.wait()
    return md5.hexdigest()


def stream_put(server, bucket, key, size):
    """PUT of `size` pseudo-random bytes produced on the fly (never on disk),
    with a Content-Length and UNSIGNED-PAYLOAD. Returns (seconds, status)."""
    path = f"/{bucket}/{key}"
    hdrs = s3raw.sign_headers(server.port, (server.ak, server.sk), "PUT", path,
                              payload_hash=s3raw.UNSIGNED_PAYLOAD)
    hdrs["Content-Length"] = str(size)
    gen = subprocess.Popen(PRNG_CMD, stdin=open("/dev/zero", "rb"), stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, bufsize=0)
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=600) as sock:
            sock.sendall(s3raw.raw_head("PUT", path, hdrs))
            left = size
            while left:
                block = gen.stdout.read(min(left, 4 * MiB))
                if not block:
                    raise RuntimeError("generator ended early")
                sock.sendall(block)
                left -= len(block)
            status, _h, body = s3raw.read_raw_response(sock)
    finally:
        gen.kill()
        gen.wait()
    if status != 200:
        raise RuntimeError(f"big PUT answered {status}: {body[:500]!r}")
    return time.monotonic() - t0, status


# -- small-object ops/s ------------------------------------------------------------

WRK_LUA = r"""
local paths = {%(paths)s}
local method = "%(method)s"
local filler = string.rep("o", %(filler)d)
local counter = 0
local tid = 0
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
end

request = function()
  counter = counter + 1
  local path = paths[((counter * 7 + tid) %% #paths) + 1]
  if method == "PUT" then
    -- a distinct body every time, so nothing dedups
    local body = string.format("%%08x%%016x", tid, counter) .. filler
    return wrk.format("PUT", path, {["Content-Type"] = "application/octet-stream"}, body)
  end
  return wrk.format("GET", path)
end
"""


def presigned_paths(client, bucket, op, keys):
    out = []
    for k in keys:
        url = client.generate_presigned_url(op, Params={"Bucket": bucket, "Key": k},
                                            ExpiresIn=3600)
        parts = urllib.parse.urlsplit(url)
        out.append(parts.path + "?" + parts.query)
    return out


def run_wrk(server, workdir, method, paths, seconds):
    lua = os.path.join(workdir, f"{method.lower()}.lua")
    with open(lua, "w") as f:
        f.write(WRK_LUA % {"paths": ",\n".join(f'"{p}"' for p in paths), "method": method,
                           "filler": SMALL - 24})
    cmd = ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{seconds}s", "--latency", "-s", lua,
           server.endpoint]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if res.returncode != 0:
        raise RuntimeError(f"wrk failed: {res.stderr}")
    out = res.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    note = []
    if bad:
        note.append(f"{bad.group(1)} of {total} non-2xx")
    if errs:
        note.append(errs.group(0).strip())
    return rps, (p50.group(1) if p50 else "?"), (p99.group(1) if p99 else "?"), "; ".join(note)


def _py_worker(args):
    port, ak, sk, bucket, method, nkeys, deadline, wid = args
    from support import s3raw as raw

    ops = errors = 0
    filler = b"o" * (SMALL - 24)
    lat = []
    while time.monotonic() < deadline:
        key = f"small/{(ops * 7 + wid) % nkeys:05d}"
        body = b""
        if method == "PUT":
            body = f"{wid:08x}{ops:016x}".encode() + filler
        t0 = time.monotonic()
        try:
            resp = raw.signed(port, (ak, sk), method, f"/{bucket}/{key}", body=body,
                              payload_hash=raw.UNSIGNED_PAYLOAD)
            if resp.status != 200:
                errors += 1
        except OSError:
            errors += 1
        lat.append(time.monotonic() - t0)
        ops += 1
    return ops, errors, lat


def run_python_clients(server, bucket, method, nkeys, seconds):
    deadline = time.monotonic() + seconds
    jobs = [(server.port, server.ak, server.sk, bucket, method, nkeys, deadline, w)
            for w in range(CONCURRENCY)]
    t0 = time.monotonic()
    with multiprocessing.Pool(CONCURRENCY) as pool:
        results = pool.map(_py_worker, jobs)
    elapsed = time.monotonic() - t0
    ops = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    pick = lambda q: f"{lat[min(len(lat) - 1, int(q * len(lat)))] * 1000:.2f}ms" if lat else "?"
    note = "python clients (no wrk): client-bound"
    if errors:
        note += f"; {errors} of {ops} failed"
    return ops / elapsed, pick(0.50), pick(0.99), note


# -- main -------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, default=GiB,
                    help="size of the single-stream object (default 1G)")
    ap.add_argument("--skip-10g", action="store_true", help="skip the 5 GiB streamed PUT")
    ap.add_argument("--big-size", type=parse_size, default=5 * GiB, help=argparse.SUPPRESS)
    ap.add_argument("--ops-seconds", type=int, default=10,
                    help="duration of each 4 KiB ops phase (default 10)")
    ap.add_argument("--config", help="orchard config file for the server")
    ap.add_argument("--workdir", help="where the temp data dir goes (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    ap.add_argument("--no-wrk", action="store_true",
                    help="use the Python clients even if wrk is installed")
    args = ap.parse_args()

    binary = os.environ.get("ORCHARD_BIN") or os.path.join(REPO, "build", "orchard")
    if not os.access(binary, os.X_OK):
        sys.exit(f"orchard binary not found at {binary}: build it or set ORCHARD_BIN")
    for k in [k for k in os.environ if k.startswith("AWS_") or k.lower().endswith("_proxy")]:
        del os.environ[k]
    os.environ.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})

    workdir = tempfile.mkdtemp(prefix="orchard-bench-", dir=args.workdir)
    server = Server(binary, workdir, args.config)
    rows = []  # (phase, result, peak RSS, notes)

    def row(phase, result, note=""):
        hwm, rss = server.memory()
        rows.append((phase, result, human(hwm), note))
        print(f"  {phase}: {result} (VmHWM {human(hwm)}, VmRSS {human(rss)}) {note}",
              file=sys.stderr, flush=True)

    try:
        server.start()
        row("idle after start", "-")
        s3 = make_client(server.endpoint, server.ak, server.sk)
        bucket = "bench"
        s3.create_bucket(Bucket=bucket)

        # 1. single stream
        src = os.path.join(workdir, "big.bin")
        print(f"writing {human(args.size)} of random data...", file=sys.stderr, flush=True)
        md5 = make_random_file(src, args.size)
        os.sync()  # its write-back would otherwise compete with the server's disk I/O
        url = f"{server.endpoint}/{bucket}/big.bin"
        secs, code, _d, up = curl(server, ["-T", src, "-o", "/dev/null", url])
        assert code == 200 and up == args.size, (code, up)
        row(f"PUT {human(args.size)} single stream", f"{args.size / MiB / secs:.0f} MB/s",
            f"{secs:.1f} s")
        etag = s3.head_object(Bucket=bucket, Key="big.bin")["ETag"].strip('"')
        if etag != md5:
            print(f"WARNING: ETag {etag} != MD5 {md5}", file=sys.stderr)
        # The first read comes from the disks (chunks are written with
        # O_DIRECT, so nothing is cached) while they may still be settling the
        # writes; later ones from the page cache: report the first and the
        # best of three more.
        times = []
        for _ in range(4):
            secs, code, down, _u = curl(server, ["-o", "/dev/null", url])
            assert code == 200 and down == args.size, (code, down)
            times.append(secs)
        for which, secs in (("first read, from disk", times[0]), ("cached", min(times[1:]))):
            row(f"GET {human(args.size)} single stream, {which}",
                f"{args.size / MiB / secs:.0f} MB/s", f"{secs:.1f} s")
        os.remove(src)

        # 2. small objects
        nkeys = 1000
        keys = [f"small/{i:05d}" for i in range(nkeys)]
        filler = os.urandom(SMALL - 16)
        for i, k in enumerate(keys):  # the GET set, also overwritten by the PUT phase
            s3.put_object(Bucket=bucket, Key=k, Body=f"{i:016x}".encode() + filler)
        have_wrk = shutil.which("wrk") is not None and not args.no_wrk
        if not have_wrk:
            print("wrk not found (apt-get install wrk): falling back to Python clients, "
                  "which are slower than the server", file=sys.stderr)
        for method, op in (("PUT", "put_object"), ("GET", "get_object")):
            if have_wrk:
                paths = presigned_paths(s3, bucket, op, keys)
                rps, p50, p99, note = run_wrk(server, workdir, method, paths, args.ops_seconds)
                note = "wrk, presigned URLs" + (f"; {note}" if note else "")
            else:
                rps, p50, p99, note = run_python_clients(server, bucket, method, nkeys,
                                                         args.ops_seconds)
            row(f"{method} 4 KiB x {CONCURRENCY} clients", f"{rps:.0f} ops/s",
                f"p50 {p50}, p99 {p99}; {note}")

        # 3. memory under a 5 GiB (single-PUT maximum) streamed PUT
        if args.skip_10g:
            rows.append((f"PUT {human(args.big_size)} streamed", "skipped", "-", "--skip-10g"))
        else:
            free = shutil.disk_usage(workdir).free
            if free < 2.2 * args.big_size:
                rows.append((f"PUT {human(args.big_size)} streamed", "skipped", "-",
                             f"only {human(free)} free for 2 copies"))
            else:
                secs, _ = stream_put(server, bucket, "huge.bin", args.big_size)
                head = s3.head_object(Bucket=bucket, Key="huge.bin")
                assert head["ContentLength"] == args.big_size
                row(f"PUT {human(args.big_size)} streamed",
                    f"{args.big_size / MiB / secs:.0f} MB/s", f"{secs:.1f} s")
    finally:
        rc = server.stop()
        if rc not in (0, None):
            print(f"WARNING: server exited with {rc}; log: {server.log}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(os.path.join(workdir, "data"), ignore_errors=True)

    print()
    print("| phase | result | server peak RSS (VmHWM) | notes |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print(f"orchard: {binary}; config: {args.config or 'defaults'}; "
          f"{os.cpu_count()} CPUs; log: {server.log}")


if __name__ == "__main__":
    main()
