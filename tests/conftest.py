import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
# the real recordings (nmnist-small, dvs128-aedat2): ../shared/data beside the checkout, or SNNR_SHARED_DATA
SHARED = Path(os.environ.get("SNNR_SHARED_DATA", REPO.parent / "shared" / "data"))
NMNIST = Path(os.environ.get("NMNIST_DIR", SHARED / "nmnist-small"))

torch.set_num_threads(2)
# the dashboard's background cache warm-up (app.warm) off: AppTest and the browser tests
# measure and check what a page computes itself; tests of app.warm switch it on where needed
os.environ["SNNR_WARM_UP"] = "0"


@pytest.fixture(scope="session")
def nmnist_dir() -> Path:
    """The real N-MNIST folder. Missing is a failure, not a skip: CI must use real data."""
    if not (NMNIST / "Train").is_dir() or not (NMNIST / "Test").is_dir():
        pytest.fail(f"real N-MNIST data not found at {NMNIST}; set NMNIST_DIR or SNNR_SHARED_DATA, or provide "
                    "../shared/data/nmnist-small")
    return NMNIST


def write_aedat4(path: Path, t, x, y, p, camera: str, size: tuple[int, int]) -> Path:
    """A real AEDAT4 file written by dv-processing (iniVation's own library)."""
    dv = pytest.importorskip("dv_processing")
    writer = dv.io.MonoCameraWriter(str(path), dv.io.MonoCameraWriter.EventOnlyConfig(camera, size))
    store = dv.EventStore()
    for row in zip(t, x, y, p):
        store.push_back(int(row[0]), int(row[1]), int(row[2]), bool(row[3]))
    writer.writeEvents(store)
    del writer  # closes the file
    return path
