#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the web console's browser tests (tests/web/).
# As root on Debian/Ubuntu it is installed with apt-get (Playwright's own browser download cannot work offline);
# otherwise the script says what to install and exits non-zero.
set -euo pipefail

CHROMIUM=${SCF_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && [ "${SCF_NO_APT:-0}" != "1" ]; then
  echo "installing chromium with apt-get (browser tests of the web console)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] && exit 0
fi

echo "error: $CHROMIUM is missing: install Debian's chromium package (apt-get install chromium)" >&2
echo "or set SCF_CHROMIUM to a Chromium binary; the web console's browser tests need it." >&2
exit 1
