"""The paper's neuron (Eq. 1-4) and the ASA module (Eq. 5-10), pinned by hand-computed
values, parameter counts and an independent loop-based reference."""

import math

import pytest
import torch

from models.attention import ASA, SpatialAttention, make_attention
from models.neurons import paper_lif
from models.registry import build_model
from reference_authors import RefASA, RefLIF


def test_lif_follows_eq_1_to_4_by_hand():
    # U: 0.2 | 0.06+0.2=0.26 | 0.078+0.5=0.578 (fire) | 0+0 | 0.3 (fires: Heaviside(0) = 1)
    x = torch.tensor([0.2, 0.2, 0.5, 0.0, 0.3]).view(5, 1)
    lif = paper_lif()
    lif.store_v_seq = True
    s = lif(x)
    assert s.view(-1).tolist() == [0, 0, 1, 0, 1]
    expected_u = torch.tensor([0.2, 0.26, 0.578, 0.0, 0.3])
    # SpikingJelly's v_seq is the potential after reset, (1 - S) U; recover U = beta * v[t-1] + X
    v = lif.v_seq.view(-1)
    u = x.view(-1) + 0.3 * torch.cat([torch.zeros(1), v[:-1]])
    assert torch.allclose(u, expected_u, atol=1e-6)
    assert torch.allclose(v, expected_u * (1 - s.view(-1)), atol=1e-6)
    ref_s, ref_u = RefLIF()(x)
    assert torch.equal(ref_s, s) and torch.allclose(ref_u.view(-1), u, atol=1e-6)


def test_lif_surrogate_is_rectangle_of_half_width_025():
    u = torch.tensor([0.3 - 0.26, 0.3 - 0.24, 0.3, 0.3 + 0.24, 0.3 + 0.26]).view(5, 1, 1)
    grads = []
    for i in range(5):
        x = u[i:i + 1].clone().requires_grad_(True)
        paper_lif()(x).sum().backward()
        grads.append(float(x.grad))
    assert grads == pytest.approx([0.0, 2.0, 2.0, 2.0, 0.0])


@pytest.mark.parametrize("attention,extra", [("none", 0), ("asa1", 10_914), ("asa2", 114), ("sa", 294)])
def test_parameter_counts_of_authors_configuration(attention, extra):
    model = build_model("lif_snn3", T=60, num_classes=11, in_channels=2, input_size=32, attention=attention)
    assert sum(p.numel() for p in model.parameters()) == 2_323_531 + extra


def test_asa_r_gt_1_parameters():
    asa = ASA(T=60, C=64, variant=1, reduction=4)
    assert sum(p.numel() for p in asa.parameters()) == 60 * 15 * 2 + 2 * 18 + 2


def test_split_mask_is_xor_of_top_k_channels_and_timesteps():
    m = torch.tensor([[[2.0, 4.0], [6.0, 8.0]]])  # [N=1, T=2, C=2]
    asa = ASA(T=2, C=2, variant=2)
    # top channel per t: c1 -> [[0,1],[0,1]]; top t per c: t1 -> [[0,0],[1,1]]; XOR:
    assert asa.split_mask(m).tolist() == [[[0.0, 1.0], [1.0, 0.0]]]


def test_top_k_over_channels_and_timesteps():
    g = torch.Generator().manual_seed(0)
    m = torch.randn(3, 6, 8, generator=g)  # N, T, C
    asa = ASA(T=6, C=8, variant=2)
    m1 = asa.split_mask(m)
    for n in range(3):
        mask_c = torch.zeros(6, 8)
        for t in range(6):
            mask_c[t, m[n, t].argsort(descending=True)[:4]] = 1
        mask_t = torch.zeros(6, 8)
        for c in range(8):
            mask_t[m[n, :, c].argsort(descending=True)[:3], c] = 1
        assert torch.equal(m1[n], (mask_c + mask_t == 1).float())
        assert torch.equal(m1[n], (mask_c.bool() ^ mask_t.bool()).float())


