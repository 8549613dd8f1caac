"""Real event recordings end to end: one orientation, long recordings cut into windows in the
CLIs, splits by recording that say what they do, sensor sizes, unlabelled data."""

from pathlib import Path

import numpy as np
import pytest

from events.dataset import EventFolderDataset, split_by_recording
from events.formats import nmnist
from events.frames import FrameSettings
from events.readers import read_events
from events.synthetic import SyntheticSettings, write_dataset
from events.types import EventFileError
from models.checkpoint import load_checkpoint
from models.train import main as train_main
from recorder.cli import main as record_main
from recorder.reader import open_recording

TINY = ["--widths", "4", "8", "8", "--hidden", "16", "--epochs", "1", "--no-progress", "--threads", "2"]
LONG = SyntheticSettings(duration_ms=2400.0, classes=("right", "left", "grow"))


@pytest.fixture(scope="module")
def long_folder(tmp_path_factory) -> Path:
    """3 classes x 4 recordings of 2.4 s each, no train/test sub-folders."""
    return write_dataset(tmp_path_factory.mktemp("long") / "data", n_per_class=4, seed=5, settings=LONG)


def test_nmnist_is_upright(nmnist_dir):
    """N-MNIST counts rows from the top: a 7 has its bar at the top and its stem below."""
    img = np.zeros((34, 34))
    for f in sorted((nmnist_dir / "Test" / "7").glob("*.bin")):
        ev = read_events(f).events
        np.add.at(img, (ev["y"].astype(int), ev["x"].astype(int)), 1)
    figure = img > np.percentile(img, 70)
    rows = np.flatnonzero(figure.sum(axis=1) > 2)
    quarter = (rows.max() - rows.min()) // 4
    width = figure.sum(axis=1)
    bar, stem = width[rows.min():rows.min() + quarter].mean(), width[rows.max() - quarter:rows.max() + 1].mean()
    assert bar > 2 * stem, (bar, stem)  # measured: 20.4 vs 7.8 pixels


def test_windows_never_cross_recordings_and_count_exactly(long_folder):
    ds = EventFolderDataset(long_folder, FrameSettings(T=5, dt_ms=60.0), windows=True, stride_ms=150.0)
    for path in ds.recordings:
        stream = read_events(path)
        starts = [r.t_start_us for r in ds.samples if r.path == path]
        first, last = int(stream.events["t"][0]), int(stream.events["t"][-1])
        assert len(starts) == (last - first - 300_000) // 150_000 + 1  # every full 300 ms window, every 150 ms
        assert all(first <= s and s + 300_000 <= last for s in starts)
    assert len(ds.recordings) == 12 and ds.per_class() == {"right": 4 * len(starts), "left": 4 * len(starts),
                                                           "grow": 4 * len(starts)}


def test_split_by_recording_holds_recordings_out_whole(long_folder):
    files = EventFolderDataset(long_folder, FrameSettings(5, 60.0))
    train, test = split_by_recording(files, 0.25, seed=3)
    assert not set(train) & set(test) and len(train) + len(test) == 12
    assert sorted(Path(p).parent.name for p in test) == ["grow", "left", "right"]  # one per class
    assert split_by_recording(files, 0.25, seed=3) == (train, test)


