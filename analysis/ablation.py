"""What the redundancy is worth: re-run a recorded checkpoint on the recording's own samples
with chosen channels silenced (recorder.silence), and measure accuracy, spikes, NASFR and
energy against the unsilenced model, with paired intervals.

Selections are {layer module path: [channels]}. They come from a recording (its noise
channels by the pattern rule, all but the busiest channel of each ghost group, the top
channels by firing rate or PTD), from explicit lists, or at random with the same count per
layer (the control). A sweep silences channels in an order, `step` at a time.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader

from analysis.features import NOISE
from analysis.firing import relative_change
from analysis.intervals import (Interval, IntervalSettings, accuracy_difference, bootstrap, mcnemar_exact,
                                relative_change_of_means)
from analysis.loader import AnalysisError, Run
from analysis.samples import split_energy_uj
from analysis.tables import (AnalysisSettings, channel_ptd, energy_from_counts, ghosts, layer_patterns,
                             model_structure)
from models import TOOL_VERSION
from models.checkpoint import file_sha256

Selection = dict[str, list[int]]
ORDERS = ("noise", "rate", "rate-low", "ptd")
MAX_CACHED_BYTES = 1 << 30


@dataclass(frozen=True)
class Evaluation:
    """One pass over the samples: labels and predictions [N]; spikes [N, L] each sample
    sent from each spiking layer after silencing; counts: per layer, spikes summed over
    samples [T, C, ...] (what energy needs)."""

    labels: np.ndarray
    predictions: np.ndarray
    spikes: np.ndarray
    counts: dict[str, np.ndarray] = field(repr=False)

    @property
    def correct(self) -> np.ndarray:
        return (self.labels == self.predictions).astype(np.float64)


def _record_settings(run: Run, checkpoint: Path, data: str | None, device: str):
    from recorder.api import RecordSettings  # noqa: PLC0415  (the recorder's data path, loaded when an experiment runs)

    d = run.data
    windows = d.get("windows") or {}
    split = {None: "all", "held-out": "test"}.get(d.get("split"), d.get("split"))
    return RecordSettings(
        checkpoint=checkpoint, data=data or str(d.get("source")), out=run.path, split=split,
        window_ms=windows.get("window_ms"), stride_ms=windows.get("stride_ms"), T=run.T, dt_ms=d.get("dt_ms"),
        size=tuple(d["size"]) if d.get("size") else None,
        sensor_size=tuple(d["sensor_size"]) if d.get("sensor_size") and d.get("source") != "synthetic" else None,
        classes=run.model.get("arch_args", {}).get("num_classes"), asa_mask=run.model.get("asa_mask_mode"),
        synthetic_per_class=int(d.get("per_class", 20)), synthetic_seed=int(d.get("seed", 1)),
        batch_size=int(run.model.get("batch_size", 32)), device=device)


def find_checkpoint(run: Run) -> Path:
    """The checkpoint a recording names, beside it or in a checkpoints/ folder beside it
    (where the dashboard keeps uploads); the first candidate when neither exists."""
    name = Path(str(run.model.get("checkpoint", ""))).name
    candidates = [run.path.parent / name, run.path.parent / "checkpoints" / name]
    return next((c for c in candidates if name and c.is_file()), candidates[0])


class Experiment:
    """A recording's checkpoint on the recording's samples, ready to be re-run with channels
    silenced. checkpoint: default the file the recording names, beside it; data: default
    the recording's data source. The unsilenced pass must reproduce the recording's
    predictions and per-sample spikes exactly, else the checkpoint or data is not the one
    recorded and AnalysisError says so."""

    def __init__(self, run: Run, checkpoint: str | Path | None = None, data: str | None = None, device: str = "cpu",
                 settings: AnalysisSettings = AnalysisSettings(), intervals: IntervalSettings = IntervalSettings()):
        from recorder.api import Indexed, frame_settings, load_data, load_model  # noqa: PLC0415
        from recorder.adapters import RecorderError  # noqa: PLC0415

        self.run, self.settings, self.intervals = run, settings, intervals
        path = Path(checkpoint) if checkpoint else find_checkpoint(run)
        if not path.is_file():
            raise AnalysisError(f"checkpoint {path} not found; give the checkpoint {run.name} was recorded with "
                                "(--checkpoint)")
        expected = run.model.get("checkpoint_sha256")
        if expected and file_sha256(path) != expected:
            raise AnalysisError(f"{path.name} is not the checkpoint {run.name} recorded (SHA-256 differs); give that file")
        self.checkpoint = path
        try:
            rs = _record_settings(run, path, data, device)
            loaded = load_model(rs)
            frames = frame_settings(rs, loaded.model, loaded.frames)
            dataset, labels, _ = load_data(rs, frames, loaded.meta.get("data"))
            from models.base import resolve_device  # noqa: PLC0415
            self.device = resolve_device(device)
        except (RecorderError, ValueError, OSError) as exc:
            raise AnalysisError(f"cannot re-run {run.name}: {exc}") from None
        indices = [int(i) for i in run.sample_indices]
        if indices and max(indices) >= len(dataset):
            raise AnalysisError(f"the data has {len(dataset)} samples but {run.name} recorded index {max(indices)}; "
                                "give the data it was recorded on (--data)")
        if not np.array_equal(np.asarray(labels)[indices], run.labels[: len(indices)]):
            raise AnalysisError(f"the labels of the data differ from those {run.name} recorded; give the data it was "
                                "recorded on (--data)")
        self.model = loaded.model.to(self.device).eval()
        self.data_source = rs.data
        self.layer_names = [layer.info.name for layer in run.layers]
        self.neurons = np.array([layer.info.neurons for layer in run.layers], np.float64)
        self.shapes = {layer.info.name: tuple(layer.info.shape) for layer in run.layers}  # FC layers: (C, 1, 1)
        self.structure = model_structure(run)
        loader = DataLoader(Indexed(dataset, indices), batch_size=rs.batch_size)
        sample_bytes = 4 * int(np.prod(dataset[indices[0]][0].shape)) if indices else 0
        self._batches = [(x.transpose(0, 1), y) for x, y, _ in loader] \
            if sample_bytes * len(indices) <= MAX_CACHED_BYTES else None
        self._loader = loader
        self.baseline = self.evaluate({})
        self._check_baseline()
        self._baseline_energy = self.per_sample_energy_uj(self.baseline)

    def _check_baseline(self) -> None:
        from recorder.reader import open_recording  # noqa: PLC0415

        with open_recording(self.run.path) as rec:
            predictions = rec.predictions()[: self.run.n_samples]
            spikes = rec.sample_spike_counts()[: self.run.n_samples].sum(axis=2)
        wrong = int((predictions != self.baseline.predictions).sum())
        if wrong:
            raise AnalysisError(f"the unsilenced model predicts differently from the recording on {wrong} of "
                                f"{len(predictions)} samples; re-run with the checkpoint, data and device it was "
                                "recorded with")
        if not np.array_equal(spikes, self.baseline.spikes):
            raise AnalysisError("the unsilenced model's spikes differ from the recording's; re-run with the "
                                "checkpoint, data and device it was recorded with")

    def batches(self):
        if self._batches is not None:
            yield from self._batches
        else:
            for x, y, _ in self._loader:
                yield x.transpose(0, 1), y

    def evaluate(self, silenced: Selection) -> Evaluation:
        """Run every sample with `silenced` channels cut (Silence hooks; nothing else changes)."""
        from recorder.adapters import RecorderError  # noqa: PLC0415
        from recorder.silence import Silence  # noqa: PLC0415

        labels, predictions, spikes = [], [], []
        counts: dict[str, np.ndarray] = {}
        try:
            with Silence(self.model, silenced) as silence, torch.no_grad():
                for x, y in self.batches():
                    out = self.model(x.to(self.device))  # a ZooModel clears its neuron states first
                    got = silence.take()
                    missing = [n for n in self.layer_names if n not in got]
                    if missing:
                        raise AnalysisError(f"layers {missing} of the recording did not fire in the model; the "
                                            "checkpoint does not match the recording")
                    spikes.append(np.stack([got[n][0] for n in self.layer_names], axis=1))
                    for n in self.layer_names:
                        c = got[n][1].reshape((-1,) + self.shapes[n])  # [T, C, H, W] as the recording stores it
                        counts[n] = counts[n] + c if n in counts else c
                    labels.append(y.numpy())
                    predictions.append(out.argmax(1).cpu().numpy())
        except RecorderError as exc:
            raise AnalysisError(str(exc)) from None
        return Evaluation(np.concatenate(labels), np.concatenate(predictions), np.concatenate(spikes), counts)

    def energy_uj(self, ev: Evaluation) -> float:
        table = energy_from_counts(self.structure, ev.counts, len(ev.labels), self.run.T, self.settings.costs)
        return float(table["energy_pj"].sum()) / 1e6

    def per_sample_energy_uj(self, ev: Evaluation) -> np.ndarray:
        """Energy of each sample (see analysis.samples.split_energy_uj for the split)."""
        table = energy_from_counts(self.structure, ev.counts, len(ev.labels), self.run.T, self.settings.costs)
        return split_energy_uj(ev.spikes, self.layer_names, table, self.settings.costs)

    def measure(self, silenced: Selection, **labels) -> dict:
        """One result row: what was silenced, accuracy, spikes, NASFR and energy, and their
        changes against the unsilenced model with paired intervals (McNemar for accuracy)."""
        ev = self.evaluate(silenced) if any(silenced.values()) else self.baseline
        base, iv = self.baseline, self.intervals
        boot = dict(level=iv.level, n_resamples=iv.n_resamples, seed=iv.seed)
        acc = accuracy_difference(base.correct, ev.correct, iv.level)
        total_base, total = base.spikes.sum(axis=1), ev.spikes.sum(axis=1)
        removed = bootstrap(lambda a, b, axis=-1: -relative_change_of_means(a, b, axis), total_base, total, **boot)
        energy_base, energy = self._baseline_energy, self.per_sample_energy_uj(ev)
        de = bootstrap(relative_change_of_means, energy_base, energy, **boot)
        nasfr = float(total.sum() / (self.neurons.sum() * self.run.T * len(total)))
        base_nasfr = float(total_base.sum() / (self.neurons.sum() * self.run.T * len(total)))
        return {**labels, "channels_silenced": sum(len(v) for v in silenced.values()),
                "accuracy": float(ev.correct.mean()), "accuracy_change": acc.estimate,
                "accuracy_change_low": acc.low, "accuracy_change_high": acc.high,
                "mcnemar_p": mcnemar_exact(base.correct.astype(bool), ev.correct.astype(bool)).p_value,
                "spikes_removed": removed.estimate, "spikes_removed_low": removed.low,
                "spikes_removed_high": removed.high, "nasfr": nasfr, "nasfr_change": relative_change(base_nasfr, nasfr),
                "energy_uj": float(energy.mean()), "energy_change": de.estimate, "energy_change_low": de.low,
                "energy_change_high": de.high,
                "silenced": json.dumps({k: v for k, v in silenced.items() if v}, sort_keys=True)}


# --- selections ------------------------------------------------------------------------------


def map_layers(run: Run, layers: list[str] | None = None) -> list[str]:
    """The layers a selection may use: those given (indices or paths), default every layer
    with a spatial map (channels of conv layers; FC neurons are not channels)."""
    if layers:
        return [run.layer(int(k) if str(k).isdigit() else k).info.name for k in layers]
    return [l.info.name for l in run.layers if len(l.info.shape) == 3 and l.info.shape[1] * l.info.shape[2] > 1]


def noise_selection(run: Run, layers: list[str], settings: AnalysisSettings = AnalysisSettings()) -> Selection:
    """The noise channels of each layer (patterns over all timesteps, settings.pattern)."""
    return {n: [int(c) for c in np.flatnonzero(layer_patterns(run, run.layer(n), settings) == NOISE)] for n in layers}


def ghost_selection(run: Run, layers: list[str], t: int, settings: AnalysisSettings = AnalysisSettings()) -> Selection:
    """All but the busiest channel of each ghost group at timestep t (settings.ghost)."""
    out = {}
    for n in layers:
        rate = run.layer(n).nsfr.mean(axis=tuple(i for i in range(run.layer(n).nsfr.ndim) if i != 1))
        groups = ghosts(run, n, t, settings.ghost)["groups"]
        out[n] = sorted(int(c) for g in groups for c in sorted(g, key=lambda c: -rate[c])[1:])
    return out


def channel_rates(run: Run, name: str) -> np.ndarray:
    """Spikes per sample of each channel of a layer [C] (over timesteps and positions)."""
    count = run.layer(name).stats["spike_count"]
    return np.asarray(count, np.float64).sum(axis=tuple(i for i in range(count.ndim) if i != 1)) / run.n_samples


def order_channels(run: Run, layers: list[str], by: str, settings: AnalysisSettings = AnalysisSettings()
                   ) -> list[tuple[str, int]]:
    """Every channel of the layers in a silencing order: 'rate' (most spikes per sample
    first), 'rate-low' (fewest first), 'ptd' (MPD peak closest to the threshold first) or
    'noise' (noise channels first, then the rest; each part most spikes first)."""
    if by not in ORDERS:
        raise AnalysisError(f"unknown order '{by}'; choose one of {', '.join(ORDERS)} (or random)")
    items = []
    for n in layers:
        rate = channel_rates(run, n)
        ptds = channel_ptd(run.layer(n))
        noise = layer_patterns(run, run.layer(n), settings) == NOISE
        for c in range(len(rate)):
            key = {"rate": (-rate[c],), "rate-low": (rate[c],),
                   "ptd": (ptds[c] if math.isfinite(ptds[c]) else math.inf, -rate[c]),
                   "noise": (0 if noise[c] else 1, -rate[c])}[by]
            items.append((key, n, c))
    items.sort(key=lambda item: (item[0], item[1], item[2]))
    return [(n, int(c)) for _, n, c in items]


def top_selection(run: Run, layers: list[str], by: str, k: int, settings: AnalysisSettings = AnalysisSettings()
                  ) -> Selection:
    """The first k channels of order_channels(by)."""
    return as_selection(order_channels(run, layers, by, settings)[:k], layers)


def as_selection(pairs: list[tuple[str, int]], layers: list[str]) -> Selection:
    out: Selection = {n: [] for n in layers}
    for n, c in pairs:
        out.setdefault(n, []).append(int(c))
    return {n: sorted(v) for n, v in out.items()}


def random_like(run: Run, selection: Selection, draws: int, seed: int = 0) -> list[Selection]:
    """Random controls: per draw, as many channels per layer as `selection` has, drawn
    uniformly without replacement from that layer's channels."""
    rng = np.random.default_rng(seed)
    return [{n: sorted(int(c) for c in rng.choice(run.layer(n).info.shape[0], len(chans), replace=False))
             for n, chans in selection.items()} for _ in range(draws)]


