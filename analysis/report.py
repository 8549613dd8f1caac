"""`python -m analysis report RUN.h5 [--compare OTHER.h5] --out DIR`: every table and the
paper's Fig. 2, 5 and 6 for one run (or a vanilla and an ASA run), with an index."""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from analysis import figures as F
from analysis.comparison import paired_comparison, replicate_table
from analysis.export import ExportError, footer_text, journal_size, with_footer, write_figures, write_tables
from analysis.features import NULL, PatternRule
from analysis.ghosts import GhostRule
from analysis.loader import AnalysisError, Run, load_run
from analysis.provenance import describe
from analysis.tables import (AnalysisSettings, channel_ptd, channel_table, channel_variance, energy_table,
                             firing_rate_matrix, ghosts, layer_patterns, layer_table, pattern_table,
                             table1, table3, table4)

CAPTIONS = {
    "table1": "Accuracy, NASFR and energy per sample of each run; changes against the first run (cf. Table 1 of "
              "Yao et al., ICCV 2023)",
    "table3": "Attention modules: extra parameters, change in MACs against the first run, accuracy, NASFR and energy "
              "per sample (cf. Table 3 of Yao et al.)",
    "table4": "Quantization error per spiking layer and of the model, and its relative change (cf. Table 4 of Yao et al.)",
    "intervals": "Changes from the first run to the second on the same samples: accuracy (percentage points, McNemar's "
                 "exact p and the exact interval of its discordant pairs), NASFR, energy and firing per layer "
                 "(relative, 95% paired bootstrap intervals)",
    "table1_replicates": "Table 1 over replicates: accuracy, NASFR and energy per sample as mean ± sd over each "
                         "group's runs (e.g. seeds), and each group's change against the first with a 95% Welch t "
                         "interval over the runs",
    "pattern_counts": "Noise, normal and null channels (patterns over all timesteps), median PTD and mean variance per "
                      "layer of two runs",
}


PATTERN_QUANTILES = (0.1, 0.37, 0.63, 0.9)


def pick_patterns(run: Run, layer_key, settings: AnalysisSettings, quantiles=PATTERN_QUANTILES) -> list[int]:
    """Fig. 6's patterns A, B, C, D of a layer, by a fixed rule: among the channels that fire
    (not null), ordered by PTD (ties by variance, then channel), the channels at the given
    quantiles of that order, so A has a low PTD and D a high one. Fewer when fewer fire."""
    layer = run.layer(layer_key)
    patterns = layer_patterns(run, layer, settings)
    ptds, variances = channel_ptd(layer), channel_variance(layer)
    firing = [c for c in range(len(patterns)) if patterns[c] != NULL and np.isfinite(ptds[c])]
    if not firing:
        return []
    ordered = sorted(firing, key=lambda c: (ptds[c], variances[c], c))
    picks = [ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] for q in quantiles]
    return list(dict.fromkeys(picks))


def fig6_panels(run: Run, layer_key, channels: list[int], t: int, settings: AnalysisSettings) -> list[dict]:
    """The Fig. 6 panel of each channel: its MPD over all timesteps, PTD, variance, pattern
    and its spike feature at timestep t."""
    layer = run.layer(layer_key)
    patterns = layer_patterns(run, layer, settings)
    ptds, variances = channel_ptd(layer), channel_variance(layer)
    panels = []
    for c in channels:
        run.channel(layer_key, c)
        panels.append({"label": f"c{c}", "hist": layer.stats["hist"][:, c].sum(axis=0), "channel": c,
                       "edges": layer.info.hist_edges, "v_threshold": layer.info.v_threshold, "ptd": float(ptds[c]),
                       "variance": float(variances[c]), "feature": layer.nsfr[t, c], "pattern": str(patterns[c])})
    return panels


