"""Real S3 clients (awscli, s3cmd, rclone, curl) pointed at one Orchard server,
and the trees of files they move.

Each client runs as a child process with its own config in a temp dir and an
environment from server.clean_env(), so nothing of the caller's (profiles,
proxies, credentials) reaches it. Retries are turned off in every client: a
request the server gets wrong must fail the test, not be quietly repeated.

    aws = Aws(server, tmp_path); aws.run(["s3", "ls"])
    make_tree(root, count=40, seed=1); assert_same_tree(root, other_root)"""

import filecmp
import hashlib
import json
import os
import random
import subprocess
import time

from support import server as srv

AWS = "/usr/bin/aws"
S3CMD = "/usr/bin/s3cmd"
RCLONE = "/usr/bin/rclone"
CURL = "/usr/bin/curl"
KiB = 1024
MiB = 1024 * 1024

# Names real trees have and that trip signing and listing code: spaces,
# non-ASCII, and characters with a meaning in URLs or SigV4 canonicalization.
SPECIAL_NAMES = [
    "with space.txt",
    "dir with space/inner file.bin",
    "ünïcödé/日本語のファイル.txt",
    "ünïcödé/emoji 🍎.bin",
    "odd/plus+sign.txt",
    "odd/percent%41.txt",
    "odd/tilde~and=equals&amp.txt",
    "odd/paren (1).txt",
]


class ClientFailed(AssertionError):
    pass


def client_env(extra):
    """server.clean_env() plus a UTF-8 locale: the trees have non-ASCII names."""
    env = srv.clean_env(extra)
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    return env


def run(cmd, env, timeout=300, check=True, cwd=None):
    """Runs cmd; with check, a non-zero exit fails with both output tails."""
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                         stdin=subprocess.DEVNULL, cwd=cwd)
    if check and res.returncode != 0:
        raise ClientFailed(f"{cmd[0]} {cmd[1:]!r} exited {res.returncode}\n"
                           f"--- stdout\n{res.stdout[-3000:]}\n--- stderr\n{res.stderr[-3000:]}")
    return res


# -- trees of files -------------------------------------------------------------------


def make_tree(root, count, seed, max_size=200 * KiB, specials=True, mtime_age=3600):
    """Writes `count` files under root: nested dirs, sizes 0..max_size (mostly
    small, always one empty and one of max_size), the SPECIAL_NAMES first.
    Modification times are set mtime_age seconds in the past, so a client that
    syncs by size and time sees the uploaded copy as newer whatever the
    server's timestamp precision. Returns {relative path: size}."""
    rng = random.Random(seed)
    names = list(SPECIAL_NAMES) if specials else []
    dirs = ["", "a", "a/b", "a/b/c", "d", "d/e", "f/g/h/i"]
    i = 0
    while len(names) < count:
        names.append(os.path.join(rng.choice(dirs), f"file-{i:04d}.dat"))
        i += 1
    names = names[:count]
    sizes = {}
    for n, name in enumerate(names):
        if n == 0:
            size = 0
        elif n == 1:
            size = max_size
        else:
            size = int(max_size * rng.random() ** 3)
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(rng.randbytes(size))
        sizes[name] = size
    past = time.time() - mtime_age
    for name in names:
        os.utime(os.path.join(root, name), (past, past))
    return sizes


