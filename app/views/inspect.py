"""Inspect a checkpoint: upload it, choose data, record it with a progress bar, then
browse the recording on every page."""

from pathlib import Path

import streamlit as st

from app import runs as R
from app import ui
from app.uploads import UploadError, sanitize, save_upload, session_dir
from recorder.cli import build_parser, record

st.title("Inspect a checkpoint")
st.write("Upload a checkpoint written by `python -m models.train`, or an authors' arch-A state_dict "
         "(BICLab/ASA-SNN). Files load with `torch.load(weights_only=True)`: pickled code is refused, never run.")
upload = st.file_uploader("checkpoint (.pt, .pth)", type=["pt", "pth", "tar"], key="ckpt_upload")
server_path = st.text_input("... or the path of a checkpoint on the server", key="ckpt_path")
kind = st.radio("format", ["project checkpoint", "authors' arch-A state_dict"], horizontal=True, key="ckpt_kind")
c1, c2, c3 = st.columns(3)
T = c1.number_input("T (authors' files)", 1, 500, 10, key="ckpt_T")
classes = c2.number_input("classes (authors' files)", 1, 1000, 5, key="ckpt_classes")
dt_ms = c3.number_input("frame length dt in ms (0 = the checkpoint's)", 0.0, 10000.0, 0.0, key="ckpt_dt")
source = st.radio("data", ["shipped synthetic set", "folder on the server", "uploaded .npz of events"],
                  horizontal=True, key="data_source")
folder = st.text_input("data folder (class sub-folders, e.g. ../shared/data/nmnist-small)", key="data_folder") \
    if source == "folder on the server" else ""
events = st.file_uploader("events (.npz with t, x, y, p, width, height)", type=["npz"], key="npz_upload") \
    if source == "uploaded .npz of events" else None
max_samples = st.number_input("at most this many samples", 1, 100000, 100, key="max_samples")
name = st.text_input("name of the new run", value="inspected", key="run_name")

if st.button("Record", type="primary", key="record_button"):
    with ui.readable_errors():
        if upload is not None:
            ckpt = save_upload(upload.getvalue(), upload.name, session_dir(), "checkpoints")
        elif server_path:
            ckpt = Path(server_path)
            if not ckpt.is_file():
                raise UploadError(f"checkpoint {server_path} does not exist on the server")
        else:
            raise UploadError("upload a checkpoint (or give its path on the server) first")
        argv = ["record", "--checkpoint", str(ckpt), "--out", str(session_dir() / f"{sanitize(name)}.h5"),
                "--overwrite", "--no-progress", "--max-samples", str(int(max_samples)), "--raw-per-class", "1"]
        if kind.startswith("authors"):
            argv += ["--T", str(int(T)), "--classes", str(int(classes))]
        if dt_ms > 0 or kind.startswith("authors"):
            argv += ["--dt-ms", str(dt_ms if dt_ms > 0 else 30.0)]
        if source == "shipped synthetic set":
            argv += ["--data", "synthetic", "--synthetic-per-class", "10", "--synthetic-seed", "1000"]
        elif source == "folder on the server":
            if not folder or not Path(folder).is_dir():
                raise UploadError(f"data folder {folder or '(empty)'} does not exist on the server")
            argv += ["--data", folder]
        else:
            if events is None:
                raise UploadError("upload an .npz of events first")
            saved = save_upload(events.getvalue(), events.name, session_dir(), "events/0")
            argv += ["--data", str(saved.parent.parent)]
        args = build_parser().parse_args(argv)
        bar = st.progress(0.0, text="recording ...")
        out = record(args, progress=lambda done, total: bar.progress(done / total, text=f"recorded {done} of {total}"))
        R.add_session_run(sanitize(name).removesuffix(".h5"), out)
        bar.progress(1.0, text="done")
        st.success(f"recorded {out.name}: choose run '{sanitize(name)}' in the sidebar of any page")