def parse_channels(run: Run, text: str) -> Selection:
    """'LAYER:c1,c2,...' (layer: index or module path) -> {path: [channels]}; checked."""
    layer, sep, chans = text.rpartition(":")
    if not sep or not layer:
        raise AnalysisError(f"channels must read LAYER:c1,c2 (e.g. blocks.0.lif:3,7), got {text!r}")
    info = run.layer(int(layer) if layer.isdigit() else layer).info
    try:
        values = sorted({int(c) for c in chans.split(",") if c.strip()})
    except ValueError:
        raise AnalysisError(f"channels must be integers, got {chans!r} in {text!r}") from None
    for c in values:
        run.channel(info.name, c)
    return {info.name: values}


# --- experiments -------------------------------------------------------------------------------


def silence_selections(exp: Experiment, selections: dict[str, Selection], random_draws: int = 5, seed: int = 0,
                       progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """One row per selection (experiment = its name, draw = -1) and per random draw of the
    same per-layer counts (experiment = name + ' random', draw = 0..), plus the unsilenced
    model (experiment 'none')."""
    jobs = [("none", -1, {})]
    for name, sel in selections.items():
        jobs.append((name, -1, sel))
        jobs += [(f"{name} random", d, r) for d, r in enumerate(random_like(exp.run, sel, random_draws, seed))]
    rows = []
    for i, (name, draw, sel) in enumerate(jobs):
        rows.append(exp.measure(sel, experiment=name, draw=draw))
        if progress:
            progress(i + 1, len(jobs))
    return pd.DataFrame(rows)


def sweep(exp: Experiment, layers: list[str], orders: list[str], step: int, random_draws: int = 3, seed: int = 0,
          max_channels: int | None = None, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Silence channels of `layers` in each order, `step` more at a time (0, step, 2 step,
    ... up to max_channels or all), one row per point; 'random' orders are random
    permutations, `random_draws` of them (draw = 0..)."""
    if step < 1:
        raise AnalysisError(f"--step must be at least 1, got {step}")
    run = exp.run
    rng = np.random.default_rng(seed)
    everything = [(n, c) for n in layers for c in range(run.layer(n).info.shape[0])]
    sequences = []
    for order in orders:
        if order == "random":
            for d in range(random_draws):
                sequences.append(("random", d, [everything[i] for i in rng.permutation(len(everything))]))
        else:
            sequences.append((order, -1, order_channels(run, layers, order, exp.settings)))
    last = len(everything) if max_channels is None else min(max_channels, len(everything))
    ks = list(range(0, last + 1, step)) + ([last] if last % step else [])
    total, done, rows = len(sequences) * len(ks), 0, []
    for order, draw, seq in sequences:
        for k in ks:
            rows.append(exp.measure(as_selection(seq[:k], layers), order=order, draw=draw, k=k))
            done += 1
            if progress:
                progress(done, total)
    return pd.DataFrame(rows)


def free_spikes(curve: pd.DataFrame) -> pd.DataFrame:
    """Per order (and draw; -1 for the orders that are not random) of a sweep, sorted: the
    most spikes removed before the first point whose accuracy-change interval lies wholly
    below 0 (silencing that far costs no accuracy the interval can show)."""
    rows = []
    for (order, draw), part in curve.sort_values("k").groupby(["order", "draw"], sort=False):
        lost = part["accuracy_change_high"] < 0
        ok = part if not lost.any() else part.iloc[: int(np.argmax(lost.to_numpy()))]
        best = ok.loc[ok["spikes_removed"].idxmax()] if len(ok) else None
        rows.append({"order": order, "draw": draw, "channels": int(best["k"]) if best is not None else 0,
                     "spikes_removed": float(best["spikes_removed"]) if best is not None else 0.0,
                     "accuracy_change": float(best["accuracy_change"]) if best is not None else 0.0})
    return pd.DataFrame(rows).sort_values(["order", "draw"], key=lambda col: col.map(_order_rank) if col.name == "order"
                                          else col).reset_index(drop=True)


def _order_rank(order: str) -> int:
    return (*ORDERS, "random").index(order) if order in (*ORDERS, "random") else len(ORDERS) + 1


def selection_summary(table: pd.DataFrame) -> pd.DataFrame:
    """A silence_selections table as people read it, one row per selection: its result with
    intervals ("-32.0 pp [-41.0, -23.0]"), random controls as the mean over their draws."""
    rows = []
    for name, part in table.groupby("experiment", sort=False):
        first = {"selection": name, "channels": int(part["channels_silenced"].iloc[0])}
        if (part["draw"] >= 0).any():
            n = len(part)
            accuracy = (f"{part['accuracy'].mean():.3f} ± {part['accuracy'].std(ddof=1):.3f}" if n > 1
                        else f"{part['accuracy'].iloc[0]:.3f}")
            mean = f"(mean of {n})" if n > 1 else "(1 draw)"
            rows.append({**first, "accuracy": accuracy,
                         "accuracy change": f"{100 * part['accuracy_change'].mean():+.1f} pp {mean}",
                         "spikes removed": f"{100 * part['spikes_removed'].mean():.0f}% {mean}",
                         "energy change": f"{100 * part['energy_change'].mean():+.0f}% {mean}", "McNemar p": ""})
            continue
        r = part.iloc[0]

        def cell(key: str, **kw) -> str:
            return Interval(r[key], r[f"{key}_low"], r[f"{key}_high"], 0.95, "").cell(percent=True, **kw)

        rows.append({**first, "accuracy": f"{r['accuracy']:.3f}",
                     "accuracy change": cell("accuracy_change", digits=1, unit=" pp"),
                     "spikes removed": cell("spikes_removed", sign=False), "energy change": cell("energy_change"),
                     "McNemar p": f"{r['mcnemar_p']:.2g}"})
    return pd.DataFrame(rows)


def free_spikes_summary(free: pd.DataFrame) -> pd.DataFrame:
    """free_spikes as people read it: '-' for the draw of non-random orders, % and pp."""
    return free.assign(draw=[str(d) if d >= 0 else "-" for d in free["draw"]],
                       spikes_removed=[f"{100 * v + 0.0:.1f}%" for v in free["spikes_removed"]],
                       accuracy_change=[f"{100 * v + 0.0:+.1f} pp" for v in free["accuracy_change"]])


def provenance(exp: Experiment, **what) -> dict:
    """Everything a result depends on: recording, checkpoint (SHA-256), data, rules,
    intervals, the tool, and the experiment's own options."""
    s, iv = exp.settings, exp.intervals
    return {"tool": f"snn-redundancy {TOOL_VERSION}", "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "recording": str(exp.run.path), "checkpoint": str(exp.checkpoint),
            "checkpoint_sha256": file_sha256(exp.checkpoint), "data": exp.data_source, "samples": exp.run.n_samples,
            "device": str(exp.device), "baseline_accuracy": float(exp.baseline.correct.mean()),
            "rules": {"foreground_level": s.pattern.foreground_level, "null_rate": s.pattern.null_rate,
                      "noise_ratio": s.pattern.noise_ratio, "ghost_method": s.ghost.method,
                      "ghost_threshold": s.ghost.threshold},
            "intervals": {"level": iv.level, "resamples": iv.n_resamples, "seed": iv.seed,
                          "method": "accuracy: exact interval on the discordant pairs and McNemar's exact test; "
                                    "spikes and energy: paired bootstrap over samples (BCa; percentile where BCa "
                                    "is undefined)"},
            **what}


def results_dir(run_path: Path) -> Path:
    """Where a recording's silencing results live: RUN.ablations/ beside RUN.h5."""
    return run_path.with_name(run_path.stem + ".ablations")


def save_results(table: pd.DataFrame, info: dict, folder: Path, name: str) -> Path:
    """NAME.csv (one row per result) and NAME.json (provenance) in folder; returns the CSV."""
    if not name or any(ch in name for ch in "/\\") or name.startswith("."):
        raise AnalysisError(f"result name {name!r} must be a plain file name")
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / f"{name}.csv"
    tmp = csv.with_suffix(".csv.tmp")
    table.to_csv(tmp, index=False)
    (folder / f"{name}.json").write_text(json.dumps(info, indent=2, default=str))
    tmp.replace(csv)
    return csv


def load_results(folder: Path) -> dict[str, tuple[pd.DataFrame, dict]]:
    """Every saved result in folder: {name: (table, provenance)}."""
    out = {}
    for csv in sorted(Path(folder).glob("*.csv")):
        meta = csv.with_suffix(".json")
        try:
            out[csv.stem] = (pd.read_csv(csv), json.loads(meta.read_text()) if meta.exists() else {})
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise AnalysisError(f"{csv} is not a readable result ({exc}); delete it and run the experiment again") from None
    return out
