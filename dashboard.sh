#!/usr/bin/env bash
# Set up (idempotent) and start the dashboard on http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
# beside the server: run the first page once as soon as the server is up (app/ready.py)
.venv/bin/python -m app.ready "$@" &
exec .venv/bin/streamlit run app/main.py "$@"
