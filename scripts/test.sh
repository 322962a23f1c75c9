#!/usr/bin/env bash
# Installs dependencies (test ones too), builds with AddressSanitizer and
# UndefinedBehaviorSanitizer and warnings as errors, and runs every unit test
# (ctest) and integration test (pytest against real `orchard serve`
# processes), the integration suite twice: on local disks, then with
# ORCHARD_TEST_PROVIDERS=mixed (fs + s3rver + Azurite + orchard-as-S3, see
# tests/integration/support/mixed.py). Ends with summary lines. Extra
# arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test || exit 1
# The layers' include rules (docs/architecture.md); fails on a new violation.
/usr/bin/python3 scripts/check_layers.py || exit 1
# The cloud emulators (Azurite, s3rver) pinned in package-lock.json; Node and
# npm come with the machine image, not from Debian.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --silent || exit 1
fi

build=build-asan
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DORCHARD_SANITIZE=ON -DORCHARD_WERROR=ON \
    >/dev/null || exit 1
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -Ev '^(\[|make|-- )' ; [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

(cd "$build" && ctest --output-on-failure -j2) | tee /tmp/orchard-ctest.$$ 
unit_rc=${PIPESTATUS[0]}
unit_line=$(grep -E 'tests passed|tests failed' /tmp/orchard-ctest.$$ | tail -n 1)
rm -f /tmp/orchard-ctest.$$

# Debian's Python owns python3-boto3 and python3-pytest; a pyenv python3 on
# PATH would not see them.
export ORCHARD_BIN="$PWD/$build/orchard"
env -u AWS_CA_BUNDLE /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" \
    | tee /tmp/orchard-pytest.$$
int_rc=${PIPESTATUS[0]}
int_line=$(tail -n 1 /tmp/orchard-pytest.$$)
env -u AWS_CA_BUNDLE ORCHARD_TEST_PROVIDERS=mixed /usr/bin/python3 -m pytest -q \
    -p no:cacheprovider tests/integration "$@" | tee /tmp/orchard-pytest.$$
mixed_rc=${PIPESTATUS[0]}
mixed_line=$(tail -n 1 /tmp/orchard-pytest.$$)
rm -f /tmp/orchard-pytest.$$

echo "unit: $unit_line"
echo "integration (fs providers): $int_line"
echo "integration (mixed providers): $mixed_line"
[ "$unit_rc" -eq 0 ] && [ "$int_rc" -eq 0 ] && [ "$mixed_rc" -eq 0 ]
