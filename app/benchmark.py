"""Median time per interaction of the dashboard's main widgets on the shipped sample runs,
measured with Streamlit's AppTest (the script run that answers an interaction, without
the browser's drawing time), and each page's first load with cold caches (the background
warm-up of app.warm is off here).

    .venv/bin/python -m app.benchmark [--repeats 7]
    .venv/bin/python -m app.benchmark --paper-runs DIR [--per-class 2]

--paper-runs: first record two runs at the paper's largest size into DIR (SEW-ResNet-18,
2 x 128 x 128 frames, T = 16, without attention and with ASA-1, random fixed weights, the
synthetic set), unless DIR holds them already, then time the dashboard on them.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def make_paper_runs(folder: Path, per_class: int) -> None:
    """vanilla.h5 and asa1.h5 in `folder`: SEW-ResNet-18 at 2 x 128 x 128, T = 16."""
    import torch

    from events.synthetic import SyntheticSettings
    from models.checkpoint import save_checkpoint
    from models.registry import build_model
    from recorder.api import RecordSettings, record

    folder.mkdir(parents=True, exist_ok=True)
    for name, attention in (("vanilla", "none"), ("asa1", "asa1")):
        if (folder / f"{name}.h5").exists():
            continue
        torch.manual_seed(0)
        model = build_model("sew_resnet18", T=16, num_classes=len(SyntheticSettings().classes), attention=attention,
                            input_size=128)
        ckpt = folder / f"{name}.pt"
        save_checkpoint(ckpt, model, {"frames": {"T": 16, "dt_ms": 300.0 / 16}})
        started = time.perf_counter()
        record(RecordSettings(checkpoint=ckpt, data="synthetic", out=folder / f"{name}.h5", synthetic_per_class=per_class,
                              batch_size=4, raw_fraction=0.2))
        print(f"recorded {name}.h5: {(folder / f'{name}.h5').stat().st_size / 2**20:.1f} MB in "
              f"{time.perf_counter() - started:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--paper-runs", type=Path, help="record (if missing) and use paper-scale runs in this folder")
    p.add_argument("--per-class", type=int, default=2, help="synthetic recordings per class for --paper-runs")
    args = p.parse_args(argv)
    os.environ["SNNR_WARM_UP"] = "0"  # no background warm-up (app.warm): first loads must find cold caches
    if args.paper_runs:
        make_paper_runs(args.paper_runs, args.per_class)
        os.environ["SNNR_SAMPLE_RUNS"] = str(args.paper_runs.resolve())
    print(f"{'interaction':<32} {'first load ms':>13} {'median ms':>10} {'max ms':>8}")
    for page, label, action in interactions():
        at = AppTest.from_file(APP, default_timeout=300)
        at.switch_page(page)
        started = time.perf_counter()
        at.run()  # the first load (cold caches on the first page) is not an interaction
        first = 1000 * (time.perf_counter() - started)
        times = []
        for i in range(args.repeats):
            action(at, i + 1)
            started = time.perf_counter()
            at.run()
            times.append(1000 * (time.perf_counter() - started))
            if at.exception:
                print(f"{label}: exception {at.exception[0].value}")
                return 1
        print(f"{label:<32} {first:13.1f} {statistics.median(times):10.1f} {max(times):8.1f}", flush=True)
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
