#!/usr/bin/env bash
# Installs the Debian packages the project needs outside npm:
#   libpmemobj-dev  PMDK libpmemobj headers + library (bench/pmdk harness)
#   strace          counts syscalls in the mapped-drain test
#   gcc, libc6-dev  to compile that harness
#   chromium        headless browser for the browser tests
#
# Idempotent: packages already installed (checked with dpkg -s) are skipped,
# and apt is not touched at all when everything is present. `apt-get update`
# runs at most once per invocation.
#
# Never fails the caller because apt is unavailable (not root, no apt-get,
# no network): it prints a warning and exits 0. Exception: with
# PHEAP_REQUIRE_CHROMIUM=1 it exits 1 when chromium is still missing at the end.
#
# Env:
#   PHEAP_REQUIRE_CHROMIUM=1   fail if chromium is missing after install
#   PHEAP_SKIP_SYSTEM_SETUP=1  do nothing (exit 0)
set -u

PACKAGES=(libpmemobj-dev gcc libc6-dev chromium strace)

log() { echo "setup-system: $*"; }

if [ "${PHEAP_SKIP_SYSTEM_SETUP:-0}" = "1" ]; then
  log "skipped (PHEAP_SKIP_SYSTEM_SETUP=1)"
  exit 0
fi

is_installed() {
  dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

chromium_present() {
  is_installed chromium || command -v chromium >/dev/null 2>&1 ||
    command -v chromium-browser >/dev/null 2>&1
}

finish() {
  if [ "${PHEAP_REQUIRE_CHROMIUM:-0}" = "1" ] && ! chromium_present; then
    log "ERROR: chromium is missing and PHEAP_REQUIRE_CHROMIUM=1"
    exit 1
  fi
  exit 0
}

missing=()
if command -v dpkg >/dev/null 2>&1; then
  for p in "${PACKAGES[@]}"; do
    if is_installed "$p"; then
      log "ok: $p already installed"
    else
      missing+=("$p")
    fi
  done
else
  log "WARNING: dpkg not found (not a Debian system?); cannot check or install ${PACKAGES[*]}"
  finish
fi

if [ "${#missing[@]}" -eq 0 ]; then
  log "all system packages present; apt not needed"
  finish
fi

if ! command -v apt-get >/dev/null 2>&1; then
  log "WARNING: apt-get not available; missing packages not installed: ${missing[*]}"
  finish
fi

SUDO=()
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    log "WARNING: not root and no passwordless sudo; missing packages not installed: ${missing[*]}"
    finish
  fi
fi

export DEBIAN_FRONTEND=noninteractive

log "apt-get update"
if ! "${SUDO[@]}" apt-get update -qq >/tmp/pheap-apt-update.log 2>&1; then
  log "WARNING: apt-get update failed (see /tmp/pheap-apt-update.log); trying install with existing lists"
fi

# Install one by one so a single unavailable package does not block the others.
for p in "${missing[@]}"; do
  log "installing: $p"
  if "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$p" >"/tmp/pheap-apt-install-$p.log" 2>&1; then
    log "installed: $p"
  else
    log "WARNING: could not install $p (see /tmp/pheap-apt-install-$p.log)"
  fi
done

finish
