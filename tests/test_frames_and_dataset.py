"""Frame integration, windows, folder data sets and the synthetic generator."""

import numpy as np
import pytest

from events.dataset import EventFolderDataset
from events.formats import nmnist
from events.frames import FrameSettings, events_to_frames, window_starts
from events.synthetic import SyntheticSettings, make_recording, synthetic_frames, write_dataset
from events.types import EventFileError, make_stream


def test_frames_hand_computed():
    # t0 = 100 us; dt = 1 ms -> frames [100, 1100), [1100, 2100); the event at 2100 is dropped
    s = make_stream(np.array([100, 600, 1099, 1100, 2100]), np.array([0, 0, 3, 1, 2]),
                    np.array([0, 0, 2, 1, 2]), np.array([1, 1, 0, 1, 1]), 4, 4)
    f = events_to_frames(s, FrameSettings(T=2, dt_ms=1.0))
    assert f.shape == (2, 2, 4, 4) and f.dtype == np.float32
    expected = np.zeros_like(f)
    expected[0, 1, 0, 0] = 2
    expected[0, 0, 2, 3] = 1
    expected[1, 1, 1, 1] = 1
    assert np.array_equal(f, expected)
    binary = events_to_frames(s, FrameSettings(T=2, dt_ms=1.0, binary=True))
    assert binary[0, 1, 0, 0] == 1


def test_downsampling_sums_blocks():
    x = np.array([0, 1, 2, 3]); y = np.array([0, 1, 2, 3])
    s = make_stream(np.arange(4), x, y, np.ones(4, int), 4, 4)
    f = events_to_frames(s, FrameSettings(T=1, dt_ms=1.0, size=(2, 2)))
    assert np.array_equal(f[0, 1], [[2, 0], [0, 2]])


def test_windows():
    s = make_stream(np.arange(0, 10_000, 10), np.zeros(1000, int), np.zeros(1000, int), np.zeros(1000, int), 2, 2)
    settings = FrameSettings(T=2, dt_ms=1.0)  # 2 ms windows over a 9.99 ms stream
    assert window_starts(s, settings) == [0, 2000, 4000, 6000]
    assert window_starts(s, settings, stride_ms=4.0) == [0, 4000]
    f = events_to_frames(s, settings, t_start_us=2000)
    assert f.sum() == 200  # 100 events per ms


def test_nmnist_folder_splits(nmnist_dir):
    settings = FrameSettings(T=10, dt_ms=30.0)
    train = EventFolderDataset(nmnist_dir, settings, split="train")
    test = EventFolderDataset(nmnist_dir, settings, split="Test")
    assert train.classes == [str(d) for d in range(10)]
    assert len(train) == 1000 and len(test) == 100
    assert np.bincount(test.labels).tolist() == [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    frames, label = test[0]
    assert tuple(frames.shape) == (10, 2, 34, 34) and label == 0
    assert float(frames.sum()) > 0


def test_empty_class_folder(tmp_path):
    (tmp_path / "0").mkdir()
    (tmp_path / "0" / "a.bin").write_bytes(nmnist.encode([0], [1], [1], [1]))
    (tmp_path / "1").mkdir()
    with pytest.raises(EventFileError, match=r"1: class folder holds no event files"):
        EventFolderDataset(tmp_path, FrameSettings(2, 1.0))


def test_missing_and_flat_folders(tmp_path):
    with pytest.raises(EventFileError, match="does not exist"):
        EventFolderDataset(tmp_path / "nope", FrameSettings(2, 1.0))
    with pytest.raises(EventFileError, match="no class sub-folders"):
        EventFolderDataset(tmp_path, FrameSettings(2, 1.0))


def test_spikingjelly_gesture_layout(tmp_path):
    for split in ("train", "test"):
        for label in ("0", "10", "2"):
            d = tmp_path / "events_np" / split / label
            d.mkdir(parents=True)
            np.savez(d / "user01.npz", t=np.array([0, 10]), x=np.array([127, 0]), y=np.array([5, 6]), p=np.array([0, 1]))
    ds = EventFolderDataset(tmp_path, FrameSettings(1, 1.0), split="test")
    assert ds.classes == ["0", "2", "10"]
    assert tuple(ds[2][0].shape) == (1, 2, 128, 128) and ds[2][1] == 2


def test_windows_in_dataset(tmp_path):
    (tmp_path / "a").mkdir()
    n = 5000
    (tmp_path / "a" / "r.bin").write_bytes(nmnist.encode(np.arange(n) * 20, np.zeros(n, int), np.zeros(n, int), np.ones(n, int)))
    ds = EventFolderDataset(tmp_path, FrameSettings(T=5, dt_ms=2.0), windows=True)  # 100 ms recording, 10 ms windows
    assert len(ds) == 9 or len(ds) == 10
    assert all(float(ds[i][0].sum()) == 500 for i in range(len(ds)))


def test_synthetic_is_seeded_and_moves_object():
    a, b = make_recording(0, 7), make_recording(0, 7)
    assert np.array_equal(a.events, b.events)
    assert not np.array_equal(a.events, make_recording(0, 8).events)
    quiet = SyntheticSettings(noise_hz=0.0)
    right = make_recording(0, 1, quiet)
    on = right.events[right.events["p"] == 1]
    # object moving right: ON events (leading edge) move to larger x over time
    first, last = on[: len(on) // 4], on[-len(on) // 4:]
    assert last["x"].mean() > first["x"].mean() + 4
    ds = synthetic_frames(3, 0, FrameSettings(T=4, dt_ms=75.0))
    assert ds.frames.shape == (15, 4, 2, 32, 32) and ds.classes == list(quiet.classes)


def test_synthetic_folder_reads_back(tmp_path):
    write_dataset(tmp_path, n_per_class=2, seed=3)
    ds = EventFolderDataset(tmp_path, FrameSettings(T=5, dt_ms=60.0))
    assert len(ds) == 10 and sorted(ds.classes) == sorted(SyntheticSettings().classes)
