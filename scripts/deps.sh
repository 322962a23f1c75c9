#!/usr/bin/env bash
# Installs Orchard's Debian 12 dependencies. Idempotent: apt-get runs only
# when something is missing. Usage: scripts/deps.sh [--test | --fuzz]
# (--fuzz: clang and its libFuzzer runtime, for scripts/fuzz.sh only)
set -euo pipefail

pkgs=(build-essential cmake pkg-config libmicrohttpd-dev libssl-dev libsqlite3-dev
      libexpat1-dev libinih-dev libcurl4-openssl-dev libisal-dev)
if [ "${1:-}" = "--test" ]; then
    pkgs+=(libcmocka-dev python3-pytest python3-boto3 python3-botocore python3-awscrt awscli curl
          python3-azure s3cmd rclone prometheus)
elif [ "${1:-}" = "--fuzz" ]; then
    pkgs+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # Wait (up to ORCHARD_APT_LOCK_WAIT seconds, default 10 minutes) for another
    # apt or dpkg, such as unattended-upgrades right after boot, to finish
    # instead of failing at once on its lock.
    lock=(-o "DPkg::Lock::Timeout=${ORCHARD_APT_LOCK_WAIT:-600}")
    echo "installing: ${missing[*]}"
    $sudo apt-get "${lock[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get "${lock[@]}" install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
