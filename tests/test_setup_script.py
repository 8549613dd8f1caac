"""The README's set-up is idempotent: a second run changes nothing and succeeds quickly."""

import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_setup_runs_twice_for_runtime_and_test():
    for args in ([], ["--test"]):
        first = subprocess.run(["bash", "scripts/setup.sh", *args], cwd=REPO, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        started = time.time()
        second = subprocess.run(["bash", "scripts/setup.sh", *args], cwd=REPO, capture_output=True, text=True)
        assert second.returncode == 0, second.stderr
        assert second.stdout == "" and time.time() - started < 10  # nothing left to install
