"""The "mixed" provider mode of the integration suite: with
ORCHARD_TEST_PROVIDERS=mixed every server started without explicit providers
(the default `server` fixture, `orchard_factory`, modules' own servers) stores
its chunks on four providers of four kinds instead of three local disks:

    disk1    fs     DATA/disks/disk1
    s3rver   s3     a bucket of its own on s3rver (which does not check SigV4)
    azurite  azure  a container of its own on Azurite (create_container = true)
    orchard  s3     a bucket of its own on a second `orchard serve`, which
                    verifies SigV4 as AWS does (orchard-as-S3)

with placement replicate:2. Azurite, s3rver and the backend orchard start once
per session (lazily, on the first server that needs them) and stop at the end
(conftest.py calls shutdown()); each test server gets its own bucket,
container and prefix, so tests stay independent.

Tests that inspect chunk copies go through support/disk.py, which accepts the
Store objects made here next to plain directories: a Store lists, reads,
rewrites and deletes the chunk objects of one cloud provider through its API,
and names each copy with a pseudo-path "mixed://STORE/KEY" whose basename is
the chunk name, as a file path's is."""

import os
import re
import secrets
import shutil
import tempfile

MODE_VAR = "ORCHARD_TEST_PROVIDERS"
SCHEME = "mixed://"
CHUNK_NAME = re.compile(r"^[0-9a-f]{64}$")

_backends = None
_stores = {}  # store id -> Store, for pseudo-paths


def enabled():
    return os.environ.get(MODE_VAR, "") == "mixed"


def mode_label():
    return "mixed providers (fs, s3rver, Azurite, orchard-as-S3)" if enabled() else "fs"


class Backends:
    """Azurite, s3rver and a backend orchard (on two fs disks) for one session."""

    def __init__(self):
        from support import emulators
        from support import server as srv
        self.workdir = tempfile.mkdtemp(prefix="orchard-mixed-")
        self.azurite = emulators.Azurite(os.path.join(self.workdir, "az"))
        self.s3rver = emulators.S3rver(os.path.join(self.workdir, "s3"))
        bdir = os.path.join(self.workdir, "backend")
        os.makedirs(bdir)
        self.backend = srv.Orchard(bdir, providers={
            f"bdisk{i}": {"type": "fs", "path": os.path.join(bdir, f"bdisk{i}"), "fsync": "false"}
            for i in (1, 2)})
        try:
            self.azurite.start()
            self.s3rver.start()
            self.backend.start()
        except Exception:
            self.stop()
            raise
        self.s3rver_client = srv.make_client(self.s3rver.endpoint, self.s3rver.access_key,
                                             self.s3rver.secret_key)
        self.backend_client = self.backend.client()

    def providers_for(self, data_dir):
        """The provider sections of one test server: fresh bucket, container, prefix."""
        tag = secrets.token_hex(5)
        bucket = f"mx-{tag}"
        self.s3rver_client.create_bucket(Bucket=bucket)
        self.backend_client.create_bucket(Bucket=bucket)
        return {
            "disk1": {"type": "fs", "path": os.path.join(data_dir, "disks", "disk1")},
            "s3rver": {"type": "s3", "endpoint": self.s3rver.endpoint, "bucket": bucket,
                       "access_key": self.s3rver.access_key,
                       "secret_key": self.s3rver.secret_key, "prefix": f"c-{tag}/"},
            "azurite": {"type": "azure", "account": self.azurite.account,
                        "key": self.azurite.key, "endpoint": self.azurite.endpoint,
                        "container": f"mx-{tag}", "prefix": f"c-{tag}/",
                        "create_container": "true"},
            "orchard": {"type": "s3", "endpoint": self.backend.endpoint, "bucket": bucket,
                        "access_key": self.backend.access_key,
                        "secret_key": self.backend.secret_key, "prefix": f"c-{tag}/"},
        }

    def stop(self):
        self.backend.stop()
        self.azurite.stop()
        self.s3rver.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def backends():
    global _backends
    if _backends is None:
        _backends = Backends()
    return _backends


def shutdown():
    global _backends
    b, _backends = _backends, None
    if b is not None:
        b.stop()


def default_providers(data_dir):
    """Providers and extra [server] options for a server started without
    explicit providers, or (None, {}) when the mode is off."""
    if not enabled():
        return None, {}
    return backends().providers_for(data_dir), {"placement": "replicate:2"}


# -- looking at chunk copies -------------------------------------------------


def root_of(name, spec):
    """What support/disk.py walks for one provider: a directory for fs, a Store
    for the clouds."""
    if isinstance(spec, str):
        return spec
    if spec.get("type", "fs") == "fs":
        return spec["path"]
    sid = f"{name}.{spec.get('bucket') or spec.get('container')}"
    if sid not in _stores:
        _stores[sid] = (AzureStore if spec["type"] == "azure" else S3Store)(sid, spec)
    return _stores[sid]


class Store:
    """The chunk objects of one cloud provider under its prefix."""

    def __init__(self, sid, spec):
        self.sid = sid
        self.prefix = spec.get("prefix", "")

    def chunk_files(self):
        """{pseudo-path: size} of every chunk object."""
        found = {}
        for key, size in self._list():
            if CHUNK_NAME.match(key[len(self.prefix):]):
                found[f"{SCHEME}{self.sid}/{key}"] = size
        return found

    def __repr__(self):
        return f"Store({self.sid})"


class S3Store(Store):
    def __init__(self, sid, spec):
        super().__init__(sid, spec)
        from support import server as srv
        self.bucket = spec["bucket"]
        self.client = srv.make_client(spec["endpoint"], spec["access_key"], spec["secret_key"],
                                      max_attempts=3)

    def _list(self):
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                       Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"], obj["Size"]

    def read(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def write(self, key, data):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)


class AzureStore(Store):
    def __init__(self, sid, spec):
        super().__init__(sid, spec)
        from azure.storage.blob import BlobServiceClient  # Debian: python3-azure
        svc = BlobServiceClient(account_url=spec["endpoint"],
                                credential={"account_name": spec["account"],
                                            "account_key": spec["key"]})
        self.container = svc.get_container_client(spec["container"])

    def _list(self):
        for blob in self.container.list_blobs(name_starts_with=self.prefix):
            yield blob.name, blob.size

    def read(self, key):
        return self.container.download_blob(key).readall()

    def write(self, key, data):
        self.container.upload_blob(key, data, overwrite=True)

    def delete(self, key):
        self.container.delete_blob(key)


def is_remote(path):
    return isinstance(path, str) and path.startswith(SCHEME)


def _split(path):
    sid, _, key = path[len(SCHEME):].partition("/")
    return _stores[sid], key


def flip_middle_byte(path):
    store, key = _split(path)
    data = bytearray(store.read(key))
    assert data, path
    data[len(data) // 2] ^= 0x5A
    store.write(key, bytes(data))


def remove(path):
    store, key = _split(path)
    store.delete(key)


def read_copy(path):
    store, key = _split(path)
    return store.read(key)


def write_copy(path, data):
    store, key = _split(path)
    store.write(key, data)
