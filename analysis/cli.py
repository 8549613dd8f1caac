"""`python -m analysis report|ablate|compare ...`: thin callers of the analysis API.

    report   every table and Fig. 2/5/6 of one run or two (analysis.report)
    ablate   silence channels of a recorded checkpoint and measure (analysis.ablation)
    compare  paired intervals between runs on the same samples, or replicate groups
             (analysis.comparison)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from analysis import report
from analysis.features import PatternRule
from analysis.ghosts import GhostRule
from analysis.intervals import IntervalSettings
from analysis.loader import AnalysisError, load_run
from analysis.tables import AnalysisSettings


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis", description="Reports, silencing experiments and "
                                "comparisons with intervals of recordings.")
    sub = p.add_subparsers(dest="command", required=True)
    report.add_parser(sub)
    _ablate_parser(sub)
    _compare_parser(sub)
    args = p.parse_args(argv)
    if args.command == "report":
        return report.run(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ablate(args) if args.command == "ablate" else compare(args)
    except (AnalysisError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _rules(sub_parser) -> None:
    sub_parser.add_argument("--ghost-method", choices=["ssim", "pearson"], default="ssim")
    sub_parser.add_argument("--ghost-threshold", type=float, default=0.8)
    sub_parser.add_argument("--level", type=float, default=0.95, help="confidence level of intervals (default 0.95)")
    sub_parser.add_argument("--resamples", type=int, default=9999, help="bootstrap resamples (default 9999)")
    sub_parser.add_argument("--seed", type=int, default=0, help="seed of resampling and random draws (default 0)")


def _settings(args) -> tuple[AnalysisSettings, IntervalSettings]:
    if not 0 < args.level < 1:
        raise AnalysisError(f"--level must be between 0 and 1, got {args.level}")
    if args.resamples < 100:
        raise AnalysisError(f"--resamples must be at least 100, got {args.resamples}")
    return (AnalysisSettings(PatternRule(), GhostRule(args.ghost_method, args.ghost_threshold)),
            IntervalSettings(args.level, args.resamples, args.seed))


def _ablate_parser(sub) -> None:
    a = sub.add_parser("ablate", help="silence channels of a recorded checkpoint and measure what it costs")
    a.add_argument("run", type=Path, help="a recording (its checkpoint and data are re-run)")
    a.add_argument("--checkpoint", type=Path, help="the recorded checkpoint (default: the file it names, beside it)")
    a.add_argument("--data", help="the recorded data (default: the source the recording names)")
    a.add_argument("--device", default="cpu", help="cpu (default), cuda, auto")
    a.add_argument("--layers", nargs="+", help="layers to choose channels from (index or path; default: conv layers)")
    a.add_argument("--select", nargs="+", default=[], metavar="SEL",
                   help="selections to silence, each on its own: noise, ghosts, rate:K, ptd:K, LAYER:c1,c2,...")
    a.add_argument("--random", type=int, default=5, help="random draws of the same counts per selection (default 5)")
    a.add_argument("--sweep", nargs="+", default=[], choices=["noise", "rate", "rate-low", "ptd", "random"],
                   help="orders to sweep (random: --random permutations)")
    a.add_argument("--step", type=int, default=4, help="channels added per sweep point (default 4)")
    a.add_argument("--max-channels", type=int, help="stop sweeps after this many channels")
    a.add_argument("--timestep", type=int, help="timestep of ghost groups (default T // 2)")
    a.add_argument("--name", default="ablation", help="result name: RUN.ablations/NAME.csv and .json")
    a.add_argument("--out", type=Path, help="folder for results (default RUN.ablations beside the recording)")
    a.add_argument("--no-progress", action="store_true")
    _rules(a)


def _selections(run, args, layers, settings) -> dict:
    from analysis import ablation as A  # noqa: PLC0415

    out, explicit = {}, {}
    t = run.T // 2 if args.timestep is None else args.timestep
    for text in args.select:
        kind, _, k = text.partition(":")
        if text == "noise":
            out["noise"] = A.noise_selection(run, layers, settings)
        elif text == "ghosts":
            if not 0 <= t < run.T:
                raise AnalysisError(f"--timestep {t} does not exist (T={run.T})")
            out["ghosts"] = A.ghost_selection(run, layers, t, settings)
        elif kind in A.ORDERS and k.isdigit():
            out[f"{kind} top {k}"] = A.top_selection(run, layers, kind, int(k), settings)
        else:
            for name, chans in A.parse_channels(run, text).items():
                explicit.setdefault(name, set()).update(chans)
    if explicit:
        out["channels"] = {n: sorted(c) for n, c in explicit.items()}
    return out


def ablate(args) -> int:
    from analysis import ablation as A  # noqa: PLC0415  (torch and the models load only for this command)

    settings, intervals = _settings(args)
    if not args.select and not args.sweep:
        raise AnalysisError("nothing to do: give --select (noise, ghosts, rate:K, ptd:K, LAYER:c1,c2) and/or --sweep")
    if args.random < 0:
        raise AnalysisError(f"--random must be >= 0, got {args.random}")
    if args.sweep and args.step < 1:  # before the model is loaded and re-run
        raise AnalysisError(f"--step must be at least 1, got {args.step}")
    run = load_run(args.run)
    layers = A.map_layers(run, args.layers)
    if not layers:
        raise AnalysisError(f"{run.name} has no conv layers with channel maps; choose layers with --layers")
    selections = _selections(run, args, layers, settings)
    print(f"re-running {run.name} ({run.n_samples} samples) ...", file=sys.stderr)
    exp = A.Experiment(run, args.checkpoint, args.data, args.device, settings, intervals)
    folder = args.out or A.results_dir(run.path)
    written = []
    with tqdm(desc="silencing", unit="pass", disable=args.no_progress) as bar:
        def progress(done, total):
            bar.total = total
            bar.n = done
            bar.refresh()

        if selections:
            table = A.silence_selections(exp, selections, args.random, args.seed, progress)
            info = A.provenance(exp, kind="selections", layers=layers, random_draws=args.random,
                                selections={k: v for k, v in selections.items()})
            written.append(A.save_results(table, info, folder, args.name))
            print(A.selection_summary(table).to_string(index=False))
        if args.sweep:
            curve = A.sweep(exp, layers, args.sweep, args.step, args.random, args.seed, args.max_channels, progress)
            info = A.provenance(exp, kind="sweep", layers=layers, orders=args.sweep, step=args.step,
                                random_draws=args.random, max_channels=args.max_channels)
            written.append(A.save_results(curve, info, folder, f"{args.name}_sweep"))
            free = A.free_spikes(curve)
            print("\nspikes removed at no accuracy loss the interval can show (per order; random: each draw):")
            print(A.free_spikes_summary(free).to_string(index=False))
    print(f"\nunsilenced: accuracy {exp.baseline.correct.mean():.4f}; {intervals.level:.0%} intervals over the "
          f"{run.n_samples} samples: accuracy exact on the discordant pairs (as McNemar's test), spikes and energy "
          "paired bootstrap")
    print("results: " + ", ".join(str(p) for p in written))
    return 0


def _compare_parser(sub) -> None:
    c = sub.add_parser("compare", help="changes between runs with intervals; replicate groups with mean ± sd")
    c.add_argument("runs", nargs="*", type=Path, help="recordings of the same samples; each compared with the first")
    c.add_argument("--group", nargs="+", action="append", metavar=("NAME", "RUN"),
                   help="a replicate group: its name, then its recordings (repeat per group)")
    c.add_argument("--by-condition", action="store_true",
                   help="group the positional runs by architecture and data (replicates differ only in seed)")
    c.add_argument("--out", type=Path, help="write the table as CSV here")
    _rules(c)


def compare(args) -> int:
    from analysis import comparison as C  # noqa: PLC0415

    settings, intervals = _settings(args)
    if args.group or args.by_condition:
        if args.group:
            groups = {}
            for spec in args.group:
                if len(spec) < 2:
                    raise AnalysisError(f"--group {spec[0]} needs recordings after its name")
                groups[spec[0]] = [load_run(p, name=f"{spec[0]}:{Path(p).stem}") for p in spec[1:]]
        else:
            groups = C.group_runs([load_run(p) for p in args.runs])
        table = C.replicate_table(groups, settings, intervals.level)
        shown = [c for c in table.columns if not c.endswith((" mean", " sd", " interval"))]
        print(table[shown].to_string(index=False))
        if len(table) > 1:
            print(f"\nchanges against {table.iloc[0]['group']} [{intervals.level:.0%} interval]: "
                  f"{table.iloc[-1]['accuracy change interval']}; accuracy in percentage points, NASFR and energy "
                  "relative; values: mean ± sd over the group's runs")
    else:
        if len(args.runs) < 2:
            raise AnalysisError("compare needs two or more runs (or --group NAME RUN ... per replicate group)")
        runs = [load_run(p) for p in args.runs]
        parts = []
        for other in runs[1:]:
            t = C.paired_comparison(runs[0], other, settings, intervals)
            t.insert(0, "comparison", f"{runs[0].name} -> {other.name}")
            parts.append(t)
        table = pd.concat(parts, ignore_index=True)
        print(table[["comparison", "measure", "first", "second", "cell", "p_value"]].to_string(
            index=False, formatters={"first": "{:.4g}".format, "second": "{:.4g}".format,
                                     "p_value": lambda v: "-" if v != v else f"{v:.3g}"}))
        methods = "; ".join(f"{m}: {i}" for m, i in table.drop_duplicates("kind").set_index("measure")["interval"].items())
        print(f"\ncells: change [interval]; accuracy in percentage points with McNemar's exact p, the rest relative; "
              f"{methods}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"table -> {args.out}")
    return 0
