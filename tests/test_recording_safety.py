"""Nothing lost, nothing lied about: a full disk, a failing write and a failed overwrite never
leave a wrong recording, and a run on a full disk ends with one line, not a crash."""

import errno
import hashlib
import resource
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from recorder.adapters import RecorderError
from recorder.reader import open_recording
from recorder.recorder import Recorder
from recorder.schema import partial_path, slot_path
from test_recorder import assert_same_recording, frames, record, tiny_model

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT = REPO / "sample_runs" / "vanilla.pt"
COMMAND = [sys.executable, "-m", "recorder", "record", "--checkpoint", str(CHECKPOINT), "--data", "synthetic",
           "--synthetic-per-class", "12", "--batch-size", "8", "--no-progress"]
SMALL = 12 * 2**20


@pytest.fixture
def small_disk(tmp_path):
    """(folder, limit): a 12 MB tmpfs where the tests may mount one (as root), else an
    ordinary folder and a 12 MB file-size limit (RLIMIT_FSIZE) for the recording process."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mnt)],
                             capture_output=True).returncode == 0
    try:
        yield mnt, (None if mounted else SMALL)
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def run_limited(args, limit):
    def preexec():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run(COMMAND + [str(a) for a in args], cwd=REPO, capture_output=True, text=True,
                          preexec_fn=preexec, timeout=600)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_full_disk_stops_cleanly_keeps_the_old_file_and_resumes_bit_identically(small_disk, tmp_path):
    folder, limit = small_disk
    out = folder / "r.h5"
    first = run_limited(["--out", out], limit)  # statistics only: fits
    assert first.returncode == 0, first.stderr
    old = digest(out)
    proc = run_limited(["--out", out, "--overwrite", "--raw-fraction", "0.25"], limit)  # raw tensors: do not fit
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # not 139 (segfault) or 135
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: disk full"), proc.stderr
    assert "h5py" not in proc.stderr and "Traceback" not in proc.stderr
    assert digest(out) == old  # the old recording survives the failed overwrite
    with open_recording(out) as rec:
        assert rec.complete
    with open_recording(partial_path(out)) as rec:
        assert not rec.complete and rec.n_done < rec.n_total
        saved = rec.n_done
    assert f"keeps {saved} finished samples" in proc.stderr
    if limit is None:
        subprocess.run(["mount", "-o", "remount,size=64m", str(folder)], check=True)
    resumed = run_limited(["--out", out, "--resume", "--raw-fraction", "0.25"], None)
    assert resumed.returncode == 0, resumed.stderr
    assert not partial_path(out).exists()
    reference = run_limited(["--out", tmp_path / "ref.h5", "--raw-fraction", "0.25"], None)
    assert reference.returncode == 0, reference.stderr
    assert_same_recording(tmp_path / "ref.h5", out)


def test_a_write_that_fails_unseen_by_the_space_check(tmp_path, monkeypatch):
    """A disk filled by someone else between the space check and the write: the error is
    caught where it happens, nothing after it is written, the partial file keeps its last
    checkpoint and resumes to the same file as an uninterrupted run."""
    from recorder.writer import RecordingWriter

    model, x = tiny_model(), frames(10, seed=3)
    record(model, tmp_path / "full.h5", x, batch=2, raw=[1, 4, 8])
    calls = {"n": 0}
    original = RecordingWriter._write_chunk

    def failing(ds, row, data):
        calls["n"] += 1
        if calls["n"] == 14:  # during the second raw sample (11 chunks each: 5 layers x U, S and the input)
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(ds, row, data)

    monkeypatch.setattr(RecordingWriter, "_write_chunk", staticmethod(failing))
    path = tmp_path / "cut.h5"
    with pytest.raises(RecorderError, match="disk full while writing raw tensors; cut.h5.partial keeps 0 finished"):
        record(model, path, x, batch=2, raw=[1, 4, 8], checkpoint_seconds=1e9)
    monkeypatch.setattr(RecordingWriter, "_write_chunk", staticmethod(original))
    with open_recording(partial_path(path)) as rec:
        assert not rec.complete and rec.n_done == 0
    record(model, path, x, batch=2, raw=[1, 4, 8], resume=True)
    assert_same_recording(tmp_path / "full.h5", path)


def test_failed_overwrite_keeps_the_old_recording(tmp_path):
    model, x = tiny_model(), frames(6, seed=1)
    path = record(model, tmp_path / "r.h5", x, batch=3)
    old = digest(path)

    class Broken(Exception):
        pass

    with pytest.raises(Broken):
        with Recorder(model, path, sample_indices=list(range(6)), T=4, overwrite=True) as rec:
            rec.record_batch(x[:, :3], np.zeros(3, int), [0, 1, 2])
            raise Broken()
    assert digest(path) == old
    with pytest.raises(RecorderError, match="an interrupted recording of r.h5 exists"):
        record(model, path, x, batch=3)
    record(model, path, x, batch=3, overwrite=True)  # starts again, then replaces
    assert not partial_path(path).exists()
    with open_recording(path) as rec:
        assert rec.complete and rec.n_done == 6


def test_resume_with_another_batch_size_is_refused(tmp_path):
    model, x = tiny_model(), frames(6, seed=2)

    class Stop(Exception):
        pass

    with pytest.raises(Stop):
        with Recorder(model, tmp_path / "r.h5", sample_indices=list(range(6)), T=4, batch_size=2) as rec:
            rec.record_batch(x[:, :2], np.zeros(2, int), [0, 1])
            raise Stop()
    with pytest.raises(RecorderError, match="batch_size: 2 then, 3 now"):
        record(model, tmp_path / "r.h5", x, batch=3, batch_size=3, resume=True)
    record(model, tmp_path / "r.h5", x, batch=2, batch_size=2, resume=True)


def test_a_torn_checkpoint_never_reads_as_valid(tmp_path):
    """The checkpoint slot carries its own counters and `stats_slot` is the one commit point:
    counters left behind at the root by an interrupted checkpoint are not believed."""
    import h5py

    model, x = tiny_model(), frames(6, seed=4)

    class Stop(Exception):
        pass

    with pytest.raises(Stop):
        with Recorder(model, tmp_path / "r.h5", sample_indices=list(range(6)), T=4, checkpoint_seconds=0) as rec:
            for start in (0, 2):
                rec.record_batch(x[:, start:start + 2], np.zeros(2, int), [start, start + 1])
            raise Stop()
    partial = partial_path(tmp_path / "r.h5")
    with h5py.File(partial, "r+") as f:
        f.attrs["n_samples_done"] = 6  # what a checkpoint torn after the root counters would leave
        f.attrs["shares_done"] = "[6]"
    with open_recording(partial) as rec:
        assert rec.n_done == 4 and rec.labels().tolist() == [0, 0, 0, 0]
    with h5py.File(partial, "r+") as f:
        del f["checkpoint_1"].attrs["shares_done"]
        f.attrs["stats_slot"] = 1
    with pytest.raises(Exception, match="checkpoint slot 1 lacks its counters"):
        open_recording(partial)
    slot_path(partial, 1).unlink()
    with pytest.raises(Exception, match=r"checkpoint slot 1 is missing: its file r.h5.partial.slot1 must stay beside"):
        open_recording(partial)


def test_resume_of_other_samples_is_refused(tmp_path):
    model, x = tiny_model(), frames(8, seed=6)

    class Stop(Exception):
        pass

    with pytest.raises(Stop):
        with Recorder(model, tmp_path / "r.h5", sample_indices=[0, 1, 2, 3], T=4, shard="0/2") as rec:
            rec.record_batch(x[:, :2], np.zeros(2, int), [0, 1])
            raise Stop()
    with pytest.raises(RecorderError, match="it records other samples"):
        record(model, tmp_path / "r.h5", x, batch=2, plan=[4, 5, 6, 7], shard="1/2", resume=True)


def test_sums_that_would_overflow_are_refused_before_they_do():
    import torch

    from recorder.stats import HistogramSpec, LayerStats

    st = LayerStats(1, (1, 2, 2), 0.3, HistogramSpec())
    u = torch.full((1, 1, 1, 2, 2), 2.0**19 - 1)
    for path in (st.batch_sums_kernel, st.batch_sums_torch):
        with pytest.raises(RecorderError, match="too large for the recording's exact sums"):
            path(u, torch.ones_like(u))


def test_finishing_after_checkpoints_writes_the_statistics_once_and_leaves_no_dead_space(tmp_path):
    """With a checkpoint after every batch the slots are as large as the statistics; the
    finished file is built fresh (slots dropped), equals a run without checkpoints, and holds
    almost no unused space."""
    import h5py

    model, x = tiny_model(), frames(9, seed=8)
    record(model, tmp_path / "often.h5", x, batch=3, checkpoint_seconds=0)
    record(model, tmp_path / "never.h5", x, batch=3, checkpoint_seconds=1e9)
    assert_same_recording(tmp_path / "often.h5", tmp_path / "never.h5")
    with h5py.File(tmp_path / "often.h5", "r") as f:
        assert not any(key.startswith("checkpoint_") for key in f)
        assert f.id.get_freespace() < 0.1 * (tmp_path / "often.h5").stat().st_size
    assert not list(tmp_path.glob(".*"))  # no fresh-file leftovers


def test_a_failure_while_building_the_finished_file_keeps_the_checkpoint(tmp_path, monkeypatch):
    from recorder import writer as W

    model, x = tiny_model(), frames(6, seed=9)

    def fail(self):
        raise RecorderError("the verification failed (simulated)")
    monkeypatch.setattr(W.RecordingWriter, "_verify", fail)
    with pytest.raises(RecorderError, match="simulated"):
        record(model, tmp_path / "r.h5", x, batch=3, checkpoint_seconds=0)
    assert not (tmp_path / "r.h5").exists() and not list(tmp_path.glob(".*"))
    with open_recording(partial_path(tmp_path / "r.h5")) as rec:
        assert not rec.complete and rec.n_done == 6
    monkeypatch.undo()
    record(model, tmp_path / "r.h5", x, batch=3, checkpoint_seconds=0, resume=True)
    record(model, tmp_path / "ref.h5", x, batch=3)
    assert_same_recording(tmp_path / "r.h5", tmp_path / "ref.h5")


def _written_bytes() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io)."""
    return int(next(line for line in Path("/proc/self/io").read_text().splitlines() if line.startswith("wchar:"))
               .split()[1])


