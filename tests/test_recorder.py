"""The recorder: the right quantity (U before reset), exact online statistics, raw
tensors, hooks that never stay attached, shards, interruption and resume."""

import h5py
import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional, layer, monitor, neuron
from torch import nn

from models.neurons import paper_lif
from models.registry import build_model
from recorder.adapters import RecorderError
from recorder.reader import open_recording
from recorder.schema import partial_path
from recorder.recorder import Recorder
from recorder.stats import HistogramSpec
from recorder.writer import RawPlan
from reference_authors import RefLIF

T = 4


class MeanOverTime(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        functional.reset_net(self)
        return self.body(x).mean(0).flatten(1)


def tiny_model(attention="asa1"):
    torch.manual_seed(0)
    return build_model("lif_snn3", T=T, num_classes=3, input_size=16, widths=(4, 8, 8), hidden=8,
                       attention=attention).eval()


def frames(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, n, 2, 16, 16, generator=g) * 3).floor()


def record(model, path, x, batch=5, raw=(), labels=None, **kw):
    n = x.shape[1]
    labels = np.arange(n) % 3 if labels is None else labels
    plan = kw.pop("plan", list(range(n)))
    with Recorder(model, path, sample_indices=plan, T=x.shape[0], raw=RawPlan(tuple(raw), **kw.pop("raw_kw", {})),
                  **kw) as rec:
        for start in range(rec.n_done, len(plan), batch):
            idx = plan[start:start + batch]
            rec.record_batch(x[:, idx], labels[idx], idx)
    return path


def test_single_neuron_by_hand(tmp_path):
    # U: 0.2 | 0.26 | 0.578 (fires) | 0 | 0.3 (fires); paper H = beta U (1 - S)
    x = torch.tensor([0.2, 0.2, 0.5, 0.0, 0.3]).view(5, 1, 1)
    model = MeanOverTime(nn.Sequential(paper_lif()))
    record(model, tmp_path / "a.h5", x, batch=1, raw=[0], labels=np.array([0]), raw_kw={"keep_h": True, "keep_x": True})
    with open_recording(tmp_path / "a.h5") as rec:
        assert [l.name for l in rec.layers] == ["body.0"]
        u, s, h = (rec.raw("body.0", k).reshape(-1) for k in ("u", "s", "h"))
        assert np.allclose(u, [0.2, 0.26, 0.578, 0.0, 0.3], atol=1e-6)
        assert s.tolist() == [False, False, True, False, True]
        assert np.allclose(h, [0.06, 0.078, 0.0, 0.0, 0.0], atol=1e-6)
        assert np.allclose(rec.raw("body.0", "x").reshape(-1), x.view(-1))


def test_conv_net_equals_step_by_step_reimplementation(tmp_path):
    model = tiny_model()
    x = frames(6)
    record(model, tmp_path / "r.h5", x, raw=range(6), raw_kw={"keep_h": True, "keep_x": True})
    with open_recording(tmp_path / "r.h5") as rec:
        for info in rec.layers:
            X = torch.from_numpy(rec.raw(info.index, "x"))
            ref_s, ref_u = RefLIF()(X.transpose(0, 1))
            u, s, h = (torch.from_numpy(rec.raw(info.index, k)).transpose(0, 1) for k in ("u", "s", "h"))
            assert torch.allclose(u, ref_u, atol=1e-5), info.name
            assert torch.equal(s.float(), ref_s), info.name
            assert torch.allclose(h, 0.3 * ref_u * (1 - ref_s), atol=1e-5), info.name
            if s.any():
                assert u[s].min() >= 0.3 - 1e-6
        assert rec.raw(0, "s").any()  # the test exercises fire and reset


