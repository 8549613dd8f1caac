"""Merge shards recorded apart (`record --shard i/n`) into the file one run would write:
per-sample arrays and raw tensors concatenated in shard order, statistics added."""

from __future__ import annotations

import json
import math
from pathlib import Path

from recorder import schema as S
from recorder.adapters import RecorderError
from recorder.reader import open_recording
from recorder.stats import HistogramSpec
from recorder.writer import LayerMeta, RawPlan, RecordingWriter, encode_raw

RAW_BLOCK = 16  # raw samples read and written at a time, so memory stays flat


def merge_shards(shard_paths: list[str | Path], out: str | Path, overwrite: bool = False) -> Path:
    recs = []
    try:
        for p in shard_paths:
            recs.append(open_recording(p))
        return _merge(recs, Path(out), overwrite)
    finally:
        for r in recs:
            r.close()


def _plan_key(settings: dict) -> str:
    return json.dumps({k: v for k, v in settings.items() if k != "shares"}, sort_keys=True)


def _shard_label(r) -> tuple[int, int]:
    label = r.file.attrs.get(S.A_SHARD)
    if label is None:
        raise RecorderError(f"{r.path}: not a shard (recorded without --shard)")
    try:
        i, n = (int(v) for v in str(label).split("/"))
        assert 0 <= i < n
    except (ValueError, AssertionError):
        raise RecorderError(f"{r.path}: its shard label {label!r} is not 'i/n'; it was not written by --shard") from None
    return i, n


def _merge(recs, out: Path, overwrite: bool) -> Path:
    if not recs:
        raise RecorderError("no shards given")
    shards = []
    for r in recs:
        if not r.complete:
            raise RecorderError(f"{r.path}: shard is incomplete ({r.n_done}/{r.n_total} samples); finish it with --resume first")
        shards.append((*_shard_label(r), r))
    shards.sort(key=lambda s: s[0])
    counts = {n for _, n, _ in shards}
    if len(counts) != 1 or [i for i, _, _ in shards] != list(range(counts.pop())):
        raise RecorderError(f"shards {[f'{i}/{n}' for i, n, _ in shards]} do not form one complete set 0/n..n-1/n")
    first = shards[0][2]
    for _, _, r in shards[1:]:
        for what, mine, theirs in (("model", r.model, first.model), ("data", r.data, first.data)):
            if mine != theirs:
                raise RecorderError(f"{r.path}: its {what} differ from {first.path.name}'s; shards must come from one plan")
        if _plan_key(r.settings) != _plan_key(first.settings):
            raise RecorderError(f"{r.path}: its settings differ from {first.path.name}'s; shards must come from one plan")
        if [(l.name, l.shape) for l in r.layers] != [(l.name, l.shape) for l in first.layers]:
            raise RecorderError(f"{r.path}: its layers differ from {first.path.name}'s")
    settings = first.settings
    hist, raw = settings["histogram"], settings["raw"]
    spec = HistogramSpec(hist["lo"], hist["hi"], hist["bins"])
    plan = RawPlan(tuple(raw["indices"]), raw["u_dtype"], raw["spikes"], raw["h"], raw["x"])
    indices = [int(i) for _, _, r in shards for i in r.sample_indices()]
    writer = RecordingWriter(out, n_total=len(indices), sample_indices=indices, spec=spec, raw=plan,
                             model_info=first.model, data_info=first.data, T=first.T,
                             batch_size=settings.get("batch_size"), checkpoint_seconds=math.inf)
    writer.create(overwrite)
    try:
        metas = [LayerMeta(l.index, l.name, l.class_name,
                           {**(l.neuron or {}), "v_threshold": l.v_threshold, "v_reset": l.v_reset, "tau": l.tau,
                            "beta": l.beta, "decay_input": l.decay_input}, l.shape, l.adapter) for l in first.layers]
        writer.start(metas, first.input_event_sum().shape)
        offset = 0
        for _, _, r in shards:
            _copy_shard(r, writer, metas, offset, plan)
            offset += r.n_done
        writer.finish()
    except BaseException:
        writer.abort()
        writer.discard()
        raise
    return out


def _copy_shard(r, writer: RecordingWriter, metas: list[LayerMeta], offset: int, plan: RawPlan) -> None:
    n = r.n_done
    labels, predictions, spikes = r.labels(), r.predictions(), r.sample_spike_counts()
    raw_positions = list(r.raw_samples())
    written = 0
    for block in range(0, max(len(raw_positions), 1), RAW_BLOCK):
        chunk = raw_positions[block:block + RAW_BLOCK]
        stop = n if block + RAW_BLOCK >= len(raw_positions) else int(chunk[-1]) + 1
        items = []
        if chunk:
            select = slice(block, block + len(chunk))
            frames = r.raw_input(select)
            tensors = {m.index: {kind: r.raw(m.index, kind, select) for kind in plan.kinds} for m in metas}
            items = [(offset + int(pos), {li: {kind: arr[j] for kind, arr in kinds.items()}
                                          for li, kinds in tensors.items()}, frames[j])
                     for j, pos in enumerate(chunk)]
        writer.write_rows(offset + written, labels[written:stop], predictions[written:stop], spikes[written:stop],
                          encode_raw(items, plan, writer.T))
        written = stop
    for meta, st in zip(metas, writer.stats):
        sums = r.stat_sums(meta.index)
        for name in st.arrays:
            st.arrays[name] = st.arrays[name] + sums[name]
    writer.event_sum += r.input_event_sum()
    writer.active += r.input_active_count()
    writer.advance(0, n)
