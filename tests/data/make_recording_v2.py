"""Writes tests/data/recording_v2.h5, the stored small file of recording format version 2.

Run from the repository root: .venv/bin/python tests/data/make_recording_v2.py
A released format version's file is never regenerated: the tests read it to prove that
readers still accept it. Write a new file (and a new script) for a new version.
"""

from pathlib import Path

import torch

from events.frames import FrameSettings
from events.synthetic import SyntheticSettings, synthetic_frames
from models.registry import build_model
from recorder.recorder import Recorder
from recorder.stats import HistogramSpec
from recorder.writer import RawPlan

OUT = Path(__file__).with_name("recording_v2.h5")


def write(path: Path = OUT) -> Path:
    torch.manual_seed(0)
    model = build_model("lif_snn3", T=4, num_classes=3, input_size=16, widths=(4, 8, 8), hidden=8,
                        attention="asa1").eval()
    data = synthetic_frames(2, 11, FrameSettings(T=4, dt_ms=75.0, size=(16, 16)),
                            SyntheticSettings(classes=("right", "left", "grow")))
    x = torch.from_numpy(data.frames).transpose(0, 1)
    with Recorder(model, path, sample_indices=list(range(6)), T=4, spec=HistogramSpec(-2.0, 2.0, 16),
                  raw=RawPlan((0, 3), spikes="packed", keep_h=True, keep_x=True),
                  model_info={"arch": model.ARCH, "arch_args": model.arch_args},
                  data_info={"source": "synthetic", "seed": 11, "T": 4, "dt_ms": 75.0, "size": [16, 16],
                             "n_samples": 6, "classes": data.classes},
                  overwrite=True, batch_size=3) as rec:
        for start in (0, 3):
            idx = list(range(start, start + 3))
            rec.record_batch(x[:, idx], data.labels[idx], idx)
    return path


if __name__ == "__main__":
    print(write())
