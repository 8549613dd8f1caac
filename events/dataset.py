"""Folder data sets: one sub-folder per class holding event files.

Accepted layouts of `root`:
  root/<class>/*.{bin,aedat,aedat4,npy,npz}
  root/<Split>/<class>/...               (N-MNIST: Train/, Test/; matched case-insensitively)
  root/events_np/<split>/<class>/*.npz   (SpikingJelly's DVS128 Gesture folder, 128 x 128)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from events.frames import FrameSettings, events_to_frames, window_starts
from events.readers import SUFFIXES, read_events
from events.types import EventFileError

SPIKINGJELLY_GESTURE_SENSOR = (128, 128)


@dataclass(frozen=True)
class SampleRef:
    """One sample: a file, its class index, and the window start (None = first event)."""

    path: Path
    label: int
    t_start_us: int | None = None


def resolve_root(root: str | Path, split: str | None) -> tuple[Path, tuple[int, int] | None]:
    """Find the folder holding the class sub-folders; also return a default sensor size
    (width, height) when the layout implies one."""
    root = Path(root)
    if not root.is_dir():
        raise EventFileError(f"{root}: data folder does not exist; give a folder with one sub-folder per class")
    sensor = None
    if (root / "events_np").is_dir():
        root, sensor = root / "events_np", SPIKINGJELLY_GESTURE_SENSOR
    if split is not None:
        matches = [d for d in root.iterdir() if d.is_dir() and d.name.lower() == split.lower()]
        if not matches:
            raise EventFileError(f"{root}: no '{split}' sub-folder; found {sorted(d.name for d in root.iterdir() if d.is_dir())}")
        root = matches[0]
    return root, sensor


def has_split(root: str | Path, split: str) -> bool:
    """Whether `root` (or its SpikingJelly events_np/) has a sub-folder named `split` (any case)."""
    root = Path(root)
    if (root / "events_np").is_dir():
        root = root / "events_np"
    return root.is_dir() and any(d.is_dir() and d.name.lower() == split.lower() for d in root.iterdir())


def list_classes(folder: Path) -> list[str]:
    """Class sub-folder names, numerically ordered when all are numbers."""
    names = [d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if not names:
        raise EventFileError(f"{folder}: no class sub-folders; expected <folder>/<class>/<event files>")
    return sorted(names, key=lambda n: (0, int(n), n) if n.isdigit() else (1, 0, n))


def list_samples(folder: Path, classes: list[str], max_per_class: int | None = None) -> list[SampleRef]:
    refs = []
    for label, name in enumerate(classes):
        files = sorted(f for f in (folder / name).iterdir() if f.suffix.lower() in SUFFIXES and f.is_file())
        if not files:
            raise EventFileError(
                f"{folder / name}: class folder holds no event files ({', '.join(SUFFIXES)}); "
                "add recordings or remove the folder"
            )
        refs += [SampleRef(f, label) for f in files[:max_per_class]]
    return refs


class EventFolderDataset(Dataset):
    """Frames from a folder data set; item i is (frames float32 [T, 2, H, W], label int).

    windows: cut each recording into back-to-back windows of t_lat (or every stride_ms)
    instead of taking one window from its first event.
    sensor_size: (width, height) for formats that do not store it.
    """

    def __init__(self, root: str | Path, settings: FrameSettings, split: str | None = None,
                 sensor_size: tuple[int, int] | None = None, windows: bool = False,
                 stride_ms: float | None = None, max_per_class: int | None = None):
        folder, layout_sensor = resolve_root(root, split)
        self.root = folder
        self.settings = settings
        self.sensor_size = sensor_size or layout_sensor
        self.classes = list_classes(folder)
        refs = list_samples(folder, self.classes, max_per_class)
        if windows:
            refs = [SampleRef(r.path, r.label, start) for r in refs
                    for start in window_starts(read_events(r.path, self.sensor_size), settings, stride_ms)]
        self.samples = refs

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        ref = self.samples[index]
        stream = read_events(ref.path, self.sensor_size)
        if len(stream) == 0:
            raise EventFileError(f"{ref.path}: holds no events, so it would be an all-zero sample; re-copy it or "
                                 "remove it from the data set")
        return torch.from_numpy(events_to_frames(stream, self.settings, ref.t_start_us)), ref.label

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.samples], dtype=np.int64)


class FramesDataset(Dataset):
    """Frames already in memory: frames float32 [N, T, 2, H, W], labels int [N]."""

    def __init__(self, frames: np.ndarray, labels: np.ndarray, classes: list[str]):
        if frames.ndim != 5 or frames.shape[0] != len(labels):
            raise ValueError(f"frames must be [N, T, 2, H, W] with one label each, got {frames.shape} and {len(labels)} labels")
        self.frames, self.labels, self.classes = frames, np.asarray(labels, dtype=np.int64), classes

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(self.frames[index]), int(self.labels[index])


def materialize(dataset: Dataset, progress: bool = False) -> FramesDataset:
    """Read every item once into memory (small data sets: trains many epochs without re-reading)."""
    from tqdm import tqdm

    items = [dataset[i] for i in tqdm(range(len(dataset)), desc="loading", disable=not progress, leave=False)]
    frames = np.stack([f.numpy() for f, _ in items]) if items else np.zeros((0, 1, 2, 1, 1), np.float32)
    return FramesDataset(frames, np.array([label for _, label in items]), list(getattr(dataset, "classes", [])))
