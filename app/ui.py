"""Shared widgets of the pages: run pickers, rule settings, readable errors."""

from __future__ import annotations

from contextlib import contextmanager

import streamlit as st

from analysis.export import ExportError
from analysis.features import PatternRule
from analysis.ghosts import GhostRule
from analysis.loader import AnalysisError, Run
from analysis.tables import AnalysisSettings
from app import runs as R
from events.types import EventFileError
from models.base import ModelShapeError
from models.checkpoint import CheckpointError
from recorder.adapters import RecorderError
from recorder.reader import RecordingFormatError

KNOWN_ERRORS = (AnalysisError, RecordingFormatError, RecorderError, CheckpointError, EventFileError, ModelShapeError,
                ExportError, ValueError, KeyError, OSError)  # LimitError and PathRefused are ValueErrors


@contextmanager
def readable_errors():
    """Show failures as one readable line on the page, never a traceback."""
    try:
        yield
    except KNOWN_ERRORS as exc:
        st.error(str(exc).strip("'\"").splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # last resort: still no traceback in the page
        st.error(f"unexpected error ({type(exc).__name__}): {str(exc).splitlines()[0] if str(exc) else ''}")


def settings() -> AnalysisSettings:
    """The analysis rules, editable in the sidebar and shown to the user."""
    with st.sidebar.expander("Rules", expanded=False):
        fg = st.number_input("foreground level (share of max input rate)", 0.0, 1.0, 0.1, 0.05, key="rule_fg")
        null = st.number_input("null if firing rate below", 0.0, 1.0, 0.001, 0.001, format="%.4f", key="rule_null")
        ratio = st.number_input("noise if background/foreground density >=", 0.1, 10.0, 1.0, 0.1, key="rule_ratio")
        method = st.selectbox("ghost similarity", ["ssim", "pearson"], key="rule_method")
        threshold = st.slider("ghost threshold", 0.0, 1.0, 0.8, 0.05, key="rule_threshold")
    return AnalysisSettings(PatternRule(fg, null, ratio), GhostRule(method, threshold))


def pick_runs(two: bool = True) -> tuple[Run | None, Run | None]:
    """Sidebar: the run to show and, optionally, a second run to compare with."""
    available = R.available_runs()
    if not available:
        st.warning("No recordings yet: rebuild the sample runs (scripts/build_sample_runs.sh) or record a "
                   "checkpoint on the 'Inspect a checkpoint' page.")
        return None, None
    names = list(available)
    default_a = names.index("vanilla") if "vanilla" in names else 0
    a_name = st.sidebar.selectbox("run", names, index=default_a, key="run_a")
    b_name = None
    if two and len(names) > 1:
        others = ["(none)"] + [n for n in names if n != a_name]
        default_b = others.index("asa1") if "asa1" in others else 0
        b_name = st.sidebar.selectbox("compare with", others, index=default_b, key="run_b")
        b_name = None if b_name == "(none)" else b_name
    a = b = None
    with readable_errors():
        a = R.load(available[a_name])
        a.name = a_name
        if b_name:
            b = R.load(available[b_name])
            b.name = b_name
    for run in (a, b):
        if run is not None and not run.complete:
            st.warning(f"{run.name} is an incomplete recording ({run.n_samples} samples); numbers cover those only")
    return a, b


def pick_layer(run: Run, key: str = "layer", conv_only: bool = False) -> int:
    layers = [l for l in run.layers if not conv_only or min(l.info.shape[1:]) >= 3] or run.layers
    labels = [f"{l.info.index}: {l.info.name} {l.info.shape}" for l in layers]
    choice = st.selectbox("layer", labels, key=key)
    return layers[labels.index(choice)].info.index
