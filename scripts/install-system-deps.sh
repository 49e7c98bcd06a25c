#!/usr/bin/env bash
# Installs what the hotline and its tests need from Debian's packages, when missing:
#   asterisk (from bullseye, pinned low: Debian 12/13 ship none), chromium + a CJK font (browser
#   tests), baresip (a real SIP softphone for the agent), sox (audio conversion), ffmpeg (pydub),
#   kannel + kannel-extras (SMS gateway and its fake SMSC), dovecot-imapd (IMAP for the mail tests).
# Idempotent: does nothing when everything is present. Needs root (or sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
command -v asterisk >/dev/null || need+=(asterisk asterisk-modules)
command -v chromium >/dev/null || need+=(chromium)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
command -v baresip >/dev/null || need+=(baresip-core)
command -v sox >/dev/null || need+=(sox)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v wrk >/dev/null || need+=(wrk)   # benchmarks: a C load generator for the HTTP API
command -v sipp >/dev/null || need+=(sip-tester)   # benchmarks: SIPp, real SIP INVITE load (bench/sip_load_bench.py)
command -v pg_dump >/dev/null || need+=(postgresql-client)   # hotline backup/restore on PostgreSQL
command -v systemd-analyze >/dev/null || need+=(systemd)   # tests verify deploy/systemd units
[ -x /usr/sbin/bearerbox ] || need+=(kannel)   # the SMS gateway (tests run their own, on loopback)
[ -x /usr/lib/kannel/test/fakesmsc ] || need+=(kannel-extras)   # Kannel's fake SMSC: the tests' mobile network
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)   # a real IMAP server for the e-mail channel's tests

# Asterisk must never be able to send a DNS query for our own hostname (see docs/asterisk.md):
# an IPv6 entry for the hostname in /etc/hosts keeps res_pjsip's start-up lookup on loopback.
host=$(hostname)
if ! grep -qE "^::1\s.*\b${host}\b" /etc/hosts 2>/dev/null; then
  echo "::1 ${host}" | $SUDO tee -a /etc/hosts >/dev/null || true
fi
if ! grep -qE "^127\.[0-9.]+\s.*\b${host}\b" /etc/hosts 2>/dev/null; then
  echo "127.0.1.1 ${host}" | $SUDO tee -a /etc/hosts >/dev/null || true
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: all present"
  exit 0
fi
echo "system deps: installing ${need[*]}"

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if [[ " ${need[*]} " == *" asterisk "* ]] && [ "$codename" != bullseye ]; then
  # Asterisk 16 from bullseye, pinned low so nothing else comes from there.
  if ! grep -rqs "bullseye" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian bullseye main" | $SUDO tee /etc/apt/sources.list.d/hotline-bullseye.list >/dev/null
  fi
  printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/hotline-bullseye >/dev/null
fi
# Keep package scripts from starting a system Asterisk.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
# A system Asterisk must not run: the project runs its own private instances.
$SUDO pkill -x asterisk 2>/dev/null || true
# Nor a system Kannel or Dovecot: tests start their own on loopback (stopped by their PIDs).
for svc in kannel dovecot; do
  if [ -x "/etc/init.d/$svc" ]; then $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done
echo "system deps: done"
