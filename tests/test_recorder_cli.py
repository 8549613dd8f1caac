"""The recorder's command line: record, info, merge, resume, kill -9, and bad input."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from models.checkpoint import save_checkpoint
from models.registry import build_model
from recorder.cli import main
from recorder.reader import open_recording
from recorder.schema import partial_path
from test_recorder import assert_same_recording

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def nmnist_checkpoint(tmp_path_factory):
    """A small untrained-but-fixed lif_snn3 for 34 x 34 N-MNIST frames, T = 5 x 60 ms."""
    torch.manual_seed(0)
    model = build_model("lif_snn3", T=5, num_classes=10, input_size=34, widths=(4, 8, 8), hidden=16, attention="asa1")
    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    save_checkpoint(path, model, {"frames": {"T": 5, "dt_ms": 60.0, "size": [34, 34], "binary": False}})
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_record_real_nmnist_and_info(nmnist_dir, nmnist_checkpoint, tmp_path, capsys):
    out = tmp_path / "r.h5"
    code, text, err = run(capsys, "record", "--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--out", out,
                          "--max-samples", "40", "--raw-per-class", "1", "--batch-size", "16", "--no-progress")
    assert code == 0, err
    assert "complete recording" in text and "samples: 40 of 40 recorded; raw tensors for 4" in text
    with open_recording(out) as rec:
        assert rec.data["split"] == "test" and rec.data["T"] == 5 and rec.data["size"] == [34, 34]
        assert rec.model["checkpoint_kind"] == "project" and len(rec.model["checkpoint_sha256"]) == 64
        assert [l.name for l in rec.layers] == ["blocks.0.lif", "blocks.1.lif", "blocks.2.lif", "lif_fc1", "lif_fc2"]
        assert rec.input_event_sum().shape == (5, 2, 34, 34) and rec.input_event_sum().sum() > 0
        labels = rec.labels()
        first = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)]
        assert rec.raw_samples().tolist() == first
        with h5py.File(out, "r") as f:  # every dataset names its dimensions
            def check(name, obj):
                if isinstance(obj, h5py.Dataset):
                    assert len(obj.attrs["dims"]) == obj.ndim, name
            f.visititems(check)
    code, text, _ = run(capsys, "info", out)
    assert code == 0 and "NASFR" in text and "blocks.0.lif" in text


def test_cli_shards_merge_and_resume(nmnist_dir, nmnist_checkpoint, tmp_path, capsys):
    common = ["--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--max-samples", "24", "--raw-fraction", "0.25",
              "--batch-size", "4", "--no-progress"]
    assert run(capsys, "record", *common, "--out", tmp_path / "full.h5")[0] == 0
    for i in range(3):
        assert run(capsys, "record", *common, "--out", tmp_path / f"s{i}.h5", "--shard", f"{i}/3")[0] == 0
    code, text, err = run(capsys, "merge", "--out", tmp_path / "m.h5", *(tmp_path / f"s{i}.h5" for i in range(3)))
    assert code == 0, err
    assert_same_recording(tmp_path / "full.h5", tmp_path / "m.h5")


@pytest.mark.parametrize("every,saved", [("0", 8), ("60", 0)])
def test_kill_9_leaves_a_readable_file_that_resumes(nmnist_dir, nmnist_checkpoint, tmp_path, capsys, every, saved):
    """kill -9 after two batches: with a checkpoint after every batch the partial file keeps
    8 samples; with the default 60 s none was due, so it keeps 0 (the documented bound);
    either way it reads as incomplete and --resume finishes it bit-identically."""
    out = tmp_path / "k.h5"
    marker = tmp_path / "two_batches_done"
    script = f"""
import sys, time
sys.path[:0] = [{str(REPO)!r}]
import recorder.recorder as r
original = r.Recorder.commit
def slow(self, *args):
    original(self, *args)
    if self.n_done == 8:
        open({str(marker)!r}, "w").close()
        time.sleep(60)
r.Recorder.commit = slow
from recorder.cli import main
main(["record", "--checkpoint", {str(nmnist_checkpoint)!r}, "--data", {str(nmnist_dir)!r}, "--out", {str(out)!r},
      "--max-samples", "16", "--raw-indices", "1", "10", "--batch-size", "4", "--no-progress",
      "--checkpoint-seconds", {every!r}])
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.time() + 120
        while not marker.exists():
            assert proc.poll() is None and time.time() < deadline, "recording subprocess ended early"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not out.exists()
    with open_recording(partial_path(out)) as rec:
        assert not rec.complete and rec.n_done == saved and rec.raw_count() == (1 if saved else 0)
    code, text, _ = run(capsys, "info", partial_path(out))
    assert code == 0 and "INCOMPLETE" in text
    code, _, err = run(capsys, "info", out)
    assert code == 2 and "interrupted recording of it is at k.h5.partial" in err
    common = ["--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--max-samples", "16", "--raw-indices", "1", "10",
              "--batch-size", "4", "--no-progress"]
    code, _, err = run(capsys, "record", *common, "--out", out)
    assert code == 2 and "pass --resume to continue it" in err
    assert run(capsys, "record", *common, "--out", out, "--resume")[0] == 0
    assert run(capsys, "record", *common, "--out", tmp_path / "full.h5")[0] == 0
    assert_same_recording(tmp_path / "full.h5", out)


