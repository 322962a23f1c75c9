#!/usr/bin/python3
"""Orchard drain benchmark: how fast `orchard provider drain` empties a
provider on local disks while a client keeps working, and what the drain
costs that client, in one run.

  1. One `orchard serve` with four fs providers p1..p4, replicate:2 (so p1
     holds about half of the chunks' copies), filled with --objects objects
     of --size random bytes each (distinct content: dedup shares nothing).
  2. Baseline: a client (--clients threads, each GETting random objects and
     checking their MD5, on kept-alive connections) runs for --seconds; its
     MiB/s.
  3. The same client load again, and meanwhile `POST
     /_orchard/providers/p1?action=drain`, polled until p1 holds nothing:
     the drain's rate (bytes it held at the start over the time to empty it)
     and the client's MiB/s during the drain.
  4. A ceiling in the same run: `dd` copying a file of the bytes p1 held,
     within the work dir, with conv=fsync (a drain reads each copy, writes it
     elsewhere with fsync, reads it back and deletes the old one).

Prints a markdown table (stdout; progress on stderr): drain MiB/s, its
fraction of the dd ceiling, client MiB/s without and during the drain and
their ratio (target: the client keeps >= 0.7 of its throughput).

  ORCHARD_BIN=build-rel/orchard /usr/bin/python3 bench/bench_drain.py \\
      [--objects 48] [--size 16M] [--clients 2] [--seconds 10] [--drain-rate 4G] \\
      [--workdir DIR] [--keep]

Needs a Release build (ASan numbers are meaningless) and about 3 x objects x
size of free disk in the work dir."""

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_dispersal as bd  # noqa: E402  (Server, KeepAlive, helpers)
from bench_dispersal import log, human, parse_size, s3raw  # noqa: E402

MiB = 1024 * 1024


class DrainServer(bd.Server):
    def __init__(self, binary, root, drain_rate):
        super().__init__(binary, root, "drain", 4, [("STANDARD", "replicate:2")])
        self.drain_rate = drain_rate

    def write_config(self, faults):
        super().write_config(faults)
        with open(self.config) as f:
            text = f.read()
        text = text.replace("[server]\n", f"[server]\ndrain_rate = {self.drain_rate}\n"
                            "scrub_interval = 0\n", 1)
        with open(self.config, "w") as f:
            f.write(text)


def fill(server, n, size):
    s3 = server.s3()
    s3.create_bucket(Bucket=bd.BUCKET)
    digests = {}
    for i in range(n):
        body = os.urandom(size)
        s3.put_object(Bucket=bd.BUCKET, Key=f"o{i}", Body=body)
        digests[f"o{i}"] = hashlib.md5(body).hexdigest()
        if i % 8 == 7:
            log(f"filled {i + 1}/{n}")
    return digests


def client_load(server, digests, threads, stop, result):
    """GETs of random objects, checked, until stop is set; adds bytes read
    and errors to result."""
    keys = sorted(digests)

    def run(t):
        ka = bd.KeepAlive(server)
        rnd = random.Random(t)
        while not stop.is_set():
            key = rnd.choice(keys)
            try:
                _, data = ka.request("GET", key)
                if hashlib.md5(data).hexdigest() != digests[key]:
                    raise RuntimeError(f"{key}: wrong bytes")
                with result["lock"]:
                    result["bytes"] += len(data)
            except Exception as exc:  # every failure counts
                with result["lock"]:
                    result["errors"].append(repr(exc))
        ka.close()

    ts = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(threads)]
    for t in ts:
        t.start()
    return ts


def timed_load(server, digests, threads, seconds=None, until=None):
    stop = threading.Event()
    result = {"bytes": 0, "errors": [], "lock": threading.Lock()}
    t0 = time.monotonic()
    ts = client_load(server, digests, threads, stop, result)
    if until:
        until()
    else:
        time.sleep(seconds)
    took = time.monotonic() - t0
    stop.set()
    for t in ts:
        t.join(60)
    return result["bytes"] / took / MiB, took, result["errors"]


def admin(server, method, path, query=""):
    r = s3raw.signed(server.port, server.creds, method, path, query=query)
    if r.status != 200:
        raise RuntimeError(f"{method} {path}: {r.status} {r.body[:300]!r}")
    return json.loads(r.body)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, default=48)
    ap.add_argument("--size", type=parse_size, default=16 * MiB)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--drain-rate", default="4G")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    binary = os.environ.get("ORCHARD_BIN") or os.path.join(bd.REPO, "build-rel", "orchard")
    root = tempfile.mkdtemp(prefix="orchard-drain-", dir=args.workdir)
    try:
        server = DrainServer(binary, root, args.drain_rate).start()
        digests = fill(server, args.objects, args.size)
        held = admin(server, "GET", "/_orchard/providers/p1")
        log(f"p1 holds {held['pieces']} pieces, {human(held['bytes'])}")
        base, _, errs0 = timed_load(server, digests, args.clients, seconds=args.seconds)
        log(f"client alone: {base:.0f} MiB/s")

        def drain():
            admin(server, "POST", "/_orchard/providers/p1", query="action=drain")
            while admin(server, "GET", "/_orchard/providers/p1")["pieces"] > 0:
                time.sleep(0.1)

        during, took, errs1 = timed_load(server, digests, args.clients, until=drain)
        rate = held["bytes"] / took / MiB
        log(f"drain: {human(held['bytes'])} in {took:.1f} s ({rate:.0f} MiB/s); client during: "
            f"{during:.0f} MiB/s")
        left = bd.tree_size([server.providers["p1"]])
        src = os.path.join(root, "dd-src")
        dst = os.path.join(root, "dd-dst")
        subprocess.run(["dd", "if=/dev/urandom", f"of={src}", "bs=1M",
                        f"count={max(1, held['bytes'] // MiB)}", "status=none"], check=True)
        subprocess.run(["sync"], check=True)
        subprocess.run(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"], check=False)
        t0 = time.monotonic()
        subprocess.run(["dd", f"if={src}", f"of={dst}", "bs=4M", "conv=fsync", "status=none"],
                       check=True)
        ceiling = held["bytes"] / (time.monotonic() - t0) / MiB
        ok = all(s3_md5 == digests[k] for k, s3_md5 in
                 ((k, hashlib.md5(server.s3().get_object(Bucket=bd.BUCKET, Key=k)["Body"].read())
                   .hexdigest()) for k in digests))
        print("| measure | value |")
        print("| --- | --- |")
        print(f"| data | {args.objects} x {human(args.size)}, replicate:2 on 4 disks; p1 held "
              f"{held['pieces']} pieces, {human(held['bytes'])} |")
        print(f"| drain | {rate:.0f} MiB/s ({took:.1f} s); dd copy with fsync in the same run: "
              f"{ceiling:.0f} MiB/s; drain / dd = {rate / ceiling:.2f} |")
        print(f"| client GET alone | {base:.0f} MiB/s ({args.clients} clients) |")
        print(f"| client GET during the drain | {during:.0f} MiB/s; during / alone = "
              f"{during / base:.2f} (target >= 0.7) |")
        print(f"| failed client requests | {len(errs0) + len(errs1)} |")
        print(f"| p1 files left / every object exact after | {left} bytes / {ok} |")
        server.stop()
    finally:
        bd.stop_all()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
