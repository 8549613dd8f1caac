"""Every measure on tiny hand-made arrays, against values computed by hand or by a
second library."""

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from analysis.energy import conv_fanout, delta_energy_pj, energy_pj, synaptic_acs
from analysis.features import (NOISE, NORMAL, NULL, PatternRule, classify_patterns, foreground_mask, pattern_counts,
                               resize_to, spike_features)
from analysis.firing import c_sfr, n_sfr, n_sfr_from_spikes, nasfr, network_t_sfr, relative_change, t_sfr
from analysis.ghosts import GhostRule, ghost_groups, ghost_pairs, ghost_ratio, similarity_matrix
from analysis.potentials import (mpd_histogram, pooled_variance, ptd, quantization_error, quantization_error_raw,
                                 variance_from_sums)


def test_firing_rates_by_hand():
    spikes = np.zeros((4, 2, 1, 2, 2))  # N=4, T=2, C=1, 2x2
    spikes[:, 0, 0, 0, 0] = [1, 1, 0, 0]  # 2 of 4 samples fire at (t0, c0, 0, 0)
    spikes[0, 1, 0, 1, 1] = 1
    nsfr = n_sfr_from_spikes(spikes)
    assert nsfr[0, 0, 0, 0] == 0.5 and nsfr[1, 0, 1, 1] == 0.25
    assert np.array_equal(n_sfr(spikes.sum(0), 4), nsfr)
    assert c_sfr(nsfr).tolist() == [[0.125], [0.0625]]
    assert t_sfr(nsfr).tolist() == [0.125, 0.0625]


def test_nasfr_is_neuron_weighted_across_layers():
    big = np.full((2, 4, 5, 5), 0.1)   # 100 neurons at 0.1
    small = np.full((2, 10, 1, 1), 0.6)  # 10 neurons at 0.6
    # (100 * 0.1 + 10 * 0.6) / 110 = 16 / 110, not the layer mean (0.1 + 0.6) / 2
    assert network_t_sfr([big, small]) == pytest.approx([16 / 110, 16 / 110])
    assert nasfr([big, small]) == pytest.approx(16 / 110)
    assert relative_change(0.5, 0.1055) == pytest.approx(-0.789)