def test_u_equals_spikingjelly_v_seq_where_no_spike_and_spikes_equal_output_monitor(tmp_path):
    model = tiny_model()
    x = frames(5)
    mon = monitor.OutputMonitor(model, neuron.LIFNode)
    record(model, tmp_path / "r.h5", x, raw=range(5))
    outputs = list(mon.records)
    mon.remove_hooks()
    lif = model.blocks[0].lif
    lif.store_v_seq = True
    with torch.no_grad():
        model(x)
    v_seq = lif.v_seq.transpose(0, 1).numpy()
    lif.store_v_seq = False
    with open_recording(tmp_path / "r.h5") as rec:
        u, s = rec.raw("blocks.0.lif", "u"), rec.raw("blocks.0.lif", "s")
        assert s.any()
        assert np.array_equal(u[~s], v_seq[~s])
        assert not np.array_equal(u[s], v_seq[s])  # SpikingJelly's v is after reset where a spike fired
        for i, info in enumerate(rec.layers):
            assert np.array_equal(rec.raw(info.index, "s").reshape(5, T, -1),
                                  outputs[i].transpose(0, 1).reshape(5, T, -1).bool().numpy())


def test_online_statistics_equal_raw_tensors(tmp_path):
    model = tiny_model()
    x = frames(12, seed=3)
    spec = HistogramSpec(-2.0, 3.0, 40)
    record(model, tmp_path / "r.h5", x, batch=5, raw=range(12), spec=spec)
    with open_recording(tmp_path / "r.h5") as rec:
        assert rec.n_done == 12 and rec.complete
        for info in rec.layers:
            st = rec.stats(info.index)
            u = rec.raw(info.index, "u").astype(np.float64)  # [N, T, C, H, W]
            s = rec.raw(info.index, "s")
            assert np.array_equal(st["spike_count"], s.sum(axis=0))
            edges32 = info.hist_edges.astype(np.float32)
            assert np.allclose(info.hist_edges, np.linspace(-2, 3, 41) * 0.3)
            bins = np.searchsorted(edges32, rec.raw(info.index, "u"), side="right")  # 0 under, 41 over
            for t in range(T):
                for c in range(info.shape[0]):
                    expected = np.bincount(bins[:, t, c].ravel(), minlength=42)
                    assert np.array_equal(st["hist"][t, c], expected)
            per_tc = u.transpose(1, 2, 0, 3, 4).reshape(T, info.shape[0], -1)
            assert np.array_equal(st["u_count"], np.full((T, info.shape[0]), per_tc.shape[2]))
            # the sums are exact sums of the values rounded to 2**-24: exactly that, by hand
            exact = lambda values: np.rint(values * 2.0**24).sum(-1) / 2.0**24  # noqa: E731
            assert np.array_equal(st["u_sum"], exact(per_tc))
            assert np.array_equal(st["u_sumsq"], exact(per_tc ** 2))
            qe = ((u - s) ** 2).transpose(1, 2, 0, 3, 4).reshape(T, info.shape[0], -1)
            assert np.array_equal(st["qe_sum"], exact(qe))
            assert np.allclose(st["u_sum"], per_tc.sum(-1), atol=per_tc.shape[2] * 2.0**-25)  # the rounding bound
            var = st["u_sumsq"] / st["u_count"] - (st["u_sum"] / st["u_count"]) ** 2
            assert np.allclose(var, per_tc.var(-1), atol=1e-6)
        spikes = rec.sample_spike_counts()
        assert spikes.shape == (12, 5, T)
        assert np.array_equal(spikes[:, 0], rec.raw(0, "s").reshape(12, T, -1).sum(-1))
        assert np.array_equal(rec.input_event_sum(), x.sum(1).numpy())
        assert np.array_equal(rec.input_active_count(), (x > 0).sum(1).numpy())
        assert np.array_equal(rec.raw_input(), x.transpose(0, 1).numpy())


def test_non_finite_potentials_are_counted(tmp_path):
    model = MeanOverTime(nn.Sequential(paper_lif()))
    x = torch.tensor([[0.1, float("nan"), 0.5], [float("inf"), 0.2, 0.1]]).view(2, 1, 3)
    record(model, tmp_path / "n.h5", x, batch=1, labels=np.array([0]))
    with open_recording(tmp_path / "n.h5") as rec:
        st = rec.stats(0)
        assert int(st["nonfinite"].sum()) == 3  # nan, inf, and inf carried into t=1 for that neuron
        assert int(st["hist"].sum()) == int(st["u_count"].sum()) == 3