def build_report(run: Run, other: Run | None, layer_key, t: int | None, settings: AnalysisSettings,
                 channels: tuple[list[int] | None, list[int] | None] = (None, None), feature_channel: int | None = None,
                 fig6_per_row: int | None = None):
    """(tables, figures) of a report; pure apart from reading the loaded runs. channels: Fig.
    6's channels per run (default: pick_patterns); feature_channel: Fig. 2b/5b's channel
    (default: the layer's busiest of the first run, the same for both runs)."""
    t = run.T // 2 if t is None else t
    if not 0 <= t < run.T:
        raise AnalysisError(f"timestep {t} does not exist (T={run.T})")
    runs = [run] + ([other] if other else [])
    tables = {f"layers_{r.name}": layer_table(r, settings, t) for r in runs}
    tables.update({f"channels_{r.name}_{r.layer(layer_key).info.name}": channel_table(r, layer_key, settings) for r in runs})
    tables.update({f"energy_{r.name}": energy_table(r, settings) for r in runs})
    tables["table1"] = table1(runs, settings)
    tables["table3"] = table3(runs, settings)
    if other:
        tables["table4"] = table4(run, other)
        tables["pattern_counts"] = pattern_table(run, other, settings)
    figs = {}
    where = f"L{run.layer(layer_key).info.index}"
    for r, tag in zip(runs, ("fig2", "fig5")):
        layer = r.layer(layer_key)
        patterns = layer_patterns(r, layer, settings)
        figs[f"{tag}a_{r.name}_{where}_t{t}"] = F.with_letter(F.make_spike_features_figure(
            layer.nsfr[t], patterns, title=f"{r.name}: spike features of {layer.info.name} at t={t}"), "a")
        if feature_channel is None:
            feature_channel = int(np.argmax(layer.nsfr.mean(axis=(0, 2, 3))))
        c = r.channel(layer_key, feature_channel)
        figs[f"{tag}b_{r.name}_{where}_c{c}"] = F.with_letter(F.make_channel_timesteps_figure(
            layer.nsfr[:, c], c, f"{r.name}: channel {c} of {layer.info.name} across timesteps"), "b")
        figs[f"ptd_variance_{r.name}_{where}"] = F.make_ptd_variance_figure(
            channel_ptd(layer), channel_variance(layer), patterns, f"{r.name}: PTD vs variance, {layer.info.name}")
        g = ghosts(r, layer_key, t, settings.ghost)
        figs[f"ghosts_{r.name}_{where}_t{t}"] = F.make_ghost_heatmap_figure(
            g["similarity"], g["groups"], settings.ghost.method, settings.ghost.threshold,
            f"{r.name}: {layer.info.name} at t={t}, ghost ratio {g['ratio']:.2f}")
    if other:
        figs[f"fig5_{run.name}_vs_{other.name}_{where}_t{t}"] = F.make_feature_pair_figure(
            [r.layer(layer_key).nsfr[t] for r in runs], [r.name for r in runs],
            f"Spike features of {run.layer(layer_key).info.name} at t={t}")
    figs["firing_rates"] = F.make_firing_rate_figure(
        firing_rate_matrix(run), [l.info.name for l in run.layers], run_names=[r.name for r in runs],
        more=[firing_rate_matrix(other)] if other else None)
    rows = [fig6_panels(r, layer_key, list(chosen) if chosen else pick_patterns(r, layer_key, settings), t, settings)
            for r, chosen in zip(runs, channels)]
    if any(rows):
        figs[f"fig6_{'_vs_'.join(r.name for r in runs)}_{where}_t{t}"] = F.make_fig6_figure(
            [row for row in rows if row], [r.name for r, row in zip(runs, rows) if row],
            f"MPD and spike features of {run.layer(layer_key).info.name} at t={t}", fig6_per_row)
    if other:
        tables["intervals"] = paired_comparison(run, other, settings).drop(columns=["low", "high"])
    from analysis.ablation import free_spikes, load_results, results_dir  # torch: not for the pages that pick patterns

    for r in runs:
        for name, (table, _) in load_results(results_dir(r.path)).items():
            tables[f"ablation_{r.name}_{name}"] = table
            if "order" in table.columns:
                tables[f"free_{r.name}_{name}"] = free_spikes(table)
                figs[f"sweep_{r.name}_{name}"] = F.make_sweep_figure(table, f"{r.name}: accuracy as channels are "
                                                                            "silenced")
    return tables, figs


def captions(tables: dict) -> dict[str, str]:
    """A caption for every table of a report."""
    out = {}
    for name in tables:
        kind, _, rest = name.partition("_")
        out[name] = CAPTIONS.get(name) or {
            "layers": f"Per spiking layer of run {rest}: firing, patterns, PTD, variance, QE and ghosts",
            "channels": f"Per channel of {rest}: firing rate, pattern, PTD and variance",
            "energy": f"Operations and energy per synaptic layer and attention module of run {rest}",
            "ablation": f"Silencing experiment {rest} (python -m analysis ablate): accuracy, spikes, NASFR and energy "
                        "against the unsilenced model, with 95% intervals (accuracy exact, as McNemar's test; the "
                        "rest paired bootstrap)",
            "free": f"Spikes removed by sweep {rest} before the accuracy change's interval lies wholly below 0"
            }.get(kind, name)
    return out


def write_report(out: Path, run: Run, other: Run | None, layer_key, t: int | None, settings: AnalysisSettings,
                 channels=(None, None), formats=("png", "svg", "pdf"), dpi: int = 300, zip_it: bool = False,
                 progress=None, size: str | float | None = None, height_in: float | None = None,
                 feature_channel: int | None = None, footer: bool = False,
                 groups: dict[str, list[Run]] | None = None) -> Path:
    """Every table and figure of build_report into `out` (tables/, figures/, index.md), each
    file with its provenance; figures at a journal `size` (see analysis.export.journal_size)
    when given; with zip_it also `out`.zip holding all of it; with replicate `groups` also
    Table 1 over them (analysis.comparison.replicate_table). Returns the index (or the zip)."""
    tables, figs = build_report(run, other, layer_key, t, settings, channels, feature_channel,
                                fig6_per_row=2 if size == "column" else None)
    if groups:
        tables["table1_replicates"] = replicate_table(groups, settings)
    if size is not None:
        figs = {name: journal_size(fig, size, height_in) for name, fig in figs.items()}
    runs = [run] + ([other] if other else [])
    lines = describe(runs, settings)
    if footer:
        figs = {name: with_footer(fig, footer_text(lines)) for name, fig in figs.items()}
    if progress:
        progress()
    write_tables(tables, out / "tables", provenance=lines, captions=captions(tables))
    if progress:
        progress()
    write_figures(figs, out / "figures", formats, lines, dpi)
    if progress:
        progress()
    index = write_index(out, runs, tables, figs, settings, run.warnings + (other.warnings if other else []), formats,
                        lines)
    if not zip_it:
        return index
    return Path(shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name))


