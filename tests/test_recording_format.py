"""The stored file of every released format version stays readable, and the writer still
produces that layout."""

from pathlib import Path

import h5py
import numpy as np
import pytest

from recorder import schema
from recorder.reader import open_recording

DATA = Path(__file__).with_name("data")


def layout(path):
    """Every dataset's name, dtype, shape and dimension names, and every group's attribute
    names (the statistics slot's number is not part of the layout)."""
    import re

    out = {}
    with h5py.File(path, "r") as f:
        out["/"] = sorted(f.attrs)

        def visit(name, obj):
            name = re.sub(r"stats_[01]", "stats", name)
            if isinstance(obj, h5py.Dataset):
                out[name] = (str(obj.dtype), obj.shape, tuple(obj.attrs["dims"]))
            else:
                out[name] = sorted(obj.attrs)
        f.visititems(visit)
    return out


@pytest.mark.parametrize("version", [1, 2])
def test_stored_file_of_every_version_reads(version):
    with open_recording(DATA / f"recording_v{version}.h5") as rec:
        assert rec.complete and rec.n_done == rec.n_total == 6 and rec.T == 4
        assert int(rec.file.attrs["format_version"]) == version
        assert [l.name for l in rec.layers] == ["blocks.0.lif", "blocks.1.lif", "blocks.2.lif", "lif_fc1", "lif_fc2"]
        assert rec.labels().tolist() == [0, 0, 1, 1, 2, 2]
        per_sample = rec.sample_spike_counts()
        for info in rec.layers:
            st = rec.stats(info.index)
            assert st["hist"].shape == (4, info.shape[0], 18)
            assert np.array_equal(st["hist"].sum(-1), st["u_count"])  # every finite U is in one bin
            assert np.array_equal(st["spike_count"].sum((1, 2, 3)), per_sample[:, info.index].sum(0))
            s = rec.raw(info.index, "s")
            assert s.shape == (2, 4, *info.shape) and s.dtype == bool
            u = rec.raw(info.index, "u")
            assert np.array_equal(s, u >= info.v_threshold)
        assert rec.raw_samples().tolist() == [0, 3]
        assert rec.raw_input().shape == (2, 4, 2, 16, 16)


def test_writer_still_writes_the_version_2_layout(tmp_path):
    from data.make_recording_v2 import write

    fresh = write(tmp_path / "fresh.h5")
    assert schema.FORMAT_VERSION == 2
    new, stored = layout(fresh), layout(DATA / "recording_v2.h5")
    optional = {schema.L_ADAPTER, schema.L_NEURON}  # added within version 2: readers of the stored file ignore them
    for name in [n for n in new if n.startswith("layers/") and n.count("/") == 1]:
        assert optional <= set(new[name])
        new[name] = sorted(set(new[name]) - optional)
    assert new == stored
