"""Silencing channels (recorder.silence, analysis.ablation), intervals and tests
(analysis.intervals, analysis.comparison) and replicates (models.train --seeds)."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from spikingjelly.activation_based import functional, layer, neuron
from torch import nn

from analysis import ablation as A
from analysis.cli import main as analysis_main
from analysis.comparison import group_runs, paired_comparison, replicate_table
from analysis.intervals import (Interval, accuracy_difference, bootstrap, mcnemar_exact, mean_difference,
                                welch_difference)
from analysis.loader import AnalysisError, load_run
from analysis.samples import per_sample_measures
from analysis.tables import energy_table, table1
from recorder.silence import Silence

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_runs"


# --- intervals and tests against closed forms ---------------------------------------------------


def test_bootstrap_interval_of_a_bernoulli_mean_matches_the_normal_approximation():
    rng = np.random.default_rng(3)
    n, p = 4000, 0.3
    x = (rng.random(n) < p).astype(float)
    got = bootstrap(lambda a, axis=-1: np.mean(a, axis=axis), x, paired=False, n_resamples=4000)
    mean = x.mean()
    half = 1.959964 * math.sqrt(mean * (1 - mean) / n)  # Wald interval: the normal approximation at large N
    assert got.estimate == pytest.approx(mean)
    assert got.low == pytest.approx(mean - half, abs=0.1 * half)
    assert got.high == pytest.approx(mean + half, abs=0.1 * half)


def test_paired_bootstrap_of_an_accuracy_change_matches_the_normal_approximation():
    rng = np.random.default_rng(5)
    n = 3000
    a = (rng.random(n) < 0.80).astype(float)
    flip = rng.random(n) < 0.10  # b differs from a on ~10% of samples, mostly as gains
    b = np.where(flip, (rng.random(n) < 0.7).astype(float), a)
    got = bootstrap(mean_difference, a, b, n_resamples=4000)
    d = b - a
    half = 1.959964 * d.std(ddof=1) / math.sqrt(n)  # CLT interval of a mean of paired differences
    assert got.estimate == pytest.approx(d.mean())
    assert got.low == pytest.approx(d.mean() - half, abs=0.12 * half)
    assert got.high == pytest.approx(d.mean() + half, abs=0.12 * half)


def test_identical_runs_give_a_zero_width_interval_and_mcnemar_p_one():
    a = np.array([1.0, 0.0, 1.0, 1.0])
    got = bootstrap(mean_difference, a, a.copy())
    assert (got.estimate, got.low, got.high) == (0.0, 0.0, 0.0)
    assert mcnemar_exact(a, a).p_value == 1.0


def test_mcnemar_exact_on_a_hand_made_table():
    # 2 x 2 table: 50 both right, 2 only a right, 10 only b right, 8 both wrong
    a = np.array([1] * 50 + [1] * 2 + [0] * 10 + [0] * 8, bool)
    b = np.array([1] * 50 + [0] * 2 + [1] * 10 + [0] * 8, bool)
    got = mcnemar_exact(a, b)
    assert (got.only_a, got.only_b) == (2, 10)
    # P(X <= 2) for X ~ Binomial(12, 1/2) is (1 + 12 + 66) / 4096; two-sided doubles it
    assert got.p_value == pytest.approx(2 * 79 / 4096, rel=1e-12)


def test_accuracy_interval_is_the_exact_one_of_mcnemars_discordant_pairs():
    # 100 samples; b gets 3 right that a got wrong, and nothing the other way
    a = np.array([1] * 70 + [0] * 30, bool)
    b = a.copy()
    b[70:73] = True
    got = accuracy_difference(a, b)
    # Clopper-Pearson for 3 of 3: lower bound (0.025)^(1/3), upper 1; change = 3 (2q - 1) / 100
    q_low = 0.025 ** (1 / 3)
    assert got.estimate == pytest.approx(0.03)
    assert (got.low, got.high) == (pytest.approx(3 * (2 * q_low - 1) / 100), pytest.approx(0.03))
    assert got.low < 0 < got.high and mcnemar_exact(a, b).p_value == pytest.approx(0.25)  # both: not significant
    boot = bootstrap(mean_difference, a.astype(float), b.astype(float), n_resamples=2000)
    assert boot.low > 0  # the bootstrap would call it significant: why accuracy uses the exact interval


def test_welch_interval_equals_scipys_welch_t_test():
    a = np.array([0.91, 0.93, 0.90, 0.92, 0.94])
    b = np.array([0.95, 0.94, 0.97, 0.93, 0.96])
    got = welch_difference(a, b)
    ref = stats.ttest_ind(b, a, equal_var=False).confidence_interval(0.95)
    assert got.estimate == pytest.approx(b.mean() - a.mean())
    assert (got.low, got.high) == (pytest.approx(ref.low), pytest.approx(ref.high))
    rel = welch_difference(a, b, relative=True)
    assert rel.low == pytest.approx(ref.low / a.mean())


def test_interval_cells_read_like_the_paper():
    assert Interval(-0.61, -0.65, -0.57, 0.95, "x").cell(percent=True) == "-61% [-65, -57]"
    assert Interval(0.012, 0.004, 0.02, 0.95, "x").cell(percent=True, digits=1) == "+1.2% [+0.4, +2.0]"
    assert Interval(-0.0, -0.0, 0.0, 0.95, "x").cell(percent=True, digits=1, unit=" pp") == "+0.0 pp [+0.0, +0.0]"


# --- silencing on a tiny fixed-weight model ------------------------------------------------------


def tiny_net() -> nn.Sequential:
    """Linear(2 -> 3) -> IF -> Linear(3 -> 1) -> IF, multi-step, fixed weights."""
    fc1 = layer.Linear(2, 3, bias=False, step_mode="m")
    fc2 = layer.Linear(3, 1, bias=False, step_mode="m")
    with torch.no_grad():
        fc1.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
        fc2.weight.copy_(torch.tensor([[0.5, 0.25, 0.125]]))
    net = nn.Sequential(fc1, neuron.IFNode(v_threshold=1.0, step_mode="m"), fc2,
                        neuron.IFNode(v_threshold=1.0, step_mode="m"))
    return net.eval()


def fc2_input(net, x):
    seen = []
    handle = net[2].register_forward_hook(lambda m, a, out: seen.append(out.detach().clone()))
    functional.reset_net(net)
    with torch.no_grad():
        net(x)
    handle.remove()
    return seen[0]


def test_silencing_a_neuron_removes_its_spikes_and_its_weight_downstream():
    net = tiny_net()
    # T = 3, one sample: input 0 = 1.0 (neuron 0 fires every step), input 1 = 0.6 (neuron 1 fires at t = 1)
    x = torch.tensor([[[1.0, 0.6]]] * 3)
    plain = fc2_input(net, x)
    s0 = torch.tensor([1.0, 1.0, 1.0])  # neuron 0's spikes, by hand
    s1 = torch.tensor([0.0, 1.0, 0.0])  # neuron 1: 0.6, 1.2 -> fire, reset to 0, 0.6
    s2 = torch.tensor([0.0, 1.0, 0.0])  # neuron 2: 0.8, 1.6 -> fire, 0.8
    assert torch.equal(plain[:, 0, 0], 0.5 * s0 + 0.25 * s1 + 0.125 * s2)
    with Silence(net, {"1": [0]}) as silence:
        cut = fc2_input(net, x)
        got = silence.take()
    assert torch.equal(plain[:, 0, 0] - cut[:, 0, 0], 0.5 * s0)  # downstream input drops by its weight x its spikes
    assert got["1"][0].tolist() == [2.0]  # neurons 1 and 2 still fire once each; neuron 0 sends nothing
    assert got["1"][1].tolist() == [[0, 0, 0], [0, 1, 1], [0, 0, 0]]
    # hooks are gone after the block: the model runs as before
    assert torch.equal(fc2_input(net, x), plain)


def test_silencing_nothing_equals_the_plain_run_exactly():
    torch.manual_seed(0)
    net = tiny_net()
    x = torch.rand(6, 4, 2) * 1.5
    functional.reset_net(net)
    with torch.no_grad():
        plain = net(x).clone()
    s1 = []
    h = net[1].register_forward_hook(lambda m, a, out: s1.append(out.clone()))
    with Silence(net, {}) as silence, torch.no_grad():
        functional.reset_net(net)
        same = net(x)
        got = silence.take()
    h.remove()
    assert torch.equal(plain, same)
    assert np.array_equal(got["1"][0], s1[0].sum(dim=(0, 2)).double().numpy())
    assert np.array_equal(got["1"][1], s1[0].sum(dim=1).double().numpy())


def test_silence_refuses_unknown_layers_and_channels():
    net = tiny_net()
    with pytest.raises(ValueError, match=r"cannot silence layers \['9'\]"):
        Silence(net, {"9": [0]})
    with pytest.raises(ValueError, match="layer 1 has channels 0..2; cannot silence 5"):
        with Silence(net, {"1": [5]}), torch.no_grad():
            net(torch.ones(2, 1, 2))


# --- experiments on a real recording -------------------------------------------------------------


@pytest.fixture(scope="module")
def vanilla():
    return load_run(SAMPLES / "vanilla.h5")


@pytest.fixture(scope="module")
def experiment(vanilla):
    from analysis.intervals import IntervalSettings
    return A.Experiment(vanilla, intervals=IntervalSettings(n_resamples=1000))


def test_the_unsilenced_rerun_reproduces_the_recording(experiment, vanilla):
    base = experiment.baseline
    assert base.correct.mean() == pytest.approx(vanilla.accuracy)
    for name, layer in zip(experiment.layer_names, vanilla.layers):
        assert np.array_equal(base.counts[name], layer.stats["spike_count"])
    energy = float(energy_table(vanilla)["energy_pj"].sum()) / 1e6
    assert experiment.energy_uj(base) == pytest.approx(energy, rel=1e-12)
    assert experiment.per_sample_energy_uj(base).mean() == pytest.approx(energy, rel=1e-9)
    row = experiment.measure({})
    assert (row["accuracy_change"], row["spikes_removed"], row["energy_change"]) == (0.0, 0.0, 0.0)


def test_silencing_a_first_layer_channel_removes_exactly_its_recorded_spikes(experiment, vanilla):
    first = vanilla.layers[0]
    count = first.stats["spike_count"]  # [T, C, H, W]
    channel = int(np.argmax(count.sum(axis=(0, 2, 3))))
    ev = experiment.evaluate({first.info.name: [channel]})
    # the first layer's other channels do not depend on it: its total drops by exactly that channel's spikes
    assert ev.spikes[:, 0].sum() == experiment.baseline.spikes[:, 0].sum() - count[:, channel].sum()
    assert ev.counts[first.info.name][:, channel].sum() == 0
    everything = experiment.evaluate({first.info.name: list(range(first.info.shape[0]))})
    assert everything.spikes[:, 0].sum() == 0
    # what follows sees the same (zero) input for every sample: every sample gives the same spikes and class
    assert (everything.spikes == everything.spikes[0]).all() and len(set(everything.predictions)) == 1


def test_selections_and_random_controls(vanilla):
    layers = A.map_layers(vanilla)
    assert layers == ["blocks.0.lif", "blocks.1.lif", "blocks.2.lif"]
    noise = A.noise_selection(vanilla, layers)
    from analysis.tables import channel_table
    for i, n in enumerate(layers):
        table = channel_table(vanilla, i)
        assert noise[n] == table.index[table["pattern"] == "noise"].tolist()
    draws = A.random_like(vanilla, noise, 3, seed=1)
    assert all({n: len(v) for n, v in d.items()} == {n: len(v) for n, v in noise.items()} for d in draws)
    order = A.order_channels(vanilla, layers, "rate")
    rates = [A.channel_rates(vanilla, n)[c] for n, c in order]
    assert rates == sorted(rates, reverse=True) and len(order) == 16 + 32 + 32
    noise_first = A.order_channels(vanilla, layers, "noise")
    k = sum(len(v) for v in noise.values())
    assert {p for p in noise_first[:k]} == {(n, c) for n, cs in noise.items() for c in cs}
    with pytest.raises(AnalysisError, match="must read LAYER:c1,c2"):
        A.parse_channels(vanilla, "1,2")
    with pytest.raises(AnalysisError, match="channel 99 does not exist"):
        A.parse_channels(vanilla, "0:99")


def test_a_sweep_starts_at_the_plain_model_and_every_order_ends_at_the_same_point(experiment, vanilla):
    layers = ["blocks.0.lif"]
    curve = A.sweep(experiment, layers, ["rate", "random"], step=8, random_draws=2, seed=0)
    assert sorted(curve["k"].unique()) == [0, 8, 16]
    start = curve[curve["k"] == 0]
    assert (start["accuracy"] == vanilla.accuracy).all() and (start["spikes_removed"] == 0).all()
    end = curve[curve["k"] == 16]
    # every order ends with all 16 channels of layer 0 silenced: one model, whatever the order
    assert end["spikes_removed"].nunique() == 1 and end["accuracy"].nunique() == 1
    assert end["silenced"].nunique() == 1 and json.loads(end["silenced"].iloc[0]) == {"blocks.0.lif": list(range(16))}
    free = A.free_spikes(curve)
    assert set(free["order"]) == {"rate", "random"} and (free["spikes_removed"] >= 0).all()


def test_the_ablate_cli_writes_results_with_provenance(tmp_path, capsys):
    out = tmp_path / "ablations"
    code = analysis_main(["ablate", str(SAMPLES / "vanilla.h5"), "--select", "noise", "rate:4", "0:1,2",
                          "--random", "2", "--sweep", "noise", "random", "--step", "16", "--resamples", "500",
                          "--out", str(out), "--name", "t", "--no-progress"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    table = pd.read_csv(out / "t.csv")
    assert set(table["experiment"]) == {"none", "noise", "noise random", "rate top 4", "rate top 4 random",
                                        "channels", "channels random"}
    assert json.loads(table.loc[table["experiment"] == "channels", "silenced"].iloc[0]) == {"blocks.0.lif": [1, 2]}
    info = json.loads((out / "t.json").read_text())
    assert info["checkpoint_sha256"] == load_run(SAMPLES / "vanilla.h5").model["checkpoint_sha256"]
    assert info["intervals"]["resamples"] == 500 and info["kind"] == "selections"
    assert (out / "t_sweep.csv").exists() and "spikes removed at no accuracy loss" in printed


def test_ablate_refuses_the_wrong_checkpoint_and_bad_requests(tmp_path, capsys):
    run = tmp_path / "v.h5"
    shutil.copy(SAMPLES / "vanilla.h5", run)
    assert analysis_main(["ablate", str(run), "--select", "noise"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: checkpoint ") and "vanilla.pt not found; give the checkpoint v was recorded with" in err
    shutil.copy(SAMPLES / "asa1.pt", tmp_path / "vanilla.pt")  # the name the recording expects, other bytes
    assert analysis_main(["ablate", str(run), "--select", "noise"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == "error: vanilla.pt is not the checkpoint v recorded (SHA-256 differs); give that file"
    assert analysis_main(["ablate", str(SAMPLES / "vanilla.h5")]) == 2
    assert "nothing to do" in capsys.readouterr().err


# --- comparisons and replicates -----------------------------------------------------------------


def test_paired_comparison_of_the_sample_runs(vanilla):
    asa = load_run(SAMPLES / "asa1.h5")
    table = paired_comparison(vanilla, asa).set_index("measure")
    t1 = table1([vanilla, asa]).set_index("run")
    acc = table.loc["accuracy"]
    assert (acc["first"], acc["second"]) == (pytest.approx(vanilla.accuracy), pytest.approx(asa.accuracy))
    assert acc["low"] <= acc["change"] <= acc["high"]
    nasfr = table.loc["NASFR"]
    assert nasfr["first"] == pytest.approx(t1.loc["vanilla", "nasfr"]) and nasfr["second"] == pytest.approx(t1.loc["asa1", "nasfr"])
    assert nasfr["change"] == pytest.approx(t1.loc["asa1", "nasfr_change"])
    energy = table.loc["energy per sample (µJ)"]
    assert energy["second"] == pytest.approx(t1.loc["asa1", "energy_uj"], rel=1e-9)
    measures = per_sample_measures(vanilla)
    assert measures["nasfr"].mean() == pytest.approx(t1.loc["vanilla", "nasfr"])


def test_replicate_groups_give_mean_sd_and_welch_intervals(tmp_path, vanilla):
    runs = []
    for name in ("vanilla", "asa1"):
        for k in range(2):
            shutil.copy(SAMPLES / f"{name}.h5", tmp_path / f"{name}_{k}.h5")
            runs.append(load_run(tmp_path / f"{name}_{k}.h5"))
    groups = group_runs(runs)
    assert list(groups) == ["none", "asa1"] and [len(g) for g in groups.values()] == [2, 2]
    table = replicate_table(groups).set_index("group")
    assert table.loc["none", "accuracy mean"] == pytest.approx(vanilla.accuracy)
    assert table.loc["none", "accuracy sd"] == 0.0
    assert table.loc["asa1", "accuracy change"].endswith("]")
    with pytest.raises(AnalysisError, match="mixes conditions"):
        replicate_table({"mixed": [runs[0], runs[2]]})


def test_train_seeds_writes_one_replicate_per_seed_on_one_split(tmp_path, capsys):
    from models.checkpoint import load_checkpoint
    from models.train import main as train_main

    out = tmp_path / "rep.pt"
    code = train_main(["--data", "synthetic", "--T", "4", "--dt-ms", "75", "--synthetic-per-class", "4",
                       "--widths", "4", "8", "8", "--hidden", "16", "--epochs", "1", "--no-progress",
                       "--threads", "2", "--seeds", "3", "7", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 replicates: test accuracy" in printed
    (m3, meta3), (m7, meta7) = load_checkpoint(tmp_path / "rep_seed3.pt"), load_checkpoint(tmp_path / "rep_seed7.pt")
    assert (meta3["training"]["seed"], meta7["training"]["seed"]) == (3, 7)
    assert meta3["training"]["data_seed"] == meta7["training"]["data_seed"] == 3
    assert meta3["data"] == meta7["data"]
    assert not torch.equal(next(m3.parameters()), next(m7.parameters()))
