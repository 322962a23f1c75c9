#!/usr/bin/env bash
# Installs dependencies, builds Orchard (release) and starts `orchard serve`
# on its embedded defaults: SQLite metadata and three local disks under
# ./orchard-data, each chunk on two of them. Extra arguments go to serve.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DORCHARD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)"
exec build/orchard serve "$@"
