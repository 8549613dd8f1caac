"""Fuzzing (Hypothesis): every event reader, the checkpoint loader and the recording reader,
fed mutations of real and valid files and random bytes, either return valid data or raise
the project's own error types; nothing else escapes, nothing hangs, nothing crashes.

Budget: SNNR_FUZZ_EXAMPLES inputs per target (default 150 in CI, derandomized so every run
tries the same inputs); `SNNR_FUZZ_EXAMPLES=5000 ./test.sh -k fuzz` searches longer.
"""

import io
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.limits import LimitError
from events.readers import read_events
from events.types import EventFileError
from models.checkpoint import CheckpointError
from models.loader import load_model_file
from recorder.reader import RecordingFormatError, open_recording
from conftest import SHARED, write_aedat4

EXAMPLES = int(os.environ.get("SNNR_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
REPO = Path(__file__).resolve().parents[1]
EVENT_ERRORS = (EventFileError, LimitError)
TRIED: dict[str, int] = {}  # inputs tried per target, written to test-artifacts/fuzz-counts.json


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    out = REPO / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "fuzz-counts.json").write_text(json.dumps({"examples_per_target": EXAMPLES, "tried": TRIED}, indent=1))


def tried(target: str) -> None:
    TRIED[target] = TRIED.get(target, 0) + 1


@st.composite
def mutated(draw, seed: bytes):
    """A seed file with a few byte edits: flips, overwrites, cuts, insertions, duplication."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate", "repeat"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and data:
            data[pos:pos + 8] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "cut":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "truncate":
            del data[pos:]
        elif kind == "repeat":
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 256))]
    return bytes(data)


def inputs(seed: bytes):
    return st.one_of(mutated(seed), st.binary(max_size=512))


def fuzz_file(path: Path, seed: bytes, consume, target: str) -> None:
    """Write each fuzzed variant of `seed` to `path` and hand it to consume(path)."""
    @FUZZ
    @given(data=inputs(seed))
    def run(data):
        tried(target)
        path.write_bytes(data)
        consume(path)

    run()


def check_stream(stream):
    ev = stream.events
    assert len(ev) == 0 or (int(ev["x"].max()) < stream.width and int(ev["y"].max()) < stream.height)
    assert len(ev) == 0 or int(ev["p"].max()) <= 1
    assert np.all(np.diff(ev["t"]) >= 0)


def _seeds(tmp: Path) -> dict[str, bytes]:
    from events.formats import aedat3, numpy_events
    from events.types import make_stream

    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 10**6, 300))
    x, y, p = rng.integers(0, 128, 300), rng.integers(0, 128, 300), rng.integers(0, 2, 300)
    nmnist = sorted((SHARED / "nmnist-small" / "Test").glob("*/*.bin"))[0].read_bytes()
    aedat2 = (SHARED / "dvs128-aedat2" / "person_standing_up.aedat").read_bytes()
    header_end = aedat2.rfind(b"#", 0, 4096)
    aedat2 = aedat2[: aedat2.find(b"\n", header_end) + 1 + 8 * 400]  # the real header and 400 real events
    numpy_events.write_npz(tmp / "e.npz", make_stream(t, x, y, p, 128, 128))
    arr = np.zeros(300, dtype=[("t", "<i8"), ("x", "<u2"), ("y", "<u2"), ("p", "u1")])
    arr["t"], arr["x"], arr["y"], arr["p"] = t, x, y, p
    np.save(tmp / "e.npy", arr)
    seeds = {".bin": nmnist, ".aedat": aedat2, ".aedat3": aedat3.encode(t, x, y, p, events_per_packet=64),
             ".npz": (tmp / "e.npz").read_bytes(), ".npy": (tmp / "e.npy").read_bytes()}
    seeds[".aedat4"] = write_aedat4(tmp / "e.aedat4", t, x, y, p, "DVS128", (128, 128)).read_bytes()
    return seeds


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seeds(tmp_path_factory.mktemp("seeds"))


@pytest.mark.parametrize("suffix", [".bin", ".aedat", ".aedat3", ".aedat4", ".npz", ".npy"])
def test_event_readers(seeds, tmp_path, suffix):
    def read(path):
        try:
            stream = read_events(path, sensor_size=(128, 128) if suffix == ".npy" else None)
        except EVENT_ERRORS:
            return
        check_stream(stream)

    fuzz_file(tmp_path / ("fuzz" + (".aedat" if suffix == ".aedat3" else suffix)), seeds[suffix], read,
              f"event reader {suffix}")


def project_checkpoint(tmp: Path) -> bytes:
    from models.checkpoint import save_checkpoint
    from models.registry import build_model

    torch.manual_seed(0)
    model = build_model("lif_snn3", T=2, num_classes=3, input_size=8, widths=(2, 2, 2), hidden=4, attention="asa1")
    save_checkpoint(tmp / "c.pt", model, {"frames": {"T": 2, "dt_ms": 10.0}})
    return (tmp / "c.pt").read_bytes()


@pytest.fixture(scope="module")
def checkpoint_seed(tmp_path_factory):
    return project_checkpoint(tmp_path_factory.mktemp("ckpt"))


def load_or_refuse(path: Path) -> None:
    try:
        loaded = load_model_file(path)
    except (CheckpointError, LimitError):
        return
    assert loaded.model is not None and loaded.info["arch"]


def test_checkpoint_loader_on_mutated_files(checkpoint_seed, tmp_path):
    fuzz_file(tmp_path / "m.pt", checkpoint_seed, load_or_refuse, "checkpoint loader, mutated files")


plain = st.recursive(st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                     max_leaves=12)


def test_checkpoint_loader_on_hostile_payloads(tmp_path):
    """Well-formed torch files whose content lies: wrong types, absurd sizes, junk state_dicts."""
    path = tmp_path / "p.pt"
    sizes = st.one_of(st.integers(-5, 64), st.integers(10**6, 10**15), plain)
    arch_args = st.fixed_dictionaries({}, optional={"T": sizes, "num_classes": sizes, "input_size": sizes,
                                                    "widths": st.lists(sizes, max_size=4), "hidden": sizes,
                                                    "attention": st.sampled_from(["none", "asa1", "x"]) | plain})
    payload = st.fixed_dictionaries(
        {"format": st.sampled_from(["snn-redundancy-checkpoint", "other"])},
        optional={"format_version": st.sampled_from([1, 2]) | plain,
                  "arch": st.sampled_from(["lif_snn3", "plif_snn5", "sew_resnet18"]) | plain,
                  "arch_args": arch_args | plain, "state_dict": st.dictionaries(st.text(max_size=10), st.just(torch.zeros(2)),
                                                                                 max_size=3) | plain,
                  "meta": plain})

    @FUZZ
    @given(p=payload)
    def load(p):
        tried("checkpoint loader, hostile payloads")
        torch.save(p, path)
        load_or_refuse(path)

    load()


def small_recording(tmp: Path) -> Path:
    from data.make_recording_v2 import write

    return write(tmp / "r.h5")


@pytest.fixture(scope="module")
def recording_seed(tmp_path_factory):
    return small_recording(tmp_path_factory.mktemp("rec")).read_bytes()


def read_everything(path: Path) -> None:
    try:
        with open_recording(path) as rec:
            rec.labels(), rec.predictions(), rec.sample_spike_counts(), rec.accuracy, rec.nasfr()
            for layer in rec.layers:
                rec.stats(layer.index)
                for kind in ("u", "s"):
                    try:
                        rec.raw(layer.index, kind)
                    except KeyError:
                        pass
            rec.input_event_sum(), rec.raw_input()
    except (RecordingFormatError, KeyError):
        return


def test_recording_reader_on_mutated_files(recording_seed, tmp_path):
    fuzz_file(tmp_path / "m.h5", recording_seed, read_everything, "recording reader, mutated files")


def test_recording_reader_on_edited_files(recording_seed, tmp_path):
    """Valid HDF5 whose attributes and datasets lie: edits a careless script could make."""
    path = tmp_path / "e.h5"
    names = []
    with h5py.File(io.BytesIO(recording_seed), "r") as f:
        f.visit(names.append)
        attrs = sorted(f.attrs)
    edit = st.one_of(
        st.tuples(st.just("attr"), st.sampled_from(attrs), plain),
        st.tuples(st.just("delete"), st.sampled_from(names), st.none()),
        st.tuples(st.just("reshape"), st.sampled_from(names), st.integers(0, 5)),
    )

    @FUZZ
    @given(edits=st.lists(edit, min_size=1, max_size=3))
    def read(edits):
        tried("recording reader, edited files")
        path.write_bytes(recording_seed)
        with h5py.File(path, "r+") as f:
            for kind, name, value in edits:
                if kind == "attr":
                    f.attrs[name] = value if isinstance(value, (int, float, str, bool)) else repr(value)
                elif name in f and kind == "delete":
                    del f[name]
                elif name in f and isinstance(f[name], h5py.Dataset):
                    data = f[name][...]
                    del f[name]
                    f[name] = np.resize(data, (value,) + data.shape[1:]) if data.ndim else data
        read_everything(path)

    read()

