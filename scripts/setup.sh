#!/usr/bin/env bash
# Idempotent set-up: creates .venv at the repository root and installs the pinned
# requirements. A re-run does nothing unless a requirements file changed.
#   scripts/setup.sh          runtime dependencies (dashboard, CLIs)
#   scripts/setup.sh --test   also the test dependencies
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
if [ "${1:-}" = "--test" ]; then with_test=1; fi

python_bin=${PYTHON:-}
if [ -z "$python_bin" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python_bin=$candidate; break; fi
  done
fi
[ -n "$python_bin" ] || { echo "setup: no python3 found; install Python 3.11 or newer" >&2; exit 1; }
"$python_bin" -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' \
  || { echo "setup: Python 3.11 or newer is required, found $("$python_bin" --version)" >&2; exit 1; }

# Static figure export (kaleido) and the browser tests drive the system's Chromium.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for figure export"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null \
      || { echo "setup: apt-get install chromium failed; figure export will not work" >&2; exit 1; }
  else
    echo "setup: warning: no chromium on PATH; PNG/SVG/PDF export needs it (e.g. apt-get install chromium)" >&2
  fi
fi

# The tests compile every exported LaTeX table with a real engine (pdflatex, booktabs).
if [ "$with_test" = 1 ] && ! command -v pdflatex >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's texlive-latex-base and -recommended for the LaTeX table tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        texlive-latex-base texlive-latex-recommended; } >/dev/null \
      || { echo "setup: apt-get install texlive failed; the LaTeX table tests will fail" >&2; exit 1; }
  else
    echo "setup: warning: no pdflatex on PATH; the LaTeX table tests need it (apt-get install texlive-latex-base)" >&2
  fi
fi

[ -x .venv/bin/python ] || { echo "setup: creating .venv with $python_bin"; "$python_bin" -m venv .venv; }

pip_install() {
  # pip prints a harmless warning per package for this machine's local wheel store.
  .venv/bin/python -m pip install --disable-pip-version-check -q "$@" 2>&1 \
    | { grep -v "^WARNING: Location 'file://" || true; }
  return "${PIPESTATUS[0]}"
}

files="requirements.txt requirements-nodeps.txt"
stamp=.venv/.setup-stamp
if [ "$with_test" = 1 ]; then
  files="$files requirements-test.txt requirements-test-nodeps.txt"
  stamp=.venv/.setup-stamp-test
fi
want=$(cat $files scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

echo "setup: installing dependencies into .venv (first run takes a few minutes)"
pip_install -r requirements.txt
pip_install --no-deps -r requirements-nodeps.txt
if [ "$with_test" = 1 ]; then
  pip_install -r requirements-test.txt
  pip_install --no-deps -r requirements-test-nodeps.txt
fi
.venv/bin/python -c "import torch, torchvision, spikingjelly.activation_based.model.sew_resnet, h5py, aedat" \
  || { echo "setup: the installed packages do not import; delete .venv and run again" >&2; exit 1; }
echo "$want" > "$stamp"
echo "setup: done"
