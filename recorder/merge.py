"""Merge shards recorded apart (`record --shard i/n`) into the file one run would write:
per-sample arrays and raw tensors concatenated in shard order, statistics added."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recorder import schema as S
from recorder.adapters import RecorderError
from recorder.reader import open_recording
from recorder.stats import HistogramSpec
from recorder.writer import LayerMeta, RawPlan, RecordingWriter


def merge_shards(shard_paths: list[str | Path], out: str | Path, overwrite: bool = False) -> Path:
    recs = [open_recording(p) for p in shard_paths]
    try:
        return _merge(recs, Path(out), overwrite)
    finally:
        for r in recs:
            r.close()


def _merge(recs, out: Path, overwrite: bool) -> Path:
    if not recs:
        raise RecorderError("no shards given")
    shards = []
    for r in recs:
        if not r.complete:
            raise RecorderError(f"{r.path}: shard is incomplete ({r.n_done}/{r.n_total} samples); finish it with --resume first")
        label = r.file.attrs.get("shard")
        if label is None:
            raise RecorderError(f"{r.path}: not a shard (recorded without --shard)")
        i, n = (int(v) for v in str(label).split("/"))
        shards.append((i, n, r))
    shards.sort(key=lambda s: s[0])
    counts = {n for _, n, _ in shards}
    if len(counts) != 1 or [i for i, _, _ in shards] != list(range(counts.pop())):
        raise RecorderError(f"shards {[f'{i}/{n}' for i, n, _ in shards]} do not form one complete set 0/n..n-1/n")
    first = shards[0][2]
    for _, _, r in shards[1:]:
        for what in (S.A_MODEL, S.A_DATA, S.A_SETTINGS):
            if json.loads(r.file.attrs[what]) != json.loads(first.file.attrs[what]):
                raise RecorderError(f"{r.path}: its {what} differ from {first.path.name}'s; shards must come from one plan")
        if [(l.name, l.shape) for l in r.layers] != [(l.name, l.shape) for l in first.layers]:
            raise RecorderError(f"{r.path}: its layers differ from {first.path.name}'s")
    settings = first.settings
    hist, raw = settings["histogram"], settings["raw"]
    spec = HistogramSpec(hist["lo"], hist["hi"], hist["bins"])
    plan = RawPlan(tuple(raw["indices"]), raw["u_dtype"], raw["spikes"], raw["h"], raw["x"])
    indices = np.concatenate([r.sample_indices() for _, _, r in shards]).tolist()
    writer = RecordingWriter(out, n_total=len(indices), sample_indices=indices, spec=spec, raw=plan,
                             model_info=first.model, data_info=first.data, T=first.T)
    writer.create(overwrite)
    try:
        metas = [LayerMeta(l.index, l.name, l.class_name,
                           {"v_threshold": l.v_threshold, "v_reset": l.v_reset, "tau": l.tau, "beta": l.beta,
                            "decay_input": l.decay_input}, l.shape) for l in first.layers]
        writer.start(metas, first.file[S.INPUT][S.I_EVENT_SUM].shape)
        f = writer.file
        offset, raw_offset = 0, 0
        for _, _, r in shards:
            n, k = r.n_done, r.raw_count()
            for name in (S.S_LABEL, S.S_PREDICTION, S.S_SPIKES):
                f[S.SAMPLES][name][offset:offset + n] = r.file[S.SAMPLES][name][:n]
            for meta in metas:
                src = r.file[S.stats_group(meta.index, int(r.file.attrs[S.A_SLOT]))]
                st = writer.stats[meta.index]
                for name in st.arrays:
                    st.arrays[name] = st.arrays[name] + src[name][...]
                if k:
                    rg_src, rg_dst = r.file[S.layer_group(meta.index)][S.RAW], f[S.layer_group(meta.index)][S.RAW]
                    for name in rg_src:
                        values = rg_src[name][:k]
                        rg_dst[name][raw_offset:raw_offset + k] = values + offset if name == S.R_SAMPLE else values
            if k:
                f[S.RAW_INPUT][S.R_SAMPLE][raw_offset:raw_offset + k] = r.file[S.RAW_INPUT][S.R_SAMPLE][:k] + offset
                f[S.RAW_INPUT][S.RI_FRAMES][raw_offset:raw_offset + k] = r.file[S.RAW_INPUT][S.RI_FRAMES][:k]
            writer.event_sum += r.input_event_sum()
            writer.active += r.input_active_count()
            offset, raw_offset = offset + n, raw_offset + k
        writer._write_state(offset)
    except BaseException:
        writer.close(complete=False)
        out.unlink(missing_ok=True)
        raise
    writer.close(complete=True)
    return out
