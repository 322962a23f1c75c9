#!/usr/bin/python3
"""Orchard dispersal benchmark: replication against erasure coding, on local
disks, in one run.

  1. For each placement (replicate:2, ec:4+2, replicate:3, ec:6+3):
     single-stream PUT and GET of one large object of random data (distinct
     content per placement and round, so dedup shares nothing) with
     `curl --aws-sigv4`, MiB/s of each, and the storage bytes per logical
     byte: what the PUT added to the file sizes under the provider
     directories, divided by the object size. One `orchard serve` with six fs
     providers and storage classes: STANDARD (the default) = replicate:2,
     R3 = replicate:3, EC42 = ec:4+2, chosen with `x-amz-storage-class` on the
     PUT. ec:6+3 puts one fragment on each of nine providers and the server
     refuses it on six, so it runs on a second server with nine fs providers
     (class EC63); the output says so.
  2. GET latency (p50, p99) of small objects (default 40 x 1 MiB, each read 5
     times: 200 GETs, one after another on one kept-alive connection) under
     ec:4+2 and replicate:2 on six providers: first without faults, then with
     one provider's reads slowed by `faults = get delay 300` (a restart of the
     server with that in the provider's section). Every (placement, faults)
     pass runs on a freshly started server, so what the server learned about
     provider latency in one pass does not carry into the next, and the chunk
     files are read into the page cache before each pass so that all four
     passes read from memory. After each pass the admin view
     (GET /_orchard/providers, admin user) gives the slow provider's `gets`
     and `cancelled` counts.
  3. A ceiling measured in the same run: `dd` of the same size into the work
     dir with conv=fsync (and with oflag=direct, as the server writes chunks
     with O_DIRECT), read back with iflag=direct; every PUT is reported as a
     fraction of the conv=fsync write, every first GET of the direct read.

Prints markdown tables (stdout; progress on stderr), with the same-run ratios
ec:4+2 PUT / replicate:2 PUT (target >= 0.85), ec:4+2 GET / replicate:2 GET
(target >= 0.90) and p99 slow / p99 no fault (target <= 1.3). Servers are
stopped (their process groups) on exit, also on SIGINT/SIGTERM.

  ORCHARD_BIN=build-rel/orchard /usr/bin/python3 bench/bench_dispersal.py \\
      [--size 1G] [--small-count 40] [--small-reads 5] [--rounds 1] \\
      [--skip-throughput] [--skip-latency] [--workdir DIR] [--keep]

Needs a Release build configured with -DORCHARD_FAULTS=ON (the latency phase
uses the fault decorator; ASan numbers are meaningless) and about
10 x --size x --rounds of free disk in the work dir."""

import argparse
import hashlib
import http.client
import json
import math
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

from support import s3raw  # noqa: E402
from support.server import clean_env, make_client  # noqa: E402

CURL = "/usr/bin/curl"
MiB = 1024 * 1024
GiB = 1024 * MiB
BUCKET = "dispersal"
SIX = 6
SLOW_RULE = "get delay 300"
SLOW_PROVIDER = "p1"

# (placement, storage class); the first is the server's default class.
PLACEMENTS = [("replicate:2", "STANDARD"), ("ec:4+2", "EC42"), ("replicate:3", "R3"),
              ("ec:6+3", "EC63")]
LATENCY_PLACEMENTS = [("ec:4+2", "EC42"), ("replicate:2", "STANDARD")]

TARGETS = {  # name: (comparison, bound)
    "put": (">=", 0.85),
    "get": (">=", 0.90),
    "p99": ("<=", 1.3),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMG]?)i?B?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size: {text}")
    n = int(m.group(1)) * {"": 1, "K": 1024, "M": MiB, "G": GiB}[m.group(2).upper()]
    if n <= 0:
        raise argparse.ArgumentTypeError(f"size must be > 0: {text}")
    return n


def human(n):
    for unit, div in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def width(placement):
    kind, _, spec = placement.partition(":")
    if kind == "ec":
        k, m = spec.split("+")
        return int(k) + int(m)
    return int(spec)


def percentile(sorted_values, q):
    """Nearest rank: the smallest value with at least q of the samples at or below it."""
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def ordinal(n):
    """'' for 1, else '2nd ', '3rd ', '4th ', ..."""
    if n == 1:
        return ""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix} "


