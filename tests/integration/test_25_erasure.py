"""Erasure coding and storage classes (issue 10).

Six providers (six local disks; with ORCHARD_TEST_PROVIDERS=mixed two disks,
s3rver, Azurite, orchard-as-S3 and a second Azurite container) and two
classes: STANDARD = replicate:2 and STANDARD_IA = ec:4+2, so any 4 of a
chunk's 6 fragments rebuild it. Each test gets its own server: every chunk
file on a provider belongs to what that test wrote."""

import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

from support import disk, mixed, s3raw
from support import server as srv
from support.data import random_bytes, unique_bucket

MiB = 1024 * 1024
CLASSES = {"STANDARD": "replicate:2", "STANDARD_IA": "ec:4+2"}


def six_providers(tmp_path):
    """{name: spec}: six providers, each holding at most one fragment of a chunk."""
    if not mixed.enabled():
        return {f"d{i}": str(tmp_path / f"d{i}") for i in range(1, 7)}
    b = mixed.backends()
    provs = b.providers_for(str(tmp_path))
    provs["disk2"] = {"type": "fs", "path": str(tmp_path / "disk2")}
    az2 = dict(provs["azurite"])
    az2["prefix"] = "second/" + az2["prefix"]
    provs["azurite2"] = az2
    return provs


@pytest.fixture
def ec_server(orchard_factory, tmp_path):
    """A server whose default class is erasure coded, and its provider roots."""
    server = orchard_factory(providers=six_providers(tmp_path), classes=CLASSES,
                             storage_class="STANDARD_IA", gc_interval=1)
    return server


def admin_view(server):
    r = s3raw.signed(server.port, server.creds, "GET", "/_orchard/providers")
    assert r.status == 200, r
    return json.loads(r.body)


def by_root(server):
    """{root: {path: size}} of chunk files, one entry per provider."""
    return {str(root): disk.chunk_files([root]) for root in server.disk_roots()}


@pytest.mark.parametrize("size", [0, 1, 5 * MiB, 200 * MiB], ids=["0B", "1B", "5MiB", "200MiB"])
def test_ec_objects_round_trip_byte_exact(ec_server, size):
    s3 = ec_server.client(read_timeout=120)
    bucket = unique_bucket("ec")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(size, seed=size % 1000 + 1)
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    got = s3.get_object(Bucket=bucket, Key="k")
    assert got["Body"].read() == body
    assert got.get("StorageClass") == "STANDARD_IA"
    if size == 0:
        return
    files = by_root(ec_server)
    # every provider holds exactly one fragment of every chunk
    counts = {len(f) for f in files.values()}
    assert len(counts) == 1 and counts.pop() >= 1, files
    stored = sum(sum(f.values()) for f in files.values())
    # 1.5x the sealed chunks (padded), not 2x or 3x: fragments are a quarter
    # of a sealed chunk each, six of them
    assert stored <= 1.5 * disk.sealed_len(size) * 1.1 + 6 * 4096, (stored, size)
    if size >= 5 * MiB:
        assert stored < 1.7 * size
    # a range inside one chunk reads only what it touches and is exact
    if size > 1:
        r = s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={size // 3}-{size // 3 + 999}")
        assert r["Body"].read() == body[size // 3:size // 3 + 1000]


def _hide_provider(root):
    """Takes every chunk file of one provider away (the provider "lost" them);
    returns what to put back."""
    saved = {}
    for path in disk.chunk_files([root]):
        if mixed.is_remote(path):
            saved[path] = mixed.read_copy(path)
        else:
            with open(path, "rb") as f:
                saved[path] = f.read()
        disk.remove_copy(path)
    return saved


def _restore(saved):
    for path, data in saved.items():
        if mixed.is_remote(path):
            mixed.write_copy(path, data)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)


def test_any_two_providers_lost_reads_exact_three_fail(ec_server):
    s3 = ec_server.client(read_timeout=60)
    bucket = unique_bucket("ec")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(6 * MiB, seed=61)
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    roots = ec_server.disk_roots()
    # pairs covering every provider: each read rebuilds from the other four
    for a, b in [(0, 1), (2, 3), (4, 5), (0, 5)]:
        saved = _hide_provider(roots[a])
        saved.update(_hide_provider(roots[b]))
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
        _restore(saved)
    saved = {}
    for i in (1, 2, 4):
        saved.update(_hide_provider(roots[i]))
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k")["Body"].read()
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
    _restore(saved)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body


def test_corrupt_fragment_of_every_chunk_reads_exact_and_is_repaired(orchard_factory, tmp_path):
    # A read uses the K fastest fragments; d3 is made the fastest (the others
    # answer gets 25 ms late, by the fault decorator), so every chunk's read
    # includes d3's fragment and finds it bad: none goes unnoticed.
    provs = {f"d{i}": {"type": "fs", "path": str(tmp_path / f"d{i}"),
                       "faults": "get delay 25"} for i in range(1, 7)}
    del provs["d3"]["faults"]
    server = orchard_factory(providers=provs, classes=CLASSES, storage_class="STANDARD_IA",
                             gc_interval=1)
    s3 = server.client(read_timeout=60)
    bucket = unique_bucket("ec")
    s3.create_bucket(Bucket=bucket)
    warm = random_bytes(1 * MiB, seed=60)
    s3.put_object(Bucket=bucket, Key="warm", Body=warm)
    assert s3.get_object(Bucket=bucket, Key="warm")["Body"].read() == warm  # latencies known
    body = random_bytes(12 * MiB, seed=62)
    s3.put_object(Bucket=bucket, Key="k", Body=body)
    root = str(tmp_path / "d3")
    frags = disk.chunk_files([root])
    assert len(frags) >= 3  # the warm chunk and two or more of k's
    original = {}
    for path in frags:  # one fragment of every chunk: each chunk has one here
        with open(path, "rb") as f:
            original[path] = f.read()
        disk.flip_middle_byte(path)
    for key, want in (("k", body), ("warm", warm)):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == want
    view = admin_view(server)
    d3 = [p for p in view["providers"] if p["name"] == "d3"][0]
    assert d3["corrupt"] >= len(frags), d3
    ec = [p for p in view["placements"] if p["placement"] == "ec:4+2"]
    assert ec and ec[0]["classes"] == "STANDARD_IA"

    def repaired():
        return admin_view(server)["under_replicated"] == 0
    assert disk.wait_until(repaired, 60)
    # every bad fragment was rebuilt from the others and written again
    now = disk.chunk_files(str(tmp_path / f"d{i}") for i in range(1, 7))
    for path, data in original.items():
        with open(path, "rb") as f:
            assert f.read() == data, path
    assert len(now) == 6 * len(frags)
    for key, want in (("k", body), ("warm", warm)):
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == want


def test_put_with_a_provider_failing_is_503_and_invisible(orchard_factory, tmp_path):
    # Six providers for six fragments, one of them a cloud that does not
    # answer (nothing listens on its port): there is no spare, so the chunk
    # cannot get full redundancy and the PUT must fail, visibly to nobody.
    provs = {f"d{i}": str(tmp_path / f"d{i}") for i in range(1, 6)}
    provs["dead"] = {"type": "s3", "endpoint": f"http://127.0.0.1:{srv.free_port()}",
                     "bucket": "gone", "access_key": "AKDEAD", "secret_key": "dead-secret"}
    server = orchard_factory(providers=provs, classes=CLASSES)
    s3 = server.client()
    bucket = unique_bucket("ec")
    s3.create_bucket(Bucket=bucket)
    body = random_bytes(3 * MiB, seed=63)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=body, StorageClass="STANDARD_IA")
    assert exc.value.response["Error"]["Code"] == "SlowDown"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    # replicate:2 still has five providers to choose from
    s3 = server.client(max_attempts=3)
    s3.put_object(Bucket=bucket, Key="r", Body=body)
    assert s3.get_object(Bucket=bucket, Key="r")["Body"].read() == body


