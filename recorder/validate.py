"""Check an open recording against the schema before anything reads it: attributes and their
types, JSON metadata, progress counters, and every dataset's shape. A damaged file is
refused with what is wrong, instead of being analysed into wrong numbers."""

from __future__ import annotations

import json
import math

import h5py
import numpy as np

from recorder import schema as S


class RecordingFormatError(ValueError):
    """A file that is not a readable recording of a supported version."""


def _int(value, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{what} is {value!r}, not an integer")
    return int(value)


def _json_dict(attrs, key: str) -> dict:
    try:
        value = json.loads(attrs[key])
    except (TypeError, ValueError, UnicodeDecodeError):
        raise ValueError(f"attribute '{key}' is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"attribute '{key}' is {type(value).__name__} JSON, not an object")
    return value


def _shape(f: h5py.File, path: str, expected: tuple[int, ...]) -> None:
    if path not in f:
        raise ValueError(f"dataset {path} is missing")
    obj = f[path]
    if not isinstance(obj, h5py.Dataset):
        raise ValueError(f"{path} is a group, not a dataset")
    if tuple(obj.shape) != tuple(expected):
        raise ValueError(f"dataset {path} has shape {list(obj.shape)}, expected {list(expected)}")


def check(f: h5py.File) -> dict:
    """Validate `f`; returns the parsed facts readers need (version, settings, shares ...).
    Raises ValueError naming the first problem."""
    attrs = f.attrs
    version = _int(attrs.get(S.A_VERSION), "format_version")
    missing = [a for a in S.ROOT_ATTRS if a not in attrs]
    if version == 2 and S.A_SHARES_DONE not in attrs:
        missing.append(S.A_SHARES_DONE)
    if missing:
        raise ValueError(f"root attributes {missing} are missing")
    model, data, settings = (_json_dict(attrs, k) for k in S.JSON_ATTRS)
    complete = attrs[S.A_COMPLETE]
    if not isinstance(complete, (bool, np.bool_)):
        raise ValueError(f"attribute 'complete' is {complete!r}, not a boolean")
    done, total = _int(attrs[S.A_DONE], S.A_DONE), _int(attrs[S.A_TOTAL], S.A_TOTAL)
    if not 0 <= done <= total:
        raise ValueError(f"{done} samples done of {total} planned is impossible")
    if complete and done != total:
        raise ValueError(f"it says complete with {done} of {total} samples")
    T = settings.get("T")
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"settings give T = {T!r}")
    hist = settings.get("histogram")
    if not isinstance(hist, dict) or not all(isinstance(hist.get(k), (int, float)) for k in ("lo", "hi", "bins")) \
            or not hist["hi"] > hist["lo"] or not isinstance(hist["bins"], int) or hist["bins"] < 1:
        raise ValueError(f"settings give an invalid histogram {hist!r}")
    raw = settings.get("raw")
    if not isinstance(raw, dict) or not isinstance(raw.get("indices"), list):
        raise ValueError("settings lack the raw-tensor plan")
    slot = _int(attrs[S.A_SLOT], S.A_SLOT)
    facts = {"version": version, "complete": bool(complete), "done": done, "total": total, "T": T,
             "bins": int(hist["bins"]), "settings": settings, "model": model, "data": data, "slot": slot}
    if version == 1:
        if slot not in (0, 1):
            raise ValueError(f"stats_slot is {slot}, not 0 or 1")
        facts["shares"], facts["shares_done"] = [(0, total)], [done]
    else:
        shares = settings.get("shares")
        try:
            shares = [(int(a), int(b)) for a, b in shares]
        except (TypeError, ValueError):
            raise ValueError(f"settings give invalid shares {shares!r}") from None
        if not shares or shares[0][0] != 0 or shares[-1][1] != total or any(
                a[1] != b[0] or a[0] > a[1] for a, b in zip(shares, shares[1:] + [(total, total)])):
            raise ValueError(f"shares {shares} do not cover the {total} planned samples in order")
        counters = attrs
        if not complete and slot in (0, 1):  # a partial file: the valid checkpoint carries its own counters
            group = S.checkpoint_group(slot)
            try:
                counters = f[group].attrs
            except (KeyError, OSError):
                raise ValueError(f"checkpoint slot {slot} is missing: its file {S.slot_path(f.filename, slot).name} "
                                 "must stay beside the partial file") from None
            if S.A_SHARES_DONE not in counters or S.A_DONE not in counters:
                raise ValueError(f"checkpoint slot {slot} lacks its counters")
            done = _int(counters[S.A_DONE], f"{group} {S.A_DONE}")
            if not 0 <= done <= total:
                raise ValueError(f"{done} samples done of {total} planned is impossible")
            facts["done"] = done
        try:
            shares_done = [int(v) for v in json.loads(counters[S.A_SHARES_DONE])]
        except (TypeError, ValueError):
            raise ValueError("attribute 'shares_done' is not a JSON list of integers") from None
        if len(shares_done) != len(shares) or any(not 0 <= d <= b - a for d, (a, b) in zip(shares_done, shares)):
            raise ValueError(f"shares_done {shares_done} does not fit the shares {shares}")
        if sum(shares_done) != done:
            raise ValueError(f"shares_done {shares_done} does not add up to {done} samples done")
        if slot not in (-1, 0, 1) or (not complete and done and slot < 0):
            raise ValueError(f"stats_slot {slot} does not name saved statistics for {done} samples")
        facts["shares"], facts["shares_done"] = shares, shares_done
    _check_layers(f, facts)
    return facts


def _check_layers(f: h5py.File, facts: dict) -> None:
    T, total, bins, version = facts["T"], facts["total"], facts["bins"], facts["version"]
    if S.LAYERS not in f:
        if facts["done"]:
            raise ValueError(f"{facts['done']} samples are done but there are no layers")
        return
    keys = sorted(f[S.LAYERS])
    L = len(keys)
    if keys != [f"{i:02d}" for i in range(L)]:
        raise ValueError(f"layer groups {keys[:5]} are not numbered 00, 01, ...")
    for name, shape in ((S.S_INDEX, (total,)), (S.S_LABEL, (total,)), (S.S_PREDICTION, (total,)),
                        (S.S_SPIKES, (total, L, T))):
        _shape(f, f"{S.SAMPLES}/{name}", shape)
    planned = set(int(i) for i in facts["settings"]["raw"]["indices"])
    index = f[S.SAMPLES][S.S_INDEX][...]
    k = int(sum(1 for i in index if int(i) in planned))
    location = _stats_location(facts)
    input_shape = None
    for i, key in enumerate(keys):
        group = f[S.LAYERS][key]
        absent = [a for a in S.LAYER_ATTRS if a not in group.attrs]
        if absent:
            raise ValueError(f"layer {key} lacks the attributes {absent}")
        try:
            shape = tuple(int(v) for v in group.attrs[S.L_SHAPE])
            assert len(shape) == 3 and min(shape) >= 1 and int(group.attrs[S.L_INDEX]) == i
            assert math.isfinite(float(group.attrs[S.L_VTH]))
        except (AssertionError, TypeError, ValueError):
            raise ValueError(f"layer {key} has invalid attributes (shape {group.attrs.get(S.L_SHAPE)!r}, index, "
                             "or V_th)") from None
        if len(group.attrs[S.L_EDGES]) != bins + 1:
            raise ValueError(f"layer {key} has {len(group.attrs[S.L_EDGES])} histogram edges for {bins} bins")
        C = shape[0]
        if location is not None:
            prefix = location(i)
            for stat, expected in ((S.ST_SPIKES, (T, *shape)), (S.ST_HIST, (T, C, bins + 2)), (S.ST_COUNT, (T, C)),
                                   (S.ST_SUM, (T, C)), (S.ST_SUMSQ, (T, C)), (S.ST_QE, (T, C)),
                                   (S.ST_NONFINITE, (T, C))):
                _shape(f, f"{prefix}/{stat}", expected)
        if k and S.RAW in group:
            raw = group[S.RAW]
            _shape(f, f"{raw.name}/{S.R_SAMPLE}", (k,))
            for kind in S.RAW_KINDS:
                if kind in raw:
                    ds = raw[kind]
                    if ds.shape[:2] != (k, T) or (ds.dtype != np.uint8 and tuple(ds.shape[2:]) != shape):
                        raise ValueError(f"dataset {ds.name} has shape {list(ds.shape)}, expected [{k}, {T}, "
                                         f"{', '.join(map(str, shape))}]")
    if location is not None:
        inputs = _input_location(facts)
        for stat in S.INPUT_STATS:
            if f"{inputs}/{stat}" not in f:
                raise ValueError(f"dataset {inputs}/{stat} is missing")
            shape = f[f"{inputs}/{stat}"].shape
            if input_shape is not None and shape != input_shape or not shape or shape[0] != T:
                raise ValueError(f"dataset {inputs}/{stat} has shape {list(shape)}, expected [T={T}, ...]")
            input_shape = shape


def _stats_location(facts: dict):
    """A function layer index -> the group holding that layer's valid statistics, or None
    when none were saved yet."""
    if facts["version"] == 1:
        return lambda i: S.stats_group_v1(i, facts["slot"])
    if facts["complete"]:
        return S.stats_group
    if facts["slot"] < 0:
        return None
    return lambda i: S.checkpoint_layer(facts["slot"], i)


def _input_location(facts: dict) -> str:
    if facts["version"] == 1 or facts["complete"]:
        return S.INPUT
    return S.checkpoint_input(facts["slot"])


def probe(path: str) -> str | None:
    """Open the file and touch every attribute and every chunk index, as readers will, then
    validate it; returns the problem or None. Meant for a worker process
    (recorder.reader.probe_isolated): a damaged attribute can make the HDF5 library loop
    forever, and this module imports nothing heavier than h5py so that the worker starts fast."""
    try:
        with h5py.File(path, "r") as f:
            def touch(name, obj):
                for key in obj.attrs:
                    obj.attrs[key]
                if isinstance(obj, h5py.Dataset) and obj.chunks is not None:
                    for i in range(obj.id.get_num_chunks()):
                        obj.id.get_chunk_info(i)
            for key in f.attrs:
                f.attrs[key]
            f.visititems(touch)
            if f.attrs.get(S.A_FORMAT) == S.FORMAT and f.attrs.get(S.A_VERSION) in S.SUPPORTED_VERSIONS:
                check(f)
        return None
    except Exception as exc:
        return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