def tree_files(root):
    """{relative path: size} of every regular file under root."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            full = os.path.join(dirpath, f)
            out[os.path.relpath(full, root)] = os.path.getsize(full)
    return out


def assert_same_tree(expected_root, actual_root):
    """The same relative paths, and every file byte-exact (not by stat)."""
    want = tree_files(expected_root)
    got = tree_files(actual_root)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing[:20]}, unexpected {extra[:20]}"
    _match, mismatch, errors = filecmp.cmpfiles(expected_root, actual_root, sorted(want),
                                                shallow=False)
    assert not mismatch and not errors, (
        f"{len(mismatch)} files differ: "
        + ", ".join(f"{n} ({want[n]} vs {got[n]} bytes)" for n in mismatch[:10])
        + f"; unreadable: {errors[:10]}")


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MiB), b""):
            h.update(block)
    return h.hexdigest()


def write_random(path, size, seed):
    data = random.Random(seed).randbytes(size)
    with open(path, "wb") as f:
        f.write(data)
    return data


# -- awscli -------------------------------------------------------------------------


class Aws:
    """/usr/bin/aws with its default transfer settings (multipart above 8 MiB,
    8 MiB parts, 10 threads), path-style addressing, and no retries."""

    def __init__(self, server, workdir):
        self.server = server
        cfg = os.path.join(str(workdir), "aws.cfg")
        with open(cfg, "w") as f:
            f.write("[default]\nregion = us-east-1\nmax_attempts = 1\nretry_mode = standard\n"
                    "s3 =\n  addressing_style = path\n")
        self.env = client_env({"AWS_ACCESS_KEY_ID": server.access_key,
                                  "AWS_SECRET_ACCESS_KEY": server.secret_key,
                                  "AWS_CONFIG_FILE": cfg})

    def run(self, args, check=True, timeout=300):
        if args[:1] == ["s3"] and args[1:2] in (["cp"], ["mv"], ["sync"]):
            args = args + ["--no-progress"]
        cmd = [AWS, "--endpoint-url", self.server.endpoint, "--no-cli-pager"] + args
        return run(cmd, self.env, timeout=timeout, check=check)

    def out(self, args):
        return self.run(args).stdout

    def pipe(self, args, stdin_path=None, stdout_path=None, timeout=300):
        """Runs with stdin and/or stdout bound to files (`aws s3 cp - ...`)."""
        cmd = [AWS, "--endpoint-url", self.server.endpoint, "--no-cli-pager"] + args
        with open(stdin_path or os.devnull, "rb") as fin, \
                open(stdout_path or os.devnull, "wb") as fout:
            res = subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.PIPE,
                                 env=self.env, timeout=timeout)
        if res.returncode != 0:
            raise ClientFailed(f"aws {args!r} exited {res.returncode}\n"
                               f"{res.stderr.decode(errors='replace')[-3000:]}")

    def json(self, args):
        text = self.out(args + ["--output", "json"])
        return json.loads(text) if text.strip() else {}


# -- s3cmd -------------------------------------------------------------------------


class S3cmd:
    """/usr/bin/s3cmd with a config file: path style (host_bucket names no
    bucket), plain http, SigV4, 5 MiB multipart parts, no retries."""

    def __init__(self, server, workdir):
        hostport = f"127.0.0.1:{server.port}"
        self.config = os.path.join(str(workdir), "s3cmd.cfg")
        with open(self.config, "w") as f:
            f.write("[default]\n"
                    f"access_key = {server.access_key}\n"
                    f"secret_key = {server.secret_key}\n"
                    f"host_base = {hostport}\n"
                    f"host_bucket = {hostport}\n"
                    "bucket_location = us-east-1\n"
                    "use_https = False\n"
                    "signature_v2 = False\n"
                    "check_ssl_certificate = False\n"
                    "multipart_chunk_size_mb = 5\n"
                    "max_retries = 0\n"
                    "progress_meter = False\n")
        self.env = client_env({"HOME": str(workdir)})

    def run(self, args, check=True, timeout=300):
        return run([S3CMD, "-c", self.config] + args, self.env, timeout=timeout, check=check)

    def out(self, args):
        return self.run(args).stdout


# -- rclone -------------------------------------------------------------------------


class Rclone:
    """/usr/bin/rclone with the remote `orch:` configured from the environment
    (an empty config file), one try per operation and per request."""

    def __init__(self, server, workdir):
        cfg = os.path.join(str(workdir), "rclone.conf")
        open(cfg, "w").close()
        self.env = client_env({
            "HOME": str(workdir),
            "RCLONE_CONFIG": cfg,
            "RCLONE_CONFIG_ORCH_TYPE": "s3",
            "RCLONE_CONFIG_ORCH_PROVIDER": "Other",
            "RCLONE_CONFIG_ORCH_ENV_AUTH": "false",
            "RCLONE_CONFIG_ORCH_ENDPOINT": server.endpoint,
            "RCLONE_CONFIG_ORCH_ACCESS_KEY_ID": server.access_key,
            "RCLONE_CONFIG_ORCH_SECRET_ACCESS_KEY": server.secret_key,
            "RCLONE_CONFIG_ORCH_REGION": "us-east-1",
        })

    def run(self, args, check=True, timeout=300):
        cmd = [RCLONE, "--retries", "1", "--low-level-retries", "1"] + args
        return run(cmd, self.env, timeout=timeout, check=check)

    def out(self, args):
        return self.run(args).stdout


# -- curl ------------------------------------------------------------------------------


def curl(args, timeout=120):
    """Plain curl (no signing of its own); fails on an HTTP error, with the body."""
    cmd = [CURL, "-sS", "--fail-with-body"] + args
    res = subprocess.run(cmd, capture_output=True, env=client_env({}), timeout=timeout,
                         stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        raise ClientFailed(f"curl {args!r} exited {res.returncode}\n"
                           f"{res.stdout[-2000:]!r}\n{res.stderr.decode(errors='replace')}")
    return res.stdout
