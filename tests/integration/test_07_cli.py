"""The command line as an operator meets it: --help, failed starts that leave
nothing behind, one server per data directory, the default config path,
`orchard providers` finding the server, user names, log lines, scripts/deps.sh.

Most tests run the real binary by hand (not through support/server.py) since
what they check is how a start fails or which files it reads."""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

from support import server as srv

pytestmark = pytest.mark.own_backends

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warn|error) \S")


def run(args, cwd, env=None, timeout=30):
    return subprocess.run([srv.orchard_bin()] + args, cwd=str(cwd), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=srv.clean_env(env))


def tree(path):
    """Every path under path (relative), or None if path does not exist."""
    if not os.path.exists(path):
        return None
    out = set()
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(root, n), path))
    return out


def lines(text):
    return [ln for ln in text.splitlines() if ln.strip()]


class Serve:
    """A raw `orchard serve` child started with the given arguments."""

    def __init__(self, args, cwd, env=None):
        self.out = os.path.join(str(cwd), f"serve-{time.monotonic_ns()}.out")
        self.err = self.out[:-4] + ".err"
        with open(self.out, "wb") as o, open(self.err, "wb") as e:
            self.proc = subprocess.Popen([srv.orchard_bin(), "serve"] + args, cwd=str(cwd),
                                         stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                         env=srv.clean_env(env))

    def wait_endpoint(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"^endpoint: (\S+)", self.stdout(), re.M)
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        raise AssertionError(f"no endpoint line: {self.stderr()}")

    def stdout(self):
        with open(self.out) as f:
            return f.read()

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def serves():
    started = []

    def make(args, cwd, env=None):
        s = Serve(args, cwd, env)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def keys_env():
    return {"ORCHARD_ACCESS_KEY": "AKCLITEST000000000", "ORCHARD_SECRET_KEY": "cli-test-secret-1"}


# -- --help ------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["serve", "-h"],
                                  ["user", "--help"], ["user", "add", "--help"],
                                  ["user", "list", "-h"], ["user", "remove", "--help"],
                                  ["providers", "--help"], ["scrub", "--help"],
                                  ["repair", "--help"], ["provider", "--help"],
                                  ["fsck", "--help"]])
