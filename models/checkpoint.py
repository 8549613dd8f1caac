"""The project's checkpoint format, and safe loading of any checkpoint file.

A checkpoint is a dict of tensors and plain values, loadable with
torch.load(..., weights_only=True):
  format          "snn-redundancy-checkpoint"
  format_version  1
  arch            architecture name (models.registry.ARCHS)
  arch_args       the model's constructor arguments (plain values)
  state_dict      the model's parameters and buffers
  meta            training metadata: data, frames (T, dt_ms, size), seed, epochs, metrics ...
Nothing here ever unpickles code: files carrying Python objects are refused.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import torch

from models.base import ZooModel
from models.registry import build_model

FORMAT = "snn-redundancy-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the one-line message names the problem and the fix."""


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_file(path: str | Path) -> Any:
    """torch.load with weights_only=True and every failure turned into a CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file does not exist")
    with open(path, "rb") as f:
        head = f.read(4)
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch's zip format, or a legacy pickle
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (it is neither torch.save's zip format "
                              "nor a pickle); choose a .pt/.pth file written by torch.save")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        detail = str(exc).splitlines()
        if not any("GLOBAL" in line or "global" in line for line in detail):
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint, or truncated "
                                  f"({detail[0].strip() if detail else 'unpickling failed'})") from None
        hint = next((line.strip() for line in detail if "GLOBAL" in line or "Unsupported" in line), "")
        raise CheckpointError(
            f"{path}: refused, the file carries pickled Python objects that could run code"
            f"{' (' + hint + ')' if hint else ''}; only tensors and plain values are loaded"
        ) from None
    except Exception as exc:  # torch.load raises many types (KeyError, RuntimeError ...) on damaged files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint, or truncated ({first})") from None


def check_state_dict(state: dict, model: torch.nn.Module, what: str) -> None:
    """Raise one CheckpointError listing missing, unexpected and wrongly shaped keys."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(
        f"{k} {list(state[k].shape) if isinstance(state[k], torch.Tensor) else type(state[k]).__name__} "
        f"vs {list(expected[k].shape)}"
        for k in set(state) & set(expected)
        if not isinstance(state[k], torch.Tensor) or state[k].shape != expected[k].shape
    )
    if missing or unexpected or wrong:
        parts = [f"{label} ({len(keys)}): {_short(keys)}" for label, keys in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("wrong shapes, file vs model", wrong)) if keys]
        raise CheckpointError(f"{what} does not match the model: " + "; ".join(parts))


def _short(keys: list[str], limit: int = 6) -> str:
    return ", ".join(keys[:limit]) + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def save_checkpoint(path: str | Path, model: ZooModel, meta: dict | None = None) -> Path:
    """Write the project's checkpoint atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "arch": model.ARCH,
        "arch_args": dict(model.arch_args), "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": meta or {},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_checkpoint(path: str | Path) -> tuple[ZooModel, dict]:
    """Load a project checkpoint: returns (model in eval mode, the checkpoint's meta)."""
    return model_from_payload(load_file(path), path)


def is_project_checkpoint(payload) -> bool:
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def model_from_payload(payload, path: str | Path) -> tuple[ZooModel, dict]:
    """(model in eval mode, meta) from what load_file returned for a project checkpoint."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        looks_like_state_dict = isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values())
        hint = ("it is a bare state_dict; open the authors' files with models.loader.load_model_file"
                if looks_like_state_dict else "it is not a checkpoint written by this project")
        raise CheckpointError(f"{path}: not a {FORMAT} file ({hint})")
    version = payload.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {version!r} is not supported (this tool reads "
                              f"{FORMAT_VERSION}); upgrade the tool")
    problems = [f"'{key}' is {type(payload.get(key)).__name__}, not {kind}"
                for key, kind, ok in (("arch", "a name", isinstance(payload.get("arch"), str)),
                                      ("arch_args", "a dict", isinstance(payload.get("arch_args"), dict)),
                                      ("state_dict", "a dict of tensors", isinstance(payload.get("state_dict"), dict)),
                                      ("meta", "a dict", isinstance(payload.get("meta", {}), (dict, type(None)))))
                if not ok]
    meta = payload.get("meta") or {}
    if not problems:
        bad = [repr(k)[:40] for k, v in payload["state_dict"].items()
               if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
        if bad:
            problems.append(f"state_dict entries {', '.join(bad[:3])} are not named tensors")
    if not problems and not isinstance(meta.get("frames", {}), dict):
        problems.append(f"meta 'frames' is {type(meta['frames']).__name__}, not a dict")
    if problems:
        raise CheckpointError(f"{path}: damaged checkpoint: {'; '.join(problems)}; save it again with the tool")
    try:
        model = build_model(payload["arch"], **payload["arch_args"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: cannot build the model it describes ({exc})") from None
    check_state_dict(payload["state_dict"], model, str(path))
    model.load_state_dict(payload["state_dict"])
    return model.eval(), dict(meta)