def write_index(out: Path, runs: list[Run], tables: dict, figs: dict, settings: AnalysisSettings, notes: list[str],
                formats=("png", "svg", "pdf"), provenance: list[str] = ()) -> Path:
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
        lines.append(f"- {name}: " + " · ".join(f"[{fmt.upper()}](figures/{name}.{fmt})" for fmt in formats))
        if "png" in formats:
            lines.append(f"  ![{name}](figures/{name}.png)")
    lines += ["", "## Provenance", ""] + [f"- {p}" for p in provenance]
    path = out / "index.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _size(text: str | None) -> str | float | None:
    if text is None or text in ("column", "page"):
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"--size {text!r}: choose column, page or a width in inches") from None


def main(argv: list[str] | None = None) -> int:
    """`python -m analysis ...` (every subcommand: see analysis.cli)."""
    from analysis.cli import main as cli_main  # noqa: PLC0415  (cli imports this module)

    return cli_main(argv)


def add_parser(sub) -> None:
    r = sub.add_parser("report", help="write every table and Fig. 2/5/6 into a folder")
    r.add_argument("run", type=Path)
    r.add_argument("--compare", type=Path, help="a second recording of the same data (e.g. the ASA model)")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--layer", default="0", help="layer (index or module path) for Fig. 2/5/6 (default 0)")
    r.add_argument("--timestep", type=int, help="timestep for spike features and ghosts (default T // 2)")
    r.add_argument("--channels", type=int, nargs="+",
                   help="Fig. 6 channels of the first run (default: patterns A-D picked by PTD, see pick_patterns)")
    r.add_argument("--compare-channels", type=int, nargs="+", help="Fig. 6 channels of the second run")
    r.add_argument("--feature-channel", type=int, help="Fig. 2b/5b channel (default: the layer's busiest)")
    r.add_argument("--ghost-method", choices=["ssim", "pearson"], default="ssim")
    r.add_argument("--ghost-threshold", type=float, default=0.8)
    r.add_argument("--strict", action="store_true", help="refuse incomplete recordings")
    r.add_argument("--formats", nargs="+", default=["png", "svg", "pdf"], choices=["png", "svg", "pdf"])
    r.add_argument("--dpi", type=int, default=300, help="PNG resolution, stored in the file (default 300)")
    r.add_argument("--zip", action="store_true", help="also pack the report into OUT.zip")
    r.add_argument("--size", help="figure width for print: column (3.3 in), page (6.9 in) or inches (default: screen)")
    r.add_argument("--height", type=float, help="figure height in inches with --size (default: the figure's aspect)")
    r.add_argument("--footer", action="store_true", help="print a provenance line under every figure")
    r.add_argument("--group", nargs="+", action="append", metavar=("NAME", "RUN"),
                   help="a replicate group (its name, then its recordings; repeat per group): adds Table 1 over "
                        "replicates, mean ± sd and Welch intervals over seeds")
    r.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    settings = AnalysisSettings(PatternRule(), GhostRule(args.ghost_method, args.ghost_threshold))
    layer = int(args.layer) if args.layer.isdigit() else args.layer
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            run = load_run(args.run, strict=args.strict)
            other = load_run(args.compare, strict=args.strict) if args.compare else None
            groups = {}
            for spec in args.group or []:
                if len(spec) < 2:
                    raise AnalysisError(f"--group {spec[0]} needs recordings after its name")
                groups[spec[0]] = [load_run(p, strict=args.strict, name=f"{spec[0]}:{Path(p).stem}") for p in spec[1:]]
        if other is not None and other.name == run.name:
            other.name = other.name + "_2"
        notes = run.warnings + (other.warnings if other else [])
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        with tqdm(total=3, desc="report", disable=args.no_progress) as bar:
            written = write_report(args.out, run, other, layer, args.timestep, settings,
                                   (args.channels, args.compare_channels), tuple(args.formats), args.dpi, args.zip,
                                   progress=lambda: bar.update(1), size=_size(args.size), height_in=args.height,
                                   feature_channel=args.feature_channel, footer=args.footer, groups=groups)
    except (AnalysisError, ExportError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n_tables = len(list((args.out / "tables").glob("*.csv")))
    n_figs = len(list((args.out / "figures").glob(f"*.{args.formats[0]}")))
    print(f"report: {n_tables} tables, {n_figs} figures -> {written}")
    return 0
