#!/usr/bin/env bash
# Refuse early, with a clear message, when the Python that would build the venv is too old.
set -euo pipefail
python="${1:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found; Assay needs Python 3.11 or newer (set PYTHON=...)" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: $("$python" --version 2>&1) is too old; Assay needs Python 3.11 or newer (set PYTHON=...)" >&2
  exit 1
fi
