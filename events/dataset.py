"""Folder data sets: one sub-folder per class holding event files.

Accepted layouts of `root`:
  root/<class>/*.{bin,aedat,aedat4,npy,npz}
  root/<Split>/<class>/...               (N-MNIST: Train/, Test/; matched case-insensitively)
  root/events_np/<split>/<class>/*.npz   (SpikingJelly's DVS128 Gesture folder, 128 x 128)
  root/*.{bin,...}                       event files without class folders: unlabelled (label -1)
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
UNLABELLED = -1


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


def event_files(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.suffix.lower() in SUFFIXES and f.is_file())


def list_classes(folder: Path) -> list[str]:
    """Class sub-folder names, numerically ordered when all are numbers; [] for a folder of
    event files without class folders (unlabelled)."""
    names = [d.name for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")]
    if not names and event_files(folder):
        return []
    if not names:
        raise EventFileError(f"{folder}: no class sub-folders and no event files; expected "
                             "<folder>/<class>/<event files> (or event files alone, unlabelled)")
    return sorted(names, key=lambda n: (0, int(n), n) if n.isdigit() else (1, 0, n))


def class_labels(folders: list[str], names: list[str] | None) -> tuple[list[int], str | None]:
    """The label of each class folder: its position in `names` (a model's classes) when every
    folder is one of them, else the folder order; and a note when the names did not fit."""
    if not folders:
        return [], None
    if names and all(f in names for f in folders):
        return [names.index(f) for f in folders], None
    note = (f"class folders {folders[:6]} are not the model's classes {list(names)[:6]}; labels follow the folder "
            "order" if names else None)
    return list(range(len(folders))), note


def list_samples(folder: Path, classes: list[str], max_per_class: int | None = None,
                 labels: list[int] | None = None) -> list[SampleRef]:
    if not classes:
        return [SampleRef(f, UNLABELLED) for f in event_files(folder)[:max_per_class]]
    refs = []
    for label, name in zip(labels or range(len(classes)), classes):
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

    windows: cut each recording into windows of t_lat = T x dt, every stride_ms (default
    t_lat: back to back), never across two recordings; without it each recording gives one
    sample, its first t_lat from the first event.
    sensor_size: (width, height) for formats that do not store it.
    recordings: keep only these files (e.g. one side of a split by recording).
    class_names: a model's classes: folders named like them get their index as label.
    A folder of event files without class folders is unlabelled: every label is -1.
    """

    def __init__(self, root: str | Path, settings: FrameSettings, split: str | None = None,
                 sensor_size: tuple[int, int] | None = None, windows: bool = False,
                 stride_ms: float | None = None, max_per_class: int | None = None,
                 recordings: list[Path] | None = None, class_names: list[str] | None = None):
        folder, layout_sensor = resolve_root(root, split)
        self.root = folder
        self.settings = settings
        self.sensor_size = sensor_size or layout_sensor
        folders = list_classes(folder)
        labels, self.label_note = class_labels(folders, class_names)
        self.classes = list(class_names) if folders and class_names and self.label_note is None else folders
        self.windowed, self.stride_ms = windows, stride_ms
        refs = list_samples(folder, folders, max_per_class, labels)
        if recordings is not None:
            keep = {Path(r).resolve() for r in recordings}
            refs = [r for r in refs if r.path.resolve() in keep]
        if windows:
            refs = [SampleRef(r.path, r.label, start) for r in refs
                    for start in window_starts(self._read(r.path), settings, stride_ms)]
        self.samples = refs

    def _read(self, path: Path):
        stream = read_events(path, self.sensor_size)
        if len(stream) == 0:
            raise EventFileError(f"{path}: holds no events, so it would be an all-zero sample; re-copy it or "
                                 "remove it from the data set")
        return stream

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        ref = self.samples[index]
        return torch.from_numpy(events_to_frames(self._read(ref.path), self.settings, ref.t_start_us)), ref.label

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.samples], dtype=np.int64)

    @property
    def recordings(self) -> list[Path]:
        """The files the samples come from, in order, each once."""
        return list(dict.fromkeys(r.path for r in self.samples))

    @property
    def labelled(self) -> bool:
        return bool(self.classes)

    def per_class(self) -> dict[str, int]:
        """Samples (windows) of each class ({'unlabelled': n} without classes)."""
        if not self.labelled:
            return {"unlabelled": len(self.samples)}
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {name: int(c) for name, c in zip(self.classes, counts)}

    def relative(self, paths: list[Path]) -> list[str]:
        """Paths relative to the data set's class folders' parent (how checkpoints store them)."""
        return [str(Path(p).resolve().relative_to(self.root.resolve())) for p in paths]

    def coverage_note(self, per_class: int = 3) -> str | None:
        """When samples are first windows of recordings that last much longer, say how much
        of each recording they use (from a few recordings per class), and how to use all."""
        if self.windowed or not self.samples:
            return None
        chosen = [r.path for c in sorted({s.label for s in self.samples})
                  for r in [s for s in self.samples if s.label == c][:per_class]]
        durations = np.array([self._read(p).duration_us for p in chosen]) / 1e3
        window = self.settings.window_us / 1e3
        if np.median(durations) <= 1.5 * window:
            return None
        share = 100 * window / np.median(durations)
        return (f"recordings last {durations.min() / 1e3:.1f}-{durations.max() / 1e3:.1f} s (median "
                f"{np.median(durations) / 1e3:.1f} s, from {len(chosen)} of them), but each sample uses only the first "
                f"T x dt = {window:g} ms of its recording (about {share:.1f}%); cut recordings into windows with "
                f"--window-ms {window:g} (and --stride-ms) to use all of them")


def split_by_recording(dataset: EventFolderDataset, test_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """(train recordings, test recordings): in each class a seeded share of the recordings
    (at least one, when the class has two or more) is held out whole, so that no window of a
    test recording reaches training."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in sorted({r.label for r in dataset.samples}):
        files = list(dict.fromkeys(r.path for r in dataset.samples if r.label == label))
        order = rng.permutation(len(files))
        n_test = max(1, int(round(len(files) * test_fraction))) if len(files) > 1 else 0
        test += [files[i] for i in sorted(order[:n_test])]
        train += [files[i] for i in sorted(order[n_test:])]
    return train, test


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
