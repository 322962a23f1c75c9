#!/usr/bin/python3
"""Checks the #include lines under src/ against the layers (docs/architecture.md):

    cli -> http -> s3 -> object -> { meta, chunk, place } -> provider -> util

A file may include its own layer's headers and those of the layers it may
call; anything else is a violation. The few violations that exist today are
listed in KNOWN, each with the issue that removes it: a new violation fails,
and so does a KNOWN entry that is gone (so the list only shrinks).

More rules over the same files:
- no call cycle between files of one layer: a.c calling a function b.c
  defines while b.c (or a file b.c reaches) calls back into a.c;
- the front holds protocol only: src/s3/ calls no function of meta/, place/,
  provider/ or chunk/ (the record types meta_* and their meta_*_dispose are
  the object layer's vocabulary, re-exported by object/object.h) and never
  reaches into struct store;
- a folder's private header (name_int.h) is included from that folder only.
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
KNOWN = set()

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z0-9_]+)/[^"]+\.h"', re.M)
# A function definition at the start of a line: "type name(" not static.
DEFINE = re.compile(r'^(?!static\b)(?:[A-Za-z_][\w \*]*?[\s\*])([a-z_][a-z0-9_]*)\([^;]*$', re.M)
CALL = re.compile(r'\b([a-z_][a-z0-9_]*)\s*\(')
COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', re.S)
# What the front may not call: the stores and the layers under object/.
FRONT_FORBIDDEN = re.compile(r'\b((?:meta|place|provider|seal|cdc)_[a-z0-9_]+)\s*\(')
FRONT_STORE = re.compile(r'->\s*st\s*->|\bst->(?:m|pl|keys|cdc|gc_grace_ms)\b')


def code_of(text):
    """The text without comments and string literals."""
    return COMMENT.sub(lambda m: '""' if m.group(0).startswith('"') else " ", text)


def call_cycles(files):
    """files: {rel: code} of one layer's .c files. One problem per cycle."""
    defined = {}
    for rel, code in files.items():
        for m in DEFINE.finditer(code):
            defined.setdefault(m.group(1), rel)
    edges = {rel: set() for rel in files}
    for rel, code in files.items():
        for m in CALL.finditer(code):
            to = defined.get(m.group(1))
            if to and to != rel:
                edges[rel].add(to)
    # Tarjan's strongly connected components, iteratively small enough to recurse.
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(files):
        if v not in index:
            visit(v)
    return [f"call cycle between {', '.join(c)}" for c in out]


def front_calls(rel, code):
    problems = []
    for m in FRONT_FORBIDDEN.finditer(code):
        name = m.group(1)
        if name.startswith("meta_") and name.endswith("_dispose"):
            continue
        line = code.count("\n", 0, m.start()) + 1
        problems.append(f"{rel}:{line}: the front calls {name}(): ask object/")
    for m in FRONT_STORE.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        problems.append(f"{rel}:{line}: the front reaches into struct store: ask object/")
    return problems


def main():
    found = set()
    problems = []
    layer_code = {}
    for root, _, files in os.walk(SRC):
        for name in sorted(files):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, os.path.join(SRC, "..")).replace(os.sep, "/")
            layer = rel.split("/")[1]
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            if name.endswith(".c"):
                code = code_of(text)
                layer_code.setdefault(layer, {})[rel] = code
                if layer == "s3":
                    problems += front_calls(rel, code)
            for m in INCLUDE.finditer(text):
                to = m.group(1)
                header = m.group(0).split('"')[1]
                if header.endswith("_int.h") and to != layer:
                    problems.append(f"{rel}: includes {header}: private to {to}/")
                    continue
                if to == layer or to in ALLOWED.get(layer, set()):
                    continue
                if (rel, header) in KNOWN:
                    found.add((rel, header))
                    continue
                problems.append(f"{rel}: includes {header}: {layer}/ may not reach {to}/")
    for layer in sorted(layer_code):
        problems += call_cycles(layer_code[layer])
    for rel, header in sorted(KNOWN - found):
        problems.append(f"{rel} no longer includes {header}: remove it from KNOWN in "
                        "scripts/check_layers.py")
    for p in problems:
        print(p)
    print(f"layers: {len(problems)} problems, {len(found)} known exceptions left")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
