#!/usr/bin/env bash
# The browser tests (tests/ui/): the storefront and the admin console in
# Debian's Chromium, driven by Playwright for Python, against a real
# `jojomart dev` (target/debug/jojomart, or $JOJOMART_BIN). Installs what it
# needs: Chromium with apt-get (as root) when missing, Playwright and pytest
# into .cache/venv, axe-core into .cache/ui. Screenshots land in
# target/screenshots/. Arguments go to pytest (`-k checkout`, `-x`);
# `--install-only` installs and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

PLAYWRIGHT_VERSION="1.65.2"
PYTEST_VERSION="9.1.1"
AXE_VERSION="4.11.0"

# The browser: $JOJOMART_CHROMIUM, else Debian's chromium (installed with
# apt-get when missing and we are root), else a Chrome already on the machine
# (GitHub's Ubuntu runners have google-chrome, and their chromium is a snap stub).
find_browser() {
  for b in chromium google-chrome google-chrome-stable; do
    command -v "$b" && return 0
  done
  return 1
}
if [ -z "${JOJOMART_CHROMIUM:-}" ]; then
  if ! JOJOMART_CHROMIUM=$(find_browser); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
      echo "ui-test: installing chromium with apt-get" >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
    fi
    JOJOMART_CHROMIUM=$(find_browser) || { echo "ui-test: no chromium (apt-get install chromium, or set JOJOMART_CHROMIUM)" >&2; exit 1; }
  fi
fi
export JOJOMART_CHROMIUM
if [ ! -x .cache/venv/bin/python ]; then
  python3 -m venv .cache/venv
fi
.cache/venv/bin/python -m pip install --quiet --disable-pip-version-check "playwright==$PLAYWRIGHT_VERSION" "pytest==$PYTEST_VERSION"
if [ "$(node -p "try{require('./.cache/ui/node_modules/axe-core/package.json').version}catch(e){''}")" != "$AXE_VERSION" ]; then
  npm install --prefix .cache/ui --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
fi
[ "${1:-}" != --install-only ] || exit 0
# Playwright's own browser download is not used: Debian's chromium is.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec .cache/venv/bin/python -m pytest tests/ui -p no:cacheprovider -q "$@"