def test_packed_spikes_and_float16(tmp_path):
    model = tiny_model("none")
    x = frames(4)
    record(model, tmp_path / "b.h5", x, raw=range(4))
    record(model, tmp_path / "p.h5", x, raw=range(4), raw_kw={"spikes": "packed", "u_dtype": "float16"})
    with open_recording(tmp_path / "b.h5") as a, open_recording(tmp_path / "p.h5") as b:
        for info in a.layers:
            assert np.array_equal(a.raw(info.index, "s"), b.raw(info.index, "s"))
            assert b.raw(info.index, "u").dtype == np.float16
            assert np.allclose(a.raw(info.index, "u"), b.raw(info.index, "u"), atol=2e-3, rtol=1e-3)


def test_single_step_mode_equals_multi_step(tmp_path):
    torch.manual_seed(1)
    conv = layer.Conv2d(2, 3, 3, padding=1, step_mode="s")
    single = nn.Sequential(conv, paper_lif())
    functional.set_step_mode(single, "s")

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = single

        def forward(self, x):
            functional.reset_net(self)
            return torch.stack([self.net(x[t]) for t in range(x.shape[0])]).mean((0, 2, 3))

    multi = MeanOverTime(nn.Sequential(layer.Conv2d(2, 3, 3, padding=1, step_mode="m"), paper_lif()))
    multi.body[0].load_state_dict(conv.state_dict())
    x = frames(3)[:, :, :, :6, :6]
    record(Loop(), tmp_path / "s.h5", x, raw=range(3))
    record(multi, tmp_path / "m.h5", x, raw=range(3))
    with open_recording(tmp_path / "s.h5") as a, open_recording(tmp_path / "m.h5") as b:
        assert np.allclose(a.raw(0, "u"), b.raw(0, "u"), atol=1e-6)
        assert np.array_equal(a.raw(0, "s"), b.raw(0, "s"))
        assert np.array_equal(a.stats(0)["hist"], b.stats(0)["hist"])


def _hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_no_hook_remains_also_after_an_exception(tmp_path):
    model = tiny_model()
    before = _hooks(model)
    record(model, tmp_path / "a.h5", frames(5))
    assert _hooks(model) == before
    with pytest.raises(RuntimeError, match="boom"):
        with Recorder(model, tmp_path / "b.h5", sample_indices=[0, 1], T=T):
            assert _hooks(model) > before
            raise RuntimeError("boom")
    assert _hooks(model) == before
    assert all(not m.store_v_seq for m in model.modules() if isinstance(m, neuron.BaseNode))
    assert not (tmp_path / "b.h5").exists()  # nothing was recorded: no half-written file is left


def test_model_without_spiking_layers():
    with pytest.raises(RecorderError, match="no spiking-neuron layers"):
        Recorder(nn.Sequential(nn.Linear(2, 2)), "x.h5", sample_indices=[0], T=1)


def test_neuron_that_is_not_heaviside_is_refused(tmp_path):
    class Weird(neuron.IFNode):
        def single_step_functional_forward(self, inputs, states, **kw):
            (spike,), (v,) = super().single_step_functional_forward(inputs, states, **kw)
            return (1 - spike,), (v,)

    model = MeanOverTime(nn.Sequential(Weird(step_mode="m")))
    functional.set_step_mode(model, "m")
    with pytest.raises(RecorderError, match="does not reproduce"):
        record(model, tmp_path / "w.h5", torch.rand(3, 2, 4), batch=2)


def _datasets(path):
    out = {}
    with h5py.File(path, "r") as f:
        slot = int(f.attrs["stats_slot"])

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and "stats_" not in name:
                out[name] = obj[...]
            elif isinstance(obj, h5py.Dataset) and name.split("/")[2] == f"stats_{slot}":
                out[name.replace(f"stats_{slot}", "stats")] = obj[...]
        f.visititems(visit)
        attrs = {k: f.attrs[k] for k in ("complete", "n_samples_done", "n_samples_total", "model", "data", "settings")}
    return out, attrs


def assert_same_recording(a, b):
    da, aa = _datasets(a)
    db, ab = _datasets(b)
    assert aa == ab
    assert sorted(da) == sorted(db)
    for key in da:
        assert np.array_equal(da[key], db[key]), key


