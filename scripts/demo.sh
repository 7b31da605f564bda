#!/usr/bin/env bash
# Run the demo on the embedded defaults: bash scripts/demo.sh [--maildir MAILDIR] [--out DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/_venv.sh
source "$ROOT/scripts/_venv.sh"
ensure_venv "$ROOT"
exec "$ROOT/.venv/bin/complaints" demo "$@"
