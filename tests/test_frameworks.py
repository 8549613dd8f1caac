"""Models built in other frameworks (snnTorch, Sinabs) recorded inside the user's own model:
the recording's spikes equal the framework's own spikes exactly and its U the framework's
own membrane potential before reset (to 1e-6)."""

import json

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from recorder import schema as S
from recorder.reader import open_recording
from recorder.recorder import Recorder
from recorder.silence import Silence
from recorder.writer import RawPlan

snn = pytest.importorskip("snntorch")
sl = pytest.importorskip("sinabs.layers")
from sinabs.activation import MembraneSubtract, SingleSpike  # noqa: E402

T, N = 6, 4


def frames(seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(T, N, 2, 8, 8, generator=g) < 0.3).float()


class SnnTorchNet(nn.Module):
    """A conv net as snnTorch's tutorials write it: one step per call, states passed along."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.lif1 = snn.Leaky(beta=0.8, threshold=0.6)
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)
        self.lif2 = snn.Synaptic(alpha=0.7, beta=0.9, threshold=0.4)
        self.trace = []

    def forward(self, x):  # [T, N, 2, 8, 8] -> spike counts [N, 3]
        mem1 = self.lif1.reset_mem()
        syn2, mem2 = self.lif2.reset_mem()
        self.trace, out = [], 0
        for t in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.conv(x[t]), mem1)
            spk2, syn2, mem2 = self.lif2(self.fc(self.pool(spk1).flatten(1)), syn2, mem2)
            self.trace.append((spk1.clone(), mem1.clone(), spk2.clone(), mem2.clone()))
            out = out + spk2
        return out


class SinabsNet(nn.Module):
    """A conv net as Sinabs writes it: time folded into the batch ([B*T, ...]) with Squeeze
    layers, and a plain IAF on [B, T, F]."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.lif = sl.LIFSqueeze(tau_mem=4.0, spike_threshold=0.1, batch_size=N, spike_fn=SingleSpike,
                                 reset_fn=MembraneSubtract())
        self.pool = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)
        self.iaf = sl.IAF(spike_threshold=0.2, spike_fn=SingleSpike, record_states=True)
        with torch.no_grad():
            self.fc.bias.fill_(0.1)  # a steady drive, so that the IAF layer fires

    def forward(self, x):  # [T, N, 2, 8, 8] -> spike counts [N, 3]
        for layer in (self.lif, self.iaf):
            layer.reset_states()
        b = x.transpose(0, 1).flatten(0, 1)  # [N * T, 2, 8, 8], batch-major as Sinabs expects
        s1 = self.lif(self.conv(b))
        self.s1 = s1.detach().clone()
        h = self.fc(self.pool(s1).flatten(1)).reshape(N, x.shape[0], 3)
        self.s2 = self.iaf(h).detach().clone()
        return self.s2.sum(1)


def record(model, x, path):
    raw = RawPlan(tuple(range(N)), "float32", "bool", False, True)
    with Recorder(model, path, sample_indices=list(range(N)), T=T, raw=raw) as rec:
        rec.record_batch(x, np.arange(N) % 3, list(range(N)))
    return open_recording(path)


