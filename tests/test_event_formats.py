"""Readers of every event format: round trips, real files, and bad input."""

import numpy as np
import pytest
from conftest import SHARED, write_aedat4

from events.formats import aedat2, aedat3, nmnist, numpy_events
from events.readers import read_events
from events.types import EventFileError, make_stream



def sample_events(n=50, width=128, height=128, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 1_000_000, n))
    return t, rng.integers(0, width, n), rng.integers(0, height, n), rng.integers(0, 2, n)


def assert_same(stream, t, x, y, p):
    assert np.array_equal(stream.events["t"], t)
    assert np.array_equal(stream.events["x"], x)
    assert np.array_equal(stream.events["y"], y)
    assert np.array_equal(stream.events["p"], p)


def test_nmnist_hand_decoded_bytes(tmp_path):
    # x=3, y=33, ON, t=0x012345 -> bytes 03 21 81 23 45; x=0, y=1, OFF, t=0x7FFFFF
    f = tmp_path / "a.bin"
    f.write_bytes(bytes([0x03, 0x21, 0x81, 0x23, 0x45, 0x00, 0x01, 0x7F, 0xFF, 0xFF]))
    s = read_events(f)
    assert (s.width, s.height) == (34, 34)
    assert_same(s, [0x012345, 0x7FFFFF], [3, 0], [33, 1], [1, 0])


def test_nmnist_real_file(nmnist_dir):
    f = sorted((nmnist_dir / "Test" / "7").glob("*.bin"))[0]
    s = read_events(f)
    raw = f.read_bytes()
    assert len(s) == len(raw) // 5
    assert s.events["x"][0] == raw[0] and s.events["y"][0] == raw[1] and s.events["p"][0] == raw[2] >> 7
    assert 250_000 < s.duration_us < 400_000  # N-MNIST: three saccades of ~100 ms
    assert s.events["x"].max() < 34 and set(np.unique(s.events["p"])) == {0, 1}


def test_nmnist_round_trip(tmp_path):
    t, x, y, p = sample_events(width=34, height=34)
    f = tmp_path / "r.bin"
    f.write_bytes(nmnist.encode(t, x, y, p))
    assert_same(read_events(f), t, x, y, p)


def test_truncated_bin(tmp_path):
    f = tmp_path / "t.bin"
    f.write_bytes(nmnist.encode(*sample_events(width=34, height=34))[:-2])
    with pytest.raises(EventFileError, match="truncated"):
        read_events(f)


def test_aedat2_round_trip_and_hand_decoded_address(tmp_path):
    # address: jAER y = 5 (from the bottom) -> row 122, bits 8..14; raw x = 127 - 10 -> bits 1..7; bit 0 = 0 -> ON
    f = tmp_path / "h.aedat"
    addr = (5 << 8) | ((127 - 10) << 1) | 0
    f.write_bytes(b"#!AER-DAT2.0\r\n# comment\r\n" + np.array([(addr, 1234)], dtype=aedat2.RECORD).tobytes())
    assert_same(read_events(f), [1234], [10], [122], [1])
    t, x, y, p = sample_events()
    f2 = tmp_path / "r.aedat"
    f2.write_bytes(aedat2.encode(t, x, y, p))
    assert_same(read_events(f2), t, x, y, p)


def test_aedat2_real_recording_is_upright():
    """A real DVS128 recording by jAER (../shared/data/dvs128-aedat2: a person on a chair,
    standing up): drawn with row 0 at the top, the head (a narrow blob) is at the top and the
    chair and legs (wider) at the bottom; with jAER's y as rows it would be upside down."""
    stream = read_events(SHARED / "dvs128-aedat2" / "person_standing_up.aedat")
    assert len(stream) == 290_189 and (stream.width, stream.height) == (128, 128)
    img = np.zeros((128, 128))
    np.add.at(img, (stream.events["y"].astype(int), stream.events["x"].astype(int)), 1)
    figure = img > np.percentile(img, 80)
    rows = np.flatnonzero(figure.sum(axis=1) > 3)
    quarter = (rows.max() - rows.min()) // 4
    width = figure.sum(axis=1)
    head, legs = width[rows.min():rows.min() + quarter].mean(), width[rows.max() - quarter:rows.max() + 1].mean()
    assert head < 0.8 * legs, (head, legs)  # measured: 19.9 vs 28.4 pixels


def test_aedat2_skips_special_events(tmp_path):
    rec = np.array([(1 << 15, 5), ((3 << 8) | (100 << 1) | 1, 7)], dtype=aedat2.RECORD)
    f = tmp_path / "s.aedat"
    f.write_bytes(b"#!AER-DAT2.0\r\n" + rec.tobytes())
    assert_same(read_events(f), [7], [27], [124], [0])