def test_train_on_windows_of_long_recordings(long_folder, tmp_path, capsys):
    out = tmp_path / "w.pt"
    code = train_main(["--data", str(long_folder), "--T", "5", "--window-ms", "300", "--stride-ms", "300",
                       "--test-fraction", "0.25", "--out", str(out), *TINY])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "data: 63 training and 21 test windows of 300 ms; split by recordings held out whole per class" in captured.err
    assert "training grow: 21, left: 21, right: 21" in captured.err
    _, meta = load_checkpoint(out)
    held_out = meta["data"]["test_recordings"]
    assert len(held_out) == 3 and meta["frames"]["dt_ms"] == 60.0
    assert meta["metrics"]["train_samples"] == 63 and meta["metrics"]["test_samples"] == 21
    # no window of a held-out recording reached training: rebuild the training set as train.py does
    files = EventFolderDataset(long_folder, FrameSettings(5, 60.0))
    train_files, test_files = split_by_recording(files, 0.25, seed=0)
    assert files.relative(test_files) == held_out
    train = EventFolderDataset(long_folder, FrameSettings(5, 60.0), windows=True, stride_ms=300.0, recordings=train_files)
    assert not {str(p.relative_to(files.root)) for p in train.recordings} & set(held_out)

    # recording the same folder takes the held-out recordings and says so
    code, text, err = run(capsys, "record", "--checkpoint", out, "--data", long_folder, "--out", tmp_path / "r.h5",
                          "--window-ms", "300", "--no-progress")
    assert code == 0, err
    assert "recording the 3 recordings the checkpoint held out from training" in text and "21 windows" in text
    with open_recording(tmp_path / "r.h5") as rec:
        assert rec.n_done == 21 and rec.data["split"] == "held-out"
    code, text, err = run(capsys, "record", "--checkpoint", out, "--data", long_folder, "--out", tmp_path / "a.h5",
                          "--split", "all", "--no-progress", "--max-samples", "6")
    assert code == 0 and "recording every recording (--split all)" in text
    assert "warning: the checkpoint was trained on this folder" in err
    assert "note: recordings last 2.4-2.4 s" in text and "--window-ms 300" in text


def run(capsys, *argv):
    code = record_main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_window_options_must_fit_the_frames(long_folder, tmp_path, capsys):
    code = train_main(["--data", str(long_folder), "--T", "5", "--dt-ms", "50", "--window-ms", "300",
                       "--out", str(tmp_path / "x.pt"), *TINY])
    assert code == 2 and "--window-ms 300 must equal T x dt = 5 x 50 = 250 ms" in capsys.readouterr().err


def test_a_128_pixel_bin_file_names_the_sensor_option(tmp_path):
    (tmp_path / "gesture" / "wave").mkdir(parents=True)
    f = tmp_path / "gesture" / "wave" / "clip.bin"
    f.write_bytes(nmnist.encode(np.arange(100) * 100, np.full(100, 49), np.full(100, 120), np.ones(100, int)))
    with pytest.raises(EventFileError, match=r"give its size with --sensor-size W H \(at least --sensor-size 50 121"):
        read_events(f)
    assert read_events(f, sensor_size=(128, 128)).height == 128
    ds = EventFolderDataset(tmp_path / "gesture", FrameSettings(2, 5.0, (32, 32)), sensor_size=(128, 128))
    assert float(ds[0][0].sum()) == 100


def test_unlabelled_events_say_no_labels(tmp_path, capsys):
    from events.formats.numpy_events import write_npz
    from events.synthetic import make_recording

    folder = tmp_path / "mine"
    folder.mkdir()
    for i in range(3):
        write_npz(folder / f"{i}.npz", make_recording(i, i))
    ds = EventFolderDataset(folder, FrameSettings(10, 30.0))
    assert ds.classes == [] and ds.labels.tolist() == [-1, -1, -1] and not ds.labelled
    checkpoint = Path(__file__).resolve().parents[1] / "sample_runs" / "asa1.pt"
    code, text, err = run(capsys, "record", "--checkpoint", checkpoint, "--data", folder, "--out", tmp_path / "u.h5",
                          "--no-progress")
    assert code == 0, err
    assert "accuracy: no labels (unlabelled data)" in text
    with open_recording(tmp_path / "u.h5") as rec:
        assert rec.labelled == 0 and np.isnan(rec.accuracy) and rec.data["labels"] == "none"


def test_class_folders_are_matched_to_the_models_classes_by_name(tmp_path, capsys):
    """One uploaded recording of class 'grow' is class 4 of the shipped models, not class 0."""
    from events.formats.numpy_events import write_npz
    from events.synthetic import make_recording

    (tmp_path / "one" / "grow").mkdir(parents=True)
    write_npz(tmp_path / "one" / "grow" / "g.npz", make_recording(4, 11))
    checkpoint = Path(__file__).resolve().parents[1] / "sample_runs" / "asa1.pt"
    code, _, err = run(capsys, "record", "--checkpoint", checkpoint, "--data", tmp_path / "one", "--out",
                       tmp_path / "g.h5", "--no-progress")
    assert code == 0, err
    with open_recording(tmp_path / "g.h5") as rec:
        assert rec.labels().tolist() == [4] and rec.data["classes"] == list(SyntheticSettings().classes)