def test_help_prints_usage_and_exits_0_creating_nothing(tmp_path, args):
    res = run(args, tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: orchard"), res.stdout
    assert args[0] == "--help" or f"orchard {args[0]}" in res.stdout
    assert os.listdir(tmp_path) == []


def test_top_level_help_lists_every_subcommand_and_the_config_rule(tmp_path):
    out = run(["--help"], tmp_path).stdout
    for cmd in ("serve", "user add", "user list", "user remove", "providers", "scrub",
                "repair", "provider", "fsck"):
        assert f"  {cmd} " in out
    assert "orchard.ini" in out


# -- failed starts create nothing --------------------------------------------------


def bad_starts(tmp_path):
    """name -> (config text, extra args); each start must fail."""
    return {
        "unknown key": ("[server]\nlisten = 127.0.0.1:0\nno_such_key = 1\n", []),
        "bad provider type": ("[server]\nlisten = 127.0.0.1:0\n\n[provider.a]\ntype = nosuch\n",
                              []),
        "provider without path": ("[server]\nlisten = 127.0.0.1:0\n\n[provider.a]\ntype = fs\n"
                                  f"path = {tmp_path}/pa\n\n[provider.b]\ntype = fs\n", []),
        "too many copies": ("[server]\nlisten = 127.0.0.1:0\nplacement = replicate:3\n\n"
                            f"[provider.a]\ntype = fs\npath = {tmp_path}/pa\n", []),
        "bad placement": ("[server]\nlisten = 127.0.0.1:0\nplacement = stripe:2\n", []),
        "half the admin keys": ("[server]\nlisten = 127.0.0.1:0\naccess_key = AKONLY\n", []),
    }


@pytest.mark.parametrize("case", ["unknown key", "bad provider type", "provider without path",
                                  "too many copies", "bad placement", "half the admin keys"])
@pytest.mark.parametrize("data_exists", [False, True])
def test_failed_start_prints_one_line_and_creates_nothing(tmp_path, case, data_exists):
    cfg_text, extra = bad_starts(tmp_path)[case]
    cfg = tmp_path / "bad.ini"
    cfg.write_text(cfg_text)
    data = tmp_path / "data"
    if data_exists:
        data.mkdir()
    res = run(["serve", "--config", str(cfg), "--data", str(data)] + extra, tmp_path)
    assert res.returncode != 0
    err = lines(res.stderr)
    assert len(err) == 1 and err[0].startswith("orchard serve: "), res.stderr
    assert "endpoint:" not in res.stdout
    assert tree(data) == (set() if data_exists else None)


def test_port_in_use_names_the_address_and_creates_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        addr = f"127.0.0.1:{taken.getsockname()[1]}"
        data = tmp_path / "data"
        res = run(["serve", "--listen", addr, "--data", str(data)], tmp_path)
    assert res.returncode != 0
    err = lines(res.stderr)
    assert len(err) == 1, res.stderr
    assert addr in err[0] and "in use" in err[0]
    assert "Failed to bind" not in res.stderr
    assert tree(data) is None


# -- one server per data directory -------------------------------------------------


def test_second_serve_on_a_data_dir_is_refused_naming_the_first(orchard_factory, tmp_path):
    first = orchard_factory()
    before = tree(first.data)
    res = run(["serve", "--config", first.config_path, "--data", first.data, "--listen",
               "127.0.0.1:0"], tmp_path, env=keys_env(), timeout=30)
    assert res.returncode != 0, res.stdout
    err = lines(res.stderr)
    assert len(err) == 1, res.stderr
    assert f"PID {first.pid}" in err[0] and "another orchard serve" in err[0]
    assert tree(first.data) == before
    first.client().list_buckets()  # the first one was not disturbed
    with open(os.path.join(first.data, "lock")) as f:
        assert f.read().strip() == str(first.pid)


def test_the_lock_goes_with_the_process_even_on_sigkill(orchard_factory):
    s = orchard_factory()
    s.kill()
    s.start()  # a crashed server's lock does not block the next start
    s.client().list_buckets()


def test_user_commands_run_beside_a_server_but_never_create_a_data_dir(server, tmp_path):
    ak, sk = server.add_user("beside-the-server")  # the server holds the lock meanwhile
    server.client((ak, sk)).list_buckets()
    missing = tmp_path / "nothing-here"
    for args in (["user", "add", "bob"], ["user", "list"], ["user", "remove", "bob"]):
        res = run(args + ["--data", str(missing)], tmp_path)
        assert res.returncode != 0
        assert "no data directory" in res.stderr and str(missing) in res.stderr
        assert len(lines(res.stderr)) == 1
    assert tree(missing) is None


# -- the default config path ---------------------------------------------------------


def test_serve_reads_orchard_ini_in_the_working_directory(tmp_path, serves):
    port = srv.free_port()
    (tmp_path / "orchard.ini").write_text(f"[server]\nlisten = 127.0.0.1:{port}\n"
                                          "data = ./here\n")
    s = serves([], tmp_path, env=keys_env())
    assert s.wait_endpoint() == f"http://127.0.0.1:{port}"
    assert "config: ./orchard.ini" in s.stdout()
    assert (tmp_path / "here" / "master.key").exists()
    assert s.stop() == 0


def test_serve_reads_orchard_ini_in_the_data_directory(tmp_path, serves):
    port = srv.free_port()
    data = tmp_path / "d"
    data.mkdir()
    (data / "orchard.ini").write_text(f"[server]\nlisten = 127.0.0.1:{port}\n")
    s = serves(["--data", str(data)], tmp_path, env=keys_env())
    assert s.wait_endpoint() == f"http://127.0.0.1:{port}"
    assert f"config: {data}/orchard.ini" in s.stdout()
    assert s.stop() == 0


def test_a_bad_default_config_is_named_in_the_error(tmp_path):
    (tmp_path / "orchard.ini").write_text("[server]\nlisen = 127.0.0.1:0\n")
    res = run(["serve"], tmp_path)
    assert res.returncode != 0
    assert "orchard.ini" in res.stderr and "lisen" in res.stderr
    assert tree(tmp_path / "orchard-data") is None


# -- orchard providers finds the server --------------------------------------------


def test_providers_finds_the_server_from_the_data_dir(tmp_path, serves):
    data = tmp_path / "data"
    s = serves(["--data", str(data), "--listen", "127.0.0.1:0"], tmp_path, env=keys_env())
    url = s.wait_endpoint()
    with open(data / "endpoint") as f:
        assert f.read().strip() == url
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    res = run(["providers", "--data", str(data)], elsewhere, env=keys_env())
    assert res.returncode == 0, res.stderr
    for name in ("disk1", "disk2", "disk3"):
        assert name in res.stdout
    assert s.stop() == 0
    assert not (data / "endpoint").exists()  # removed on a clean exit


def test_providers_falls_back_to_the_configs_listen_address(tmp_path):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    (tmp_path / "orchard.ini").write_text(f"[server]\nlisten = 127.0.0.1:{port}\n")
    res = run(["providers"], tmp_path, env=keys_env())
    assert res.returncode != 0
    assert f"http://127.0.0.1:{port}" in res.stderr


# -- user names ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["has space", "a/b", "tab\there", "ünicode", "semi;colon",
                                  "x" * 64, ""])
