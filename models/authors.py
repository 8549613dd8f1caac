"""Import of the authors' checkpoints (github BICLab/ASA-SNN, commit c68b2d0) into project
models that reproduce their forward pass.

Their four architectures (`-arch` of their train_test.py):
  A  models/Net.py   3 conv blocks 64/128/128 + FC 256 + FC classes, their LIF cell
  D  models/Net4.py  the same net with widths 32/32/32
  B  models/Net2.py  5 conv blocks (PLIF, max pools) + FC 512 + FC 10 x classes + voting
  C  models/Net3.py  the same with LIF (tau 2), widths 64/128/128/128/128, avg pools
A and D become `lif_snn3`, B and C `plif_snn5` (see those modules).

Key layouts found in real files, all accepted and detected:
  - their training (`torch.save(model.state_dict())`, SpikingJelly 0.0.0.0.8 to 2.x, where the
    wrapper containers are nn.Sequential): `ConvAttLIFs.0.conv.0.weight`, `FCs.0.linear.0.weight`;
    arch B/C wrap each block once more: `ConvAttLIFs.0.0.conv.0.weight`, `FCs.0.1.fc.weight`;
  - SpikingJelly 0.0.0.0.4 to 0.0.0.0.6, whose containers hold `self.module`:
    `ConvAttLIFs.0.conv.module.weight`;
  - nn.DataParallel's `module.` prefix on every key, and their pre-trained wrapper
    `{"net": state_dict}` (their apis/__init__.py reads `torch.load(p)["net"]`); also
    `{"state_dict": ...}` and `{"model": ...}`.
Their neuron cells of arch A/D carry an ASA of their own (`spike.0.attn.*`) that their
forward never calls (attention_in_spike is off): those keys are dropped, and counted.

Their ASA takes its top-k masks over the whole batch (see models.attention.ASA): imported
models run in mask mode "batch" by default, so their outputs depend on the batch size and
composition exactly as the authors' code does; "sample" is the paper's per-sample masks.
Settings of their config.py that change the forward but leave no trace in the weights
(-alpha, -beta, -Vthres, -Vreset, -lam, -attention_before_conv, -attention_in_spike) are
taken at their defaults unless given in AuthorsOptions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from models.attention import ASA, MASK_MODES, set_asa_mask_mode
from models.base import ZooModel
from models.checkpoint import CheckpointError, check_state_dict, load_file
from models.lif_snn import LIFSNN3
from models.neurons import PAPER_BETA, PAPER_V_THRESHOLD
from models.plif_snn import PLIFSNN5

ARCHS = {"A": "models/Net.py", "B": "models/Net2.py", "C": "models/Net3.py", "D": "models/Net4.py"}
WRAPPERS = ("net", "state_dict", "model")
_CONTAINERS = ("conv", "bn", "linear", "spike")  # (ASA's own fc.0 is an nn.Sequential in every layout)


@dataclass(frozen=True)
class AuthorsOptions:
    """What the weights do not say. T: timesteps (read from ASA-1 weights when present);
    num_classes: checked against the weights when given; input_size: a side or (height,
    width) for arch B/C when the head's size does not fix a square one; mask_mode: "batch"
    (their code) or "sample" (the paper's equations); decay / v_threshold: their IFCell's
    -alpha and -Vthres (arch A/D; defaults 0.3 and 0.3); lam: their -lam (share of top-k)."""

    T: int | None = None
    num_classes: int | None = None
    input_size: int | tuple[int, int] | None = None
    mask_mode: str = "batch"
    decay: float = PAPER_BETA
    v_threshold: float = PAPER_V_THRESHOLD
    lam: float = 0.5


@dataclass(frozen=True)
class AuthorsImport:
    """What an import found. arch: A, B, C, D, or "A/D" for a 3-layer net of other widths."""

    arch: str
    layout: str
    wrapper: str
    attention: str
    reduction: int
    T: int
    T_from: str
    num_classes: int
    input_size: tuple[int, int]
    mask_mode: str | None
    params_theirs: int
    params_ours: int
    unused_keys: tuple[str, ...] = field(default=())
    unused_params: int = 0

    @property
    def arch_file(self) -> str:
        return "models/Net.py or Net4.py" if self.arch == "A/D" else ARCHS[self.arch]

    def message(self) -> str:
        """One line for the user: what was detected and how it will run."""
        att = "no attention" if self.attention == "none" else f"ASA (r = {self.reduction})"
        mode = (f"; ASA masks per {'batch, as their code (outputs depend on batch size and composition)' if self.mask_mode == 'batch' else 'sample, as the paper'}"
                if self.mask_mode else "")
        unused = (f" ({self.unused_params:,} of theirs are the neuron cells' unused spike.*.attn weights, "
                  f"dropped)" if self.unused_params else "")
        return (f"authors' arch {self.arch} ({self.arch_file}), {att}, T={self.T} ({self.T_from}), "
                f"{self.num_classes} classes, input 2x{self.input_size[0]}x{self.input_size[1]}; "
                f"keys: {self.layout}, {self.wrapper}; parameters: theirs {self.params_theirs:,}, "
                f"ours {self.params_ours:,}{unused}{mode}")

    def as_dict(self) -> dict:
        return {"arch": self.arch, "arch_file": self.arch_file, "layout": self.layout, "wrapper": self.wrapper,
                "attention": self.attention, "reduction": self.reduction, "T": self.T, "T_from": self.T_from,
                "num_classes": self.num_classes, "input_size": list(self.input_size),
                "params_theirs": self.params_theirs, "params_ours": self.params_ours,
                "unused_params": self.unused_params}


def unwrap(payload, what: str) -> tuple[dict, str]:
    """The state_dict inside what torch.load returned, and how it was wrapped."""
    wrapper = "plain state_dict"
    if isinstance(payload, dict):
        for key in WRAPPERS:
            if isinstance(payload.get(key), dict) and not isinstance(payload.get(key), torch.Tensor):
                payload, wrapper = payload[key], f"{{'{key}': state_dict}}"
                break
    if not isinstance(payload, dict) or not payload:
        raise CheckpointError(f"{what}: expected a state_dict (a dict of tensors), got {type(payload).__name__}")
    bad = [str(k) for k, v in payload.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{what}: not a state_dict: {len(bad)} entries are not named tensors "
                              f"(e.g. {bad[0][:60]!r})")
    if all(k.startswith("module.") for k in payload):
        payload, wrapper = {k[len("module."):]: v for k, v in payload.items()}, wrapper + " with DataParallel's 'module.' prefix"
    return payload, wrapper


def canonical_keys(state: dict, what: str) -> tuple[dict, str]:
    """Keys with SpikingJelly <= 0.0.0.0.6's `.module.` wrappers renamed to `.0.`."""
    pattern = re.compile(r"\.(%s)\.module\." % "|".join(_CONTAINERS))
    old = sum(1 for k in state if pattern.search(k))
    new = sum(1 for k in state if re.search(r"\.(%s)\.0\." % "|".join(_CONTAINERS), k))
    if old and new:
        raise CheckpointError(f"{what}: mixes '.module.' ({old} keys) and '.0.' ({new} keys) wrapper names; "
                              "it was not written by one version of the authors' code")
    if old:
        return {pattern.sub(r".\1.0.", k): v for k, v in state.items()}, "SpikingJelly <= 0.0.0.0.6 ('.module.' wrappers)"
    return dict(state), "SpikingJelly >= 0.0.0.0.8 ('.0.' wrappers)"


def detect_arch(state: dict, what: str) -> str:
    """"3" (arch A/D) or "5" (arch B/C) from the keys; an error names what was tried."""
    three = [f"ConvAttLIFs.{i}.conv.0.weight" for i in range(3)] + ["FCs.0.linear.0.weight", "FCs.1.linear.0.weight"]
    five = [f"ConvAttLIFs.{i}.0.conv.0.weight" for i in range(5)] + ["FCs.0.1.fc.weight", "FCs.1.1.fc.weight"]
    if all(k in state for k in three) and "ConvAttLIFs.3.conv.0.weight" not in state:
        return "3"
    if all(k in state for k in five) and "ConvAttLIFs.5.0.conv.0.weight" not in state:
        return "5"
    sample = ", ".join(sorted(state)[:4])
    raise CheckpointError(
        f"{what}: neither a project checkpoint (it has no 'format' entry) nor an authors' checkpoint of a known "
        f"architecture: tried arch A/D (Net.py/Net4.py: "
        f"ConvAttLIFs.0-2.conv.0.weight, FCs.0-1.linear.0.weight) and arch B/C (Net2.py/Net3.py: "
        f"ConvAttLIFs.0-4.0.conv.0.weight, FCs.0-1.1.fc.weight); the file has {len(state)} keys such as {sample}")


def _asa(state: dict, prefix: str, blocks: int, what: str) -> tuple[str, int, int | None]:
    """(attention, reduction, T fixed by the weights or None) of blocks `prefix.format(i)`."""
    has = [f"{prefix.format(i)}.attn.alpha" in state for i in range(blocks)]
    if not any(has):
        return "none", 1, None
    if not all(has):
        raise CheckpointError(f"{what}: ASA weights in blocks {[i for i, h in enumerate(has) if h]} only; "
                              "the import needs attention in every conv block or in none")
    first = prefix.format(0) + ".attn.fc"
    if f"{first}.weight" in state:
        return "asa1", 1, int(state[f"{first}.weight"].shape[1])
    if f"{first}.0.weight" in state:
        hidden, T = (int(s) for s in state[f"{first}.0.weight"].shape)
        if hidden < 1 or T % hidden:
            raise CheckpointError(f"{what}: {first}.0.weight has shape [{hidden}, {T}], which is no T -> T/r map")
        return "asa1", T // hidden, T
    raise CheckpointError(f"{what}: ASA without its fc weights ({first}.weight or {first}.0.weight); "
                          "the file is incomplete")


def _timesteps(file_T: int | None, given: int | None, what: str) -> tuple[int, str]:
    if file_T is not None:
        if given is not None and given != file_T:
            raise CheckpointError(f"{what}: the checkpoint's ASA was trained for T={file_T}, but T={given} was given")
        return file_T, "from the ASA weights"
    if given is None:
        raise CheckpointError(f"{what}: this authors' checkpoint does not fix T (no ASA-1 weights); "
                              "give the number of timesteps (--T)")
    if given < 1:
        raise CheckpointError(f"{what}: T must be at least 1, got {given}")
    return given, "given"


def _three_layer(state: dict, opts: AuthorsOptions, what: str):
    """(model, renamed state, arch letter, attention, reduction, T, T_from) for arch A/D."""
    widths = [int(state[f"ConvAttLIFs.{i}.conv.0.weight"].shape[0]) for i in range(3)]
    in_channels = int(state["ConvAttLIFs.0.conv.0.weight"].shape[1])
    hidden, flat = (int(s) for s in state["FCs.0.linear.0.weight"].shape)
    num_classes = int(state["FCs.1.linear.0.weight"].shape[0])
    if flat != widths[-1] * 64:
        raise CheckpointError(f"{what}: FCs.0 takes {flat} inputs; their arch A/D head takes {widths[-1]} channels "
                              f"x 8 x 8 = {widths[-1] * 64}")
    attention, reduction, file_T = _asa(state, "ConvAttLIFs.{}", 3, what)
    if file_T == 1 and (opts.T or 1) > 1:
        raise CheckpointError(f"{what}: its ASA maps one timestep (trained with -attention_per_time True), which "
                              "the import does not run; retrain without it or use T=1")
    T, T_from = _timesteps(file_T, opts.T, what)
    arch = {(64, 128, 128): "A", (32, 32, 32): "D"}.get(tuple(widths), "A/D")
    model = LIFSNN3(T=T, num_classes=num_classes, in_channels=in_channels, input_size=32, widths=tuple(widths),
                    pool_kernels=(1, 2, 2), hidden=hidden, attention=attention, reduction=reduction,
                    beta=opts.decay, v_threshold=opts.v_threshold)
    renames = [(r"^ConvAttLIFs\.(\d)\.conv\.0\.", r"blocks.\1.conv."),
               (r"^ConvAttLIFs\.(\d)\.bn\.0\.", r"blocks.\1.bn."),
               (r"^ConvAttLIFs\.(\d)\.attn\.beta$", r"blocks.\1.attn.gamma"),
               (r"^ConvAttLIFs\.(\d)\.attn\.conv1\.", r"blocks.\1.attn.conv_important."),
               (r"^ConvAttLIFs\.(\d)\.attn\.conv2\.", r"blocks.\1.attn.conv_subimportant."),
               (r"^ConvAttLIFs\.(\d)\.attn\.", r"blocks.\1.attn."),
               (r"^FCs\.0\.linear\.0\.", "fc1."), (r"^FCs\.1\.linear\.0\.", "fc2.")]
    return model, renames, arch, attention, reduction, T, T_from


def _five_layer(state: dict, opts: AuthorsOptions, what: str):
    """The same for arch B/C."""
    widths = [int(state[f"ConvAttLIFs.{i}.0.conv.0.weight"].shape[0]) for i in range(5)]
    in_channels = int(state["ConvAttLIFs.0.0.conv.0.weight"].shape[1])
    hidden, flat = (int(s) for s in state["FCs.0.1.fc.weight"].shape)
    votes = int(state["FCs.1.1.fc.weight"].shape[0])
    if votes % 10:
        raise CheckpointError(f"{what}: FCs.1 has {votes} outputs; their voting layer needs a multiple of 10")
    plif = "ConvAttLIFs.0.0.spike.0.w" in state
    attention, reduction, file_T = _asa(state, "ConvAttLIFs.{}.0", 5, what)
    T, T_from = _timesteps(file_T, opts.T, what)
    if flat % widths[-1]:
        raise CheckpointError(f"{what}: FCs.0 takes {flat} inputs, not a multiple of the last conv width {widths[-1]}")
    cells = flat // widths[-1]
    if opts.input_size is not None:
        size = (opts.input_size, opts.input_size) if isinstance(opts.input_size, int) else tuple(opts.input_size)
        if (size[0] // 32) * (size[1] // 32) != cells:
            raise CheckpointError(f"{what}: an input of {size[0]}x{size[1]} leaves {size[0] // 32}x{size[1] // 32} "
                                  f"cells after 5 poolings, but FCs.0 expects {cells}")
    else:
        side = round(cells ** 0.5)
        if side * side != cells:
            raise CheckpointError(f"{what}: FCs.0 expects {cells} cells per channel, which fixes no square input; "
                                  "give the input size (height width), e.g. 130 173 for DailyAction-DVS at ds=2")
        size = (side * 32, side * 32)
    model = PLIFSNN5(T=T, num_classes=votes // 10, in_channels=in_channels,
                     input_size=size[0] if size[0] == size[1] else list(size), hidden=hidden, attention=attention,
                     reduction=reduction, dropout=0.0, widths=widths, neuron="plif" if plif else "lif",
                     pools=["max"] * 5 if plif else ["avg"] * 4 + ["max"])
    renames = [(r"^ConvAttLIFs\.(\d)\.0\.conv\.0\.", lambda m: f"features.{4 * int(m[1])}."),
               (r"^ConvAttLIFs\.(\d)\.0\.bn\.0\.", lambda m: f"features.{4 * int(m[1]) + 1}."),
               (r"^ConvAttLIFs\.(\d)\.0\.spike\.0\.", lambda m: f"features.{4 * int(m[1]) + 2}.neuron."),
               (r"^ConvAttLIFs\.(\d)\.0\.attn\.beta$", lambda m: f"features.{4 * int(m[1]) + 2}.attn.gamma"),
               (r"^ConvAttLIFs\.(\d)\.0\.attn\.conv1\.", lambda m: f"features.{4 * int(m[1]) + 2}.attn.conv_important."),
               (r"^ConvAttLIFs\.(\d)\.0\.attn\.conv2\.", lambda m: f"features.{4 * int(m[1]) + 2}.attn.conv_subimportant."),
               (r"^ConvAttLIFs\.(\d)\.0\.attn\.", lambda m: f"features.{4 * int(m[1]) + 2}.attn."),
               (r"^FCs\.0\.1\.fc\.", "classifier.2."), (r"^FCs\.0\.1\.spike\.0\.", "classifier.3."),
               (r"^FCs\.1\.1\.fc\.", "classifier.5."), (r"^FCs\.1\.1\.spike\.0\.", "classifier.6.")]
    arch = "B" if plif else "C"
    return model, renames, arch, attention, reduction, T, T_from


_UNUSED = re.compile(r"^ConvAttLIFs\.\d+\.spike\.0\.attn\.")
_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


def rename(state: dict, renames: list) -> tuple[dict, list[str]]:
    """The authors' keys renamed to ours; their unused cell attention dropped (returned
    apart); keys no rule knows are kept, so that the mismatch report names them."""
    out, unused = {}, []
    for key, value in state.items():
        if _UNUSED.match(key):
            unused.append(key)
            continue
        new = key
        for pattern, repl in renames:
            new, n = re.subn(pattern, repl, key)
            if n:
                break
        out[new] = value
    return out, unused


def import_authors_state_dict(payload, options: AuthorsOptions = AuthorsOptions(),
                              what: str = "authors' checkpoint") -> tuple[ZooModel, AuthorsImport]:
    """(project model in eval mode holding the authors' weights, what was detected)."""
    if options.mask_mode not in MASK_MODES:
        raise CheckpointError(f"unknown ASA mask mode '{options.mask_mode}'; choose one of {', '.join(MASK_MODES)}")
    state, wrapper = unwrap(payload, what)
    state, layout = canonical_keys(state, what)
    build = _three_layer if detect_arch(state, what) == "3" else _five_layer
    try:
        model, renames, arch, attention, reduction, T, T_from = build(state, options, what)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, CheckpointError):
            raise
        raise CheckpointError(f"{what}: cannot build the model its weights describe ({exc})") from None
    if options.num_classes is not None and options.num_classes != model.arch_args["num_classes"]:
        raise CheckpointError(f"{what}: has {model.arch_args['num_classes']} output classes, but "
                              f"{options.num_classes} were given")
    if build is _three_layer:  # their Net.py / Net4.py set -lam; Net2.py / Net3.py keep ASA's 0.5
        for module in model.modules():
            if isinstance(module, ASA):
                module.lam = options.lam
    renamed, unused = rename(state, renames)
    check_state_dict(renamed, model, what)
    model.load_state_dict(renamed)
    mode = options.mask_mode if set_asa_mask_mode(model, options.mask_mode) else None
    params_theirs = sum(v.numel() for k, v in state.items() if not k.endswith(_BUFFERS))
    info = AuthorsImport(
        arch=arch, layout=layout, wrapper=wrapper, attention=attention, reduction=reduction, T=T, T_from=T_from,
        num_classes=model.arch_args["num_classes"], input_size=model.input_hw, mask_mode=mode,
        params_theirs=params_theirs, params_ours=sum(p.numel() for p in model.parameters()),
        unused_keys=tuple(unused), unused_params=sum(state[k].numel() for k in unused))
    return model.eval(), info


def load_authors_checkpoint(path: str | Path, options: AuthorsOptions = AuthorsOptions()) -> tuple[ZooModel, AuthorsImport]:
    """Load an authors' file (weights_only; every layout in the module docstring)."""
    return import_authors_state_dict(load_file(path), options, what=str(path))
