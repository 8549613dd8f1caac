"""Inspect a checkpoint: upload it, see what it is, choose data, record it with a progress
bar, then browse the recording on every page."""

import dataclasses
from pathlib import Path

import streamlit as st

from app import runs as R
from app import state as S
from app import ui
from app.paths import allowed_roots, resolve_server_path, server_paths_enabled
from app.uploads import UploadError, extract_class_zip, fresh_folder, sanitize, save_upload, session_dir
from events.readers import SUFFIXES
from recorder.api import RecordSettings, load_model, record

st.title("Inspect a checkpoint")
st.write("Upload a checkpoint written by `python -m models.train`, a file of the authors' code "
         "(BICLab/ASA-SNN, arch A, B, C or D, saved by their training as it is: no renaming), or a NIR graph "
         "(`.nir`, from snnTorch, Sinabs, SpikingJelly, ...: give T below). Files load with "
         "`torch.load(weights_only=True)`: pickled code is refused, never run.")
upload = st.file_uploader("checkpoint (.pt, .pth) or NIR graph (.nir)", type=["pt", "pth", "tar", "nir"],
                          key="ckpt_upload")
server_path = st.text_input("... or the path of a checkpoint on the server", key="ckpt_path",
                            help="inside the allowed folders: " + ", ".join(str(r) for r in allowed_roots()),
                            disabled=not server_paths_enabled())

with st.expander("What an authors' file or a NIR graph does not say", expanded=False):
    c1, c2, c3 = st.columns(3)
    T = c1.number_input("T (NIR graphs, authors' files without ASA; 0 = from the weights)", 0, 500, 0, key="ckpt_T")
    classes = c2.number_input("classes (0 = from the weights)", 0, 1000, 0, key="ckpt_classes")
    dt_ms = c3.number_input("frame length dt in ms (0 = the checkpoint's, else 30)", 0.0, 10000.0, 0.0, key="ckpt_dt")
    nir_dt = c1.number_input("NIR time step in seconds (what its time constants are divided by)", 1e-9, 1e6, 1e-4,
                             format="%g", key="ckpt_nir_dt")
c1, c2 = st.columns(2)
mask = c1.radio("ASA masks", ["default", "batch", "sample"], horizontal=True, key="ckpt_mask",
                help="batch: the authors' code, where a channel or timestep is kept for every sample when it is "
                     "top-k for any sample of the batch, so results depend on batch size and composition "
                     "(default for their files); sample: the paper's Eq. 10, each sample on its own (default for "
                     "project checkpoints).")
batch_size = c2.number_input("batch size", 1, 4096, 32, key="ckpt_batch")


def checkpoint_path() -> Path | None:
    """The uploaded file (kept when the user comes back from another page; a new upload
    replaces it), else the server path."""
    if upload is not None:
        saved = st.session_state.get("ckpt_saved")
        if not saved or saved[0] != upload.file_id:  # write each upload once, not on every rerun
            st.session_state["ckpt_saved"] = (upload.file_id, save_upload(upload.getvalue(), upload.name,
                                                                          session_dir(), "checkpoints"))
        return st.session_state["ckpt_saved"][1]
    if not server_path and st.session_state.get("ckpt_saved"):
        kept = st.session_state["ckpt_saved"][1]
        st.caption(f"using the checkpoint uploaded earlier: {kept.name} (upload another to replace it)")
        return kept
    if server_path:
        path = resolve_server_path(server_path, "checkpoint")
        if not path.is_file():
            raise UploadError(f"checkpoint {server_path} does not exist on the server")
        return path
    return None


def base_settings(ckpt: Path) -> RecordSettings:
    return RecordSettings(checkpoint=ckpt, data="synthetic", out=session_dir() / "pending.h5",
                          T=int(T) or None, classes=int(classes) or None,
                          asa_mask=None if mask == "default" else mask, batch_size=int(batch_size), nir_dt=float(nir_dt))


