"""Open any checkpoint file the tool accepts: the project's own, or an authors' file of
BICLab/ASA-SNN (see models.authors). One entry point for the CLIs and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from models.attention import MASK_MODES, asa_mask_mode, set_asa_mask_mode
from models.authors import AuthorsOptions, import_authors_state_dict
from models.base import ZooModel
from models.checkpoint import CheckpointError, file_sha256, is_project_checkpoint, load_file, model_from_payload


@dataclass(frozen=True)
class LoadedModel:
    """model: in eval mode; kind: "project" or "authors"; info: what a recording stores
    about the model (JSON-able); frames: frame defaults the checkpoint knows (T, dt_ms,
    size ...); meta: a project checkpoint's training metadata; message: one line on what
    was loaded and how it will run."""

    model: ZooModel
    kind: str
    info: dict
    frames: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    message: str = ""

    @property
    def mask_mode(self) -> str | None:
        return self.info.get("asa_mask_mode")


def load_model_file(path: str | Path, authors: AuthorsOptions = AuthorsOptions(),
                    mask_mode: str | None = None, nir_dt: float = 1e-4) -> LoadedModel:
    """Load `path` (weights_only). mask_mode sets how ASA modules take their top-k masks
    ("sample" or "batch"); None keeps the default: "sample" for project checkpoints (how
    they were trained), authors.mask_mode ("batch", their code) for authors' files."""
    if mask_mode is not None and mask_mode not in MASK_MODES:
        raise CheckpointError(f"unknown ASA mask mode '{mask_mode}'; choose one of {', '.join(MASK_MODES)}")
    path = Path(path)
    if path.suffix.lower() == ".nir":
        return _load_nir(path, authors, nir_dt)
    payload = load_file(path)
    digest = file_sha256(path)
    if is_project_checkpoint(payload):
        model, meta = model_from_payload(payload, path)
        if mask_mode is not None:
            set_asa_mask_mode(model, mask_mode)
        frames = meta.get("frames", {}) if isinstance(meta.get("frames", {}), dict) else {}
        mode = asa_mask_mode(model)
        info = {"arch": model.ARCH, "arch_args": model.arch_args, "checkpoint": path.name,
                "checkpoint_sha256": digest, "checkpoint_kind": "project", "asa_mask_mode": mode}
        if isinstance(meta.get("training"), dict):  # seed, epochs ...: replicates of one condition differ here
            info["training"] = meta["training"]
        attention = model.arch_args.get("attention", "none")
        message = (f"project checkpoint: {model.ARCH}, attention {attention}"
                   + (f", ASA masks per {mode}" if mode else ""))
        return LoadedModel(model, "project", info, frames, meta, message)
    options = authors if mask_mode is None else AuthorsOptions(**{**authors.__dict__, "mask_mode": mask_mode})
    model, found = import_authors_state_dict(payload, options, what=str(path))
    info = {"arch": model.ARCH, "arch_args": model.arch_args, "checkpoint": path.name, "checkpoint_sha256": digest,
            "checkpoint_kind": "authors", "authors": found.as_dict(), "asa_mask_mode": found.mask_mode}
    return LoadedModel(model, "authors", info, {"T": found.T}, {}, found.message())


def _load_nir(path: Path, options: AuthorsOptions, dt: float) -> LoadedModel:
    """A NIR graph (models.nir_io): T from options.T, the input size from the graph or options."""
    from models.nir_io import NIRError, load_nir  # noqa: PLC0415

    try:
        model = load_nir(path, options.T, dt, options.input_size)
    except NIRError as exc:
        raise CheckpointError(str(exc)) from None
    kinds = [kind for _, kind in model.nodes]
    info = {"arch": model.ARCH, "arch_args": model.arch_args, "checkpoint": path.name,
            "checkpoint_sha256": model.arch_args["sha256"], "checkpoint_kind": "nir",
            "nir": {"nodes": [f"{name}:{kind}" for name, kind in model.nodes], "dt_s": dt,
                    "neurons": model.neuron_params}}
    message = (f"NIR graph: {len(kinds) - 2} nodes ({', '.join(kinds[1:-1])}), T={model.arch_args['T']}, "
               f"dt={dt:g} s")
    return LoadedModel(model, "nir", info, {"T": model.arch_args["T"]}, {}, message)