def test_snntorch_spikes_and_u_are_snntorchs_own(tmp_path):
    torch.manual_seed(1)
    model = SnnTorchNet().eval()
    x = frames()
    with record(model, x, tmp_path / "snn.h5") as rec:
        spk1 = torch.stack([t[0] for t in model.trace]).transpose(0, 1).numpy()  # [N, T, 4, 8, 8]
        mem1 = torch.stack([t[1] for t in model.trace]).transpose(0, 1).numpy()
        spk2 = torch.stack([t[2] for t in model.trace]).transpose(0, 1).numpy()  # [N, T, 3]
        mem2 = torch.stack([t[3] for t in model.trace]).transpose(0, 1).numpy()
        assert spk1.sum() > 0 and spk2.sum() > 0  # both layers fire: the comparison means something
        assert np.array_equal(rec.raw(0, "s"), spk1.astype(bool))
        np.testing.assert_allclose(rec.raw(0, "u"), mem1, rtol=0, atol=1e-6)
        assert np.array_equal(rec.raw(1, "s")[..., 0, 0], spk2.astype(bool))
        np.testing.assert_allclose(rec.raw(1, "u")[..., 0, 0], mem2, rtol=0, atol=1e-6)
        assert np.array_equal(rec.stats(0)["spike_count"], spk1.sum(0))
        assert [l.adapter for l in rec.layers] == ["snntorch", "snntorch"]
        assert rec.layers[1].neuron["alpha"] == pytest.approx(0.7) and rec.layers[0].beta == pytest.approx(0.8)
        assert rec.layers[0].v_reset is None and rec.layers[0].v_threshold == pytest.approx(0.6)  # subtract: soft
    with h5py.File(tmp_path / "snn.h5") as f:
        neuron = json.loads(f[S.layer_group(0)].attrs[S.L_NEURON])
    assert neuron["framework"] == "snntorch" and neuron["reset_mechanism"] == "subtract" and neuron["reset_delay"]


def test_sinabs_spikes_and_u_are_sinabs_own(tmp_path):
    torch.manual_seed(2)
    model = SinabsNet().eval()
    x = frames(1)
    with record(model, x, tmp_path / "sinabs.h5") as rec:
        s1 = model.s1.reshape(N, T, 4, 8, 8).numpy()
        assert s1.sum() > 0 and model.s2.sum() > 0
        assert np.array_equal(rec.raw(0, "s"), s1.astype(bool))
        assert np.array_equal(rec.raw(1, "s")[..., 0, 0], model.s2.numpy().astype(bool))
        # Sinabs' own state after each step (record_states) plus what its reset subtracted: U before reset
        v_after = model.iaf.recordings["v_mem"].numpy()
        np.testing.assert_allclose(rec.raw(1, "u")[..., 0, 0], v_after + model.s2.numpy() * 0.2, rtol=0, atol=1e-6)
        assert [l.adapter for l in rec.layers] == ["sinabs", "sinabs"]
        assert rec.layers[0].beta == pytest.approx(np.exp(-1 / 4.0)) and rec.layers[1].tau == np.inf
        assert rec.layers[0].neuron["spike_fn"] == "SingleSpike"
    assert model.iaf.record_states  # what the user set is kept
    assert not model.lif.record_states


def test_sinabs_multispike_is_refused_with_its_name(tmp_path):
    model = nn.Sequential(sl.IAF(spike_threshold=0.1))  # MultiSpike by default
    x = torch.ones(N, T, 3)

    class Wrap(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = model

        def forward(self, f):
            self.net[0].reset_states()
            return self.net(f.transpose(0, 1)).sum(1)

    with pytest.raises(ValueError, match="MultiSpike.*spike_fn=SingleSpike"):
        record(Wrap(), x.transpose(0, 1), tmp_path / "m.h5")


def test_silencing_works_in_snntorch_and_sinabs_models():
    torch.manual_seed(1)
    snn_model, x = SnnTorchNet().eval(), frames()
    with Silence(snn_model, {"lif1": [0, 1]}) as silence, torch.no_grad():
        snn_model(x)
        counts = silence.take()
    spk1 = torch.stack([t[0] for t in snn_model.trace])  # [T, N, 4, 8, 8] after the cut, as the next layer saw it
    assert spk1[:, :, :2].sum() == 0 and counts["lif1"][1][:, :2].sum() == 0
    assert counts["lif1"][1].shape == (T, 4, 8, 8) and counts["lif1"][0].sum() == spk1.sum()
    torch.manual_seed(2)
    sin_model = SinabsNet().eval()
    with Silence(sin_model, {"lif": [3]}) as silence, torch.no_grad():
        sin_model(frames(1))
        counts = silence.take()
    assert counts["lif"][1].shape == (T, 4, 8, 8) and counts["lif"][1][:, 3].sum() == 0
    assert counts["iaf"][0].shape == (N,)
