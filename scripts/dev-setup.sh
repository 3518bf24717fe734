#!/usr/bin/env bash
# Installs everything the test suite needs into the repository: a virtualenv with the
# package and its dev extras (.venv), checkov in its own virtualenv (.venv-checkov: it pins
# dependencies that clash with cfn-lint's), and the npm tools (asl-validator).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q -e ".[dev]"
if [ -f requirements-checkov.txt ]; then
  [ -x .venv-checkov/bin/python ] || "$PYTHON" -m venv .venv-checkov
  .venv-checkov/bin/pip install -q -r requirements-checkov.txt
fi
npm ci --silent --no-audit --no-fund
# A headless browser for the HTML report test (tests/e2e/test_report_browser.py): Debian's
# chromium, installed when missing and we are root (CI); otherwise that test is skipped
# and says why.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -q && apt-get install -y -q --no-install-recommends chromium
  else
    echo "note: chromium not installed (needs root: apt-get install chromium);" \
         "the browser test of the HTML report will be skipped" >&2
  fi
fi
