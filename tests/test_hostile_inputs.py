"""Every bad input a careful reviewer tried: one clear line (or a warning where the numbers
would mislead), never a traceback, and declared sizes refused before they are allocated."""

import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from events.limits import LimitError
from events.readers import read_events
from events.types import EventFileError
from models.checkpoint import CheckpointError, save_checkpoint
from models.loader import load_model_file
from models.registry import build_model
from recorder.cli import main as record_main
from recorder.merge import merge_shards
from recorder.reader import RecordingFormatError, open_recording

REPO = Path(__file__).resolve().parents[1]
RECORDING = REPO / "tests" / "data" / "recording_v2.h5"


def run(capsys, main, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys, main, message, *argv):
    code, _, err = run(capsys, main, *argv)
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("lif_snn3", T=4, num_classes=5, input_size=32, widths=(4, 8, 8), hidden=8)
    path = tmp_path_factory.mktemp("ckpt") / "m.pt"
    save_checkpoint(path, model, {"frames": {"T": 4, "dt_ms": 30.0}})
    return path


def edited_checkpoint(src: Path, dst: Path, edit) -> Path:
    payload = torch.load(src, weights_only=True)
    edit(payload)
    torch.save(payload, dst)
    return dst


@pytest.mark.parametrize("edit,message", [
    (lambda p: p.__setitem__("meta", "a string"), "'meta' is str, not a dict"),
    (lambda p: p.__setitem__("state_dict", 7), "'state_dict' is int, not a dict of tensors"),
    (lambda p: p["meta"].__setitem__("frames", "30ms"), "meta 'frames' is str, not a dict"),
    (lambda p: p["arch_args"].__setitem__("widths", [-4, 8, 8]), "widths=[-4, 8, 8] must be a positive whole number"),
    (lambda p: p["arch_args"].__setitem__("widths", [10**9, 8, 8]), "over the limit of 500,000,000; if that is intended, raise it with the environment variable SNNR_MAX_PARAMS"),
    (lambda p: p["arch_args"].__setitem__("hidden", 10**12), "SNNR_MAX_PARAMS"),
    (lambda p: p["arch_args"].__setitem__("T", 10**9), "1,000,000,000 timesteps, over the limit of 10,000"),
    (lambda p: p.__setitem__("format_version", "x"), "format version 'x' is not supported"),
    (lambda p: p["state_dict"].__setitem__(3, torch.zeros(1)), "are not named tensors"),
])
def test_damaged_and_absurd_checkpoints(checkpoint, tmp_path, edit, message):
    path = edited_checkpoint(checkpoint, tmp_path / "bad.pt", edit)
    started = time.perf_counter()
    with pytest.raises((CheckpointError, LimitError)) as err:
        load_model_file(path)
    assert time.perf_counter() - started < 1.0  # refused before anything is built
    assert message in str(err.value) and "\n" not in str(err.value)


def edited_recording(tmp_path: Path, edit) -> Path:
    path = tmp_path / "r.h5"
    path.write_bytes(RECORDING.read_bytes())
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


@pytest.mark.parametrize("edit,message", [
    (lambda f: f.attrs.__setitem__("model", "{not json"), "attribute 'model' is not valid JSON"),
    (lambda f: f.attrs.__setitem__("n_samples_done", 10**6), "1000000 samples done of 6 planned is impossible"),
    (lambda f: f.__delitem__("layers/02/stats/hist"), "dataset layers/02/stats/hist is missing"),
    (lambda f: (f.__delitem__("samples/label"), f.create_dataset("samples/label", data=np.zeros(4, np.int64))),
     "dataset samples/label has shape [4], expected [6]"),
    (lambda f: (f.attrs.__setitem__("complete", False), f.attrs.__setitem__("stats_slot", 7)),
     "stats_slot 7 does not name saved statistics"),
    (lambda f: f.attrs.__setitem__("shares_done", "[5]"), "shares_done [5] does not add up to 6 samples done"),
])
def test_damaged_recordings_are_refused_with_what_is_wrong(tmp_path, capsys, edit, message):
    path = edited_recording(tmp_path, edit)
    with pytest.raises(RecordingFormatError, match="damaged recording"):
        open_recording(path)
    one_line_error(capsys, record_main, message, "info", path)


