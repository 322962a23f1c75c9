#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each, one after another, over a
# scratch copy of its seed corpus (fuzz/corpora/<name>), and reports per
# target the executions reached and whether anything was found. New inputs
# that add coverage are merged back into the committed corpus only when
# MERGE=1 and they are small (under 4 KiB). Exits non-zero on any finding;
# the crashing input is left in build-fuzz/findings/<name>/.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]   (see docs/fuzzing.md)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:?usage: scripts/fuzz.sh SECONDS [TARGET...]}
shift
scripts/deps.sh --fuzz
build=build-fuzz
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORCHARD_FUZZ=ON \
    -DORCHARD_TESTS=OFF >/dev/null
if [ $# -gt 0 ]; then
    targets=("$@")
else # every fuzz/fuzz_<name>.c is a target (CMakeLists.txt: FUZZ_TARGETS)
    targets=()
    for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c | sed 's/^fuzz_//')"); done
fi
cmake --build "$build" -j2 --target "${targets[@]/#/fuzz_}" >/dev/null

export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=0
printf '%-14s %12s  %s\n' target executions result
for t in "${targets[@]}"; do
    work="$build/work/$t" found="$build/findings/$t"
    rm -rf "$work" && mkdir -p "$work/corpus" "$found"
    cp fuzz/corpora/"$t"/* "$work/corpus/"
    rc=0
    "$build/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$found/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    [ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "$work/log" | tail -1 | tr -d '#')
    if [ "$rc" -eq 0 ]; then
        result="no finding"
    else
        failed=1
        result="FOUND: $(ls "$found" | head -3 | tr '\n' ' ')(log: $work/log)"
    fi
    printf '%-14s %12s  %s\n' "$t" "${execs:-?}" "$result"
    if [ "$rc" -eq 0 ] && [ "${MERGE:-0}" = 1 ]; then
        mkdir -p "$work/small"
        find "$work/corpus" -type f -size -4k -exec cp {} "$work/small/" \;
        "$build/fuzz_$t" -merge=1 fuzz/corpora/"$t" "$work/small" >>"$work/log" 2>&1
    fi
done
exit "$failed"
