#!/usr/bin/env bash
# Installs Debian packages the tests need, when they are missing, without starting their services.
#
#   scripts/debian-packages.sh PACKAGE...      e.g. scripts/debian-packages.sh prometheus
#
# Called by .ci/run and by scripts/prometheus.mjs (npm test) on a machine that lacks them. Needs root and apt-get
# (a fresh Debian machine of this project runs as root); elsewhere it prints one line saying why and exits 3, and
# the tests that need the package report themselves skipped with that line.
#
# A Debian package's postinst starts its service (prometheus: a server on :9090 with the package's own config).
# The tests start their own server on loopback instead, so while installing, policy-rc.d answers 101 ("action
# forbidden") to every service start, as Debian's invoke-rc.d(8) and deb-systemd-invoke honour; an existing
# policy-rc.d is left as it is.
set -euo pipefail

missing=()
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "debian-packages: cannot install ${missing[*]}: no apt-get on this machine" >&2
  exit 3
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "debian-packages: cannot install ${missing[*]}: needs root (run: sudo $0 ${missing[*]})" >&2
  exit 3
fi

POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\n# scripts/debian-packages.sh: no service starts while it installs\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  trap 'rm -f "$POLICY"' EXIT
fi

started=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "debian-packages: installed ${missing[*]} in $(($(date +%s) - started)) s"
