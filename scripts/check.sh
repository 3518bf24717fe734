#!/usr/bin/env bash
# Everything CI checks, in order; the first failure stops it with a non-zero exit.
# Run it after scripts/dev-setup.sh. Extra arguments go to pytest (e.g. -x, -k NAME).
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  echo "+ $*"
  "$@"
}

step .venv/bin/ruff check .
step .venv/bin/python -m mypy
step .venv/bin/orchestrator compile examples/*.py --check
step .venv/bin/orchestrator template examples/*.py -o template.yaml --check
step .venv/bin/python -m pytest -q -n 2 "$@"
