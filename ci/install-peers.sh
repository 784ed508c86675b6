#!/usr/bin/env bash
# Installs the real NUT peers the interop tests talk to (Debian's NUT 2.8.0 packages),
# when they are missing and we can (root with apt-get). Never starts any service.
set -euo pipefail
need=()
[ -x /usr/bin/upsc ] || need+=(nut-client)
[ -x /lib/nut/upsd ] || need+=(nut-server)
command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1 || echo "note: cargo-nextest not found; cargo test will be used"
if [ ${#need[@]} -eq 0 ]; then
  echo "install-peers: NUT peers present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-peers: missing ${need[*]} and cannot install (not root or no apt-get); interop tests will be skipped outside CI"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the packages from starting NUT services during installation.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
rm -f /usr/sbin/policy-rc.d
echo "install-peers: installed ${need[*]}"
