"""Authors' arch-A state_dicts import into our LIFSNN3 and reproduce their forward pass."""

import pytest
import torch

from models.authors import import_authors_state_dict, load_authors_checkpoint, rename_keys
from models.checkpoint import CheckpointError
from reference_authors import RefNet, randomize

T, CLASSES, SIZE = 4, 5, 16


def _pair(attention, seed=0):
    ref = randomize(RefNet(T=T, classes=CLASSES, size=SIZE, attention=attention), seed).double().eval()
    if attention == "asa1-r2":
        # With r > 1 a ReLU sits inside the importance map; units it silences make exact
        # ties in M, and which of the tied channels top-k keeps is an implementation
        # detail (ours and the authors' both use torch.topk). Strictly positive BN outputs
        # and fc weights keep M free of ties, so the loop-based reference is comparable.
        with torch.no_grad():
            for block in ref.ConvAttLIFs:
                block.bn.module.weight.fill_(0.01)
                block.bn.module.bias.fill_(0.25)
                block.attn.fc[0].weight.abs_()
                block.attn.alpha.fill_(0.5)
                block.attn.beta.fill_(0.5)
    state = ref.state_dict()
    ours = import_authors_state_dict(state, T=T).double()
    return ref, ours, state


@pytest.mark.parametrize("attention", ["none", "asa1", "asa1-r2"])
def test_round_trip_reproduces_forward(attention):
    ref, ours, state = _pair(attention)
    assert any(k.startswith("ConvAttLIFs.0.conv.module.") for k in state)
    if attention != "none":
        assert "ConvAttLIFs.0.spike.module.attn.alpha" in state  # the unused cell attention is present...
    x = (torch.rand(T, 3, 2, SIZE, SIZE, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 3)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert expected.abs().sum() > 0  # the net does fire
    assert torch.equal(got, expected)
    assert ours.arch_args["attention"] == ("none" if attention == "none" else "asa1")
    assert ours.arch_args["reduction"] == (2 if attention == "asa1-r2" else 1)


def test_file_round_trip_with_wrapper_and_dataparallel_prefix(tmp_path):
    ref, ours, state = _pair("asa1", seed=3)
    torch.save({"state_dict": {"module." + k: v for k, v in state.items()}}, tmp_path / "a.pth")
    loaded = load_authors_checkpoint(tmp_path / "a.pth").double()
    x = torch.rand(T, 2, 2, SIZE, SIZE, dtype=torch.float64) * 3
    with torch.no_grad():
        assert torch.equal(loaded(x), ref(x))


def test_renames_cover_every_key():
    _, ours, state = _pair("asa1")
    assert set(rename_keys(state)) == set(ours.state_dict())


def test_mismatch_lists_missing_unexpected_and_wrong_shapes():
    _, _, state = _pair("asa1")
    state = dict(state)
    del state["ConvAttLIFs.1.attn.conv2.weight"]
    state["ConvAttLIFs.2.extra.weight"] = torch.zeros(1)
    state["ConvAttLIFs.0.attn.conv1.weight"] = torch.zeros(1, 2, 5, 5)
    with pytest.raises(CheckpointError) as err:
        import_authors_state_dict(state, T=T)
    msg = str(err.value)
    assert "\n" not in msg
    assert "missing keys (1): blocks.1.attn.conv_subimportant.weight" in msg
    assert "unexpected keys (1): ConvAttLIFs.2.extra.weight" in msg
    assert "blocks.0.attn.conv_important.weight [1, 2, 5, 5] vs [1, 2, 3, 3]" in msg


def test_t_and_classes_checks():
    _, _, state = _pair("none")
    with pytest.raises(CheckpointError, match="does not fix T"):
        import_authors_state_dict(state)
    with pytest.raises(CheckpointError, match="5 output classes, but 11 were given"):
        import_authors_state_dict(state, T=T, num_classes=11)
    _, _, asa_state = _pair("asa1")
    with pytest.raises(CheckpointError, match="trained for T=4, but T=60"):
        import_authors_state_dict(asa_state, T=60)
    with pytest.raises(CheckpointError, match="lacks 'FCs.0.linear.module.weight'"):
        import_authors_state_dict({k: v for k, v in state.items() if not k.startswith("FCs.0")}, T=T)