def test_aedat3_rows_count_from_the_top(tmp_path):
    """libcaer writes DVS128 y in computer-graphics order (0 = top row): read as it is."""
    head = b"#!AER-DAT3.1\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"
    packet = np.array([(1, 1, 8, 4, 0, 1, 1, 1)], dtype=aedat3.PACKET_HEADER).tobytes()
    word = (10 << 17) | (5 << 2) | (1 << 1) | 1  # x 10, y 5, ON, valid
    event = np.array([(word, 99)], dtype=aedat3.POLARITY_EVENT).tobytes()
    f = tmp_path / "one.aedat"
    f.write_bytes(head + packet + event)
    assert_same(read_events(f), [99], [10], [5], [1])


def test_aedat_garbage_body(tmp_path):
    rng = np.random.default_rng(1)
    for n_bytes in (8 * 100, 8 * 100 + 3):
        f = tmp_path / f"g{n_bytes}.aedat"
        f.write_bytes(b"#!AER-DAT2.0\r\n" + rng.integers(0, 256, n_bytes, dtype=np.uint8).tobytes())
        with pytest.raises(EventFileError, match="corrupt|truncated|time order"):
            read_events(f)


def test_aedat_unknown_header(tmp_path):
    f = tmp_path / "x.aedat"
    f.write_bytes(b"garbage without header" * 10)
    with pytest.raises(EventFileError, match="not an AER-DAT2.0 file"):
        read_events(f)


def test_aedat3_round_trip_with_overflow_and_invalid_events(tmp_path):
    t, x, y, p = sample_events(n=10000)
    t = t + (1 << 31) - 500_000  # crosses the 31-bit timestamp overflow
    f = tmp_path / "g.aedat"
    invalid = np.arange(len(t)) % 7 == 0
    f.write_bytes(aedat3.encode(t, x, y, p, events_per_packet=3000, invalid=invalid))
    s = read_events(f)
    assert (s.width, s.height) == (128, 128)
    keep = ~invalid
    assert_same(s, t[keep], x[keep], y[keep], p[keep])


def test_aedat3_truncated_packet(tmp_path):
    f = tmp_path / "g.aedat"
    f.write_bytes(aedat3.encode(*sample_events())[:-5])
    with pytest.raises(EventFileError, match="truncated"):
        read_events(f)


def test_aedat4_written_by_dv_processing(tmp_path):
    t, x, y, p = sample_events(n=200, width=346, height=260)
    write_aedat4(tmp_path / "d.aedat4", t, x, y, p, "DAVIS346", (346, 260))
    s = read_events(tmp_path / "d.aedat4")
    assert (s.width, s.height) == (346, 260)
    assert_same(s, t, x, y, p)


def test_aedat4_corrupt(tmp_path):
    f = tmp_path / "c.aedat4"
    f.write_bytes(b"#!AER-DAT4.0\r\n" + bytes(range(256)) * 4)
    with pytest.raises(EventFileError, match="AEDAT4 header of .* bytes is truncated; the file is damaged"):
        read_events(f)


def test_numpy_formats(tmp_path):
    t, x, y, p = sample_events()
    np.savez(tmp_path / "sj.npz", t=t, x=x, y=y, p=p)  # SpikingJelly's layout: no sensor size
    assert_same(read_events(tmp_path / "sj.npz", sensor_size=(128, 128)), t, x, y, p)
    with pytest.raises(EventFileError, match="sensor size"):
        read_events(tmp_path / "sj.npz")
    numpy_events.write_npz(tmp_path / "own.npz", make_stream(t, x, y, p, 128, 128))
    s = read_events(tmp_path / "own.npz")
    assert (s.width, s.height) == (128, 128)
    arr = np.zeros(len(t), dtype=[("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "?")])
    arr["t"], arr["x"], arr["y"], arr["p"] = t, x, y, p
    np.save(tmp_path / "s.npy", arr)
    assert_same(read_events(tmp_path / "s.npy", (128, 128)), t, x, y, p)
    np.savez(tmp_path / "bad.npz", t=t, x=x)
    with pytest.raises(EventFileError, match=r"lacks event arrays \['y', 'p'\]"):
        read_events(tmp_path / "bad.npz", (128, 128))


@pytest.mark.parametrize("t,x,y,p,match", [
    ([0, 1], [0, 200], [0, 0], [0, 1], "x coordinate 200 at event 1 is outside"),
    ([0, 1], [0, 1], [-1, 0], [0, 1], "y coordinate -1"),
    ([0, 1], [0, 1], [0, 0], [0, 2], "polarity"),
    ([5, 3], [0, 1], [0, 0], [0, 1], "not in time order"),
    ([0.5, 1], [0, 1], [0, 0], [0, 1], "integers"),
])
def test_validation(t, x, y, p, match):
    with pytest.raises(EventFileError, match=match):
        make_stream(np.array(t), np.array(x), np.array(y), np.array(p), 128, 128)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(EventFileError, match="unknown event-file type"):
        read_events(tmp_path / "a.csv")
    with pytest.raises(EventFileError, match="cannot read"):
        read_events(tmp_path / "missing.bin")
