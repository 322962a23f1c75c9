"""What the fs providers hold: chunk files at <root>/chunks/xx/yy/<64 hex>.

Tests count these files to check dedup and garbage collection, and damage
them to check that a bad copy is skipped. A root may also be a cloud
provider's Store (support/mixed.py, ORCHARD_TEST_PROVIDERS=mixed): its copies
have pseudo-paths "mixed://STORE/KEY" that flip_middle_byte and remove_copy
understand, and whose basename is the chunk name."""

import os
import re
import time

from support import mixed

CHUNK_NAME = re.compile(r"^[0-9a-f]{64}$")
SEAL_FRAME = 28  # every sealed chunk has a 12-byte header and a 16-byte GCM tag
PAD_FLOOR = 4096  # format v2: the smallest sealed chunk


def padme(length):
    """Padmé (PURBs): keep floor(log2 E) + 1 bits after the leading one of an
    E-bit length, round the rest up."""
    e = length.bit_length() - 1
    mask = (1 << (e - e.bit_length())) - 1
    return (length + mask) & ~mask


def sealed_len(n):
    """What a chunk of n plaintext bytes occupies on a provider (format v2:
    the plaintext, its 4-byte length and the frame, Padmé-padded, at least
    PAD_FLOOR); src/chunk/seal.c seal_sealed_len."""
    return padme(max(n + SEAL_FRAME + 4, PAD_FLOOR))


def is_padded_size(size):
    """Whether a chunk file's size is one a v2 sealed chunk can have."""
    return size >= PAD_FLOOR and padme(size) == size


def chunk_files(roots):
    """{path: size} of every chunk file under every provider root."""
    found = {}
    for root in roots:
        if not isinstance(root, str):  # a cloud provider (support/mixed.py)
            found.update(root.chunk_files())
            continue
        base = os.path.join(root, "chunks")
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                if CHUNK_NAME.match(name):
                    path = os.path.join(dirpath, name)
                    try:
                        found[path] = os.path.getsize(path)
                    except FileNotFoundError:  # removed by GC while we walked
                        pass
    return found


def chunk_names(roots):
    """{chunk name: [paths of its copies]}."""
    names = {}
    for path in chunk_files(roots):
        names.setdefault(os.path.basename(path), []).append(path)
    return names


def total_bytes(roots):
    return sum(chunk_files(roots).values())


def flip_middle_byte(path):
    """XORs one byte in the middle of the file (inside the ciphertext)."""
    if mixed.is_remote(path):
        return mixed.flip_middle_byte(path)
    size = os.path.getsize(path)
    assert size > 0, path
    pos = size // 2
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x5A]))
        f.flush()
        os.fsync(f.fileno())


def remove_copy(path):
    """Deletes one chunk copy (a file or a cloud object)."""
    if mixed.is_remote(path):
        mixed.remove(path)
    else:
        os.remove(path)


def wait_until(pred, timeout, interval=0.25):
    """Polls pred() until it returns true or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)
