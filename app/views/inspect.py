"""Inspect a checkpoint: upload it, see what it is, choose data, record it with a progress
bar, then browse the recording on every page."""

import dataclasses
from pathlib import Path

import streamlit as st

from app import runs as R
from app import ui
from app.paths import allowed_roots, resolve_server_path, server_paths_enabled
from app.uploads import UploadError, extract_class_zip, fresh_folder, sanitize, save_upload, session_dir
from events.readers import SUFFIXES
from recorder.api import RecordSettings, load_model, record

st.title("Inspect a checkpoint")
st.write("Upload a checkpoint written by `python -m models.train`, or a file of the authors' code "
         "(BICLab/ASA-SNN, arch A, B, C or D, saved by their training as it is: no renaming). Files load with "
         "`torch.load(weights_only=True)`: pickled code is refused, never run.")
upload = st.file_uploader("checkpoint (.pt, .pth)", type=["pt", "pth", "tar"], key="ckpt_upload")
server_path = st.text_input("... or the path of a checkpoint on the server", key="ckpt_path",
                            help="inside the allowed folders: " + ", ".join(str(r) for r in allowed_roots()),
                            disabled=not server_paths_enabled())

with st.expander("What an authors' file does not say", expanded=False):
    c1, c2, c3 = st.columns(3)
    T = c1.number_input("T (files without ASA; 0 = from the weights)", 0, 500, 0, key="ckpt_T")
    classes = c2.number_input("classes (0 = from the weights)", 0, 1000, 0, key="ckpt_classes")
    dt_ms = c3.number_input("frame length dt in ms (0 = the checkpoint's, else 30)", 0.0, 10000.0, 0.0, key="ckpt_dt")
c1, c2 = st.columns(2)
mask = c1.radio("ASA masks", ["default", "batch", "sample"], horizontal=True, key="ckpt_mask",
                help="batch: the authors' code, where a channel or timestep is kept for every sample when it is "
                     "top-k for any sample of the batch, so results depend on batch size and composition "
                     "(default for their files); sample: the paper's Eq. 10, each sample on its own (default for "
                     "project checkpoints).")
batch_size = c2.number_input("batch size", 1, 4096, 32, key="ckpt_batch")


def checkpoint_path() -> Path | None:
    if upload is not None:
        saved = st.session_state.get("ckpt_saved")
        if not saved or saved[0] != upload.file_id:  # write each upload once, not on every rerun
            st.session_state["ckpt_saved"] = (upload.file_id, save_upload(upload.getvalue(), upload.name,
                                                                          session_dir(), "checkpoints"))
        return st.session_state["ckpt_saved"][1]
    if server_path:
        path = resolve_server_path(server_path, "checkpoint")
        if not path.is_file():
            raise UploadError(f"checkpoint {server_path} does not exist on the server")
        return path
    return None


def base_settings(ckpt: Path) -> RecordSettings:
    return RecordSettings(checkpoint=ckpt, data="synthetic", out=session_dir() / "pending.h5",
                          T=int(T) or None, classes=int(classes) or None,
                          asa_mask=None if mask == "default" else mask, batch_size=int(batch_size))


loaded = None
with ui.readable_errors():
    ckpt = checkpoint_path()
    if ckpt is not None:
        loaded = load_model(base_settings(ckpt))
        st.info(loaded.message)

SOURCES = ["shipped synthetic set", "folder on the server", "uploaded recording", "uploaded .zip of class folders"]
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
max_samples = st.number_input("at most this many samples", 1, 100000, 100, key="max_samples")
name = st.text_input("name of the new run", value="inspected", key="run_name")

if st.button("Record", type="primary", key="record_button"):
    with ui.readable_errors():
        if loaded is None:
            raise UploadError("upload a checkpoint (or give its path on the server) first")
        options = {"out": session_dir() / f"{sanitize(name)}.h5", "overwrite": True,
                   "max_samples": int(max_samples), "raw_per_class": 1}
        if dt_ms > 0 or loaded.kind == "authors":
            options["dt_ms"] = float(dt_ms) if dt_ms > 0 else 30.0
        if source == "shipped synthetic set":
            options.update(data="synthetic", synthetic_per_class=10, synthetic_seed=1000)
        elif source == "folder on the server":
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
        R.add_session_run(sanitize(name).removesuffix(".h5"), out)
        bar.progress(1.0, text="done")
        st.success(f"recorded {out.name}: choose run '{sanitize(name)}' in the sidebar of any page")