def test_shards_merge_to_the_unsharded_recording(tmp_path):
    from recorder.merge import merge_shards

    model = tiny_model()
    x = frames(12, seed=5)
    record(model, tmp_path / "full.h5", x, batch=3, raw=[1, 6, 7, 11])
    for i in range(2):
        record(model, tmp_path / f"s{i}.h5", x, batch=3, raw=[1, 6, 7, 11], plan=list(range(6 * i, 6 * i + 6)),
               shard=f"{i}/2")
    merge_shards([tmp_path / "s1.h5", tmp_path / "s0.h5"], tmp_path / "merged.h5")
    assert_same_recording(tmp_path / "full.h5", tmp_path / "merged.h5")
    with pytest.raises(RecorderError, match="do not form one complete set"):
        merge_shards([tmp_path / "s0.h5"], tmp_path / "m2.h5")


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    model = tiny_model()
    x = frames(10, seed=7)
    record(model, tmp_path / "full.h5", x, batch=2, raw=[0, 5, 9])

    class Stop(Exception):
        pass

    path = tmp_path / "cut.h5"
    with pytest.raises(Stop):
        with Recorder(model, path, sample_indices=list(range(10)), T=T, raw=RawPlan((0, 5, 9))) as rec:
            for start in range(0, 10, 2):
                if start == 6:
                    raise Stop()
                rec.record_batch(x[:, start:start + 2], np.arange(start, start + 2) % 3, list(range(start, start + 2)))
    assert not path.exists()  # only a complete recording carries the name
    with open_recording(partial_path(path)) as cut:  # the error checkpointed every finished batch
        assert not cut.complete and cut.n_done == 6 and cut.raw_count() == 2
    record(model, path, x, batch=2, raw=[0, 5, 9], resume=True)
    assert_same_recording(tmp_path / "full.h5", path)
    assert not partial_path(path).exists()


def test_cpu_kernel_equals_pytorch_path():
    from recorder.stats import LayerStats

    g = torch.Generator().manual_seed(0)
    u = torch.randn(3, 5, 4, 6, 6, generator=g) * 0.6
    edges = torch.as_tensor(HistogramSpec(-2.0, 2.0, 20).edges(0.3), dtype=torch.float32)
    u.view(-1)[:21] = edges  # values exactly on every bin edge
    u.view(-1)[30:33] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    s = (u >= 0.3).float()
    s.view(-1)[40] = 1 - s.view(-1)[40]  # one spike the potential does not explain
    st = LayerStats(3, (4, 6, 6), 0.3, HistogramSpec(-2.0, 2.0, 20))
    fast, fast_mismatch = st.batch_sums_kernel(u, s)
    slow, slow_mismatch = st.batch_sums_torch(u, s)
    assert fast_mismatch == slow_mismatch == 1
    for key in fast:  # the sums too: every value is rounded before an exact integer sum
        assert np.array_equal(fast[key], slow[key]), key
    assert int(fast["u_sum"][0, 0]) == int(np.rint(u[0, :, 0][torch.isfinite(u[0, :, 0])].double().numpy() * 2**24).sum())
    bins = np.searchsorted(edges.numpy(), u.numpy(), side="right")
    assert int(fast["hist"][0, 0, 1]) == int(((bins[0, :, 0] == 1) & np.isfinite(u[0, :, 0].numpy())).sum())


def test_custom_neuron_through_an_adapter(tmp_path):
    from recorder import adapters

    class MyLIF(nn.Module):
        """A user's own neuron: state `mem`, U = 0.5 mem + X, fires at 1, hard reset to 0."""

        def __init__(self):
            super().__init__()
            self.mem = 0.0

        def forward(self, x):
            u = 0.5 * self.mem + x
            s = (u >= 1.0).float()
            self.mem = u * (1 - s)
            return s

    adapter = adapters.NeuronAdapter(
        "mylif", lambda m: isinstance(m, MyLIF), lambda m, x, v: 0.5 * v + x,
        lambda m: {"v_threshold": 1.0, "v_reset": 0.0, "tau": 2.0, "beta": 0.5, "decay_input": False},
        state_attr="mem")
    adapters.register_adapter(adapter)
    try:
        cell = MyLIF()

        class Loop(nn.Module):
            def __init__(self):
                super().__init__()
                self.cell = cell

            def forward(self, x):
                cell.mem = 0.0
                return torch.stack([cell(x[t]) for t in range(x.shape[0])]).mean(0)

        x = torch.tensor([0.6, 0.8, 0.3, 1.2]).view(4, 1, 1)
        record(Loop(), tmp_path / "c.h5", x, batch=1, raw=[0], labels=np.array([0]))
        with open_recording(tmp_path / "c.h5") as rec:
            # U: 0.6 | 0.3 + 0.8 = 1.1 (fires) | 0 + 0.3 | 0.15 + 1.2 = 1.35 (fires)
            assert np.allclose(rec.raw("cell", "u").ravel(), [0.6, 1.1, 0.3, 1.35])
            assert rec.raw("cell", "s").ravel().tolist() == [False, True, False, True]
            assert rec.layers[0].class_name == "MyLIF" and rec.layers[0].beta == 0.5
    finally:
        adapters._REGISTRY.remove(adapter)


