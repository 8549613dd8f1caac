"""`python -m analysis report RUN.h5 [--compare OTHER.h5] --out DIR`: every table and the
paper's Fig. 2, 5 and 6 for one run (or a vanilla and an ASA run), with an index."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from analysis import figures as F
from analysis.export import ExportError, write_figures, write_tables
from analysis.features import NOISE, NORMAL, PatternRule, channel_densities
from analysis.ghosts import GhostRule
from analysis.loader import AnalysisError, Run, load_run
from analysis.tables import (AnalysisSettings, channel_ptd, channel_table, channel_variance, energy_table,
                             firing_rate_matrix, ghosts, layer_foreground, layer_patterns, layer_table, table1,
                             table3, table4)


def pick_channels(run: Run, layer_key, settings: AnalysisSettings) -> dict[str, int]:
    """The most typical noise and normal channel of a layer (as the paper's Fig. 6 shows):
    the noise channel with the highest background/foreground firing ratio and the normal
    channel with the highest foreground/background ratio."""
    layer = run.layer(layer_key)
    patterns = layer_patterns(run, layer, settings)
    _, fg, bg = channel_densities(layer.nsfr, layer_foreground(run, layer, settings))
    eps = 1e-9
    out = {}
    for kind, score in ((NOISE, (bg + eps) / (fg + eps)), (NORMAL, (fg + eps) / (bg + eps))):
        candidates = np.flatnonzero(patterns == kind)
        if len(candidates):
            out[kind] = int(candidates[np.argmax(np.nan_to_num(score[candidates], nan=-np.inf))])
    return out


def fig6_panels(run: Run, layer_key, channels: dict[str, int], t: int, settings: AnalysisSettings) -> list[dict]:
    layer = run.layer(layer_key)
    patterns = layer_patterns(run, layer, settings)
    ptds, variances = channel_ptd(layer), channel_variance(layer)
    panels = []
    for _, c in sorted(channels.items()):
        run.channel(layer_key, c)
        panels.append({"label": f"{run.name} c{c}", "hist": layer.stats["hist"][:, c].sum(axis=0),
                       "edges": layer.info.hist_edges, "v_threshold": layer.info.v_threshold, "ptd": float(ptds[c]),
                       "variance": float(variances[c]), "feature": layer.nsfr[t, c], "pattern": str(patterns[c])})
    return panels


def build_report(run: Run, other: Run | None, layer_key, t: int | None, settings: AnalysisSettings,
                 channels: tuple[list[int] | None, list[int] | None] = (None, None)):
    """(tables, figures) of a report; pure apart from reading the loaded runs."""
    t = run.T // 2 if t is None else t
    if not 0 <= t < run.T:
        raise AnalysisError(f"timestep {t} does not exist (T={run.T})")
    runs = [run] + ([other] if other else [])
    tables = {f"layers_{r.name}": layer_table(r, settings, t) for r in runs}
    tables.update({f"channels_{r.name}_{r.layer(layer_key).info.name}": channel_table(r, layer_key, settings) for r in runs})
    tables.update({f"energy_{r.name}": energy_table(r, settings) for r in runs})
    tables["table1"] = table1(runs, settings)
    if other:
        tables["table3"] = table3(run, other, settings)
        tables["table4"] = table4(run, other)
    figs = {}
    for r, tag in zip(runs, ("fig2", "fig5")):
        layer = r.layer(layer_key)
        patterns = layer_patterns(r, layer, settings)
        figs[f"{tag}a_{r.name}"] = F.make_spike_features_figure(
            layer.nsfr[t], patterns, title=f"{r.name}: spike features of {layer.info.name} at t={t}")
        busiest = int(np.argmax(layer.nsfr.mean(axis=(0, 2, 3))))
        figs[f"{tag}b_{r.name}"] = F.make_channel_timesteps_figure(
            layer.nsfr[:, busiest], busiest, f"{r.name}: channel {busiest} of {layer.info.name} across timesteps")
        figs[f"ptd_variance_{r.name}"] = F.make_ptd_variance_figure(
            channel_ptd(layer), channel_variance(layer), patterns, f"{r.name}: PTD vs variance, {layer.info.name}")
        g = ghosts(r, layer_key, t, settings.ghost)
        figs[f"ghosts_{r.name}"] = F.make_ghost_heatmap_figure(
            g["similarity"], g["groups"], settings.ghost.method, settings.ghost.threshold,
            f"{r.name}: {layer.info.name} at t={t}, ghost ratio {g['ratio']:.2f}")
    figs["firing_rates"] = F.make_firing_rate_figure(
        firing_rate_matrix(run), [l.info.name for l in run.layers], run_names=[r.name for r in runs],
        more=[firing_rate_matrix(other)] if other else None)
    panels = []
    for r, chosen in zip(runs, channels):
        picked = {f"c{c}": c for c in chosen} if chosen else pick_channels(r, layer_key, settings)
        panels += fig6_panels(r, layer_key, picked, t, settings)
    if panels:
        figs["fig6"] = F.make_fig6_figure(panels, f"MPD and spike features, {run.layer(layer_key).info.name}"
                                                  + (f": {run.name} vs {other.name}" if other else ""))
    return tables, figs


def write_index(out: Path, runs: list[Run], tables: dict, figs: dict, settings: AnalysisSettings, notes: list[str]) -> Path:
    lines = ["# SNN redundancy report", ""]
    lines += [f"> **Warning:** {n}" for n in notes] + ([""] if notes else [])
    for r in runs:
        lines.append(f"- **{r.name}**: `{r.path}` ({r.n_samples} samples, T={r.T}, accuracy {r.accuracy:.4f}, "
                     f"{'complete' if r.complete else 'INCOMPLETE'}); model: {r.model_description}")
    p = settings.pattern
    lines += ["", "Rules: foreground = input event rate >= "
              f"{p.foreground_level} x its maximum; null = firing rate < {p.null_rate}; noise = background firing "
              f"density >= {p.noise_ratio} x foreground; ghosts = {settings.ghost.method} >= {settings.ghost.threshold}; "
              f"energy E_MAC = {settings.costs.mac_pj} pJ, E_AC = {settings.costs.ac_pj} pJ.", "", "## Tables", ""]
    for name, table in tables.items():
        lines.append(f"- {name}: [CSV](tables/{name}.csv) · [LaTeX](tables/{name}.tex)")
    lines += ["", "## Figures", ""]
    for name in figs:
        lines.append(f"- {name}: [PNG](figures/{name}.png) · [SVG](figures/{name}.svg) · [PDF](figures/{name}.pdf)")
        lines.append(f"  ![{name}](figures/{name}.png)")
    path = out / "index.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis", description="Reports of recordings.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="write every table and Fig. 2/5/6 into a folder")
    r.add_argument("run", type=Path)
    r.add_argument("--compare", type=Path, help="a second recording of the same data (e.g. the ASA model)")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--layer", default="0", help="layer (index or module path) for Fig. 2/5/6 (default 0)")
    r.add_argument("--timestep", type=int, help="timestep for spike features and ghosts (default T // 2)")
    r.add_argument("--channels", type=int, nargs="+", help="Fig. 6 channels of the first run (default: picked)")
    r.add_argument("--compare-channels", type=int, nargs="+", help="Fig. 6 channels of the second run")
    r.add_argument("--ghost-method", choices=["ssim", "pearson"], default="ssim")
    r.add_argument("--ghost-threshold", type=float, default=0.8)
    r.add_argument("--strict", action="store_true", help="refuse incomplete recordings")
    r.add_argument("--formats", nargs="+", default=["png", "svg", "pdf"], choices=["png", "svg", "pdf"])
    r.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    settings = AnalysisSettings(PatternRule(), GhostRule(args.ghost_method, args.ghost_threshold))
    layer = int(args.layer) if args.layer.isdigit() else args.layer
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = load_run(args.run, strict=args.strict)
            other = load_run(args.compare, strict=args.strict) if args.compare else None
        if other is not None and other.name == run.name:
            other.name = other.name + "_2"
        notes = run.warnings + (other.warnings if other else [])
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        with tqdm(total=3, desc="report", disable=args.no_progress) as bar:
            tables, figs = build_report(run, other, layer, args.timestep, settings,
                                        (args.channels, args.compare_channels))
            bar.update(1)
            write_tables(tables, args.out / "tables")
            bar.update(1)
            write_figures(figs, args.out / "figures", args.formats)
            bar.update(1)
        index = write_index(args.out, [run] + ([other] if other else []), tables, figs, settings, notes)
    except (AnalysisError, ExportError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {len(tables)} tables, {len(figs)} figures -> {index}")
    return 0
