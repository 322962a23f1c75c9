"""Fixtures for Orchard's integration tests.

The binary is built by the caller (ORCHARD_BIN, default <repo>/build/orchard);
nothing here builds. Each test module gets one server on a free 127.0.0.1 port
with its own temp data dir; tests that need another config (small chunks, fast
GC) start their own through `orchard_factory`. When a test fails, the stderr
tail of every server still running is attached to its report.

ORCHARD_TEST_PROVIDERS=mixed runs every server that names no providers on
four providers of four kinds (fs, s3rver, Azurite, a second orchard as S3);
see support/mixed.py."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from support import mixed  # noqa: E402
from support import server as srv  # noqa: E402
from support.data import unique_bucket  # noqa: E402

# No proxy, profile, CA bundle or credentials of whoever runs the tests may reach
# the in-process boto3 clients.
for _k in [k for k in os.environ if k.startswith("AWS_") or k.lower().endswith("_proxy")]:
    del os.environ[_k]
os.environ.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                   "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})


def pytest_report_header(config):
    return f"orchard providers: {mixed.mode_label()}"


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: moves hundreds of MiB (deselect with -m 'not slow')")
    config.addinivalue_line("markers", "own_backends: starts its own providers and emulators, "
                            "so the mixed mode would only repeat it (skipped there)")


def pytest_collection_modifyitems(config, items):
    if not mixed.enabled():
        return
    skip = pytest.mark.skip(reason="own_backends: does not depend on ORCHARD_TEST_PROVIDERS; "
                            "runs in the default (fs) pass")
    for item in items:
        if item.get_closest_marker("own_backends"):
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for s in list(srv.LIVE):
            report.sections.append((f"orchard stderr (port {s.port}, tail)",
                                    srv.tail(s.stderr_path)))


def pytest_sessionfinish(session, exitstatus):
    for s in list(srv.LIVE):  # nothing may outlive the run
        s.kill()
    mixed.shutdown()  # the mixed mode's emulators, if they were started


@pytest.fixture(scope="session", autouse=True)
def orchard_binary():
    """Checks that the caller built the binary; builds nothing."""
    path = srv.orchard_bin()
    if not os.access(path, os.X_OK):
        pytest.exit(f"orchard binary not found at {path}: build first or set ORCHARD_BIN",
                    returncode=2)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory, request):
    """One server with the default config for the whole module."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    s = srv.Orchard(tmp_path_factory.mktemp(name)).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def s3(server):
    return server.client()


@pytest.fixture
def orchard_factory(tmp_path_factory):
    """orchard_factory(**server_opts) -> a started server, stopped after the test."""
    started = []

    def make(generate_keys=False, providers=None, start=True, **opts):
        s = srv.Orchard(tmp_path_factory.mktemp("srv"), generate_keys=generate_keys,
                        providers=providers, **opts)
        started.append(s)
        return s.start() if start else s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def bucket(s3):
    """A fresh empty bucket on the module server."""
    name = unique_bucket()
    s3.create_bucket(Bucket=name)
    return name