@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("v_reset", [0.0, None, -0.2])
def test_fast_lif_charge_is_bitwise_spikingjelly(decay_input, v_reset):
    from spikingjelly.activation_based import functional as sj_functional

    from recorder.adapters import lif_charge

    g = torch.Generator().manual_seed(3)
    x, v = torch.randn(10_000, generator=g), torch.randn(10_000, generator=g)
    expected = sj_functional.lif_charge(x, v, 10 / 7, decay_input, v_reset)
    assert torch.equal(lif_charge(x, v, 10 / 7, decay_input, v_reset), expected)


@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("v_reset", [0.0, None, -0.2])
def test_kernel_replay_of_plif_is_bitwise_spikingjellys_u(decay_input, v_reset):
    """PLIF (1/tau = sigmoid(w), learnt): the kernel's U is SpikingJelly's to the bit, its
    spikes are the neuron's, and a recording through the replay equals one through the
    neuron's own stored voltages."""
    from recorder.adapters import SPIKINGJELLY
    from recorder.kernels import run_replay_sums

    torch.manual_seed(6)
    cell = neuron.ParametricLIFNode(init_tau=1.7, decay_input=decay_input, v_reset=v_reset, v_threshold=0.3,
                                    step_mode="m", store_v_seq=True)
    with torch.no_grad():
        cell.w.add_(0.137)  # a learnt value, not the initial one
    x = torch.randn(12, 16, 3, 7, 7) * 0.4
    with torch.no_grad():
        s = cell(x)
    r = 0.0 if v_reset is None else v_reset
    q = cell.w.detach().sigmoid()
    v_prev = torch.cat([torch.full_like(x[:1], r), cell.v_seq[:-1]])
    u_ref = v_prev + (x - (v_prev - r)) * q if decay_input else v_prev - (v_prev - r) * q + x
    assert torch.equal((u_ref >= 0.3).float(), s)
    dynamics = SPIKINGJELLY.dynamics(cell)
    assert dynamics["kind"] == "plif" and dynamics["q"] == q.item()
    v0 = torch.full_like(x[0], r)
    *_, mismatch, peak, u_raw, h_raw = run_replay_sums(x.numpy(), s.numpy(), v0.numpy(), dynamics,
                                                        np.linspace(-1.2, 1.2, 41), 40, 2.0**24, list(range(16)))
    assert mismatch == 0
    assert np.array_equal(u_raw, u_ref.transpose(0, 1).numpy())