def test_storage_class_round_trip_boto3(ec_server):
    s3 = ec_server.client()
    bucket = unique_bucket("cls")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="std", Body=b"a" * 1000, StorageClass="STANDARD")
    s3.put_object(Bucket=bucket, Key="ia", Body=b"b" * 1000, StorageClass="STANDARD_IA")
    s3.put_object(Bucket=bucket, Key="dflt", Body=b"c" * 1000)
    # S3 leaves x-amz-storage-class out for STANDARD
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="std")
    assert s3.head_object(Bucket=bucket, Key="ia")["StorageClass"] == "STANDARD_IA"
    assert s3.head_object(Bucket=bucket, Key="dflt")["StorageClass"] == "STANDARD_IA"
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {"std": "STANDARD", "ia": "STANDARD_IA", "dflt": "STANDARD_IA"}
    listed = {o["Key"]: o["StorageClass"] for o in s3.list_objects(Bucket=bucket)["Contents"]}
    assert listed["std"] == "STANDARD"
    # a copy takes the class it names, or the default one
    s3.copy_object(Bucket=bucket, Key="c1", CopySource={"Bucket": bucket, "Key": "ia"},
                   StorageClass="STANDARD")
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="c1")
    s3.copy_object(Bucket=bucket, Key="std", CopySource={"Bucket": bucket, "Key": "std"},
                   StorageClass="STANDARD_IA")  # in place: a class change is a change
    assert s3.head_object(Bucket=bucket, Key="std")["StorageClass"] == "STANDARD_IA"
    assert s3.get_object(Bucket=bucket, Key="std")["Body"].read() == b"a" * 1000
    # multipart: the upload's class, in ListParts, ListMultipartUploads and the object
    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", StorageClass="STANDARD")
    uid = up["UploadId"]
    part = random_bytes(5 * MiB, seed=64)
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=part)["ETag"]
    assert s3.list_parts(Bucket=bucket, Key="mp", UploadId=uid)["StorageClass"] == "STANDARD"
    ups = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [u["StorageClass"] for u in ups] == ["STANDARD"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="mp")
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == part


