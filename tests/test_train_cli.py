"""End-to-end training from the command line on real N-MNIST and on synthetic data."""

import json

import pytest
import torch
from torch.utils.data import DataLoader

from events.dataset import EventFolderDataset
from events.frames import FrameSettings
from models.checkpoint import load_checkpoint
from models.firing import tally_spikes
from models.train import main

TINY = ["--widths", "4", "8", "8", "--hidden", "16", "--epochs", "1", "--no-progress", "--threads", "2"]


def test_train_on_real_nmnist(nmnist_dir, tmp_path, capsys):
    out = tmp_path / "run" / "nmnist.pt"
    code = main(["--data", str(nmnist_dir), "--T", "5", "--dt-ms", "60", "--max-per-class", "6",
                 "--attention", "asa1", "--out", str(out), *TINY])
    assert code == 0
    assert "test accuracy" in capsys.readouterr().out
    report = json.loads(out.with_suffix(".json").read_text())
    metrics = report["metrics"]
    assert metrics["train_samples"] == 60 and metrics["test_samples"] == 100
    assert 0.0 < metrics["nasfr"] < 1.0
    assert report["frames"] == {"T": 5, "dt_ms": 60.0, "size": [34, 34], "binary": False, "windows": None}
    assert report["data"]["classes"] == [str(d) for d in range(10)]

    # the checkpoint reproduces the reported numbers when evaluated independently
    model, meta = load_checkpoint(out)
    assert meta["metrics"]["test_accuracy"] == metrics["test_accuracy"]
    test = EventFolderDataset(nmnist_dir, FrameSettings(5, 60.0), split="test")
    correct = 0
    with torch.no_grad(), tally_spikes(model) as tally:
        for x, y in DataLoader(test, batch_size=50):
            correct += int((model(x.transpose(0, 1)).argmax(1) == y).sum())
    assert correct / len(test) == pytest.approx(metrics["test_accuracy"])
    assert tally.nasfr() == pytest.approx(metrics["nasfr"], rel=1e-6)


def test_train_on_synthetic(tmp_path):
    out = tmp_path / "syn.pt"
    assert main(["--data", "synthetic", "--T", "4", "--dt-ms", "75", "--synthetic-per-class", "4",
                 "--out", str(out), *TINY]) == 0
    model, meta = load_checkpoint(out)
    assert meta["data"]["source"] == "synthetic" and model.arch_args["num_classes"] == 5


def test_bad_data_folder_is_one_line_error(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "x.pt"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "does not exist" in err and "\n" not in err
    assert not (tmp_path / "x.pt").exists()