def checkpoint_summary(loaded) -> "pd.DataFrame":
    """What the checkpoint is, from its weights and its metadata, as (what, value) rows."""
    import pandas as pd

    info, meta = loaded.info, loaded.meta
    args = info.get("arch_args", {})
    metrics = meta.get("metrics") or {}
    data = meta.get("data") or {}
    rows = [("architecture", info.get("arch")), ("attention", args.get("attention")),
            ("ASA masks", info.get("asa_mask_mode") or "-"), ("T", args.get("T")),
            ("dt (ms)", (loaded.frames or {}).get("dt_ms")), ("classes", args.get("num_classes")),
            ("input size", args.get("input_size")),
            ("parameters", sum(p.numel() for p in loaded.model.parameters())),
            ("trained on", data.get("source", "not stated")),
            ("class names", ", ".join(map(str, data.get("classes") or [])) or "not stated"),
            ("test accuracy", metrics.get("test_accuracy")), ("NASFR", metrics.get("nasfr"))]
    if info.get("nir"):
        rows += [("NIR nodes", ", ".join(info["nir"]["nodes"])), ("NIR time step (s)", info["nir"]["dt_s"])]
    return pd.DataFrame([(k, "-" if v is None else str(v)) for k, v in rows], columns=["", "value"])


def trained_data(loaded) -> tuple[str, str] | None:
    """(data source, folder) the checkpoint was trained on, when that exists here."""
    source = str((loaded.meta.get("data") or {}).get("source") or "")
    if source == "synthetic":
        return SOURCES[0], ""
    if source and server_paths_enabled():
        try:
            folder = resolve_server_path(source, "data folder")
        except ValueError:
            return None
        if folder.is_dir():
            return SOURCES[1], str(folder)
    return None


def data_classes(source: str, folder: str) -> list[str] | None:
    """Class names of the chosen data, where they can be known before recording."""
    if source == SOURCES[0]:
        from events.synthetic import SyntheticSettings

        return list(SyntheticSettings().classes)
    if source == SOURCES[1] and folder:
        try:
            root = resolve_server_path(folder, "data folder")
        except ValueError:
            return None
        base = root / "test" if (root / "test").is_dir() else root
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else None
    return None


SOURCES = ["shipped synthetic set (the sample runs' 100 test recordings)", "folder on the server",
           "uploaded recording", "uploaded .zip of class folders"]
loaded = None
with ui.readable_errors():
    ckpt = checkpoint_path()
    if ckpt is not None:
        loaded = load_model(base_settings(ckpt))
        st.info(loaded.message)
        facts = checkpoint_summary(loaded)
        st.table(facts.set_index(""))
        trained_on = trained_data(loaded)
        untouched = st.session_state.get("data_source", SOURCES[0]) == SOURCES[0]
        if trained_on is not None and untouched and st.session_state.get("_data_defaults_for") != str(ckpt):
            st.session_state["_data_defaults_for"] = str(ckpt)  # once per checkpoint, never over a user's choice
            st.session_state["data_source"], st.session_state["data_folder"] = trained_on

source = st.radio("data", SOURCES, horizontal=True, key="data_source")
folder = st.text_input("data folder (class sub-folders, e.g. ../shared/data/nmnist-small)", key="data_folder",
                       disabled=not server_paths_enabled()) if source == SOURCES[1] else ""
events = st.file_uploader("one recording (.npz, .npy, .bin, .aedat, .aedat4)",
                          type=["npz", "npy", "bin", "aedat", "aedat4"], key="npz_upload") if source == SOURCES[2] else None
archive = st.file_uploader("a .zip holding one folder per class", type=["zip"], key="zip_upload") \
    if source == SOURCES[3] else None
label = None
if source == SOURCES[2]:
    known = list((loaded.meta.get("data") or {}).get("classes") or []) if loaded is not None else []
    label = (st.selectbox("its class", known + ["no label"], key="upload_class") if known else
             st.text_input("its class (a class name of the model, or empty for no label)", key="upload_class_name"))
    label = None if label in ("no label", "") else label
