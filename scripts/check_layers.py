#!/usr/bin/python3
"""Checks the #include lines under src/ against the layers (docs/architecture.md):

    cli -> http -> s3 -> object -> { meta, chunk, place } -> provider -> util

A file may include its own layer's headers and those of the layers it may
call; anything else is a violation. The few violations that exist today are
listed in KNOWN, each with the issue that removes it: a new violation fails,
and so does a KNOWN entry that is gone (so the list only shrinks).
Prints one line per problem; exits 1 if there is any."""

import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

ALLOWED = {
    "main.c": {"cli"},
    "cli": {"http", "s3", "object", "meta", "chunk", "place", "provider", "util"},
    "http": {"util"},
    "s3": {"http", "object", "util"},
    "object": {"meta", "chunk", "place", "util"},
    "meta": {"util"},
    "chunk": {"util"},
    "place": {"provider", "util"},
    "provider": {"util"},
    "util": set(),
}

# (including file, included header): what issue 17 (layers) removes.
KNOWN = {
    ("src/place/place.c", "meta/meta.h"),       # META_MAX_COPIES
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z0-9_]+)/[^"]+\.h"', re.M)


def main():
    found = set()
    problems = []
    for root, _, files in os.walk(SRC):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, os.path.join(SRC, "..")).replace(os.sep, "/")
            layer = rel.split("/")[1]
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for m in INCLUDE.finditer(text):
                to = m.group(1)
                header = m.group(0).split('"')[1]
                if to == layer or to in ALLOWED.get(layer, set()):
                    continue
                if (rel, header) in KNOWN:
                    found.add((rel, header))
                    continue
                problems.append(f"{rel}: includes {header}: {layer}/ may not reach {to}/")
    for rel, header in sorted(KNOWN - found):
        problems.append(f"{rel} no longer includes {header}: remove it from KNOWN in "
                        "scripts/check_layers.py")
    for p in problems:
        print(p)
    print(f"layers: {len(problems)} problems, {len(found)} known exceptions left")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