@pytest.mark.parametrize("kind", ["lif", "if"])
@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("v_reset", [0.0, None, -0.2])
def test_kernel_replay_is_bitwise_spikingjellys_u(kind, decay_input, v_reset):
    """The kernel rebuilds U from the input and the spikes alone; it must be SpikingJelly's U
    to the bit (the neuron's own voltages, replayed with its own charge function)."""
    from spikingjelly.activation_based import functional as sj_functional

    from recorder.kernels import run_replay_sums

    torch.manual_seed(5)
    make = neuron.LIFNode if kind == "lif" else neuron.IFNode
    extra = {"tau": 10 / 7, "decay_input": decay_input} if kind == "lif" else {}
    cell = make(v_reset=v_reset, v_threshold=0.3, step_mode="m", store_v_seq=True, **extra)
    x = torch.randn(12, 16, 3, 7, 7) * 0.4
    with torch.no_grad():
        s = cell(x)
    v_prev = torch.cat([torch.full_like(x[:1], 0.0 if v_reset is None else v_reset), cell.v_seq[:-1]])
    u_ref = (sj_functional.lif_charge(x, v_prev, 10 / 7, decay_input, v_reset) if kind == "lif" else v_prev + x)
    dynamics = {"kind": kind, "tau": 10 / 7 if kind == "lif" else None, "decay_input": decay_input,
                "v_reset": v_reset, "v_threshold": 0.3}
    v0 = torch.full_like(x[0], 0.0 if v_reset is None else v_reset)
    *_, mismatch, peak, u_raw, h_raw = run_replay_sums(x.numpy(), s.numpy(), v0.numpy(), dynamics,
                                                        np.linspace(-1.2, 1.2, 41), 40, 2.0**24, list(range(16)))
    assert mismatch == 0
    assert np.array_equal(u_raw, u_ref.transpose(0, 1).numpy())
    h_ref = (sj_functional.lif_charge(torch.zeros_like(x), cell.v_seq, 10 / 7, decay_input, v_reset) if kind == "lif"
             else cell.v_seq + 0)
    assert np.array_equal(h_raw, h_ref.transpose(0, 1).numpy())


@pytest.mark.parametrize("size", [0.3, 40.0, 3000.0])  # the last one is past float64's exact row sums
def test_kernel_replay_sums_equal_exact_integer_sums(size):
    """The replay kernel's fixed-point sums (vectorised in float64 where that is exact, int64
    otherwise) equal sums of the same rounded values computed with Python integers."""
    from recorder.kernels import run_replay_sums

    rng = np.random.default_rng(11)
    x = (rng.normal(0.0, size, (3, 2, 2, 32, 32))).astype(np.float32)
    x[0, 0, 0, 0, :3] = [np.nan, np.inf, -np.inf]
    s = np.zeros_like(x)  # threshold above every value: no spikes, U = the charged input
    dynamics = {"kind": "if", "tau": None, "decay_input": False, "v_reset": 0.0, "v_threshold": 1e9}
    hist, count, usum, usumsq, qesum, nonfinite, *_ = run_replay_sums(
        x, s, np.zeros(x.shape[1:], np.float32), dynamics, np.linspace(-1, 1, 11), 10, 2.0**24, [])
    u = np.cumsum(x.astype(np.float32), axis=0, dtype=np.float32)  # IF without spikes: U accumulates
    for t in range(3):
        for c in range(2):
            vals = [float(v) for v in u[t, :, c].ravel() if np.isfinite(v)]
            assert count[t, c] == len(vals) and nonfinite[t, c] == u[t, :, c].size - len(vals)
            assert usum[t, c] == sum(int(np.rint(v * 2.0**24)) for v in vals)
            assert usumsq[t, c] == sum(int(np.rint(v * v * 2.0**24)) for v in vals)
            assert qesum[t, c] == usumsq[t, c]


@pytest.mark.parametrize("arch", ["lif_snn3", "plif_snn5"])
def test_a_replayed_recording_equals_one_from_stored_voltages(tmp_path, monkeypatch, arch):
    """The kernel's replay (LIF, PLIF) and the neuron's own stored voltages give the same
    file, statistics and raw U/H included."""
    from recorder import capture

    def model():
        torch.manual_seed(0)
        extra = {"widths": (4, 8, 8)} if arch == "lif_snn3" else {"widths": (4, 4, 4, 8, 8)}
        return build_model(arch, T=T, num_classes=3, input_size=32, hidden=8, attention="asa1", **extra).eval()

    g = torch.Generator().manual_seed(11)
    x = (torch.rand(T, 6, 2, 32, 32, generator=g) * 3).floor()
    replayed = record(model(), tmp_path / "replayed.h5", x, batch=3, raw=(1, 4), raw_kw={"keep_h": True})
    monkeypatch.setattr(capture, "REPLAYABLE", ())
    stored = record(model(), tmp_path / "stored.h5", x, batch=3, raw=(1, 4), raw_kw={"keep_h": True})
    assert_same_recording(replayed, stored)
