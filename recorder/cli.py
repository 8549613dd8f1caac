"""Command line: record a checkpoint on data, show a recording, merge shards.

    python -m recorder record --checkpoint CKPT --data DATA --out RUN.h5 [options]
    python -m recorder info RUN.h5
    python -m recorder merge --out RUN.h5 SHARD0.h5 SHARD1.h5 ...
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from events.limits import LimitError
from events.types import EventFileError
from models.attention import MASK_MODES
from models.base import ModelShapeError
from models.checkpoint import CheckpointError
from recorder.adapters import RecorderError
from recorder.api import RecordSettings, load_model, record
from recorder.merge import merge_shards
from recorder import distributed
from recorder import schema as S
from recorder.reader import RecordingFormatError, open_recording


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m recorder", description="Record spiking layers to HDF5.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record", help="run a checkpoint on data and record every spiking layer")
    r.add_argument("--checkpoint", required=True, type=Path,
                   help="project checkpoint, an authors' file (BICLab/ASA-SNN arch A, B, C or D), or a NIR graph "
                        "(.nir; give --T)")
    r.add_argument("--nir-dt", type=float, default=1e-4, metavar="SECONDS",
                   help="a .nir graph's time step: its time constants are discretised with it (default 1e-4 s)")
    r.add_argument("--data", required=True, help="folder data set, or 'synthetic'")
    r.add_argument("--out", required=True, type=Path)
    r.add_argument("--split", default="test",
                   help="which recordings: a sub-folder (default test); without one, the recordings a project "
                        "checkpoint held out when it was trained on this folder; 'all' for every recording")
    r.add_argument("--window-ms", type=float, help="cut recordings into windows of this length (= the model's T x dt)")
    r.add_argument("--stride-ms", type=float, help="start a window every this many ms (default: back to back)")
    r.add_argument("--T", type=int, help="timesteps (authors' files without ASA; must match a project checkpoint)")
    r.add_argument("--dt-ms", type=float, help="frame length in ms (default: the checkpoint's)")
    r.add_argument("--size", type=int, nargs="+", metavar="SIDE",
                   help="frame size: a side, or height and width (default: the model's input size; for an authors' "
                        "5-layer net whose head does not fix a square input, its input size)")
    r.add_argument("--sensor-size", type=int, nargs=2, metavar=("W", "H"))
    r.add_argument("--classes", type=int, help="number of classes (checked against an authors' file)")
    r.add_argument("--asa-mask", choices=MASK_MODES,
                   help="ASA top-k masks per 'batch' (the authors' code; default for their files) or per "
                        "'sample' (the paper's equations; default for project checkpoints)")
    r.add_argument("--max-samples", type=int, help="record at most this many samples")
    r.add_argument("--synthetic-per-class", type=int, default=20, help="synthetic test samples per class")
    r.add_argument("--synthetic-seed", type=int, default=1)
    raw = r.add_mutually_exclusive_group()
    raw.add_argument("--raw-per-class", type=int, help="keep raw tensors of the first K samples of each class")
    raw.add_argument("--raw-indices", type=int, nargs="+", help="keep raw tensors of these dataset indices")
    raw.add_argument("--raw-fraction", type=float, help="keep raw tensors of this share of samples (evenly spaced)")
    r.add_argument("--raw-h", action="store_true", help="also keep H (after reset)")
    r.add_argument("--raw-x", action="store_true", help="also keep X (the neurons' input)")
    r.add_argument("--u-dtype", choices=["float32", "float16"], default="float32")
    r.add_argument("--spikes", choices=["bool", "packed"], default="bool", help="raw spike storage")
    r.add_argument("--layers", nargs="+", default=(), help="glob patterns of module paths to record (default all)")
    r.add_argument("--hist-range", type=float, nargs=2, default=(-4.0, 4.0), metavar=("LO", "HI"), help="in units of V_th")
    r.add_argument("--hist-bins", type=int, default=160)
    r.add_argument("--batch-size", type=int, default=32)
    r.add_argument("--device", default="auto")
    r.add_argument("--shard", help="record shard i of n ('i/n'), a contiguous share of the samples")
    r.add_argument("--checkpoint-seconds", type=float, default=60.0, metavar="S",
                   help="save the statistics every S seconds (default 60): a kill loses at most the last S seconds, "
                        "which --resume records again; 0 saves after every batch")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true",
                      help="replace an existing output file (the old one stays until the new one is complete)")
    mode.add_argument("--resume", action="store_true", help="continue an interrupted recording (OUT.partial)")
    r.add_argument("--no-progress", action="store_true")
    i = sub.add_parser("info", help="print a summary of a recording")
    i.add_argument("path", type=Path)
    m = sub.add_parser("merge", help="merge shards into one recording")
    m.add_argument("--out", required=True, type=Path)
    m.add_argument("--overwrite", action="store_true")
    m.add_argument("shards", nargs="+", type=Path)
    return p


def settings_from_args(args: argparse.Namespace) -> RecordSettings:
    """The record command's options as the API's settings."""
    fields = {f.name for f in dataclasses.fields(RecordSettings)}
    values = {k: v for k, v in vars(args).items() if k in fields}
    for key in ("size", "sensor_size", "raw_indices", "hist_range", "layers"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    return RecordSettings(**values, progress_bar=not args.no_progress)


def info_text(path: Path) -> str:
    with open_recording(path) as rec:
        mode = rec.model.get("asa_mask_mode")
        lines = [f"{path}: {'complete' if rec.complete else 'INCOMPLETE'} recording, format version "
                 f"{int(rec.file.attrs['format_version'])}, tool {rec.file.attrs['tool_version']}",
                 f"model: {rec.model.get('arch')} {rec.model.get('arch_args', {}).get('attention', '')} "
                 f"(checkpoint {rec.model.get('checkpoint')}, {rec.model.get('checkpoint_kind', '?')}, "
                 f"sha256 {str(rec.model.get('checkpoint_sha256'))[:12]})"
                 + (f"; ASA masks per {mode}, batch size {rec.model.get('batch_size')}" if mode else ""),
                 f"data: {rec.data.get('source')} split={rec.data.get('split')} T={rec.data.get('T')} "
                 f"dt={rec.data.get('dt_ms')} ms size={rec.data.get('size')}",
                 f"samples: {rec.n_done} of {rec.n_total} recorded; raw tensors for {rec.raw_count()}",
                 (f"accuracy: {rec.accuracy:.4f}" if rec.labelled else "accuracy: no labels (unlabelled data)")
                 + f"   NASFR: {rec.nasfr():.4f}",
                 f"histogram: {rec.settings['histogram']['bins']} bins of {rec.settings['histogram']['bin_width_vth']:.4g} V_th",
                 "layers:"]
        for layer in rec.layers:
            stats = rec.stats(layer.index)
            rate = stats["spike_count"].sum() / max(layer.neurons * rec.T * rec.n_done, 1)
            nonfinite = int(stats["nonfinite"].sum())
            lines.append(f"  {layer.index:2d} {layer.name:<24} {layer.class_name:<18} C,H,W={layer.shape}  "
                         f"V_th={layer.v_threshold:g} beta={layer.beta:.3g}  firing rate {rate:.4f}"
                         + (f"  non-finite U: {nonfinite}" if nonfinite else ""))
        return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "record":
            settings = settings_from_args(args)
            loaded = load_model(settings)
            main_rank = distributed.main_process()
            tell = (lambda m: print(m, flush=True)) if main_rank else (lambda m: None)
            tell(loaded.message)
            out = record(settings, loaded=loaded, warn=lambda m: print(f"warning: {m}", file=sys.stderr) if main_rank
                         else None, say=tell)
            if main_rank:
                print(info_text(out))
        elif args.command == "info":
            print(info_text(args.path))
        else:
            out = merge_shards(args.shards, args.out, args.overwrite)
            print(info_text(out))
    except KeyboardInterrupt:
        if args.command == "record":
            print(f"interrupted: {S.partial_path(args.out).name} keeps every finished batch; continue with --resume",
                  file=sys.stderr)
        else:
            print("interrupted", file=sys.stderr)
        return 130
    except (RecorderError, RecordingFormatError, CheckpointError, EventFileError, ModelShapeError, LimitError,
            OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
