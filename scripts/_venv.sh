# Shared by scripts/run and scripts/test: a project virtualenv with pinned dependencies.
# Usage: source scripts/_venv.sh <requirements file>
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
REQUIREMENTS="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  PYTHON_BIN="${PYTHON:-$(command -v python3.11 || command -v python3)}"
  "$PYTHON_BIN" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
  "$PYTHON_BIN" -m venv .venv
fi
# Reinstall only when the pinned requirements changed since the last install.
STAMP=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQUIREMENTS")"
if [ ! -f "$STAMP" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