window_ms = stride_ms = None
sensor = None
if source != SOURCES[0]:
    with st.expander("Long recordings and sensor size", expanded=False):
        c1, c2, c3, c4 = st.columns(4)
        window_ms = c1.number_input("window (ms, 0 = first T x dt of each recording)", 0.0, 1e7, 0.0, key="window_ms") or None
        stride_ms = c2.number_input("stride (ms, 0 = back to back)", 0.0, 1e7, 0.0, key="stride_ms") or None
        width = c3.number_input("sensor width (0 = from the file)", 0, 4096, 0, key="sensor_w")
        height = c4.number_input("sensor height", 0, 4096, 0, key="sensor_h")
        sensor = (int(width), int(height)) if width and height else None
if loaded is not None:
    model_classes = loaded.info.get("arch_args", {}).get("num_classes")
    classes_here = data_classes(source, folder)
    if classes_here is not None and model_classes and len(classes_here) != model_classes:
        st.warning(f"the model has {model_classes} classes, this data {len(classes_here)} "
                   f"({', '.join(classes_here[:8])}{' ...' if len(classes_here) > 8 else ''}): accuracy will not "
                   "mean much; choose the data the checkpoint was trained on")
    trained_on = trained_data(loaded)
    if trained_on is not None and (source, folder or "") != trained_on:
        st.caption(f"this checkpoint was trained on {trained_on[1] or trained_on[0]}")
max_samples = st.number_input("at most this many samples", 1, 100000, 100, key="max_samples")
name = st.text_input("name of the new run", value="inspected", key="run_name")
existing = sanitize(name).removesuffix(".h5") in R.available_runs()
replace = st.checkbox(f"replace the existing run '{sanitize(name).removesuffix('.h5')}'", key="replace_run") \
    if existing else False

if st.button("Record", type="primary", key="record_button"):
    with ui.readable_errors():
        if loaded is None:
            raise UploadError("upload a checkpoint (or give its path on the server) first")
        if existing and not replace:
            raise UploadError(f"a run named '{sanitize(name).removesuffix('.h5')}' exists: tick 'replace the "
                              "existing run' or choose another name")
        options = {"out": session_dir() / f"{sanitize(name)}.h5", "overwrite": True,
                   "max_samples": int(max_samples), "raw_per_class": 1}
        if dt_ms > 0 or loaded.kind in ("authors", "nir"):
            options["dt_ms"] = float(dt_ms) if dt_ms > 0 else 30.0
        if source == SOURCES[0]:
            options.update(data="synthetic", synthetic_per_class=20, synthetic_seed=1000)
        elif source == SOURCES[1]:
            data_folder = resolve_server_path(folder, "data folder") if folder else None
            if data_folder is None or not data_folder.is_dir():
                raise UploadError(f"data folder {folder or '(empty)'} does not exist on the server")
            options["data"] = str(data_folder)
        elif source == SOURCES[2]:
            if events is None:
                raise UploadError("upload a recording first")
            target = fresh_folder(session_dir() / "events", "upload-")
            save_upload(events.getvalue(), events.name, target / sanitize(label) if label else target)
            options["data"] = str(target)
        else:
            if archive is None:
                raise UploadError("upload a .zip of class folders first")
            options["data"] = str(extract_class_zip(archive.getvalue(), archive.name,
                                                    fresh_folder(session_dir() / "events", "zip-"), SUFFIXES))
        if source != SOURCES[0]:
            options.update(window_ms=window_ms, stride_ms=stride_ms if window_ms or stride_ms else None,
                           sensor_size=sensor, split="all" if source != SOURCES[1] else "test")
        settings = dataclasses.replace(base_settings(ckpt), **options)
        bar = st.progress(0.0, text="recording ...")
        out = record(settings, progress=lambda done, total: bar.progress(done / total, text=f"recorded {done} of {total}"),
                     loaded=loaded, warn=st.warning, say=st.caption)
        run_name = sanitize(name).removesuffix(".h5")
        R.add_session_run(run_name, out)
        S.select("run_a", run_name)
        bar.progress(1.0, text="done")
        st.success(f"recorded {out.name}: run '{run_name}' is now selected on every page")
