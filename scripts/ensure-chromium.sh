#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) when it is missing, for the console's browser test
# and bench (playwright-core drives it; no test tool downloads a browser of its own). apt-get as root,
# or through sudo; the lock is waited for, since other installs (the stack's) may hold it.
set -euo pipefail
CHROMIUM=${CLM_CHROMIUM:-/usr/bin/chromium}
if [[ -x $CHROMIUM ]]; then exit 0; fi
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "ensure-chromium: need root (or sudo) to apt-get install chromium" >&2; exit 1; fi
}
echo "installing Debian's chromium (apt-get) …"
as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 chromium fonts-dejavu-core >/dev/null
"$CHROMIUM" --version
