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
