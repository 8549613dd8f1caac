"""Comparisons with intervals: two runs on the same test samples (paired bootstrap and
McNemar), and groups of replicate runs (mean +/- sd per group, Welch intervals over seeds).

A table cell reads "-61% [-65, -57]": the change and its 95% interval; the `interval`
column names the interval."""

from __future__ import annotations

import json
import numpy as np
import pandas as pd

from analysis.intervals import (LEVEL, Interval, IntervalSettings, accuracy_difference, bootstrap, mcnemar_exact,
                                mean_sd, relative_change_of_means, welch_difference)
from analysis.loader import AnalysisError, Run, check_same_data
from analysis.samples import per_sample_measures
from analysis.tables import AnalysisSettings, energy_table, model_structure, run_summary


def _row(measure: str, a: float, b: float, interval: Interval, p_value: float = np.nan,
         kind: str = "relative change") -> dict:
    """A difference of shares shows in percentage points, a relative change in percent."""
    difference = kind == "difference"
    return {"measure": measure, "first": a, "second": b, "change": interval.estimate,
            "cell": interval.cell(percent=True, digits=1 if difference else 0, unit=" pp" if difference else None),
            "low": interval.low, "high": interval.high, "kind": kind, "interval": f"{interval.level:.0%} {interval.method}",
            "p_value": p_value}


def paired_comparison(a: Run, b: Run, settings: AnalysisSettings = AnalysisSettings(),
                      intervals: IntervalSettings = IntervalSettings()) -> pd.DataFrame:
    """Changes from run a to run b on the same samples, one row per measure: accuracy
    (difference, percentage points, with McNemar's exact p), NASFR, energy per sample and
    each layer's firing rate (relative changes). Intervals: accuracy exact on the discordant pairs,
    the rest paired bootstrap over samples."""
    check_same_data(a, b)
    if [l.info.name for l in a.layers] != [l.info.name for l in b.layers]:
        raise AnalysisError(f"{a.name} and {b.name} have different spiking layers; compare runs of one architecture")
    ma = per_sample_measures(a, energy_table(a, settings, model_structure(a)), settings.costs)
    mb = per_sample_measures(b, energy_table(b, settings, model_structure(b)), settings.costs)
    boot = dict(level=intervals.level, n_resamples=intervals.n_resamples, seed=intervals.seed)
    rows = []
    labelled = np.isfinite(ma["correct"])
    if labelled.any():
        ca, cb = ma["correct"][labelled], mb["correct"][labelled]
        test = mcnemar_exact(ca.astype(bool), cb.astype(bool))
        rows.append(_row("accuracy", ca.mean(), cb.mean(), accuracy_difference(ca, cb, intervals.level),
                         test.p_value, "difference"))
    for key, name in (("nasfr", "NASFR"), ("energy_uj", "energy per sample (µJ)")):
        rows.append(_row(name, ma[key].mean(), mb[key].mean(),
                         bootstrap(relative_change_of_means, ma[key], mb[key], **boot)))
    for i, layer in enumerate(a.layers):
        ra, rb = ma["layer_rate"][:, i], mb["layer_rate"][:, i]
        rows.append(_row(f"firing rate {layer.info.name}", ra.mean(), rb.mean(),
                         bootstrap(relative_change_of_means, ra, rb, **boot)))
    return pd.DataFrame(rows)


def condition_key(run: Run) -> str:
    """What makes runs replicates of one condition: architecture and its arguments, and the
    recorded data (source, split, T, dt, size, samples); the seed may differ."""
    data = {k: run.data.get(k) for k in ("source", "split", "T", "dt_ms", "size", "n_samples")}
    return json.dumps({"arch": run.model.get("arch"), "arch_args": run.model.get("arch_args"), "data": data},
                      sort_keys=True, default=str)


def group_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """Runs grouped by condition (condition_key), in first-seen order, each group named by
    its attention (e.g. 'none', 'asa1'; numbered when two conditions share one)."""
    groups: dict[str, list[Run]] = {}
    names: dict[str, str] = {}
    for run in runs:
        key = condition_key(run)
        if key not in names:
            base = str(run.model.get("arch_args", {}).get("attention", run.name))
            name, k = base, 2
            while name in groups:
                name, k = f"{base}_{k}", k + 1
            names[key] = name
            groups[name] = []
        groups[names[key]].append(run)
    return groups


def check_group(name: str, runs: list[Run]) -> None:
    """A group holds replicates: one architecture and arguments, recorded on the same data."""
    if not runs:
        raise AnalysisError(f"group {name} holds no runs")
    keys = {condition_key(r) for r in runs}
    if len(keys) > 1:
        raise AnalysisError(f"group {name} mixes conditions ({', '.join(r.name for r in runs)} differ in architecture or "
                            "recorded data); a group holds replicates of one condition")


MEASURES = (("accuracy", "accuracy", "difference"), ("nasfr", "NASFR", "relative change"),
            ("energy_uj", "energy per sample (µJ)", "relative change"))


def replicate_table(groups: dict[str, list[Run]], settings: AnalysisSettings = AnalysisSettings(),
                    level: float = LEVEL) -> pd.DataFrame:
    """Table 1 over replicates: per group and measure, the mean and sd over its runs
    ("0.912 ± 0.011"), and for every group after the first its change against the first
    with a Welch t interval over replicates."""
    for name, runs in groups.items():
        check_group(name, runs)
    first = next(iter(groups.values()))
    for runs in list(groups.values())[1:]:
        check_same_data(first[0], runs[0])
    summaries = {name: [run_summary(r, settings) for r in runs] for name, runs in groups.items()}
    base = summaries[next(iter(groups))]
    rows = []
    for name, rs in summaries.items():
        row = {"group": name, "runs": len(rs), "seeds": ", ".join(str(_seed(r)) for r in groups[name])}
        for key, label, kind in MEASURES:
            values = np.array([s[key] for s in rs])
            mean, sd = mean_sd(values)
            row[f"{label} mean"], row[f"{label} sd"] = mean, sd
            row[label] = f"{mean:.4g} ± {sd:.2g}"
            if rs is not base:
                interval = welch_difference([s[key] for s in base], values, level, relative=kind != "difference")
                row[f"{label} change"] = interval.cell(percent=True, digits=1 if kind == "difference" else 0,
                                                        unit=" pp" if kind == "difference" else None)
                row[f"{label} change interval"] = f"{interval.level:.0%} {interval.method}"
            else:
                row[f"{label} change"] = "-"
                row[f"{label} change interval"] = "-"
        rows.append(row)
    return pd.DataFrame(rows)


def _seed(run: Run) -> object:
    training = run.model.get("training")
    if isinstance(training, dict) and "seed" in training:
        return training["seed"]
    return run.model.get("seed", run.name)
