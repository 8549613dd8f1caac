"""Single samples of a recording: per-sample spikes and correctness for every recorded
sample, and the raw tensors (input, U, spikes) of the samples recorded with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.energy import EnergyCosts, energy_pj
from analysis.loader import AnalysisError, Run
from recorder.reader import open_recording


def sample_table(path: str | Path) -> pd.DataFrame:
    """One row per recorded sample: position, dataset index, label, prediction, correct
    (None when unlabelled), spikes over all layers and timesteps, and whether raw tensors
    were kept for it (raw: its position among the raw samples, or -1)."""
    with open_recording(path) as rec:
        labels, predictions = rec.labels(), rec.predictions()
        spikes = rec.sample_spike_counts().reshape(len(labels), -1).sum(axis=1)
        raw = np.full(len(labels), -1)
        raw[rec.raw_samples()] = np.arange(rec.raw_count())
        index = rec.sample_indices()
    labelled = labels >= 0
    return pd.DataFrame({"sample": np.arange(len(labels)), "dataset_index": index, "label": labels,
                         "prediction": predictions,
                         "correct": np.where(labelled, labels == predictions, None),
                         "spikes": spikes.astype(np.int64), "raw": raw})


def raw_sample(path: str | Path, raw_position: int, layer: int) -> dict[str, np.ndarray]:
    """Input frames [T, P, H, W] and, for `layer`, U and spikes [T, C, H, W] of the raw
    sample at raw_position (0 .. raw_count - 1)."""
    with open_recording(path) as rec:
        if not 0 <= raw_position < rec.raw_count():
            raise AnalysisError(f"raw sample {raw_position} does not exist ({rec.raw_count()} samples have raw "
                                "tensors; record with --raw-fraction or --raw-per-class to keep more)")
        one = slice(raw_position, raw_position + 1)
        out = {"input": rec.raw_input(one)[0] if rec.raw_count() else None}
        for kind in ("u", "s"):
            try:
                out[kind] = rec.raw(layer, kind, one)[0]
            except KeyError as exc:
                raise AnalysisError(str(exc).strip("'\"")) from None
    return out


def per_sample_measures(run: Run, energy: pd.DataFrame | None = None,
                        costs: EnergyCosts = EnergyCosts()) -> dict[str, np.ndarray]:
    """What each recorded sample contributed, for paired intervals: correct [N] (0/1, NaN
    unlabelled), spikes [N, L] per spiking layer, layer_rate [N, L] (spikes per neuron and
    timestep), nasfr [N] (their mean over samples is the run's NASFR) and energy_uj [N].

    A sample's energy: the model's MACs (the same for every sample) plus, per spiking layer,
    its spikes times that layer's ACs per spike over the whole run (energy: the run's
    energy_table, from analysis.tables). The per-sample values average exactly to the
    run's energy; within a layer every spike is given the layer's mean fan-out."""
    with open_recording(run.path) as rec:
        labels, predictions = rec.labels()[: run.n_samples], rec.predictions()[: run.n_samples]
        counts = rec.sample_spike_counts()[: run.n_samples].astype(np.float64)  # [N, L, T]
    spikes = counts.sum(axis=2)
    neurons = np.array([layer.info.neurons for layer in run.layers], np.float64)
    out = {"correct": np.where(labels >= 0, (labels == predictions).astype(np.float64), np.nan), "spikes": spikes,
           "layer_rate": spikes / (neurons * run.T), "nasfr": spikes.sum(axis=1) / (neurons.sum() * run.T)}
    if energy is not None:
        out["energy_uj"] = split_energy_uj(spikes, [layer.info.name for layer in run.layers], energy, costs)
    return out


def split_energy_uj(spikes: np.ndarray, layer_names: list[str], energy: pd.DataFrame,
                    costs: EnergyCosts = EnergyCosts()) -> np.ndarray:
    """Energy of each sample (µJ) [N] from its spikes per layer [N, L] and the energy table of
    all N samples (analysis.tables.energy_from_counts): the MACs, the same for every sample,
    plus each spike times its layer's ACs per spike. Averages exactly to the table's energy."""
    mean_spikes = spikes.mean(axis=0)
    acs_per_spike = np.array([energy.loc[energy["input"] == name, "acs"].sum() / mean_spikes[i]
                              if mean_spikes[i] > 0 else 0.0 for i, name in enumerate(layer_names)])
    return energy_pj(float(energy["macs"].sum()), spikes @ acs_per_spike, costs) / 1e6