def _tiny_asa(variant):
    asa = ASA(T=2, C=2, variant=variant)
    with torch.no_grad():
        asa.conv_important.weight.zero_()
        asa.conv_subimportant.weight.zero_()
        asa.conv_important.weight[0, 0, 1, 1] = 1.0  # sees the (mean / share) map
        asa.conv_subimportant.weight[0, 1, 1, 1] = 1.0  # sees the max map
        if variant == 1:
            asa.fc.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))  # swaps timesteps
    return asa


def test_asa2_hand_computed():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(2, 1, 2, 1, 1)  # [T, N, C, H, W]
    # M' = F_avg + F_max = 2x; M1 = [[0,1],[1,0]]; group 1 = {2, 3}: mean 5/4 / 0.5 = 2.5;
    # group 2 = {1, 4}: max 4
    s25, s4 = 1 / (1 + math.exp(-2.5)), 1 / (1 + math.exp(-4.0))
    out = _tiny_asa(2)(x).view(2, 2)
    assert torch.allclose(out, torch.tensor([[1 * s4, 2 * s25], [3 * s25, 4 * s4]]), atol=1e-6)


def test_asa1_hand_computed_fc_changes_ranking():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(2, 1, 2, 1, 1)
    # M = fc(M') swaps t: [[6,8],[2,4]]; mask_c = [[0,1],[0,1]], mask_t = [[1,1],[0,0]]
    # M1 = [[1,0],[0,1]] -> group 1 = {1, 4}: mean 2.5; group 2 = {2, 3}: max 3
    s25, s3 = 1 / (1 + math.exp(-2.5)), 1 / (1 + math.exp(-3.0))
    out = _tiny_asa(1)(x).view(2, 2)
    assert torch.allclose(out, torch.tensor([[1 * s25, 2 * s3], [3 * s3, 4 * s25]]), atol=1e-6)


def test_zero_spatial_weights_halve_the_input():
    asa = ASA(T=4, C=6, variant=1)
    torch.nn.init.zeros_(asa.conv_important.weight)
    torch.nn.init.zeros_(asa.conv_subimportant.weight)
    x = torch.randn(4, 2, 6, 5, 5)
    assert torch.allclose(asa(x), 0.5 * x, atol=1e-7)


@pytest.mark.parametrize("variant,reduction", [(1, 1), (1, 2), (2, 1)])
def test_asa_equals_independent_reference(variant, reduction):
    torch.manual_seed(variant * 10 + reduction)
    T, C = 6, 8
    ours = ASA(T, C, variant=variant, reduction=reduction).double()
    ref = RefASA(T, C, reduction=reduction, with_fc=variant == 1).double()
    with torch.no_grad():
        for p in list(ours.parameters()):
            p.copy_(torch.randn_like(p))
        ref.alpha.copy_(ours.alpha)
        ref.beta.copy_(ours.gamma)
        ref.conv1.weight.copy_(ours.conv_important.weight)
        ref.conv2.weight.copy_(ours.conv_subimportant.weight)
        if variant == 1:
            ref.fc.load_state_dict(ours.fc.state_dict())
    x = torch.randn(T, 3, C, 7, 5, dtype=torch.float64)
    assert torch.allclose(ours(x), ref(x.transpose(0, 1)).transpose(0, 1), atol=1e-12)


def test_asa_rejects_wrong_shape():
    with pytest.raises(ValueError, match=r"ASA expects \[T=4, N, C=6, H, W\]"):
        ASA(T=4, C=6)(torch.zeros(5, 1, 6, 3, 3))


def test_spatial_attention_and_tcsa_keep_shape():
    x = torch.randn(3, 2, 4, 6, 6)
    assert SpatialAttention()(x).shape == x.shape
    assert make_attention("tcsa", 3, 4)(x).shape == x.shape
    with pytest.raises(ValueError, match="unknown attention 'xyz'"):
        make_attention("xyz", 3, 4)
