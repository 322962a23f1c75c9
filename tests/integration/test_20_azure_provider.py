"""The Azure Blob provider against a real Azurite, which verifies Shared Key
signatures and SAS tokens.

The checks live in the C test binary provider_test_azure_live (from
tests/unit/provider/test_azure_live.c), which skips everything unless
AZURITE_ENDPOINT is set; this module starts Azurite, sets it, runs the binary
and requires every one of its tests to have run and passed. The binary comes
from ORCHARD_BUILD_DIR, else the directory of ORCHARD_BIN, else
<repo>/build-asan."""

import base64
import datetime
import hashlib
import hmac
import os
import re
import subprocess
import urllib.parse

import pytest

from support.emulators import REPO, Azurite

TIMEOUT = 300
pytestmark = pytest.mark.own_backends


def build_dir():
    if os.environ.get("ORCHARD_BUILD_DIR"):
        return os.environ["ORCHARD_BUILD_DIR"]
    if os.environ.get("ORCHARD_BIN"):
        return os.path.dirname(os.path.abspath(os.environ["ORCHARD_BIN"]))
    return os.path.join(REPO, "build-asan")


def account_sas(account, key_b64, version="2021-08-06", hours=1):
    """An account SAS for the blob service (services b, all resource types,
    read/write/delete/list/add/create), built by the spec for versions
    2020-12-06 and later: the string to sign ends with the (empty) encryption
    scope."""
    expiry = (datetime.datetime.now(datetime.timezone.utc)
              + datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
    f = {"sv": version, "ss": "b", "srt": "sco", "sp": "rwdlac", "se": expiry,
         "spr": "https,http"}
    sts = "\n".join([account, f["sp"], f["ss"], f["srt"], "", f["se"], "", f["spr"], f["sv"],
                     ""]) + "\n"
    mac = hmac.new(base64.b64decode(key_b64), sts.encode(), hashlib.sha256).digest()
    f["sig"] = base64.b64encode(mac).decode()
    return urllib.parse.urlencode(f)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory):
    az = Azurite(tmp_path_factory.mktemp("azurite")).start()
    yield az
    az.stop()


def test_azure_provider_against_azurite(azurite):
    binary = os.path.join(build_dir(), "provider_test_azure_live")
    assert os.access(binary, os.X_OK), f"{binary} not built (set ORCHARD_BUILD_DIR)"
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["AZURITE_ENDPOINT"] = azurite.endpoint
    env["AZURITE_SAS"] = account_sas(azurite.account, azurite.key)
    r = subprocess.run([binary], env=env, cwd=os.path.join(REPO, "tests", "unit"),
                       capture_output=True, text=True, timeout=TIMEOUT)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "SKIPPED" not in out, out
    ran = re.search(r"Running (\d+) test", out)
    assert ran and f"[  PASSED  ] {ran.group(1)} test(s)." in out, out