def test_ptd_with_known_tallest_bars():
    edges = np.linspace(-1.0, 1.0, 11)  # bins of 0.2: centres -0.9, -0.7, ..., 0.9
    hist = np.array([50, 1, 2, 9, 3, 1, 8, 7, 0, 0, 4, 99])  # under/overflow bins are the largest: ignored
    # tallest regular bins: 9 (centre -0.5), 8 (0.1), 7 (0.3) -> mean -0.0333..., minus V_th 0.3
    assert ptd(hist, edges, 0.3) == pytest.approx((-0.5 + 0.1 + 0.3) / 3 - 0.3)
    tie = np.array([0, 5, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0])  # ties go to the lower bins: -0.9, -0.7, -0.5
    assert ptd(tie, edges, 0.0) == pytest.approx(-0.7)
    assert np.isnan(ptd(np.array([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), edges, 0.3))


def test_mpd_histogram_bins_and_overflow():
    u = np.array([-2.0, -1.0, -0.99, 0.0, 0.2, 0.999, 1.0, np.nan], np.float32).reshape(8, 1, 1, 1, 1)
    h = mpd_histogram(u, np.linspace(-1, 1, 11))
    assert h.shape == (1, 1, 12)
    assert h[0, 0].tolist() == [1, 2, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]


def test_quantization_error_and_variance_by_hand():
    u = np.array([0.2, 0.5, -0.1, 1.3]).reshape(4, 1, 1, 1, 1)
    s = np.array([0, 1, 0, 1]).reshape(4, 1, 1, 1, 1)
    # (0.04 + 0.25 + 0.01 + 0.09) / 4 = 0.0975
    assert quantization_error_raw(u, s)[0, 0] == pytest.approx(0.0975)
    assert quantization_error(np.array([0.39]), np.array([4]))[0] == pytest.approx(0.0975)
    values = u.ravel()
    var = variance_from_sums(np.array([values.sum()]), np.array([(values**2).sum()]), np.array([4]))
    assert var[0] == pytest.approx(values.var())
    two = pooled_variance(np.array([0.7, 1.2]), np.array([0.29, 1.7]), np.array([2, 2]))
    assert two == pytest.approx(values.var())


def test_patterns_background_object_and_silent_channels():
    rate = np.zeros((4, 4))
    rate[1:3, 1:3] = 5.0  # the object covers the centre
    fg = foreground_mask(rate, 4, 4)
    assert fg.sum() == 4 and fg[1:3, 1:3].all()
    nsfr = np.zeros((2, 3, 4, 4))
    nsfr[:, 0][:, ~fg] = 0.5  # channel 0 fires only on the background
    nsfr[:, 1][:, fg] = 0.5   # channel 1 fires only on the object
    patterns = classify_patterns(nsfr, fg)  # channel 2 never fires
    assert patterns.tolist() == [NOISE, NORMAL, NULL]
    assert pattern_counts(patterns) == {"noise": 1, "normal": 1, "null": 1}
    assert classify_patterns(nsfr, fg, PatternRule(null_rate=0.5)).tolist() == [NULL, NULL, NULL]


def test_foreground_at_a_coarser_layer():
    rate = np.zeros((8, 8))
    rate[0:4, 0:4] = 1.0
    assert np.array_equal(resize_to(rate, 2, 2), [[1.0, 0.0], [0.0, 0.0]])
    assert np.allclose(resize_to(np.arange(9.0).reshape(3, 3), 2, 2).sum(), 4 * 4.0)  # mean preserved
    assert foreground_mask(rate, 2, 2).tolist() == [[True, False], [False, False]]


def test_ssim_equals_a_direct_call_and_ghost_groups():
    rng = np.random.default_rng(0)
    base = rng.random((8, 8))
    features = np.stack([base, base * 0.98 + 0.01, rng.random((8, 8)), np.zeros((8, 8)), rng.random((8, 8))])
    sim = similarity_matrix(features, "ssim")
    assert sim[0, 2] == pytest.approx(structural_similarity(features[0], features[2], data_range=1.0, win_size=7))
    assert np.isnan(sim[3]).all()  # a silent channel has no defined similarity
    pearson = similarity_matrix(features, "pearson")
    assert pearson[0, 1] == pytest.approx(1.0) and pearson[0, 2] == pytest.approx(np.corrcoef(base.ravel(), features[2].ravel())[0, 1])
    pairs = ghost_pairs(sim, 0.9)
    assert pairs == [(0, 1)]
    groups = ghost_groups([(0, 1), (1, 4), (2, 3)], 6)
    assert groups == [[0, 1, 4], [2, 3]]
    assert ghost_ratio(groups, 10) == 0.5
    with pytest.raises(ValueError, match="SSIM needs maps of at least 3 x 3"):
        similarity_matrix(np.random.rand(4, 1, 1), "ssim")
    with pytest.raises(ValueError, match="unknown similarity"):
        GhostRule(method="cosine")


def test_spike_features_and_bad_timestep():
    nsfr = np.random.rand(3, 2, 4, 4)
    assert np.array_equal(spike_features(nsfr, 1), nsfr[1])
    with pytest.raises(IndexError, match="timestep 5 does not exist"):
        spike_features(nsfr, 5)


def test_energy_by_hand_and_fanout_against_spikingjelly():
    import torch
    from spikingjelly.activation_based.op_counter import DispatchCounterMode, SynOpCounter

    # corners of a 3x3 conv (pad 1) on 5x5 reach 2x2 positions, the centre 3x3
    fan = conv_fanout((5, 5), (5, 5), (3, 3), (1, 1), (1, 1), out_channels_per_group=3)
    assert fan[0, 0] == 12 and fan[2, 2] == 27 and fan[0, 2] == 18
    rng = np.random.default_rng(1)
    spikes = (rng.random((4, 2, 2, 5, 5)) < 0.3).astype(np.float32)  # N, T, C, H, W
    conv = torch.nn.Conv2d(2, 3, 3, padding=1, stride=1)
    counter = SynOpCounter()
    with DispatchCounterMode([counter]), torch.no_grad():
        conv(torch.from_numpy(spikes.reshape(8, 2, 5, 5)))
    ours = synaptic_acs(spikes.sum(axis=0), fan, n_samples=4)
    assert ours * 4 == counter.get_total()
    strided = conv_fanout((6, 6), (3, 3), (3, 3), (2, 2), (1, 1), 1)
    conv2 = torch.nn.Conv2d(1, 1, 3, padding=1, stride=2)
    x = torch.from_numpy((rng.random((1, 1, 6, 6)) < 0.5).astype(np.float32))
    c2 = SynOpCounter()
    with DispatchCounterMode([c2]), torch.no_grad():
        conv2(x)
    assert (x[0, 0].numpy() * strided).sum() == c2.get_total()
    assert energy_pj(1000, 2000) == pytest.approx(4.6 * 1000 + 0.9 * 2000)
    assert delta_energy_pj(100, 5000) == pytest.approx(460 - 4500)
