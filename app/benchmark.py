"""Median time per interaction of the dashboard's main widgets on the shipped sample runs,
measured with Streamlit's AppTest (the script run that answers an interaction, without
the browser's drawing time).

    .venv/bin/python -m app.benchmark [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent / "main.py")


def interactions():
    """(page, description, action) triples; action(at, i) changes a widget for repeat i."""
    return [
        ("views/overview.py", "overview: compare with", lambda at, i: at.selectbox(key="run_b").set_value(
            ["(none)", "asa1"][i % 2])),
        ("views/overview.py", "overview: switch run", lambda at, i: at.selectbox(key="run_a").set_value(
            ["vanilla", "asa1"][i % 2])),
        ("views/spike_features.py", "spike features: timestep", lambda at, i: at.slider(key="t").set_value(i % 10)),
        ("views/spike_features.py", "spike features: layer", lambda at, i: at.selectbox(key="layer").set_value(i % 3)),
        ("views/spike_features.py", "spike features: channel", lambda at, i: at.selectbox(key="channel").set_value(i % 8)),
        ("views/membrane.py", "membrane: channel", lambda at, i: at.selectbox(key="channel").set_value(i % 8)),
        ("views/ghosts.py", "ghosts: timestep", lambda at, i: at.slider(key="t").set_value(i % 10)),
        ("views/export.py", "export: figure", lambda at, i: at.selectbox(key="ex_fig").set_value(
            at.selectbox(key="ex_fig").options[i % 5])),
        ("views/compare.py", "compare: rule change", lambda at, i: at.number_input(key="rule_ratio").set_value(
            1.0 + 0.1 * (i % 3))),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    print(f"{'interaction':<32} {'median ms':>10} {'max ms':>8}")
    for page, label, action in interactions():
        at = AppTest.from_file(APP, default_timeout=300)
        at.switch_page(page)
        at.run()  # first load (fills the caches) is not an interaction
        times = []
        for i in range(args.repeats):
            action(at, i + 1)
            started = time.perf_counter()
            at.run()
            times.append(1000 * (time.perf_counter() - started))
            if at.exception:
                print(f"{label}: exception {at.exception[0].value}")
                return 1
        print(f"{label:<32} {statistics.median(times):10.1f} {max(times):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
