#!/usr/bin/env bash
# Debian packages the test suite needs, for CI on a fresh machine (and for a new dev box).
# Idempotent: installs only what is missing, and runs `apt-get update` at most once.
#   chromium    — the real browser of test/browser/ (driven by playwright-core, headless)
#   etcd-server — the cluster metadata store of test/cluster/ (three brokers and a real etcd)
#   g++, make, python3 — node-gyp compiles better-sqlite3 (the Node 20 SQLite driver) during
#                        `npm install`: there is no prebuilt binary without GitHub access
set -euo pipefail

packages=(chromium etcd-server g++ make python3)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages present: ${packages[*]}"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y "${missing[@]}"
