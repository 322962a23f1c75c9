"""Starting and stopping `orchard serve` processes for the tests.

Each server gets a free port on 127.0.0.1, its own data dir and an INI config
written from keyword arguments. stdout and stderr go to files in the data
dir's parent, so a failing test can show the server's last words (conftest.py
attaches the stderr tail of every live server to a failed test's report).
Servers are stopped by PID, never by name."""

import os
import re
import secrets
import signal
import socket
import subprocess
import time

import boto3
from botocore.config import Config

from support import mixed

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
START_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0

# Every server started and not yet stopped, for the failure report hook.
LIVE = []

# Small chunks so that a few MiB make many chunks.
SMALL_CHUNKS = {"chunk_min": 64 * 1024, "chunk_avg": 256 * 1024, "chunk_max": 1024 * 1024}


def orchard_bin():
    return os.environ.get("ORCHARD_BIN") or os.path.join(REPO, "build", "orchard")


def clean_env(extra=None):
    """The environment for child processes: no AWS profile, CA bundle or
    credential variables of the caller leak into a client or the server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "ORCHARD_")) and not k.lower().endswith("_proxy")}
    env.update({
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PAGER": "",
    })
    if extra:
        env.update(extra)
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, lines=60):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])


def client_config(addressing="path", max_attempts=1, read_timeout=300):
    return Config(s3={"addressing_style": addressing},
                  retries={"max_attempts": max_attempts, "mode": "standard"},
                  connect_timeout=10, read_timeout=read_timeout, signature_version="s3v4")


def make_client(endpoint, access_key, secret_key, addressing="path", max_attempts=1,
                read_timeout=300):
    session = boto3.session.Session(aws_access_key_id=access_key,
                                    aws_secret_access_key=secret_key,
                                    region_name="us-east-1")
    return session.client("s3", endpoint_url=endpoint,
                          config=client_config(addressing, max_attempts, read_timeout))


class Orchard:
    """One `orchard serve` process on a data dir that outlives restarts.

    server = Orchard(tmpdir, chunk_min=65536, gc_interval=1)
    server.start(); server.client().list_buckets(); server.stop()"""

    def __init__(self, workdir, generate_keys=False, providers=None, **server_opts):
        self.workdir = str(workdir)
        self.data = os.path.join(self.workdir, "data")
        self.config_path = os.path.join(self.workdir, "orchard.ini")
        self.stdout_path = os.path.join(self.workdir, "server.stdout")
        self.stderr_path = os.path.join(self.workdir, "server.stderr")
        os.makedirs(self.data, exist_ok=True)
        self.server_opts = dict(server_opts)
        # {class name: placement}: [class.NAME] sections (storage classes)
        self.classes = dict(self.server_opts.pop("classes", None) or {})
        # {name: path of an fs provider, or {config key: value}}; None: the
        # defaults, which the mixed mode (support/mixed.py) replaces.
        if providers is None:
            providers, extra = mixed.default_providers(self.data)
            for k, v in extra.items():
                self.server_opts.setdefault(k, v)
        self.providers = providers
        self.port = None
        self.proc = None
        self.last_exit = None
        if generate_keys:
            self.access_key = self.secret_key = None
        else:
            self.access_key = "AK" + secrets.token_hex(9).upper()
            self.secret_key = secrets.token_urlsafe(30)
        self.generate_keys = generate_keys
        self.stdout_text = ""

    # -- config and lifecycle ------------------------------------------------

    def write_config(self):
        lines = ["[server]", f"listen = 127.0.0.1:{self.port}", f"data = {self.data}"]
        opts = {"log_level": "info"}
        opts.update(self.server_opts)
        for k, v in opts.items():
            lines.append(f"{k} = {v}")
        for name, placement in self.classes.items():
            lines += ["", f"[class.{name}]", f"placement = {placement}"]
        for name, spec in (self.providers or {}).items():
            if not isinstance(spec, dict):
                spec = {"type": "fs", "path": spec}
            lines += ["", f"[provider.{name}]"] + [f"{k} = {v}" for k, v in spec.items()]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def creds(self):
        return (self.access_key, self.secret_key)

    def start(self, attempts=3):
        """Starts the server and waits for its `endpoint:` line (20 s)."""
        last = None
        for _ in range(attempts):
            self.port = free_port()
            self.write_config()
            try:
                self._start_once()
                return self
            except _PortLost as exc:  # someone took the port between bind and listen
                last = exc
        raise RuntimeError(f"orchard did not start: {last}")

    def _start_once(self):
        binary = orchard_bin()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"orchard binary not found at {binary} (set ORCHARD_BIN)")
        extra = {}
        if not self.generate_keys:
            extra = {"ORCHARD_ACCESS_KEY": self.access_key, "ORCHARD_SECRET_KEY": self.secret_key}
        cmd = [binary, "serve", "--config", self.config_path, "--data", self.data,
               "--listen", f"127.0.0.1:{self.port}"]
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        start_offset = out.tell()
        try:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                         env=clean_env(extra), cwd=self.workdir)
        finally:
            out.close()
            err.close()
        LIVE.append(self)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            text = self._read_stdout(start_offset)
            if re.search(r"^endpoint: https?://\S+", text, re.M):
                self.stdout_text = text
                break
            rc = self.proc.poll()
            if rc is not None:
                self._forget()
                msg = f"orchard exited with {rc} before listening:\n{tail(self.stderr_path)}"
                if "in use" in msg.lower():
                    raise _PortLost(msg)
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("orchard printed no endpoint line within "
                                   f"{START_TIMEOUT} s:\n{tail(self.stderr_path)}")
            time.sleep(0.05)
        if self.generate_keys and self.access_key is None:
            ak = re.search(r"^access_key: (\S+)", text, re.M)
            sk = re.search(r"^secret_key: (\S+)", text, re.M)
            if not ak or not sk:
                raise RuntimeError(f"no generated keys on stdout:\n{text}")
            self.access_key, self.secret_key = ak.group(1), sk.group(1)

    def _read_stdout(self, offset):
        with open(self.stdout_path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")

    def _forget(self):
        if self in LIVE:
            LIVE.remove(self)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait; SIGKILL if it hangs. Returns the exit code."""
        if self.proc is None:
            return self.last_exit
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.last_exit = self.proc.returncode
        self.proc = None
        self._forget()
        return self.last_exit

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc is not None:
            self.last_exit = self.proc.returncode
        self.proc = None
        self._forget()

    def restart(self):
        """Stops cleanly and starts again on the same data dir (new port)."""
        rc = self.stop()
        self.start()
        return rc

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    # -- clients ---------------------------------------------------------------

    def client(self, creds=None, addressing="path", max_attempts=1, read_timeout=300):
        ak, sk = creds or self.creds
        return make_client(self.endpoint, ak, sk, addressing, max_attempts, read_timeout)

    def add_user(self, name):
        """Runs `orchard user add NAME` against this data dir; returns (ak, sk)."""
        cmd = [orchard_bin(), "user", "add", name, "--data", self.data,
               "--config", self.config_path]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=clean_env(),
                             stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise RuntimeError(f"orchard user add failed ({res.returncode}):\n"
                               f"{res.stdout}\n{res.stderr}")
        ak = re.search(r"^access_key: (\S+)", res.stdout, re.M)
        sk = re.search(r"^secret_key: (\S+)", res.stdout, re.M)
        if not ak or not sk:
            raise RuntimeError(f"orchard user add printed no keys:\n{res.stdout}")
        return ak.group(1), sk.group(1)

    def disk_roots(self):
        """Where the chunk copies are: fs provider directories, and for cloud
        providers Store objects (support/mixed.py) that support/disk.py reads."""
        if self.providers:
            return [mixed.root_of(name, spec) for name, spec in self.providers.items()]
        return [os.path.join(self.data, "disks", f"disk{i}") for i in (1, 2, 3)]


class _PortLost(RuntimeError):
    pass