def test_merge_of_a_shard_with_a_bad_label(tmp_path):
    path = edited_recording(tmp_path, lambda f: f.attrs.__setitem__("shard", "a/b"))
    with pytest.raises(ValueError, match="shard label 'a/b' is not 'i/n'"):
        merge_shards([path], tmp_path / "m.h5")


@pytest.mark.parametrize("extra,message", [
    (["--dt-ms", "0"], "--dt-ms must be > 0 ms, got 0.0"),
    (["--hist-bins", "0"], "--hist-bins must be at least 1, got 0"),
    (["--hist-range", "2", "-2"], "--hist-range LO HI needs LO < HI, got [2.0, -2.0]"),
    (["--batch-size", "0"], "--batch-size must be at least 1, got 0"),
    (["--T", "0"], "--T must be at least 1, got 0"),
    (["--device", "cuda:7"], "cuda:7"),
    (["--hist-bins", "10000000"], "SNNR_MAX_HIST_BINS"),
])
def test_record_options_out_of_range(checkpoint, tmp_path, capsys, extra, message):
    one_line_error(capsys, record_main, message, "record", "--checkpoint", checkpoint, "--data", "synthetic",
                   "--out", tmp_path / "x.h5", "--no-progress", *extra)
    assert not (tmp_path / "x.h5").exists() and not (tmp_path / "x.h5.partial").exists()


def test_class_count_mismatch_warns_and_is_stored(checkpoint, nmnist_dir, tmp_path, capsys):
    torch.manual_seed(0)
    model = build_model("lif_snn3", T=4, num_classes=5, input_size=34, widths=(4, 8, 8), hidden=8)
    save_checkpoint(tmp_path / "five.pt", model, {"frames": {"T": 4, "dt_ms": 30.0}})
    code, _, err = run(capsys, record_main, "record", "--checkpoint", tmp_path / "five.pt", "--data", nmnist_dir,
                       "--out", tmp_path / "r.h5", "--max-samples", "4", "--no-progress")
    assert code == 0 and "warning: the model has 5 output classes but the data has 10" in err
    with open_recording(tmp_path / "r.h5") as rec:
        assert "5 output classes" in rec.data["warnings"][0]


def test_empty_and_oversized_event_files(tmp_path, capsys):
    from events.dataset import EventFolderDataset
    from events.frames import FrameSettings

    (tmp_path / "d" / "0").mkdir(parents=True)
    (tmp_path / "d" / "0" / "empty.bin").write_bytes(b"")
    with pytest.raises(EventFileError, match="holds no events, so it would be an all-zero sample"):
        EventFolderDataset(tmp_path / "d", FrameSettings(4, 10.0))[0]
    big = tmp_path / "big.npz"
    t = np.arange(3)
    np.savez(big, t=t, x=t, y=t, p=t % 2, width=np.int64(10**6), height=np.int64(10**6))
    with pytest.raises(LimitError, match="SNNR_MAX_SENSOR"):
        read_events(big)


def make_bomb(path: Path, events: int = 10**8) -> Path:
    """An .npz whose t array declares `events` int64 zeros: under 1 MB on disk."""
    header = io_header(np.dtype("<i8"), (events,))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        with zf.open("t.npy", "w", force_zip64=True) as member:
            member.write(header)
            block = bytes(2**24)
            left = events * 8
            while left:
                member.write(block[:min(left, len(block))])
                left -= min(left, len(block))
        for name in ("x", "y", "p"):
            with zf.open(f"{name}.npy", "w") as member:
                member.write(io_header(np.dtype("<u2"), (events,)))
    return path


