"""Starting and stopping the cloud stand-ins the provider tests run against:
Azurite (Azure Blob Storage) and s3rver (S3), both pinned in the repo's
package.json and installed into <repo>/node_modules by `npm ci`.

Each emulator gets a free port on 127.0.0.1 and its own data dir, is waited
for until its port accepts connections, and is stopped by PID (SIGTERM, then
SIGKILL), never by name. Plain classes and context managers, no pytest:

    with Azurite(tmpdir) as az:
        az.endpoint  # http://127.0.0.1:PORT/devstoreaccount1
"""

import os
import signal
import socket
import subprocess
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NODE_MODULES = os.path.join(REPO, "node_modules")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

# The well-known emulator account and key (Azurite's README); not a secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
S3RVER_KEY = "S3RVER"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


class EmulatorMissing(RuntimeError):
    """node_modules lacks the emulator: run `npm ci` in the repo root."""


class _Emulator:
    """One emulator process on a free port with a data dir under workdir."""

    label = "emulator"

    def __init__(self, workdir):
        self.workdir = str(workdir)
        self.data = os.path.join(self.workdir, f"{self.label}-data")
        self.log_path = os.path.join(self.workdir, f"{self.label}.log")
        self.port = None
        self.proc = None

    def _command(self):
        raise NotImplementedError

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        return env

    def start(self, attempts=3):
        """Starts the process and waits until its port accepts connections.
        Retries on a new port if another process took the chosen one."""
        os.makedirs(self.data, exist_ok=True)
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            cmd = self._command()
            if not os.path.exists(cmd[1] if cmd[0] == "node" else cmd[0]):
                raise EmulatorMissing(f"{cmd[0]} {cmd[1]}: not installed; run `npm ci` in {REPO}")
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(cmd, cwd=REPO, env=self._env(),
                                             stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if _accepts(self.port):
                    return self
                time.sleep(0.05)
            last = _tail(self.log_path)
            self.stop()
        raise RuntimeError(f"{self.label} did not start on 127.0.0.1; log tail:\n{last}")

    def stop(self):
        """Stops the process by PID: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Azurite(_Emulator):
    """Azurite's blob service. It verifies Shared Key signatures."""

    label = "azurite"
    account = AZURITE_ACCOUNT
    key = AZURITE_KEY

    def _command(self):
        # --disableTelemetry: otherwise it tries to reach the internet.
        # --location (not --inMemoryPersistence; the two cannot be combined).
        return [os.path.join(NODE_MODULES, ".bin", "azurite-blob"),
                "--blobHost", "127.0.0.1", "--blobPort", str(self.port), "--loose",
                "--skipApiVersionCheck", "--disableTelemetry", "--location", self.data,
                "--silent"]

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}/{self.account}"


class S3rver(_Emulator):
    """s3rver: path-style buckets, keys S3RVER/S3RVER. It does NOT verify SigV4
    signatures, and has listing/range bugs (see docs of the test backends)."""

    label = "s3rver"
    access_key = S3RVER_KEY
    secret_key = S3RVER_KEY

    def _command(self):
        return ["node", os.path.join(NODE_MODULES, "s3rver", "bin", "s3rver.js"),
                "-d", self.data, "-a", "127.0.0.1", "-p", str(self.port), "--silent",
                "--no-vhost-buckets"]

    def _env(self):
        env = super()._env()
        # Its ListObjectsV2 continuation tokens use DES, which Node's OpenSSL 3
        # refuses without the legacy provider (500 past the first page).
        env["NODE_OPTIONS"] = "--openssl-legacy-provider"
        return env

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"
