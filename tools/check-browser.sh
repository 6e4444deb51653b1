#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the web console's browser tests (tests/web/), and that
# a CJK font (Debian's fonts-noto-cjk) is there so the zh-CN console's screenshots show Chinese, not boxes.
# As root on Debian/Ubuntu both are installed with apt-get (Playwright's own browser download cannot work offline);
# otherwise the script says what to install and exits non-zero.
set -euo pipefail

CHROMIUM=${SCF_CHROMIUM:-/usr/bin/chromium}

have_cjk_font() {
  if command -v fc-list >/dev/null 2>&1; then
    [ -n "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ] && return 0
  fi
  [ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto/NotoSansCJK* >/dev/null 2>&1
}

missing=()
[ -x "$CHROMIUM" ] || missing+=(chromium)
have_cjk_font || missing+=(fonts-noto-cjk)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1 && [ "${SCF_NO_APT:-0}" != "1" ]; then
  echo "installing ${missing[*]} with apt-get (browser tests of the web console)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -x "$CHROMIUM" ] && have_cjk_font; then exit 0; fi
fi

[ -x "$CHROMIUM" ] || {
  echo "error: $CHROMIUM is missing: install Debian's chromium package (apt-get install chromium)" >&2
  echo "or set SCF_CHROMIUM to a Chromium binary; the web console's browser tests need it." >&2
}
have_cjk_font || echo "error: no CJK font: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk)" >&2
exit 1
