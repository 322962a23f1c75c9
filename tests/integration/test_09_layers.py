"""scripts/check_layers.py: the layer rules hold on the tree, and each rule
fails on a tree that breaks it (so the CI check cannot pass by accident)."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def run_checker(root):
    return subprocess.run([sys.executable, os.path.join(root, "scripts", "check_layers.py")],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def tree(tmp_path):
    shutil.copytree(os.path.join(ROOT, "src"), tmp_path / "src")
    (tmp_path / "scripts").mkdir()
    shutil.copy(os.path.join(ROOT, "scripts", "check_layers.py"), tmp_path / "scripts")
    return tmp_path


def append(path, text):
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def test_the_tree_keeps_the_layers():
    r = run_checker(ROOT)
    assert r.returncode == 0, r.stdout
    assert "0 problems" in r.stdout


@pytest.mark.parametrize("file,text,expect", [
    # an upward include: provider/ may not reach s3/
    ("src/provider/fs.c", '#include "s3/xml.h"\n', "provider/ may not reach s3/"),
    # the front asks the store directly
    ("src/s3/tagging.c", "static void f(void) { meta_object_get(0, 0, 0, 0, 0, 0, 0, 0, 0, 0); }\n",
     "the front calls meta_object_get()"),
    # the front reaches into struct store
    ("src/s3/tagging.c", "static void *g(s3_req *r) { return r->svc->st->m; }\n",
     "reaches into struct store"),
    # another folder's private header
    ("src/s3/tagging.c", '#include "object/object_int.h"\n', "private to object/"),
    # a call cycle: query.c calling back into front.c, which calls query.c
    ("src/s3/query.c", "void s3_cycle_probe(void) { s3_http_app(0, 0); }\n",
     "src/s3/front.c, src/s3/query.c"),
])
def test_a_broken_rule_fails(tree, file, text, expect):
    append(tree / file, text)
    r = run_checker(str(tree))
    assert r.returncode == 1
    assert expect in r.stdout, r.stdout
