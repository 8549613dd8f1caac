"""The project's checkpoint format, unsafe and broken files, and model input checks."""

import pickle

import pytest
import torch

from models.base import ModelShapeError
from models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from models.registry import build_model


def tiny(attention="asa1"):
    torch.manual_seed(0)
    return build_model("lif_snn3", T=3, num_classes=4, input_size=16, widths=(4, 8, 8), hidden=8, attention=attention)


def test_round_trip_identical_outputs(tmp_path):
    model = tiny().eval()
    path = save_checkpoint(tmp_path / "m.pt", model, {"note": "x", "frames": {"T": 3}})
    loaded, meta = load_checkpoint(path)
    assert meta["note"] == "x"
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "snn-redundancy-checkpoint" and raw["format_version"] == 1
    assert raw["arch"] == "lif_snn3" and raw["arch_args"]["widths"] == [4, 8, 8]
    x = torch.rand(3, 2, 2, 16, 16) * 4
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert not list(tmp_path.glob(".*tmp"))


class Exploit:
    def __reduce__(self):
        import pathlib
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_pickled_code_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "executed"
    bomb = Exploit()
    bomb.marker = str(marker)
    path = tmp_path / "evil.pt"
    torch.save({"format": "snn-redundancy-checkpoint", "payload": bomb}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused, the file carries pickled Python objects"):
        load_checkpoint(path)
    assert not marker.exists()
    with open(path.with_suffix(".pkl"), "wb") as f:
        pickle.dump(bomb, f)
    with pytest.raises(CheckpointError):
        load_checkpoint(path.with_suffix(".pkl"))
    assert not marker.exists()


def test_not_a_checkpoint_and_truncated(tmp_path):
    (tmp_path / "a.pt").write_text("hello, I am text")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(tmp_path / "a.pt")
    path = save_checkpoint(tmp_path / "b.pt", tiny())
    data = path.read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint, or truncated"):
        load_checkpoint(tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save(tiny().state_dict(), tmp_path / "sd.pt")
    with pytest.raises(CheckpointError, match="bare state_dict"):
        load_checkpoint(tmp_path / "sd.pt")


def test_wrong_keys(tmp_path):
    model = tiny()
    path = save_checkpoint(tmp_path / "m.pt", model)
    raw = torch.load(path, weights_only=True)
    raw["state_dict"].pop("fc2.bias")
    raw["state_dict"]["bogus"] = torch.zeros(2)
    raw["state_dict"]["fc1.weight"] = torch.zeros(3, 3)
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match=r"missing keys \(1\): fc2.bias; unexpected keys \(1\): bogus; "
                                              r"wrong shapes, file vs model \(1\): fc1.weight \[3, 3\] vs \[8, 128\]"):
        load_checkpoint(path)
    raw["format_version"] = 99
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="format version 99 is not supported"):
        load_checkpoint(path)


def test_frames_of_wrong_size_or_T():
    model = tiny()
    with pytest.raises(ModelShapeError, match=r"input of shape \[3, 1, 2, 32, 32\] does not fit lif_snn3: expected \[T=3, N, 2, 16, 16\]"):
        model(torch.zeros(3, 1, 2, 32, 32))
    with pytest.raises(ModelShapeError, match="T=3"):
        model(torch.zeros(5, 1, 2, 16, 16))
    with pytest.raises(ModelShapeError, match="NaN"):
        model(torch.full((3, 1, 2, 16, 16), float("nan")))


@pytest.mark.parametrize("arch,kwargs", [
    ("plif_snn5", dict(T=2, input_size=32, channels=4, hidden=8)),
    ("sew_resnet18", dict(T=2, input_size=32)),
])
@pytest.mark.parametrize("attention", ["none", "sa", "tcsa", "asa1", "asa2"])
def test_other_architectures_with_every_attention(arch, kwargs, attention):
    model = build_model(arch, num_classes=3, attention=attention, **kwargs)
    out = model(torch.rand(2, 2, 2, 32, 32))
    assert out.shape == (2, 3)
    out.sum().backward()  # trainable end to end
    assert any(p.grad is not None for p in model.parameters())


def test_build_model_errors():
    with pytest.raises(ValueError, match="unknown architecture 'vgg'"):
        build_model("vgg")
    with pytest.raises(ValueError, match=r"unknown argument\(s\) \['depth'\] for lif_snn3"):
        build_model("lif_snn3", depth=3)


def test_a_plif_checkpoint_with_default_widths_loads_again(tmp_path):
    """plif_snn5 stores widths=None (its default); loading must not refuse what saving wrote."""
    import torch

    from models.checkpoint import load_checkpoint, save_checkpoint
    from models.registry import build_model

    torch.manual_seed(0)
    model = build_model("plif_snn5", T=2, num_classes=3, input_size=32).eval()
    save_checkpoint(tmp_path / "p.pt", model, {"frames": {"T": 2, "dt_ms": 10.0}})
    loaded, _ = load_checkpoint(tmp_path / "p.pt")
    x = torch.rand(2, 1, 2, 32, 32)
    from spikingjelly.activation_based import functional

    with torch.no_grad():
        functional.reset_net(model)
        a = model(x)
        functional.reset_net(loaded)
        b = loaded.eval()(x)
    assert torch.equal(a, b)