def test_invalid_storage_class(ec_server):
    s3 = ec_server.client()
    bucket = unique_bucket("cls")
    s3.create_bucket(Bucket=bucket)
    for call in (
        lambda: s3.put_object(Bucket=bucket, Key="g", Body=b"x", StorageClass="GLACIER"),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="g", StorageClass="GLACIER"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "InvalidStorageClass"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    s3.put_object(Bucket=bucket, Key="src", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "src"},
                       StorageClass="standard_ia")  # names are exact, as S3's
    assert exc.value.response["Error"]["Code"] == "InvalidStorageClass"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="g")


def test_storage_class_with_awscli(ec_server, tmp_path):
    s3 = ec_server.client()
    bucket = unique_bucket("cli")
    s3.create_bucket(Bucket=bucket)
    src = tmp_path / "f.bin"
    body = random_bytes(2 * MiB, seed=65)
    src.write_bytes(body)
    env = srv.clean_env({"AWS_ACCESS_KEY_ID": ec_server.access_key,
                         "AWS_SECRET_ACCESS_KEY": ec_server.secret_key,
                         "AWS_DEFAULT_REGION": "us-east-1"})
    aws = ["aws", "--endpoint-url", ec_server.endpoint]
    subprocess.run(aws + ["s3", "cp", "--quiet", str(src), f"s3://{bucket}/f",
                          "--storage-class", "STANDARD"], check=True, env=env)
    out = subprocess.run(aws + ["s3api", "list-objects-v2", "--bucket", bucket], check=True,
                         env=env, capture_output=True, text=True).stdout
    assert json.loads(out)["Contents"][0]["StorageClass"] == "STANDARD"
    bad = subprocess.run(aws + ["s3", "cp", str(src), f"s3://{bucket}/g", "--storage-class",
                                "DEEP_ARCHIVE"], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "InvalidStorageClass" in bad.stderr
    subprocess.run(aws + ["s3", "cp", "--quiet", f"s3://{bucket}/f", str(tmp_path / "back")],
                   check=True, env=env)
    assert (tmp_path / "back").read_bytes() == body


def test_bucket_default_class_admin_command(ec_server):
    s3 = ec_server.client()
    bucket = unique_bucket("bdc")
    s3.create_bucket(Bucket=bucket)
    cmd = [srv.orchard_bin(), "bucket", "class", bucket, "--data", ec_server.data,
           "--config", ec_server.config_path]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=srv.clean_env())
    assert out.stdout.split() == [bucket, "STANDARD_IA"]  # the server's default
    out = subprocess.run(cmd + ["STANDARD"], check=True, capture_output=True, text=True,
                         env=srv.clean_env())
    assert out.stdout.split() == [bucket, "STANDARD"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "StorageClass" not in s3.head_object(Bucket=bucket, Key="k")
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x", StorageClass="STANDARD_IA")
    assert s3.head_object(Bucket=bucket, Key="k2")["StorageClass"] == "STANDARD_IA"
    bad = subprocess.run(cmd + ["GLACIER"], capture_output=True, text=True, env=srv.clean_env())
    assert bad.returncode != 0
    assert "storage class 'GLACIER' is not configured" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    subprocess.run(cmd + ["--clear"], check=True, capture_output=True, env=srv.clean_env())
    s3.put_object(Bucket=bucket, Key="k3", Body=b"x")
    assert s3.head_object(Bucket=bucket, Key="k3")["StorageClass"] == "STANDARD_IA"
    nob = subprocess.run([srv.orchard_bin(), "bucket", "class", "no-such-bucket", "--data",
                          ec_server.data, "--config", ec_server.config_path],
                         capture_output=True, text=True, env=srv.clean_env())
    assert nob.returncode != 0 and "no bucket 'no-such-bucket'" in nob.stderr


def test_config_refuses_unusable_classes(orchard_factory, tmp_path):
    provs = {f"d{i}": str(tmp_path / f"d{i}") for i in range(1, 4)}
    for classes, opts, words in [
        ({"STANDARD_IA": "ec:4+2"}, {}, "STANDARD_IA"),  # 6 fragments, 3 providers
        ({"STANDARD_IA": "ec:4"}, {}, "STANDARD_IA"),
        ({"lower": "replicate:2"}, {}, "lower"),
        ({"STANDARD_IA": "replicate:2"}, {"storage_class": "glacier"}, "glacier"),
        ({"STANDARD_IA": "replicate:2"}, {"min_copies": 3}, "min_copies"),
    ]:
        server = orchard_factory(providers=provs, classes=classes, start=False, **opts)
        server.port = srv.free_port()
        server.write_config()
        r = subprocess.run([srv.orchard_bin(), "serve", "--config", server.config_path],
                           capture_output=True, text=True, env=srv.clean_env(), timeout=20)
        assert r.returncode != 0, classes
        assert words in r.stderr, r.stderr
