"""Files written by the authors' own code (BICLab/ASA-SNN, run by tests/data/authors/generate.py
in a separate environment) load unchanged and reproduce their forward pass: outputs,
every layer's spikes and input currents, in their batch-coupled ASA mode and per sample."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from models.authors import AuthorsOptions, import_authors_state_dict, load_authors_checkpoint
from models.checkpoint import CheckpointError
from recorder.capture import Capture, find_neuron_layers

AUTHORS = Path(__file__).parent / "data" / "authors"
MAIN = AUTHORS / "sj-0.0.0.0.12"
PROVENANCE = json.loads((MAIN / "provenance.json").read_text())
CASES = sorted(PROVENANCE["cases"])
ASA_CASES = [c for c in CASES if PROVENANCE["cases"][c]["argv"][5] == "ASA"]


def reference(folder: Path, case: str):
    return np.load(folder / f"{case}.npz")


def their_spikes(ref, layer: int, kind: str) -> np.ndarray:
    shape = tuple(int(s) for s in ref[f"shape_{layer}"])
    bits = np.unpackbits(ref[f"s_{kind}_{layer}"])[: int(np.prod(shape))]
    return bits.reshape(shape).astype(bool)


def frames(ref) -> torch.Tensor:
    """Their input [N, T, 2, H, W] as ours [T, N, 2, H, W]."""
    return torch.from_numpy(ref["inputs"]).float().transpose(0, 1).contiguous()


def load(case: str, folder: Path = MAIN, name: str | None = None, **options):
    T = reference(folder, case)["inputs"].shape[1]
    return load_authors_checkpoint(folder / f"{name or case}.pth", AuthorsOptions(T=T, **options))


def run_layers(model, x):
    """(output, [(spikes, input current)] per spiking layer in forward order)."""
    layers = find_neuron_layers(model)
    with Capture(layers, keep_x=True) as cap, torch.no_grad():
        out = model(x)
        traces = cap.take()
    return out, [(traces[name]["s"].bool().numpy(), traces[name]["x"].numpy()) for name, _, _ in layers]


def assert_matches(model, ref, kind: str):
    out, layers = run_layers(model, frames(ref))
    torch.testing.assert_close(out, torch.from_numpy(ref[f"out_{kind}"]), atol=1e-6, rtol=0)
    assert len(layers) == len(ref["layers"])
    for i, (spikes, current) in enumerate(layers):
        theirs = their_spikes(ref, i, kind)
        assert spikes.reshape(theirs.shape).tolist() == theirs.tolist(), f"layer {i} ({ref['layers'][i]}) spikes differ"
        assert theirs.any(), f"layer {i} never fires in the reference; the comparison would be empty"
        if kind == "batch":
            np.testing.assert_allclose(current[:, :1].reshape(ref[f"x_batch_{i}"].shape), ref[f"x_batch_{i}"],
                                       atol=1e-6, rtol=0)


@pytest.mark.parametrize("case", CASES)
def test_batch_mode_reproduces_their_forward(case):
    model, info = load(case)
    assert info.mask_mode == ("batch" if case in ASA_CASES else None)
    assert_matches(model, reference(MAIN, case), "batch")


@pytest.mark.parametrize("case", CASES)
def test_sample_mode_equals_their_code_one_sample_at_a_time(case):
    model, info = load(case, mask_mode="sample")
    assert_matches(model, reference(MAIN, case), "single")


@pytest.mark.parametrize("case", ASA_CASES)
def test_their_masks_couple_the_batch(case):
    """Their code gives a sample other outputs inside a batch than alone; so does batch mode."""
    ref = reference(MAIN, case)
    differ = sum(int((their_spikes(ref, i, "batch") != their_spikes(ref, i, "single")).sum())
                 for i in range(len(ref["layers"])))
    assert differ == PROVENANCE["cases"][case]["spikes_batch_vs_single_differ"] > 1000


def test_a_batch_of_one_runs_in_both_modes():
    ref = reference(MAIN, "a_asa_r1")
    x = frames(ref)
    for mode in ("batch", "sample"):
        model, _ = load("a_asa_r1", mask_mode=mode)
        with torch.no_grad():
            alone = torch.cat([model(x[:, i:i + 1]) for i in range(x.shape[1])])
        torch.testing.assert_close(alone, torch.from_numpy(ref["out_single"]), atol=1e-6, rtol=0)


EXPECTED = {  # case: (arch letter, attention, r, where T came from)
    "a_none": ("A/D", "none", 1, "given"), "a_asa_r1": ("A/D", "asa1", 1, "from the ASA weights"),
    "a_asa_r2": ("A/D", "asa1", 2, "from the ASA weights"), "d_asa_r4": ("D", "asa1", 4, "from the ASA weights"),
    "b_none": ("B", "none", 1, "given"), "b_asa": ("B", "asa1", 1, "from the ASA weights"),
    "c_asa": ("C", "asa1", 1, "from the ASA weights"),
}


@pytest.mark.parametrize("case", CASES)
def test_detection_and_parameter_counts_beside_theirs(case):
    _, info = load(case)
    assert (info.arch, info.attention, info.reduction, info.T_from) == EXPECTED[case]
    theirs = PROVENANCE["cases"][case]["parameters"]  # counted by their model's .parameters()
    assert info.params_theirs == theirs
    unused = 3 * (2 + 1 + 18 + 18) if case[0] in "ad" and "asa" in case else 0  # alpha, beta, fc 1x1, conv1, conv2
    assert info.unused_params == unused and info.params_ours == theirs - unused
    assert f"theirs {theirs:,}" in info.message()
    if unused:
        assert "unused spike.*.attn" in info.message()


def test_every_layout_of_their_files_loads():
    ref = reference(MAIN, "a_asa_r1")
    model, info = load("a_asa_r1", name="a_asa_r1.net_dataparallel")
    assert info.wrapper == "{'net': state_dict} with DataParallel's 'module.' prefix"
    assert_matches(model, ref, "batch")
    old = AUTHORS / "sj-0.0.0.0.6"
    assert json.loads((old / "provenance.json").read_text())["spikingjelly"] == "0.0.0.0.6"
    raw = torch.load(old / "a_asa_r1.pth", weights_only=True)
    assert "ConvAttLIFs.0.conv.module.weight" in raw and "ConvAttLIFs.0.spike.module.attn.alpha" in raw
    for case in ("a_asa_r1", "a_asa_r2"):  # r > 1 too: ASA's fc.0 must not read as a new-layout key
        model, info = load(case, folder=old)
        assert info.layout.startswith("SpikingJelly <= 0.0.0.0.6") and info.reduction == int(case[-1])
        assert_matches(model, reference(old, case), "batch")


def real_state(case: str = "a_asa_r1") -> dict:
    return torch.load(MAIN / f"{case}.pth", weights_only=True)


def test_mismatch_lists_missing_unexpected_and_wrong_shapes():
    state = real_state()
    del state["ConvAttLIFs.1.attn.conv2.weight"]
    state["ConvAttLIFs.2.extra.weight"] = torch.zeros(1)
    state["ConvAttLIFs.0.attn.conv1.weight"] = torch.zeros(1, 2, 5, 5)
    with pytest.raises(CheckpointError) as err:
        import_authors_state_dict(state)
    msg = str(err.value)
    assert "\n" not in msg
    assert "missing keys (1): blocks.1.attn.conv_subimportant.weight" in msg
    assert "unexpected keys (1): ConvAttLIFs.2.extra.weight" in msg
    assert "blocks.0.attn.conv_important.weight [1, 2, 5, 5] vs [1, 2, 3, 3]" in msg


def test_unknown_architecture_says_what_was_tried():
    state = {k: v for k, v in real_state().items() if not k.startswith("FCs.1")}
    with pytest.raises(CheckpointError, match="tried arch A/D .* and arch B/C"):
        import_authors_state_dict(state)
    with pytest.raises(CheckpointError, match="not named tensors"):
        import_authors_state_dict({"a": 1})
    mixed = real_state()
    mixed["ConvAttLIFs.0.conv.module.weight"] = mixed.pop("ConvAttLIFs.0.conv.0.weight")
    with pytest.raises(CheckpointError, match="mixes '.module.'"):
        import_authors_state_dict(mixed)


def test_timesteps_classes_and_input_size_checks():
    with pytest.raises(CheckpointError, match="does not fix T"):
        import_authors_state_dict(real_state("a_none"))
    with pytest.raises(CheckpointError, match="5 output classes, but 11 were given"):
        import_authors_state_dict(real_state("a_none"), AuthorsOptions(T=6, num_classes=11))
    with pytest.raises(CheckpointError, match="trained for T=6, but T=60"):
        import_authors_state_dict(real_state(), AuthorsOptions(T=60))
    with pytest.raises(CheckpointError, match="leaves 2x2 cells"):
        import_authors_state_dict(real_state("b_asa"), AuthorsOptions(input_size=64))
    model, info = import_authors_state_dict(real_state("b_asa"), AuthorsOptions(input_size=(32, 40)))
    assert info.input_size == (32, 40) and model.expected_input == (5, 2, 32, 40)


def test_sample_mode_follows_the_papers_equations():
    """An independent loop-based reference of Eq. 1-10 (tests/reference_authors.py) holding
    the real file's weights agrees with sample mode, in float64."""
    from reference_authors import RefNet

    ref_data = reference(MAIN, "a_asa_r1")
    ref = RefNet(T=6, classes=5, widths=(8, 16, 16), hidden=256, size=32, attention="asa1").double().eval()
    state = {re.sub(r"\.(conv|bn|linear|spike)\.0\.", r".\1.module.", k): v for k, v in real_state().items()}
    ref.load_state_dict(state)
    model, _ = load("a_asa_r1", mask_mode="sample")
    x = frames(ref_data).double()[:, :2]
    with torch.no_grad():
        assert torch.equal(model.double()(x), ref(x))