def io_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                                               "shape": shape})
    return buf.getvalue()


def test_decompression_bomb_is_refused_fast_and_small(tmp_path):
    bomb = make_bomb(tmp_path / "bomb.npz")
    assert bomb.stat().st_size < 3 * 2**20
    probe = (f"import resource, sys, time; sys.path[:0] = [{str(REPO)!r}]\n"
             "from events.readers import read_events\n"
             "from events.limits import LimitError\n"
             "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
             "t = time.perf_counter()\n"
             "try:\n"
             f"    read_events({str(bomb)!r}, sensor_size=(128, 128))\n"
             "except LimitError as exc:\n"
             "    print(time.perf_counter() - t, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024, exc)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120).stdout.split(" ", 2)
    seconds, megabytes, message = float(out[0]), float(out[1]), out[2]
    assert seconds < 0.5 and megabytes < 100, (seconds, megabytes)
    assert "declares 100,000,000 events" in message and "SNNR_MAX_EVENTS" in message


def test_train_fails_before_training(tmp_path, nmnist_dir, capsys):
    from models.train import main as train_main

    (tmp_path / "one" / "a").mkdir(parents=True)
    source = sorted((nmnist_dir / "Test" / "0").glob("*.bin"))[0]
    (tmp_path / "one" / "a" / "x.bin").write_bytes(source.read_bytes())
    one_line_error(capsys, train_main, "1 training and 0 test samples", "--data", tmp_path / "one", "--out",
                   tmp_path / "m.pt", "--no-progress")
    started = time.perf_counter()
    one_line_error(capsys, train_main, "cannot write the checkpoint there", "--data", nmnist_dir, "--out",
                   "/proc/nope/m.pt", "--no-progress")
    assert time.perf_counter() - started < 5  # refused before any data is read or epoch is run


def test_ctrl_c_during_info_is_one_line(monkeypatch, capsys):
    import recorder.cli as cli

    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "info_text", interrupted)
    code, _, err = run(capsys, cli.main, "info", RECORDING)
    assert code == 130 and err == "interrupted\n"


def test_aedat4_decoder_crash_is_contained(tmp_path):
    """The `aedat` decoder aborts its process when a header field holds invalid UTF-8 (found
    by the fuzzing suite): the header check refuses such files, and the decoding runs in a
    worker process whose crash becomes an error while this process lives on."""
    from events.formats import aedat4
    from test_fuzz import _seeds

    good = tmp_path / "good.aedat4"
    good.write_bytes(_seeds(tmp_path)[".aedat4"])
    data = good.read_bytes()
    bad = tmp_path / "bad.aedat4"
    bad.write_bytes(data[:225] + b"p\xf9m\xb7" + data[229:])  # the four bytes the fuzzer changed
    with pytest.raises(EventFileError, match="damaged AEDAT4 header .*utf-8"):
        read_events(bad)
    assert aedat4._decode_isolated(bad) == ("error", "the AEDAT4 decoder crashed on this file")
    assert len(read_events(good)) == 300  # a new worker decodes the next file


def test_a_recording_that_hangs_hdf5_is_refused(monkeypatch):
    """tests/data/fuzz/hdf5_attribute_hang.h5 is a recording the fuzzing suite damaged so
    that reading one attribute loops forever inside the HDF5 library: the probe in a worker
    process hits its time limit and the file is refused; this process never hangs."""
    import recorder.reader as reader

    monkeypatch.setattr(reader, "PROBE_TIMEOUT_S", 4)
    started = time.perf_counter()
    with pytest.raises(RecordingFormatError, match="did not end within 4 s"):
        open_recording(REPO / "tests" / "data" / "fuzz" / "hdf5_attribute_hang.h5")
    assert time.perf_counter() - started < 30
    monkeypatch.undo()  # the usual limit: a fresh worker's start alone can pass 4 s on a busy machine
    with open_recording(RECORDING) as rec:  # the next file gets a fresh worker
        assert rec.complete
