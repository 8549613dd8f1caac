"""Tables of one run and of a vanilla-vs-ASA comparison (laid out like the paper's
Tables 1, 3 and 4), built from the measures."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.energy import EnergyCosts, conv_fanout, energy_pj, synaptic_acs
from analysis.features import (PatternRule, channel_densities, classify_patterns, foreground_mask, input_event_rate,
                               pattern_counts)
from analysis.firing import nasfr, relative_change, t_sfr
from analysis.ghosts import GhostRule, ghost_groups, ghost_pairs, ghost_ratio, similarity_matrix
from analysis.loader import AnalysisError, LayerData, Run, check_same_data
from analysis.potentials import pooled, pooled_variance, ptd


@dataclass(frozen=True)
class AnalysisSettings:
    """Every rule and constant a report depends on (shown in the app and in reports)."""

    pattern: PatternRule = PatternRule()
    ghost: GhostRule = GhostRule()
    costs: EnergyCosts = EnergyCosts()


def input_rate(run: Run) -> np.ndarray:
    """Mean input events per pixel over samples and timesteps [H, W]."""
    return input_event_rate(run.input_event_sum, run.n_samples).mean(axis=0)


def layer_foreground(run: Run, layer: LayerData, settings: AnalysisSettings = AnalysisSettings()) -> np.ndarray:
    _, height, width = layer.info.shape
    return foreground_mask(input_rate(run), height, width, settings.pattern)


def layer_patterns(run: Run, layer: LayerData, settings: AnalysisSettings = AnalysisSettings()) -> np.ndarray:
    return classify_patterns(layer.nsfr, layer_foreground(run, layer, settings), settings.pattern)


def channel_ptd(layer: LayerData) -> np.ndarray:
    """PTD per channel of the MPD over all timesteps [C]."""
    return ptd(layer.stats["hist"].sum(axis=0), layer.info.hist_edges, layer.info.v_threshold)


def channel_variance(layer: LayerData) -> np.ndarray:
    s = layer.stats
    return pooled_variance(s["u_sum"], s["u_sumsq"], s["u_count"], axis=0)


def channel_table(run: Run, layer_key, settings: AnalysisSettings = AnalysisSettings()) -> pd.DataFrame:
    """One row per channel: firing rate, foreground/background firing density, pattern,
    PTD (in units of U), variance and QE over all timesteps."""
    layer = run.layer(layer_key)
    fg = layer_foreground(run, layer, settings)
    rate, fg_rate, bg_rate = channel_densities(layer.nsfr, fg)
    s = layer.stats
    return pd.DataFrame({
        "channel": np.arange(layer.info.shape[0]), "firing_rate": rate, "foreground_rate": fg_rate,
        "background_rate": bg_rate, "pattern": classify_patterns(layer.nsfr, fg, settings.pattern),
        "ptd": channel_ptd(layer), "variance": channel_variance(layer),
        "qe": pooled(s["qe_sum"], s["u_count"], axis=0),
    })


def ghosts(run: Run, layer_key, t: int, rule: GhostRule) -> dict:
    """Similarity matrix, pairs, groups and ratio of one layer at timestep t."""
    layer = run.layer(layer_key)
    if not 0 <= t < run.T:
        raise AnalysisError(f"timestep {t} does not exist (T={run.T})")
    sim = similarity_matrix(layer.nsfr[t], rule.method)
    pairs = ghost_pairs(sim, rule.threshold)
    groups = ghost_groups(pairs, layer.info.shape[0])
    return {"similarity": sim, "pairs": pairs, "groups": groups, "ratio": ghost_ratio(groups, layer.info.shape[0])}


def layer_table(run: Run, settings: AnalysisSettings = AnalysisSettings(), ghost_t: int | None = None) -> pd.DataFrame:
    """One row per spiking layer: size, firing rate, QE, PTD and variance summaries,
    pattern counts, and the ghost ratio at timestep ghost_t (default T // 2) for maps of
    at least 3 x 3."""
    t = run.T // 2 if ghost_t is None else ghost_t
    rows = []
    for layer in run.layers:
        s = layer.stats
        counts = pattern_counts(layer_patterns(run, layer, settings))
        C, H, W = layer.info.shape
        ratio = ghosts(run, layer.info.index, t, settings.ghost)["ratio"] if min(H, W) >= 3 or \
            settings.ghost.method == "pearson" else np.nan
        rows.append({"layer": layer.info.name, "neurons": layer.info.neurons, "channels": C,
                     "firing_rate": float(layer.nsfr.mean()), "qe": float(pooled(s["qe_sum"], s["u_count"])),
                     "ptd_median": _finite_stat(np.median, channel_ptd(layer)),
                     "variance_mean": _finite_stat(np.mean, channel_variance(layer)),
                     "noise": counts["noise"], "normal": counts["normal"], "null": counts["null"],
                     "ghost_ratio": ratio})
    return pd.DataFrame(rows)


def _finite_stat(stat, values: np.ndarray) -> float:
    """stat over the finite values (NaN when there are none, e.g. a layer whose U never
    falls inside the histogram range)."""
    finite = values[np.isfinite(values)]
    return float(stat(finite)) if finite.size else float("nan")


def firing_rate_matrix(run: Run) -> np.ndarray:
    """T-SFR per layer and timestep [L, T]."""
    return np.stack([t_sfr(layer.nsfr) for layer in run.layers])


def model_qe(run: Run) -> float:
    return float(sum(l.stats["qe_sum"].sum() for l in run.layers) / sum(l.stats["u_count"].sum() for l in run.layers))


def model_structure(run: Run):
    """(synaptic layers, attention costs, parameter count) of the recorded architecture
    (traced once per architecture and arguments: SEW-ResNet-18 takes seconds)."""
    if "arch" not in run.model or "arch_args" not in run.model:
        raise AnalysisError(f"{run.name} does not say which architecture it recorded; energy needs the model")
    return _structure(run.model["arch"], json.dumps(run.model["arch_args"], sort_keys=True))


@functools.lru_cache(maxsize=32)
def _structure(arch: str, arch_args: str):
    from analysis.model_ops import trace
    from models.registry import build_model

    model = build_model(arch, **json.loads(arch_args))
    layers, attention = trace(model)
    return layers, attention, sum(p.numel() for p in model.parameters())


def energy_table(run: Run, settings: AnalysisSettings = AnalysisSettings(), structure=None) -> pd.DataFrame:
    """Per synaptic layer and attention module: MACs and ACs per sample and energy (pJ)
    of a recording (see energy_from_counts). structure: what model_structure(run)
    returned, when the caller has it already."""
    counts = {l.info.name: l.stats["spike_count"] for l in run.layers}
    return energy_from_counts(structure or model_structure(run), counts, run.n_samples, run.T, settings.costs)


def energy_from_counts(structure, spike_counts: dict[str, np.ndarray], n_samples: int, T: int,
                       costs: EnergyCosts = EnergyCosts()) -> pd.DataFrame:
    """Per synaptic layer and attention module: MACs and ACs per sample and energy (pJ).
    spike_counts: per spiking layer (module path), its spikes summed over n_samples
    samples [T, C, H, W] (or [T, F]). ACs of a layer fed directly by a spiking layer come
    from its spike counts times the fan-out of each position; a layer reading spikes
    through pooling is estimated as firing rate x dense operations (marked 'estimate')."""
    layers, attention, _ = structure
    rows = []
    for syn in layers:
        macs = acs = 0.0
        method = "dense MACs (real-valued input)"
        if syn.source is None:
            macs = float(syn.dense_ops * T)
        elif syn.source not in spike_counts:
            raise AnalysisError(f"layer {syn.name} reads {syn.source}, which the recording does not hold; record every layer")
        else:
            count = spike_counts[syn.source]
            if syn.direct and syn.kind == "conv":
                fan = conv_fanout(syn.in_shape[1:], syn.out_shape[1:], syn.kernel, syn.stride, syn.padding,
                                  syn.out_channels // syn.groups)
                acs, method = synaptic_acs(count, fan, n_samples), "spikes x fan-out"
            elif syn.direct:
                acs, method = synaptic_acs(count, syn.out_channels, n_samples), "spikes x fan-out"
            else:
                rate = float(np.asarray(count, np.float64).sum() / (n_samples * np.prod(np.shape(count))))
                acs, method = rate * syn.dense_ops * T, "estimate: rate x dense ops"
        rows.append({"module": syn.name, "kind": syn.kind, "input": syn.source or "input frames", "macs": macs,
                     "acs": acs, "energy_pj": energy_pj(macs, acs, costs), "method": method})
    for cost in attention:
        rows.append({"module": cost.name, "kind": "attention", "input": "-", "macs": float(cost.macs), "acs": 0.0,
                     "energy_pj": energy_pj(cost.macs, 0.0, costs), "method": f"FlopCounter, +{cost.params} params"})
    return pd.DataFrame(rows)


def run_summary(run: Run, settings: AnalysisSettings = AnalysisSettings()) -> dict:
    structure = model_structure(run)
    energy = energy_table(run, settings, structure)
    _, attention, params = structure
    return {"run": run.name, "attention": run.model.get("arch_args", {}).get("attention", "-"),
            "parameters": params, "attention_parameters": sum(a.params for a in attention), "samples": run.n_samples, "accuracy": run.accuracy, "nasfr": nasfr([l.nsfr for l in run.layers]),
            "qe": model_qe(run), "macs": float(energy["macs"].sum()), "acs": float(energy["acs"].sum()),
            "energy_uj": float(energy["energy_pj"].sum()) / 1e6}


def table1(runs: list[Run], settings: AnalysisSettings = AnalysisSettings()) -> pd.DataFrame:
    """Accuracy, NASFR and energy per run; changes are relative to the first run."""
    for other in runs[1:]:
        check_same_data(runs[0], other)
    rows = [run_summary(r, settings) for r in runs]
    base = rows[0]
    for row in rows:
        row["nasfr_change"] = relative_change(base["nasfr"], row["nasfr"])
        row["accuracy_change"] = row["accuracy"] - base["accuracy"]
        row["delta_energy_uj"] = row["energy_uj"] - base["energy_uj"]
    cols = ["run", "attention", "parameters", "attention_parameters", "samples", "accuracy", "accuracy_change", "nasfr", "nasfr_change", "qe", "macs", "acs",
            "energy_uj", "delta_energy_uj"]
    return pd.DataFrame(rows)[cols]


def table3(runs: list[Run], settings: AnalysisSettings = AnalysisSettings()) -> pd.DataFrame:
    """The paper's Table 3 for any number of runs of one architecture (e.g. none / SA /
    TCSA / ASA-1 / ASA-2): attention, its extra parameters, the change in MACs against the
    first run (Delta MAC), accuracy, NASFR and energy per sample (µJ)."""
    return table3_from(table1(runs, settings))


def table3_from(rows: pd.DataFrame) -> pd.DataFrame:
    """Table 3 from a Table 1 (its columns: see table1)."""
    base_macs = float(rows["macs"].iloc[0])
    return pd.DataFrame({"run": rows["run"], "attention": rows["attention"],
                         "extra_parameters": rows["attention_parameters"], "delta_macs": rows["macs"] - base_macs,
                         "accuracy": rows["accuracy"], "nasfr": rows["nasfr"], "energy_uj": rows["energy_uj"]})


def pattern_table(a: Run, b: Run, settings: AnalysisSettings = AnalysisSettings()) -> pd.DataFrame:
    """The project's pattern counts: per layer, noise/normal/null channel counts, PTD and
    variance of two runs."""
    check_same_data(a, b)
    la, lb = layer_table(a, settings), layer_table(b, settings)
    if list(la["layer"]) != list(lb["layer"]):
        raise AnalysisError(f"{a.name} and {b.name} have different spiking layers; compare runs of one architecture")
    out = pd.DataFrame({"layer": la["layer"]})
    for tag, t in ((a.name, la), (b.name, lb)):
        for col in ("noise", "normal", "null", "ptd_median", "variance_mean", "firing_rate"):
            out[f"{col} [{tag}]"] = t[col]
    return out


def table4(a: Run, b: Run) -> pd.DataFrame:
    """Quantization error per layer and for the model, two runs and the relative change."""
    check_same_data(a, b)
    rows = []
    for la, lb in zip(a.layers, b.layers):
        qa = float(pooled(la.stats["qe_sum"], la.stats["u_count"]))
        qb = float(pooled(lb.stats["qe_sum"], lb.stats["u_count"]))
        rows.append({"layer": la.info.name, f"qe [{a.name}]": qa, f"qe [{b.name}]": qb, "change": relative_change(qa, qb)})
    qa, qb = model_qe(a), model_qe(b)
    rows.append({"layer": "model", f"qe [{a.name}]": qa, f"qe [{b.name}]": qb, "change": relative_change(qa, qb)})
    return pd.DataFrame(rows)