def test_checkpoints_live_in_slot_files_and_nothing_is_copied_at_the_end(tmp_path, monkeypatch):
    """Statistics are written once per checkpoint (into a slot file beside the partial one)
    plus once at the end, nothing else twice: with one checkpoint a run writes under 2x its
    file, and no slot file or checkpoint group outlives the run."""
    from recorder import writer as W

    saved = []
    checkpoint = W.RecordingWriter.checkpoint

    def counted(self):
        checkpoint(self)
        saved.append(slot_path(self.partial, self.slot).stat().st_size)

    due = iter([False, True])
    monkeypatch.setattr(W.RecordingWriter, "checkpoint", counted)
    monkeypatch.setattr(W.RecordingWriter, "checkpoint_due", lambda self: next(due, False))
    model, x = tiny_model(), frames(30, seed=9)
    out = tmp_path / "r.h5"
    before = _written_bytes()
    record(model, out, x, batch=10)
    written = _written_bytes() - before
    size = out.stat().st_size
    assert len(saved) == 1 and saved[0] > 0.5 * size  # the statistics are most of the file
    assert written <= size + saved[0] + 64 * 1024, (written, size, saved)
    assert written < 2 * size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.h5"]
    with h5py.File(out, "r") as f:
        assert not any(k.startswith("checkpoint_") for k in f)
    assert_same_recording(out, record(tiny_model(), tmp_path / "plain.h5", x, batch=10))
