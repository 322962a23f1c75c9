#!/usr/bin/python3
"""Orchard in front of two clouds against the clouds themselves.

Starts s3rver and Azurite (the emulators pinned in package.json; `npm ci`
first) and one `orchard serve` whose only providers are a bucket on s3rver and
a container on Azurite, placement replicate:2, so every chunk is written to
both. Then, in the same run and interleaved, for several repetitions:

  - PUT and GET of a 64 MiB object through Orchard (boto3),
  - the same straight to s3rver (boto3),
  - the same straight to Azurite (the Azure SDK, azure.storage.blob),

and prints the medians and two ratios of times:

  PUT: Orchard / the slower direct PUT   (target <= 1.15: writing both copies
       in parallel costs little more than the slower cloud)
  GET: Orchard / the faster direct GET   (target <= 1.1: reads go to the
       fastest copy)

Every PUT body is fresh random bytes (Orchard would dedup a repeat) and every
GET is compared with what was put.

  /usr/bin/python3 bench/bench_clouds.py [--size 64M] [--reps 5] [--workdir DIR]

Needs Debian's python3-boto3 and python3-azure (`apt-get install
python3-azure`; scripts/deps.sh --test installs both) for /usr/bin/python3.
Use a Release build (ORCHARD_BIN, default build/orchard); ASan numbers are
meaningless. The emulators each use about one core; on a 2-core machine
compare the ratios, not absolute numbers across runs."""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

for _k in [k for k in os.environ if k.startswith("AWS_") or k.lower().endswith("_proxy")]:
    del os.environ[_k]  # no CA bundle, profile or proxy of the caller
os.environ.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})

from support import s3raw  # noqa: E402
from support import server as srv  # noqa: E402
from support.emulators import Azurite, S3rver  # noqa: E402

MiB = 1024 * 1024
PUT_TARGET = 1.15
GET_TARGET = 1.1


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


class S3Target:
    """PUT/GET through boto3 to an S3 endpoint (s3rver or Orchard)."""

    def __init__(self, label, client, bucket):
        self.label, self.client, self.bucket = label, client, bucket
        client.create_bucket(Bucket=bucket)

    def put(self, key, body):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)


class AzureTarget:
    """PUT/GET through the Azure SDK to Azurite."""

    def __init__(self, label, az, container):
        from azure.storage.blob import BlobServiceClient
        self.label = label
        svc = BlobServiceClient(account_url=az.endpoint,
                                credential={"account_name": az.account, "account_key": az.key})
        self.container = svc.get_container_client(container)
        self.container.create_container()

    def put(self, key, body):
        self.container.upload_blob(key, body, overwrite=True)

    def get(self, key):
        return self.container.download_blob(key).readall()

    def delete(self, key):
        self.container.delete_blob(key)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=64, help="object size in MiB (default 64)")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (default 5); medians")
    ap.add_argument("--workdir", help="where the temp dirs go (default: $TMPDIR)")
    args = ap.parse_args()
    size = args.size * MiB
    binary = srv.orchard_bin()
    if not os.access(binary, os.X_OK):
        sys.exit(f"orchard binary not found at {binary}: build it or set ORCHARD_BIN")

    work = tempfile.mkdtemp(prefix="orchard-bench-clouds-", dir=args.workdir)
    s3rver = az = server = None
    try:
        s3rver = S3rver(os.path.join(work, "s3rver")).start()
        az = Azurite(os.path.join(work, "azurite")).start()
        s3c = srv.make_client(s3rver.endpoint, s3rver.access_key, s3rver.secret_key)
        s3c.create_bucket(Bucket="orchard-chunks")
        server = srv.Orchard(os.path.join(work, "orchard"), providers={
            "s3rver": {"type": "s3", "endpoint": s3rver.endpoint, "bucket": "orchard-chunks",
                       "access_key": s3rver.access_key, "secret_key": s3rver.secret_key},
            "azurite": {"type": "azure", "account": az.account, "key": az.key,
                        "endpoint": az.endpoint, "container": "orchard-chunks",
                        "create_container": "true"},
        }, placement="replicate:2", log_level="warn").start()

        targets = [
            S3Target("orchard (s3rver + Azurite, replicate:2)", server.client(), "bench"),
            S3Target("boto3 -> s3rver", s3c, "direct"),
            AzureTarget("Azure SDK -> Azurite", az, "direct"),
        ]
        puts = {t.label: [] for t in targets}
        gets = {t.label: [] for t in targets}
        for rep in range(args.reps):
            for t in targets:
                body = os.urandom(size)  # fresh bytes: no dedup in Orchard
                want = hashlib.sha256(body).digest()
                key = f"obj-{rep}"
                dt, _ = timed(lambda: t.put(key, body))
                puts[t.label].append(dt)
                body = None  # free 64 MiB before the GET
                dt, got = timed(lambda: t.get(key))
                gets[t.label].append(dt)
                if hashlib.sha256(got).digest() != want:
                    sys.exit(f"{t.label}: GET returned other bytes than were put")
                got = None
                t.delete(key)
            print(f"rep {rep + 1}/{args.reps} done", file=sys.stderr)

        med_put = {k: statistics.median(v) for k, v in puts.items()}
        med_get = {k: statistics.median(v) for k, v in gets.items()}
        orch = targets[0].label
        direct = [t.label for t in targets[1:]]
        slower_put = max(direct, key=lambda k: med_put[k])
        faster_get = min(direct, key=lambda k: med_get[k])
        put_ratio = med_put[orch] / med_put[slower_put]
        get_ratio = med_get[orch] / med_get[faster_get]

        mb = size / 1e6
        print(f"\n{args.size} MiB objects, {args.reps} repetitions, medians "
              f"(orchard: {binary})\n")
        print("| path | PUT s | PUT MB/s | GET s | GET MB/s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for t in targets:
            p, g = med_put[t.label], med_get[t.label]
            print(f"| {t.label} | {p:.3f} | {mb / p:.0f} | {g:.3f} | {mb / g:.0f} |")
        print()
        # Which copies Orchard read: GETs go to the provider with the lowest
        # moving-average read latency.
        r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
        if r.status == 200:
            for p in json.loads(r.body)["providers"]:
                print(f"orchard provider {p['name']}: {p['ops']['put']} puts, "
                      f"{p['ops']['get']} gets, {p['bytes_out'] / MiB:.0f} MiB read, "
                      f"latency p50 {p['latency_ms']['p50']:.1f} ms")
            print()
        print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"PUT ratio: orchard / slower direct ({slower_put}) = {put_ratio:.2f} "
              f"(target <= {PUT_TARGET}: {'met' if put_ratio <= PUT_TARGET else 'NOT met'})")
        print(f"GET ratio: orchard / faster direct ({faster_get}) = {get_ratio:.2f} "
              f"(target <= {GET_TARGET}: {'met' if get_ratio <= GET_TARGET else 'NOT met'})")
    finally:
        if server is not None:
            server.stop()
        for emu in (az, s3rver):
            if emu is not None:
                emu.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
