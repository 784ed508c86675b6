#!/usr/bin/env bash
# Installs the real NUT peers the interop tests talk to, when they are missing and we
# can (root with apt-get): Debian's NUT 2.8.0 (nut-client, nut-server, nut-snmp), net-snmp's
# agent (snmpd: SNMPv3 users in front of snmpsim; never started as a service), PyNUT
# (python3-nut), check_ups (monitoring-plugins-basic), systemd-analyze (systemd, to
# verify our units), Prometheus (scrapes upsd's metrics), Mosquitto (nut-notify's
# MQTT broker), python3-zeroconf (browses upsd's mDNS announcements), lintian (checks
# the Debian package), and from PyPI aionut, nut2 and snmpsim (SNMP agents serving
# recorded walks to snmp-ups) in
# a venv for Debian's /usr/bin/python3 (with system site packages, so PyNUT stays
# importable there). Never starts any service. Idempotent and fast when all is present.
set -euo pipefail
VENV=/opt/nut-rs-peers
PIP_PINS=(aionut==4.3.4 nut2==2.1.1 snmpsim==1.2.2 pysmi==1.6.3 pysnmp==7.1.30)

need=()
[ -x /usr/bin/upsc ] || need+=(nut-client)
[ -x /lib/nut/upsd ] || need+=(nut-server)
[ -x /lib/nut/snmp-ups ] || need+=(nut-snmp)
[ -x /usr/sbin/snmpd ] || need+=(snmpd)
[ -x /usr/bin/python3 ] || need+=(python3)
[ -f /usr/lib/python3/dist-packages/PyNUT.py ] || need+=(python3-nut)
[ -d /usr/lib/python3/dist-packages/zeroconf ] || need+=(python3-zeroconf)
[ -x /usr/lib/nagios/plugins/check_ups ] || need+=(monitoring-plugins-basic)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
[ -x /usr/bin/systemd-analyze ] || need+=(systemd)
[ -x /usr/bin/prometheus ] || need+=(prometheus)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -x /usr/bin/mosquitto_sub ] || need+=(mosquitto-clients)
[ -x /usr/bin/lintian ] || need+=(lintian)
[ -x "$VENV/bin/python3" ] || /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need+=(python3-venv)

venv_ok() {
  [ -x "$VENV/bin/python3" ] && "$VENV/bin/python3" - "${PIP_PINS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    assert version(name) == want, pin
import aionut, nut2, PyNUT, snmpsim
EOF
}

command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1 || echo "note: cargo-nextest not found; cargo test will be used"
if [ ${#need[@]} -eq 0 ] && venv_ok; then
  echo "install-peers: NUT peers present"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-peers: missing ${need[*]:-} ${PIP_PINS[*]} and cannot install (not root or no apt-get); interop tests will be skipped outside CI"
  exit 0
fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packages from starting NUT services during installation;
  # an existing one is kept and restored.
  restore=""
  if [ -e /usr/sbin/policy-rc.d ]; then
    restore=$(mktemp)
    cp -p /usr/sbin/policy-rc.d "$restore"
  fi
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  status=0
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || status=$?
  if [ -n "$restore" ]; then mv "$restore" /usr/sbin/policy-rc.d; else rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" = 0 ] || exit "$status"
  echo "install-peers: installed ${need[*]}"
fi
if ! venv_ok; then
  [ -x "$VENV/bin/python3" ] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/python3" -m pip install -q --disable-pip-version-check "${PIP_PINS[@]}"
  venv_ok || { echo "install-peers: $VENV does not import aionut, nut2 and PyNUT" >&2; exit 1; }
  echo "install-peers: installed ${PIP_PINS[*]} into $VENV"
fi