def test_mismatches_are_one_line_errors_and_write_nothing(nmnist_dir, nmnist_checkpoint, tmp_path, capsys):
    out = tmp_path / "x.h5"
    base = ["record", "--checkpoint", nmnist_checkpoint, "--out", out, "--no-progress"]
    cases = [
        (["--data", nmnist_dir, "--size", "32"], "size 32x32 vs 34x34"),
        (["--data", nmnist_dir, "--T", "8"], "takes T=5 frames; --T 8 does not fit"),
    ]
    for extra, message in cases:
        code, _, err = run(capsys, *base, *extra)
        assert code == 2 and message in err and err.count("\n") == 1, err
        assert not out.exists()
    torch.manual_seed(0)
    one_channel = build_model("lif_snn3", T=5, num_classes=5, in_channels=1, input_size=32, widths=(4, 8, 8), hidden=8)
    save_checkpoint(tmp_path / "c1.pt", one_channel, {"frames": {"T": 5, "dt_ms": 60.0}})
    code, _, err = run(capsys, "record", "--checkpoint", tmp_path / "c1.pt", "--data", "synthetic", "--out", out)
    assert code == 2 and "channels 2 vs 1" in err
    assert not out.exists()


def test_output_path_problems(nmnist_dir, nmnist_checkpoint, tmp_path, capsys):
    base = ["record", "--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--max-samples", "4", "--no-progress"]
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, *base, "--out", tmp_path / "file" / "r.h5")
    assert code == 2 and "does not exist; create it first" in err
    code, _, err = run(capsys, *base, "--out", "/proc/r.h5")
    assert code == 2 and "cannot write the recording" in err
    existing = tmp_path / "e.h5"
    existing.write_bytes(b"keep me")
    code, _, err = run(capsys, *base, "--out", existing)
    assert code == 2 and "the file exists; pass --overwrite" in err
    assert existing.read_bytes() == b"keep me"


def test_foreign_corrupt_and_unknown_version_files(nmnist_dir, nmnist_checkpoint, tmp_path, capsys):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["x"] = np.arange(3)
    corrupt = tmp_path / "corrupt.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 100)
    for path, message in ((foreign, "not a recording of this tool"), (corrupt, "not a readable HDF5 file"),
                          (tmp_path / "none.h5", "does not exist")):
        code, _, err = run(capsys, "info", path)
        assert code == 2 and message in err and err.count("\n") == 1, err
    code, _, err = run(capsys, "record", "--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--out", foreign,
                       "--resume", "--no-progress")
    assert code == 2 and "foreign.h5 exists, but there is no interrupted recording foreign.h5.partial" in err
    for path, message in ((foreign, "not a recording of this tool"), (corrupt, "not a readable HDF5 file")):
        partial_path(path).write_bytes(path.read_bytes())
        code, _, err = run(capsys, "record", "--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--out", path,
                            "--resume", "--no-progress")
        assert code == 2 and message in err, err
    good = tmp_path / "good.h5"
    assert run(capsys, "record", "--checkpoint", nmnist_checkpoint, "--data", nmnist_dir, "--out", good,
               "--max-samples", "4", "--no-progress")[0] == 0
    with h5py.File(good, "r+") as f:
        f.attrs["format_version"] = 99
    code, _, err = run(capsys, "info", good)
    assert code == 2 and "format version 99 is not supported" in err


AUTHORS_FILE = REPO / "tests" / "data" / "authors" / "sj-0.0.0.0.12" / "a_asa_r1.pth"


def test_record_an_authors_file_as_their_code_saved_it(tmp_path, capsys):
    """Their training's own file, unrenamed: recorded in their batch-coupled ASA mode by
    default, and the recording says which mode and batch size ran."""
    out = tmp_path / "a.h5"
    base = ["record", "--checkpoint", AUTHORS_FILE, "--data", "synthetic", "--synthetic-per-class", "2",
            "--out", out, "--no-progress", "--batch-size", "4"]
    code, _, err = run(capsys, *base)
    assert code == 2 and "give --dt-ms" in err
    code, text, err = run(capsys, *base, "--dt-ms", "30")
    assert code == 0, err
    assert "authors' arch A/D" in text and "ASA masks per batch" in text
    assert "ASA masks per batch, batch size 4" in text
    with open_recording(out) as rec:
        assert rec.model["checkpoint_kind"] == "authors" and rec.model["asa_mask_mode"] == "batch"
        assert rec.model["batch_size"] == 4 and rec.model["authors"]["params_theirs"] == 267744
        assert rec.data["T"] == 6 and rec.n_done == 10
        batch_counts = rec.file["samples/spike_count"][...]
    code, _, err = run(capsys, *base, "--dt-ms", "30", "--asa-mask", "sample", "--overwrite")
    assert code == 0, err
    with open_recording(out) as rec:
        assert rec.model["asa_mask_mode"] == "sample"
        assert not np.array_equal(rec.file["samples/spike_count"][...], batch_counts)
    code, _, err = run(capsys, *base, "--dt-ms", "30", "--T", "60", "--overwrite")
    assert code == 2 and "trained for T=6, but T=60 was given" in err


def test_batch_mode_shards_keep_whole_batches(tmp_path, capsys):
    """In batch mode a sample's output depends on its batch: shard boundaries fall on whole
    batches, so the merged shards equal one process (10 samples in batches of 4)."""
    common = ["--checkpoint", AUTHORS_FILE, "--data", "synthetic", "--synthetic-per-class", "2", "--dt-ms", "30",
              "--batch-size", "4", "--raw-fraction", "0.3", "--no-progress"]
    assert run(capsys, "record", *common, "--out", tmp_path / "full.h5")[0] == 0
    for i in range(2):
        assert run(capsys, "record", *common, "--out", tmp_path / f"s{i}.h5", "--shard", f"{i}/2")[0] == 0
    with open_recording(tmp_path / "s0.h5") as rec:
        assert rec.n_total == 4  # not 5: the first shard ends on a batch boundary
    assert run(capsys, "merge", "--out", tmp_path / "m.h5", tmp_path / "s0.h5", tmp_path / "s1.h5")[0] == 0
    assert_same_recording(tmp_path / "full.h5", tmp_path / "m.h5")
