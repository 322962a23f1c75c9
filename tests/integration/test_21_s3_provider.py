"""The S3 provider against two live S3 servers: s3rver (a Node S3 emulator
that does not verify signatures) and a second `orchard serve`, which verifies
SigV4 as AWS does, so curl's signing of every request the provider sends is
checked for real.

The checks live in the C test binary provider_test_s3_live (from
tests/unit/provider/test_s3_live.c), which skips everything unless
S3_LIVE_ENDPOINT is set; this module starts each server, creates a bucket,
runs the binary against it and requires every one of its tests to have run
(but the wrong-secret test against s3rver, which cannot refuse one) and
passed. The binary comes from ORCHARD_BUILD_DIR, else the directory of
ORCHARD_BIN, else <repo>/build-asan."""

import os
import re
import subprocess

import pytest

from support import server as srv
from support.emulators import REPO, S3rver

TIMEOUT = 300
pytestmark = pytest.mark.own_backends
BUCKET = "live-s3-provider"


def build_dir():
    if os.environ.get("ORCHARD_BUILD_DIR"):
        return os.environ["ORCHARD_BUILD_DIR"]
    if os.environ.get("ORCHARD_BIN"):
        return os.path.dirname(os.path.abspath(os.environ["ORCHARD_BIN"]))
    return os.path.join(REPO, "build-asan")


def run_live(endpoint, access_key, secret_key, verifies):
    binary = os.path.join(build_dir(), "provider_test_s3_live")
    assert os.access(binary, os.X_OK), f"{binary} not built (set ORCHARD_BUILD_DIR)"
    env = {k: v for k, v in os.environ.items()
           if not k.lower().endswith("_proxy") and not k.startswith("S3_LIVE_")}
    env.update({"S3_LIVE_ENDPOINT": endpoint, "S3_LIVE_BUCKET": BUCKET,
                "S3_LIVE_ACCESS_KEY": access_key, "S3_LIVE_SECRET_KEY": secret_key})
    if verifies:
        env["S3_LIVE_VERIFIES_SIGV4"] = "1"
    r = subprocess.run([binary], env=env, cwd=os.path.join(REPO, "tests", "unit"),
                       capture_output=True, text=True, timeout=TIMEOUT)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    ran = re.search(r"Running (\d+) test", out)
    assert ran, out
    total = int(ran.group(1))
    skipped = set(re.findall(r"^\[  SKIPPED \] (test_\w+)$", out, re.M))
    # Only the wrong-secret test may skip, and only where signatures go unchecked.
    allowed = set() if verifies else {"test_wrong_secret_is_eauth_and_the_message_hides_it"}
    assert set(skipped) <= allowed, out
    assert f"[  PASSED  ] {total - len(skipped)} test(s)." in out, out
    return out


def test_s3_provider_against_s3rver(tmp_path):
    with S3rver(tmp_path) as s3rver:
        client = srv.make_client(s3rver.endpoint, s3rver.access_key, s3rver.secret_key)
        client.create_bucket(Bucket=BUCKET)
        run_live(s3rver.endpoint, s3rver.access_key, s3rver.secret_key, verifies=False)


def test_s3_provider_against_orchard_which_verifies_sigv4(orchard_factory, tmp_path):
    # The backend orchard itself keeps its chunks on one local disk.
    backend = orchard_factory(providers={"d1": {"type": "fs", "path": str(tmp_path / "d1"),
                                                "fsync": "false"}},
                              placement="replicate:1")
    backend.client().create_bucket(Bucket=BUCKET)
    run_live(backend.endpoint, backend.access_key, backend.secret_key, verifies=True)
