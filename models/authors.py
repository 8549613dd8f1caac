"""Import of the authors' arch-A state_dict (github BICLab/ASA-SNN, the 3-layer net).

Their keys and ours:
  ConvAttLIFs.{i}.conv.module.{weight,bias}         -> blocks.{i}.conv.*
  ConvAttLIFs.{i}.bn.module.{weight,bias,running_*, num_batches_tracked} -> blocks.{i}.bn.*
  ConvAttLIFs.{i}.attn.alpha / .beta                -> blocks.{i}.attn.alpha / .gamma
  ConvAttLIFs.{i}.attn.conv1 / .conv2               -> blocks.{i}.attn.conv_important / conv_subimportant
  ConvAttLIFs.{i}.attn.fc.weight (r = 1)            -> blocks.{i}.attn.fc.weight
  ConvAttLIFs.{i}.attn.fc.{0,2}.weight (r > 1)      -> blocks.{i}.attn.fc.{0,2}.weight
  FCs.{0,1}.linear.module.{weight,bias}             -> fc1.*, fc2.*
Their neuron cells also carry ConvAttLIFs.{i}.spike.module.attn.* which their forward
never uses; those keys are dropped. Widths, classes, input size, attention and (for
ASA-1) T are read from the tensors; T must be given when the file has no ASA-1.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, check_state_dict, load_file
from models.lif_snn import LIFSNN3

_RENAMES = [
    (r"^ConvAttLIFs\.(\d)\.conv\.module\.", r"blocks.\1.conv."),
    (r"^ConvAttLIFs\.(\d)\.bn\.module\.", r"blocks.\1.bn."),
    (r"^ConvAttLIFs\.(\d)\.attn\.beta$", r"blocks.\1.attn.gamma"),
    (r"^ConvAttLIFs\.(\d)\.attn\.conv1\.", r"blocks.\1.attn.conv_important."),
    (r"^ConvAttLIFs\.(\d)\.attn\.conv2\.", r"blocks.\1.attn.conv_subimportant."),
    (r"^ConvAttLIFs\.(\d)\.attn\.", r"blocks.\1.attn."),
    (r"^FCs\.0\.linear\.module\.", "fc1."),
    (r"^FCs\.1\.linear\.module\.", "fc2."),
]
_UNUSED = re.compile(r"^ConvAttLIFs\.\d\.spike\.module\.attn\.")


def rename_keys(state: dict) -> dict:
    """The authors' keys mapped to ours; unknown keys are kept as they are (so that the
    mismatch report names them) and their unused neuron-cell attention keys dropped."""
    out = {}
    for key, value in state.items():
        if _UNUSED.match(key):
            continue
        new = key
        for pattern, repl in _RENAMES:
            new, n = re.subn(pattern, repl, key)
            if n:
                break
        out[new] = value
    return out


def infer_arch_args(state: dict, T: int | None = None) -> dict:
    """LIFSNN3 arguments implied by an authors' state_dict (see module docstring)."""
    def get(key):
        if key not in state:
            raise CheckpointError(f"authors' state_dict lacks '{key}'; is it an arch-A (3-layer) checkpoint?")
        return state[key]

    widths = [int(get(f"ConvAttLIFs.{i}.conv.module.weight").shape[0]) for i in range(3)]
    in_channels = int(get("ConvAttLIFs.0.conv.module.weight").shape[1])
    hidden, flat = (int(s) for s in get("FCs.0.linear.module.weight").shape)
    num_classes = int(get("FCs.1.linear.module.weight").shape[0])
    side = round((flat / widths[-1]) ** 0.5)
    if side * side * widths[-1] != flat:
        raise CheckpointError(f"FCs.0 takes {flat} inputs, which is not {widths[-1]} channels of a square map")
    attention, reduction = "none", 1
    if "ConvAttLIFs.0.attn.alpha" in state:
        if "ConvAttLIFs.0.attn.fc.weight" in state:
            attention, file_T = "asa1", int(state["ConvAttLIFs.0.attn.fc.weight"].shape[0])
        elif "ConvAttLIFs.0.attn.fc.0.weight" in state:
            first = state["ConvAttLIFs.0.attn.fc.0.weight"]
            attention, file_T = "asa1", int(first.shape[1])
            reduction = file_T // int(first.shape[0])
        else:
            attention, file_T = "asa2", None
        if file_T is not None:
            if T is not None and T != file_T:
                raise CheckpointError(f"the checkpoint's ASA was trained for T={file_T}, but T={T} was given")
            T = file_T
    if T is None:
        raise CheckpointError("this authors' checkpoint does not fix T; give the number of timesteps")
    return {"T": T, "num_classes": num_classes, "in_channels": in_channels, "input_size": side * 4,
            "widths": widths, "pool_kernels": [1, 2, 2], "hidden": hidden, "attention": attention,
            "reduction": reduction}


def import_authors_state_dict(state: dict, T: int | None = None, num_classes: int | None = None,
                              what: str = "authors' state_dict") -> LIFSNN3:
    """Build a LIFSNN3 holding the authors' weights; its forward equals theirs."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{what}: expected a state_dict (a dict of tensors)")
    args = infer_arch_args(state, T)
    if num_classes is not None and num_classes != args["num_classes"]:
        raise CheckpointError(f"{what}: has {args['num_classes']} output classes, but {num_classes} were given")
    model = LIFSNN3(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    renamed = rename_keys(state)
    check_state_dict(renamed, model, what)
    model.load_state_dict(renamed)
    return model.eval()


def load_authors_checkpoint(path: str | Path, T: int | None = None, num_classes: int | None = None) -> LIFSNN3:
    """Load an authors' arch-A file (weights_only); a {'state_dict': ...} wrapper is accepted."""
    return authors_model_from_payload(load_file(path), path, T, num_classes)


def authors_model_from_payload(payload, path: str | Path, T: int | None = None,
                               num_classes: int | None = None) -> LIFSNN3:
    """LIFSNN3 from what load_file returned for an authors' file."""
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    if isinstance(payload, dict):
        payload = {k.removeprefix("module."): v for k, v in payload.items()}
    return import_authors_state_dict(payload, T, num_classes, what=str(path))