def test_user_names_outside_iams_alphabet_are_refused(server, tmp_path, name):
    res = run(["user", "add", name, "--data", server.data], tmp_path)
    assert res.returncode == 2, res.stdout
    assert "user name" in res.stderr and len(lines(res.stderr)) == 1
    listed = run(["user", "list", "--data", server.data], tmp_path).stdout
    assert name not in [ln.split("\t")[0] for ln in listed.splitlines()]


def test_user_names_with_iams_punctuation_are_accepted(server):
    name = "Ops.Team+ci=1,bot@example_org-" + "x" * 32
    ak, sk = server.add_user(name)
    server.client((ak, sk)).list_buckets()


# -- log lines ------------------------------------------------------------------------


def server_log_lines(s):
    with open(s.stderr_path) as f:
        return lines(f.read())


def test_every_log_line_has_a_timestamp_and_a_level(orchard_factory):
    s = orchard_factory(log_level="debug")
    s.client().list_buckets()
    s.restart()  # a second start, on existing data, logs too
    s.client().list_buckets()
    assert s.stop() == 0
    got = server_log_lines(s)
    assert any("serving S3 on" in ln for ln in got)
    for ln in got:
        assert LOG_LINE.match(ln), ln


def test_a_peer_that_goes_away_is_a_log_line_not_an_error(orchard_factory):
    s = orchard_factory()
    with socket.create_connection(("127.0.0.1", s.port)) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    time.sleep(0.3)
    assert s.stop() == 0
    got = server_log_lines(s)
    for ln in got:
        assert LOG_LINE.match(ln), ln
        assert " error " not in ln[:30], ln


# -- scripts/deps.sh ----------------------------------------------------------------


def test_deps_sh_waits_for_the_dpkg_lock(tmp_path):
    """deps.sh with fake dpkg-query (everything missing) and apt-get (records
    its arguments): every apt-get call carries DPkg::Lock::Timeout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "apt.log"
    (bin_dir / "dpkg-query").write_text("#!/bin/sh\nexit 1\n")
    (bin_dir / "apt-get").write_text(f"#!/bin/sh\necho \"$*\" >> {log}\n")
    (bin_dir / "sudo").write_text("#!/bin/sh\nexec \"$@\"\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    res = subprocess.run(["bash", os.path.join(srv.REPO, "scripts", "deps.sh")], env=env,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    calls = log.read_text().splitlines()
    assert any(" update" in c or c.startswith("update") for c in calls), calls
    assert any("install" in c for c in calls), calls
    for c in calls:
        assert re.search(r"-o DPkg::Lock::Timeout=\d+", c), c