def tree_size(dirs):
    """(sum of file sizes, number of files) under dirs."""
    total = files = 0
    for d in dirs:
        for root, _subdirs, names in os.walk(d):
            for name in names:
                try:
                    st = os.lstat(os.path.join(root, name))
                except FileNotFoundError:  # a temp file renamed away meanwhile
                    continue
                total += st.st_size
                files += 1
    return total, files


def read_tree(dirs):
    """Reads every file under dirs (into the page cache)."""
    for d in dirs:
        for root, _subdirs, names in os.walk(d):
            for name in names:
                try:
                    with open(os.path.join(root, name), "rb") as f:
                        while f.read(4 * MiB):
                            pass
                except FileNotFoundError:
                    pass


# -- servers ------------------------------------------------------------------------

LIVE = []  # every Server whose process may be running


class Server:
    """One `orchard serve` with `nproviders` fs providers p1..pN under its own
    directory, a default class and more classes; restartable on the same data
    dir with other fault rules. Runs in its own process group."""

    def __init__(self, binary, root, name, nproviders, classes):
        self.binary = binary
        self.name = name
        self.dir = os.path.join(root, name)
        self.data = os.path.join(self.dir, "data")
        self.config = os.path.join(self.dir, "orchard.ini")
        self.log = os.path.join(self.dir, "server.log")
        self.providers = {f"p{i}": os.path.join(self.dir, "disks", f"p{i}")
                          for i in range(1, nproviders + 1)}
        self.classes = classes  # [(storage class, placement)], the first the default
        self.ak = "AKDISP" + secrets.token_hex(7).upper()
        self.sk = secrets.token_urlsafe(30)
        self.proc = None
        self.port = None
        self.peak_rss = 0

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def creds(self):
        return (self.ak, self.sk)

    @property
    def dirs(self):
        return list(self.providers.values())

    def write_config(self, faults):
        default_class, default_placement = self.classes[0]
        lines = ["[server]", f"data = {self.data}", f"placement = {default_placement}",
                 f"storage_class = {default_class}", "log_level = warn"]
        for cls, placement in self.classes[1:]:
            lines += ["", f"[class.{cls}]", f"placement = {placement}"]
        for name, path in self.providers.items():
            lines += ["", f"[provider.{name}]", "type = fs", f"path = {path}"]
            if name in faults:
                lines.append(f"faults = {faults[name]}")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, faults=None):
        """Starts with {provider: fault rules}; waits for the endpoint line."""
        os.makedirs(self.dir, exist_ok=True)
        self.write_config(faults or {})
        cmd = [self.binary, "serve", "--config", self.config, "--data", self.data,
               "--listen", "127.0.0.1:0"]
        env = clean_env({"ORCHARD_ACCESS_KEY": self.ak, "ORCHARD_SECRET_KEY": self.sk})
        with open(self.log, "ab") as out:
            offset = out.tell()
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        LIVE.append(self)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with open(self.log, "rb") as f:
                f.seek(offset)
                m = re.search(rb"^endpoint: http://127\.0\.0\.1:(\d+)", f.read(), re.M)
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(self.log, "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
        raise RuntimeError(f"orchard ({self.name}) did not start; log:\n{text[-3000:]}")

    def cpu_seconds(self):
        """User + system CPU of the server process (all threads) so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def note_rss(self):
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        except (OSError, AttributeError):
            pass

    def stop(self):
        """SIGTERM to the server's process group, SIGKILL if it hangs; returns the exit code."""
        if self.proc is None:
            return None
        self.note_rss()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        if self in LIVE:
            LIVE.remove(self)
        if rc not in (0, -signal.SIGTERM):
            log(f"WARNING: orchard ({self.name}) exited with {rc}; log: {self.log}")
        return rc

    def admin_view(self):
        r = s3raw.signed(self.port, self.creds, "GET", "/_orchard/providers")
        if r.status != 200:
            raise RuntimeError(f"admin view answered {r.status}: {r.body[:300]!r}")
        return {p["name"]: p for p in json.loads(r.body)["providers"]}

    def s3(self):
        return make_client(self.endpoint, self.ak, self.sk)


def stop_all():
    for server in list(LIVE):
        try:
            server.stop()
        except Exception as exc:  # keep stopping the others
            log(f"WARNING: stopping {server.name}: {exc}")


# -- large objects ------------------------------------------------------------------


def prng_cmd(seed):
    # Fast, non-repeating pseudo-random bytes; a distinct seed per object.
    return ["openssl", "enc", "-aes-128-ctr", "-pass", f"pass:{seed}", "-nosalt", "-pbkdf2"]


def make_random_file(path, size, seed):
    md5 = hashlib.md5()
    with open(path, "wb") as out, open("/dev/zero", "rb") as zero:
        gen = subprocess.Popen(prng_cmd(seed), stdin=zero, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        try:
            left = size
            while left:
                block = gen.stdout.read(min(left, 4 * MiB))
                if not block:
                    raise RuntimeError("openssl ended early")
                out.write(block)
                md5.update(block)
                left -= len(block)
        finally:
            gen.kill()
            gen.wait()
    return md5.hexdigest()


def curl_args(server):
    return [CURL, "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
            f"{server.ak}:{server.sk}", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]


def curl(server, args):
    cmd = curl_args(server) + ["-w", "%{http_code} %{size_download} %{size_upload}"] + args
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(),
                         stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    if res.returncode != 0:
        raise RuntimeError(f"curl {args[-1]} failed ({res.returncode}): {res.stderr.strip()}")
    code, down, up = res.stdout.split()[-3:]
    return elapsed, int(code), int(float(down)), int(float(up))


def curl_md5(server, url):
    """MD5 of a GET's body (untimed, to check what the timed GETs read)."""
    proc = subprocess.Popen(curl_args(server) + [url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=clean_env(), stdin=subprocess.DEVNULL)
    md5 = hashlib.md5()
    n = 0
    while True:
        block = proc.stdout.read(4 * MiB)
        if not block:
            break
        md5.update(block)
        n += len(block)
    err = proc.stderr.read().decode(errors="replace")
    if proc.wait() != 0:
        raise RuntimeError(f"verifying GET {url} failed: {err.strip()}")
    return md5.hexdigest(), n


def dd(args):
    cmd = ["dd", "status=none"] + args
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()}")
    return elapsed


def ceiling(workdir, src, size):
    """dd MiB/s of this size into the work dir: buffered + fsync, O_DIRECT +
    fsync, and an O_DIRECT read back."""
    dst = os.path.join(workdir, "dd-ceiling.bin")
    out = {}
    try:
        secs = dd([f"if={src}", f"of={dst}", "bs=4M", "conv=fsync"])
        out["write_fsync"] = size / MiB / secs
        os.remove(dst)
        secs = dd([f"if={src}", f"of={dst}", "bs=4M", "oflag=direct", "conv=fsync"])
        out["write_direct"] = size / MiB / secs
        secs = dd([f"if={dst}", "of=/dev/null", "bs=4M", "iflag=direct"])
        out["read_direct"] = size / MiB / secs
    finally:
        if os.path.exists(dst):
            os.remove(dst)
    return out


def throughput_one(server, cls, placement, src, size, seed, key, verify):
    """PUT and GETs of one object under one class; returns a result dict."""
    log(f"  {placement}: writing {human(size)} of random data...")
    md5 = make_random_file(src, size, seed)
    os.sync()  # its write-back would otherwise compete with the server's disk I/O
    url = f"{server.endpoint}/{BUCKET}/{key}"
    hdr = [] if cls == server.classes[0][0] else ["-H", f"x-amz-storage-class: {cls}"]
    before, files0 = tree_size(server.dirs)
    cpu0 = server.cpu_seconds()
    secs, code, _d, up = curl(server, hdr + ["-T", src, "-o", "/dev/null", url])
    cpu1 = server.cpu_seconds()
    after, files1 = tree_size(server.dirs)
    if code != 200 or up != size:
        raise RuntimeError(f"PUT {key}: status {code}, sent {up} of {size} bytes")
    res = {"put": size / MiB / secs, "put_s": secs, "put_cpu": (cpu1 - cpu0) * GiB / size,
           "stored": (after - before) / size, "files": files1 - files0}
    head = server.s3().head_object(Bucket=BUCKET, Key=key)
    etag = head["ETag"].strip('"')
    if etag != md5:
        raise RuntimeError(f"{key}: ETag {etag} != MD5 {md5}")
    got_cls = head.get("StorageClass", "STANDARD")
    if got_cls != cls:
        raise RuntimeError(f"{key}: stored in class {got_cls}, asked for {cls}")
    # The first read comes from the disks (chunks are written with O_DIRECT,
    # so none are cached), the next ones from the page cache: the first and
    # the best of three more, as bench.py reports them.
    times = []
    for _ in range(4):
        secs, code, down, _u = curl(server, ["-o", "/dev/null", url])
        if code != 200 or down != size:
            raise RuntimeError(f"GET {key}: status {code}, {down} of {size} bytes")
        times.append(secs)
    res["get_first"] = size / MiB / times[0]
    res["get_cached"] = size / MiB / min(times[1:])
    if verify:
        got, n = curl_md5(server, url)
        if got != md5 or n != size:
            raise RuntimeError(f"GET {key}: {n} bytes with MD5 {got}, want {size} with {md5}")
    server.note_rss()
    os.remove(src)
    log(f"  {placement}: PUT {res['put']:.0f} MiB/s ({res['put_s']:.1f} s, server CPU "
        f"{res['put_cpu']:.1f} s/GiB), GET first {res['get_first']:.0f} MiB/s, cached "
        f"{res['get_cached']:.0f} MiB/s, stored {res['stored']:.3f} B/B in {res['files']} files")
    return res


def run_throughput(binary, workdir, args):
    main_classes = [(cls, p) for p, cls in PLACEMENTS if width(p) <= SIX]
    wide = [(p, cls) for p, cls in PLACEMENTS if width(p) > SIX]
    servers = {}
    server_main = Server(binary, workdir, "six", SIX, main_classes)
    for p, _cls in PLACEMENTS:
        if width(p) <= SIX:
            servers[p] = server_main
    if wide:
        n = max(width(p) for p, _ in wide)
        server_wide = Server(binary, workdir, f"wide{n}", n,
                             [("STANDARD", "replicate:2")] + [(cls, p) for p, cls in wide])
        for p, _cls in wide:
            servers[p] = server_wide
    distinct = list(dict.fromkeys(servers.values()))
    for s in distinct:
        s.start()
        s.s3().create_bucket(Bucket=BUCKET)
        s.note_rss()
    log(f"throughput: server 'six' ({SIX} fs providers, classes "
        f"{', '.join(f'{c}={p}' for c, p in main_classes)})"
        + (f"; server '{server_wide.name}' ({len(server_wide.providers)} fs providers, "
           f"classes {', '.join(f'{c}={p}' for c, p in server_wide.classes)})" if wide else ""))
    src = os.path.join(workdir, "src.bin")
    token = secrets.token_hex(8)
    results = {p: [] for p, _ in PLACEMENTS}
    ceilings = []
    try:
        for rnd in range(args.rounds):
            log(f"round {rnd + 1} of {args.rounds}: dd ceiling...")
            make_random_file(src, args.size, f"dispersal-{token}-ceiling-{rnd}")
            os.sync()
            c = ceiling(workdir, src, args.size)
            os.remove(src)
            log(f"  dd: write conv=fsync {c['write_fsync']:.0f} MiB/s, oflag=direct "
                f"{c['write_direct']:.0f} MiB/s, read iflag=direct {c['read_direct']:.0f} MiB/s")
            ceilings.append(c)
            for placement, cls in PLACEMENTS:
                results[placement].append(throughput_one(
                    servers[placement], cls, placement, src, args.size,
                    f"dispersal-{token}-{placement}-{rnd}", f"big-{cls}-{rnd}", args.verify))
    finally:
        if os.path.exists(src):
            os.remove(src)
        for s in distinct:
            s.stop()
    return servers, results, ceilings


# -- small-object latency -----------------------------------------------------------


class KeepAlive:
    """Signed requests on one kept-alive http.client connection; only the
    exchange itself (send to last body byte) is timed."""

    def __init__(self, server):
        self.server = server
        self.conn = None
        self.reconnects = -1

    def _connect(self):
        if self.conn:
            self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        self.reconnects += 1

    def request(self, method, key, body=b"", headers=None):
        path = f"/{BUCKET}/{s3raw.quote_key(key)}"
        hdrs = s3raw.sign_headers(self.server.port, self.server.creds, method, path, body=body,
                                  headers=headers, payload_hash=s3raw.UNSIGNED_PAYLOAD)
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                t0 = time.monotonic()
                self.conn.request(method, path, body=body or None, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                elapsed = time.monotonic() - t0
            except (http.client.HTTPException, ConnectionError):
                if attempt == 2:
                    raise
                self._connect()  # the server closed a kept-alive connection: once more
                continue
            if resp.status != 200:
                raise RuntimeError(f"{method} {key}: {resp.status} {data[:300]!r}")
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return elapsed, data

    def close(self):
        if self.conn:
            self.conn.close()


def run_latency(binary, workdir, args):
    server = Server(binary, workdir, "latency", SIX,
                    [("STANDARD", "replicate:2"), ("EC42", "ec:4+2")])
    slow_dir = server.providers[SLOW_PROVIDER]
    digests = {}  # placement: [sha256 of object i]
    exposed = {}  # placement: pieces the PUTs left on the slow provider
    rows = []
    try:
        server.start()
        s3 = server.s3()
        s3.create_bucket(Bucket=BUCKET)
        client = KeepAlive(server)
        for placement, cls in LATENCY_PLACEMENTS:
            log(f"latency: PUT {args.small_count} x {human(args.small_size)} under {placement}...")
            hdrs = {} if cls == "STANDARD" else {"x-amz-storage-class": cls}
            _b, files0 = tree_size([slow_dir])
            digests[placement] = []
            for i in range(args.small_count):
                body = os.urandom(args.small_size)
                client.request("PUT", f"small-{cls}/{i:04d}", body=body, headers=hdrs)
                digests[placement].append(hashlib.sha256(body).digest())
            _b, files1 = tree_size([slow_dir])
            exposed[placement] = files1 - files0
        client.close()
        server.stop()

        for placement, cls in LATENCY_PLACEMENTS:
            for label, faults in (("none", {}), (f"{SLOW_PROVIDER}: {SLOW_RULE}",
                                                 {SLOW_PROVIDER: SLOW_RULE})):
                server.start(faults)
                read_tree(server.dirs)  # every pass reads from the page cache
                client = KeepAlive(server)
                lat = []
                for _rep in range(args.small_reads):
                    for i in range(args.small_count):
                        secs, data = client.request("GET", f"small-{cls}/{i:04d}")
                        if hashlib.sha256(data).digest() != digests[placement][i]:
                            raise RuntimeError(f"GET small-{cls}/{i:04d}: wrong bytes")
                        lat.append(secs * 1000)
                client.close()
                view = server.admin_view()
                server.stop()
                lat.sort()
                slow = view.get(SLOW_PROVIDER, {})
                row = {"placement": placement, "faults": label, "n": len(lat),
                       "p50": percentile(lat, 0.50), "p99": percentile(lat, 0.99),
                       "max": lat[-1], "mean": statistics.fmean(lat),
                       "slow_gets": slow.get("ops", {}).get("get"),
                       "slow_cancelled": slow.get("cancelled"),
                       "slow_p99": slow.get("latency_ms", {}).get("p99"),
                       "over_300": sum(1 for x in lat if x >= 300), "reconnects": client.reconnects}
                rows.append(row)
                log(f"  {placement}, faults {label}: p50 {row['p50']:.2f} ms, p99 "
                    f"{row['p99']:.2f} ms, max {row['max']:.1f} ms; {SLOW_PROVIDER}: gets "
                    f"{row['slow_gets']}, cancelled {row['slow_cancelled']}")
    finally:
        server.stop()
    return server, rows, exposed


# -- report -------------------------------------------------------------------------


def median(results, field):
    return statistics.median(r[field] for r in results)


def spread(results, field, fmt="{:.0f}"):
    if len(results) < 2:
        return ""
    return " / ".join(fmt.format(r[field]) for r in results)


def status(name, value):
    op, bound = TARGETS[name]
    ok = value >= bound if op == ">=" else value <= bound
    return f"{op} {bound}", "met" if ok else "NOT met"


def report(args, binary, tp, lat):
    print()
    ratio_rows = []
    if tp:
        servers, results, ceilings = tp
        wf = statistics.median(c["write_fsync"] for c in ceilings)
        wd = statistics.median(c["write_direct"] for c in ceilings)
        rd = statistics.median(c["read_direct"] for c in ceilings)
        rounds = f", median of {args.rounds} rounds" if args.rounds > 1 else ""
        print(f"### Single stream, {human(args.size)} object, local disks{rounds}")
        print()
        print("| placement | server | PUT MiB/s | PUT / dd write | server CPU per GiB PUT "
              "| GET first MiB/s | GET first / dd read | GET cached MiB/s "
              "| stored bytes / logical byte | files |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for placement, cls in PLACEMENTS:
            r = results[placement]
            s = servers[placement]
            where = f"{s.name}: {len(s.providers)} fs, class {cls}"
            put, gf, gc = median(r, "put"), median(r, "get_first"), median(r, "get_cached")
            print(f"| {placement} | {where} | {put:.0f} | {put / wf:.2f} "
                  f"| {median(r, 'put_cpu'):.2f} s | {gf:.0f} | {gf / rd:.2f} | {gc:.0f} "
                  f"| {median(r, 'stored'):.3f} | {median(r, 'files'):.0f} |")
        if args.rounds > 1:
            print()
            print("Per round (PUT / GET first / GET cached MiB/s):")
            print()
            for placement, _cls in PLACEMENTS:
                r = results[placement]
                print(f"- {placement}: {spread(r, 'put')}; {spread(r, 'get_first')}; "
                      f"{spread(r, 'get_cached')}")
        print()
        print("| ceiling (dd, same size, work dir) | MiB/s |")
        print("|---|---:|")
        print(f"| write bs=4M conv=fsync (PUT fractions are of this) | {wf:.0f} |")
        print(f"| write bs=4M oflag=direct conv=fsync | {wd:.0f} |")
        print(f"| read bs=4M iflag=direct (GET first fractions are of this) | {rd:.0f} |")
        print()
        r2, ec = results["replicate:2"], results["ec:4+2"]
        v = median(ec, "put") / median(r2, "put")
        ratio_rows.append(("ec:4+2 PUT / replicate:2 PUT", v) + status("put", v))
        v = median(ec, "get_first") / median(r2, "get_first")
        ratio_rows.append(("ec:4+2 GET / replicate:2 GET, first read (from disk)", v)
                          + status("get", v))
        v = median(ec, "get_cached") / median(r2, "get_cached")
        ratio_rows.append(("ec:4+2 GET / replicate:2 GET, cached", v) + status("get", v))
    if lat:
        _server, rows, exposed = lat
        n = rows[0]["n"]
        tail = n - math.ceil(0.99 * n) + 1  # GETs at or above the p99 sample
        print(f"### GET latency, {args.small_count} x {human(args.small_size)} objects read "
              f"{args.small_reads} times ({n} GETs in sequence, one kept-alive connection), "
              f"{SIX} fs providers, from the page cache")
        print()
        print(f"| placement | faults | p50 ms | p99 ms | max ms | GETs >= 300 ms "
              f"| {SLOW_PROVIDER} gets / cancelled | {SLOW_PROVIDER} p99 ms (admin) "
              f"| p99 slow / no fault |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        base = {}
        for row in rows:
            if row["faults"] == "none":
                base[row["placement"]] = row["p99"]
                ratio = "-"
            else:
                ratio = row["p99"] / base[row["placement"]]
                target, ok = status("p99", ratio)
                if 0 < row["over_300"] < tail:
                    ok += f" (p99 misses {row['over_300']} GET(s) >= 300 ms: see the note)"
                ratio_rows.append((f"{row['placement']} GET p99 slow / no fault", ratio, target,
                                   ok))
                ratio = f"{ratio:.2f}"
            slow_p99 = "?" if row["slow_p99"] is None else f"{row['slow_p99']:.1f}"
            print(f"| {row['placement']} | {row['faults']} | {row['p50']:.2f} | {row['p99']:.2f} "
                  f"| {row['max']:.1f} | {row['over_300']} "
                  f"| {row['slow_gets']} / {row['slow_cancelled']} | {slow_p99} | {ratio} |")
        print()
        print(f"Pieces the PUTs left on {SLOW_PROVIDER} (of {args.small_count} objects, one chunk "
              "each): " + ", ".join(f"{p} {exposed[p]}" for p, _ in LATENCY_PLACEMENTS)
              + f". p99 is the nearest rank: the {ordinal(tail)}slowest of the {n} GETs.")
        for row in rows:
            if row["faults"] != "none" and 0 < row["over_300"] < tail:
                print(f"Note: {row['placement']} with {row['faults']}: {row['over_300']} GET(s) "
                      f"took >= 300 ms, fewer than the {tail} that p99 of {n} GETs can see: "
                      f"p99 does not show them, max ({row['max']:.0f} ms) does.")
        print()
    if ratio_rows:
        print("### Ratios (same run)")
        print()
        print("| ratio | measured | target | status |")
        print("|---|---:|---:|---|")
        for name, value, target, ok in ratio_rows:
            print(f"| {name} | {value:.2f} | {target} | {ok} |")
        print()
    rss = []
    if tp:
        rss += [f"{s.name} {human(s.peak_rss)}" for s in dict.fromkeys(tp[0].values())]
    if lat:
        rss.append(f"latency {human(lat[0].peak_rss)}")
    setup = []
    if tp:
        setup.append("throughput: one server per provider count, placements chosen with "
                     f"x-amz-storage-class: 'six' ({SIX} fs providers) for replicate:2 (default "
                     "class), replicate:3, ec:4+2; ec:6+3 needs one provider per fragment (9), "
                     "so it runs on a 9-provider server")
    if lat:
        setup.append(f"latency: one server ('latency', {SIX} fs providers, STANDARD=replicate:2, "
                     f"EC42=ec:4+2), restarted for each pass, {SLOW_PROVIDER} slowed by "
                     f"'faults = {SLOW_RULE}' in the slow passes")
    print(f"Setup: {'; '.join(setup)}. Sizes in MiB/s (2^20 B/s). orchard: {binary}; "
          f"{os.cpu_count()} CPUs; server peak RSS: {', '.join(rss) or '-'}.")


# -- main ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, default=GiB,
                    help="size of the single-stream object (default 1G; 64M etc.)")
    ap.add_argument("--small-count", type=int, default=40,
                    help="number of small objects in the latency phase (default 40)")
    ap.add_argument("--small-reads", type=int, default=5,
                    help="times each small object is read (default 5)")
    ap.add_argument("--small-size", type=parse_size, default=MiB,
                    help="size of the small objects (default 1M)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="throughput rounds (all placements each); medians are reported")
    ap.add_argument("--skip-latency", action="store_true", help="skip the latency phase")
    ap.add_argument("--skip-throughput", action="store_true", help="skip the throughput phase")
    ap.add_argument("--no-verify", dest="verify", action="store_false",
                    help="skip the untimed MD5 check of each large object read back")
    ap.add_argument("--workdir", help="where the temp work dir goes (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir")
    args = ap.parse_args()
    if args.small_count < 1 or args.small_reads < 1 or args.rounds < 1:
        ap.error("--small-count, --small-reads and --rounds must be >= 1")

    binary = os.environ.get("ORCHARD_BIN") or os.path.join(REPO, "build", "orchard")
    if not os.access(binary, os.X_OK):
        sys.exit(f"orchard binary not found at {binary}: build it or set ORCHARD_BIN")
    for k in [k for k in os.environ if k.startswith("AWS_") or k.lower().endswith("_proxy")]:
        del os.environ[k]
    os.environ.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})

    workdir = tempfile.mkdtemp(prefix="orchard-dispersal-", dir=args.workdir)
    if not args.skip_throughput:
        need = args.size * args.rounds * 10.5
        free = shutil.disk_usage(workdir).free
        if free < need:
            shutil.rmtree(workdir, ignore_errors=True)
            sys.exit(f"need about {human(int(need))} free in {workdir}, have {human(free)}")

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    log(f"work dir: {workdir}")
    tp = lat = None
    try:
        if not args.skip_throughput:
            tp = run_throughput(binary, workdir, args)
        if not args.skip_latency:
            lat = run_latency(binary, workdir, args)
    finally:
        stop_all()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(args, binary, tp, lat)


if __name__ == "__main__":
    main()
