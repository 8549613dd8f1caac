"""Recording under torchrun (gloo on CPUs): one file from several processes, equal to the
file one process writes; a rank that dies leaves a resumable file."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.checkpoint import save_checkpoint
from models.registry import build_model
from recorder.distributed import shares
from recorder.reader import open_recording
from recorder.schema import partial_path
from test_recorder import _datasets

REPO = Path(__file__).resolve().parents[1]
KILL_RANK_1 = '''
import os, signal, sys
sys.path[:0] = [{repo!r}]
import recorder.recorder as r
original, seen = r.Recorder.measure, []
def measure(self, *args, **kwargs):
    seen.append(1)
    if os.environ.get("RANK") == "1" and len(seen) == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # rank 1 dies in its third batch
    return original(self, *args, **kwargs)
r.Recorder.measure = measure
from recorder.cli import main
sys.exit(main(sys.argv[1:]))
'''


def torchrun(*args, script=None):
    target = [str(script)] if script else ["-m", "recorder"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *target,
           *[str(a) for a in args]]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)


def single(*args):
    return subprocess.run([sys.executable, "-m", "recorder", *[str(a) for a in args]], cwd=REPO,
                          capture_output=True, text=True, timeout=600)


def assert_same_file_but_shares(a: Path, b: Path):
    """Statistics bit-identical, per-sample arrays in the same order, raw tensors equal; the
    settings differ only in how the rows were shared among processes."""
    import json

    import numpy as np

    da, aa = _datasets(a)
    db, ab = _datasets(b)
    assert sorted(da) == sorted(db)
    for key in da:
        assert np.array_equal(da[key], db[key]), key
    sa, sb = json.loads(aa.pop("settings")), json.loads(ab.pop("settings"))
    assert {k: v for k, v in sa.items() if k != "shares"} == {k: v for k, v in sb.items() if k != "shares"}
    assert aa == ab and len(sb["shares"]) == 2


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(3)
    model = build_model("lif_snn3", T=5, num_classes=10, input_size=34, widths=(4, 8, 8), hidden=16, attention="asa1")
    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    save_checkpoint(path, model, {"frames": {"T": 5, "dt_ms": 60.0, "size": [34, 34], "binary": False}})
    return path


def test_shares_fall_on_whole_batches():
    assert shares(50, 2, 8) == [(0, 32), (32, 50)]
    assert shares(10, 3, 4) == [(0, 4), (4, 8), (8, 10)]
    assert shares(4, 2, 4) == [(0, 4), (4, 4)]  # rank 0 is never empty


def test_two_processes_write_the_file_one_process_writes(checkpoint, nmnist_dir, tmp_path):
    common = ["record", "--checkpoint", checkpoint, "--data", nmnist_dir, "--max-samples", "44", "--batch-size", "8",
              "--raw-fraction", "0.2", "--raw-x", "--no-progress"]
    one = single(*common, "--out", tmp_path / "one.h5")
    assert one.returncode == 0, one.stderr
    two = torchrun(*common, "--out", tmp_path / "two.h5", "--checkpoint-seconds", "0")
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("complete recording") == 1  # rank 0 alone reports
    assert_same_file_but_shares(tmp_path / "one.h5", tmp_path / "two.h5")


def test_authors_batch_coupled_asa_gives_the_same_file_on_two_processes(tmp_path):
    """In the authors' batch mode a sample's output depends on its batch: whole-batch shares keep it."""
    authors = REPO / "tests" / "data" / "authors" / "sj-0.0.0.0.12" / "a_asa_r1.pth"
    common = ["record", "--checkpoint", authors, "--data", "synthetic", "--synthetic-per-class", "3", "--dt-ms", "30",
              "--batch-size", "4", "--raw-fraction", "0.2", "--no-progress"]
    assert single(*common, "--out", tmp_path / "one.h5").returncode == 0
    two = torchrun(*common, "--out", tmp_path / "two.h5")
    assert two.returncode == 0, two.stderr[-3000:]
    assert_same_file_but_shares(tmp_path / "one.h5", tmp_path / "two.h5")


def test_a_rank_that_dies_leaves_a_resumable_file(checkpoint, nmnist_dir, tmp_path):
    script = tmp_path / "kill_rank_1.py"
    script.write_text(KILL_RANK_1.format(repo=str(REPO)))
    out = tmp_path / "k.h5"
    common = ["record", "--checkpoint", checkpoint, "--data", nmnist_dir, "--max-samples", "44", "--batch-size", "8",
              "--raw-fraction", "0.2", "--no-progress", "--out", out, "--checkpoint-seconds", "0"]
    died = torchrun(*common, script=script)
    assert died.returncode != 0
    ours = [line for line in died.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1 and "lost the other processes" in ours[0] and "--resume" in ours[0], died.stderr[-3000:]
    assert not out.exists()
    with open_recording(partial_path(out)) as rec:
        assert not rec.complete and rec.n_done == 32  # two full steps of both ranks were checkpointed
    resumed = torchrun(*common, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    one = single(*common[:-4], "--out", tmp_path / "one.h5")
    assert one.returncode == 0, one.stderr
    assert_same_file_but_shares(tmp_path / "one.h5", out)


def test_a_rank_with_nothing_to_record_takes_part(tmp_path):
    """4 samples in one batch of 4: rank 1's share is empty; it still adds its (zero) sums."""
    common = ["record", "--checkpoint", REPO / "sample_runs" / "vanilla.pt", "--data", "synthetic",
              "--synthetic-per-class", "1", "--max-samples", "4", "--batch-size", "4", "--no-progress"]
    assert single(*common, "--out", tmp_path / "one.h5").returncode == 0
    two = torchrun(*common, "--out", tmp_path / "two.h5")
    assert two.returncode == 0, two.stderr[-3000:]
    assert_same_file_but_shares(tmp_path / "one.h5", tmp_path / "two.h5")
