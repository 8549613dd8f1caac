"""Shared widgets of the pages: run pickers, rule settings, readable errors."""

from __future__ import annotations

import re
from contextlib import contextmanager, nullcontext

import streamlit as st

from analysis.export import ExportError
from analysis.features import PatternRule
from analysis.ghosts import GhostRule
from analysis.loader import AnalysisError, Run, check_same_data
from analysis.tables import AnalysisSettings
from app import help as H
from app import runs as R
from app import state as S
from app.live_chart import clicked_points, live_chart
from recorder.reader import RecordingFormatError

# The errors of the checkpoint, model, recorder and event readers (CheckpointError,
# ModelShapeError, RecorderError, EventFileError), LimitError and PathRefused are ValueErrors;
# they are not imported here, so that a page that only reads recordings never imports torch.
KNOWN_ERRORS = (AnalysisError, RecordingFormatError, ExportError, ValueError, KeyError, OSError)


@contextmanager
def readable_errors():
    """Show failures as one readable line on the page, never a traceback."""
    try:
        yield
    except KNOWN_ERRORS as exc:
        st.error(str(exc).strip("'\"").splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # last resort: still no traceback in the page
        st.error(f"unexpected error ({type(exc).__name__}): {str(exc).splitlines()[0] if str(exc) else ''}")


RULE_DEFAULTS = {"rule_fg": 0.1, "rule_null": 0.001, "rule_ratio": 1.0, "rule_method": "ssim", "rule_threshold": 0.8}


def settings_from(values) -> AnalysisSettings:
    """The rules held in `values` (a mapping with the sidebar's keys; defaults where absent)."""
    rule = {key: values.get(key, value) for key, value in RULE_DEFAULTS.items()}
    return AnalysisSettings(PatternRule(rule["rule_fg"], rule["rule_null"], rule["rule_ratio"]),
                            GhostRule(rule["rule_method"], rule["rule_threshold"]))


def current_settings() -> AnalysisSettings:
    """The rules as the session holds them (the defaults where the sidebar has not been drawn)."""
    return settings_from(st.session_state)


def settings() -> AnalysisSettings:
    """The analysis rules, editable in the sidebar and shown to the user; they hold on every
    page and in the URL."""
    for key, value in RULE_DEFAULTS.items():
        st.session_state.setdefault(key, value)
    with st.sidebar.expander("Rules", expanded=False):
        fg = st.number_input("foreground level (share of max input rate)", 0.0, 1.0, step=0.05, key="rule_fg",
                             help=H.HELP["foreground"])
        null = st.number_input("null if firing rate below", 0.0, 1.0, step=0.001, format="%.4f", key="rule_null",
                               help=H.HELP["null"])
        ratio = st.number_input("noise if background/foreground density >=", 0.1, 10.0, step=0.1, key="rule_ratio",
                                help=H.HELP["noise"])
        method = st.selectbox("ghost similarity", ["ssim", "pearson"], key="rule_method", help=H.HELP["ghost"])
        threshold = st.slider("ghost threshold", 0.0, 1.0, step=0.05, key="rule_threshold")
    return settings_from({"rule_fg": fg, "rule_null": null, "rule_ratio": ratio, "rule_method": method,
                          "rule_threshold": threshold})


# the dashboard's own CSS: raster maps (analysis.figures.raster_image, maps_png) drawn as
# blocks of one colour per neuron, not blurred, and map images without rounded corners (they
# clipped the corner neurons); a wide small table (Markdown) scrolls instead of spilling over
STYLE = ("<style>.js-plotly-plot .imagelayer image { image-rendering: pixelated; } "
         "[data-testid=stImage] img { image-rendering: pixelated; border-radius: 0; } "
         "[data-testid=stMarkdownContainer]:has(> table) { overflow-x: auto; }</style>")


def chart(fig, key: str, where=None, config: dict | None = None, on_click=None, width: str = "stretch"):
    """Draw a plotly figure (go.Figure, or its JSON text) under `key` (in `where`, a
    container, else here) in its own colours, as it is exported. The browser updates the
    chart of the same key in place (app.live_chart); on_click: a callback for a click on a
    point (see open_clicked_channel)."""
    with where if where is not None else nullcontext():
        return live_chart(fig, key, config=config, on_click=on_click, width=width)


def open_clicked_channel(chart_key: str):
    """A click callback for chart `chart_key` whose points carry a channel as customdata:
    the clicked channel becomes the open one (before the script runs, so before any widget
    is drawn)."""
    def opened() -> None:
        channels = [p["customdata"] for p in clicked_points(chart_key)
                    if isinstance(p.get("customdata"), (int, float)) and not isinstance(p.get("customdata"), bool)]
        if channels:
            S.select("channel", int(channels[-1]))
    return opened


def number_text(values) -> list[str]:
    """Floats as a table shows them, one precision for all: whole numbers with thousands
    separators, else 4 decimals below 10, 2 below 10,000 and none above; a value that would
    show as 0 at that precision gets 3 significant digits; NaN as a dash, never "-0"."""
    values = [float(v) for v in values]
    finite = [abs(v) for v in values if v == v and abs(v) != float("inf")]
    whole = bool(finite) and all(v == int(v) for v in finite)
    top = max(finite, default=0)
    decimals = 0 if whole else 4 if top < 10 else 2 if top < 10_000 else 0

    def text(v: float) -> str:
        if v != v:
            return "–"
        if v != 0 and abs(v) < 0.5 * 10 ** -decimals:
            return f"{v:.3g}"
        return f"{round(v, decimals) + 0.0:,.{decimals}f}"
    return [text(v) for v in values]


_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")


def _cell(value) -> str:
    """A value as Markdown, on one line, with every ASCII punctuation mark escaped: no "|"
    ends the cell, no "-" starts a list, no HTML, link or emphasis is read. (Streamlit's own
    typographic replacements still apply, e.g. " -- " shows as a dash.)"""
    return _PUNCTUATION.sub(r"\\\1", " ".join(str(value).split())) or " "


def markdown_table(table, right: list[bool] | None = None) -> str:
    """A DataFrame as a Markdown (GFM) table: the header, columns right-aligned where
    `right` says (default: numeric columns), one line per row, cells as written (_cell)."""
    right = right or [str(table[c].dtype).startswith(("int", "float")) for c in table.columns]
    lines = ["| " + " | ".join(_cell(c) for c in table.columns) + " |",
             "|" + "|".join("---:" if r else ":---" for r in right) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def small_table(table) -> None:
    """A table of a few rows as one Markdown table: every column shown (never cut off),
    floats as number_text, numbers right-aligned. A browser draws it several times faster
    than st.table (an element per cell) and far faster than the interactive grid."""
    shown = table.copy()
    for c in table.select_dtypes("floating").columns:  # formatted here: a pandas Styler costs ~25 ms a table
        shown[c] = number_text(table[c])
    st.markdown(markdown_table(shown, right=[str(table[c].dtype).startswith(("int", "float")) for c in table.columns]))


def incompatibility(a: Run, b: Run) -> str | None:
    """None when a and b can be compared, else the one-line reason."""
    try:
        check_same_data(a, b)
    except AnalysisError as exc:
        return str(exc)
    return None


def runs_on_samples_of(a: Run, names: list[str], available: dict) -> list[str]:
    """Those of `names` recorded on a's samples (runs that cannot be read are left out)."""
    fitting = []
    for name in names:
        try:
            if incompatibility(a, R.load(available[name])) is None:
                fitting.append(name)
        except KNOWN_ERRORS:
            continue
    return fitting


def pick_runs(two: bool = True) -> tuple[Run | None, Run | None]:
    """Sidebar: the run to show and, optionally, a second run to compare with. Both hold on
    every page; 'compare with' starts at a run recorded on the same samples."""
    available = R.available_runs()
    if not available:
        st.warning("No recordings yet: rebuild the sample runs (scripts/build_sample_runs.sh) or record a "
                   "checkpoint on the 'Inspect a checkpoint' page.")
        return None, None
    names = list(available)
    a_name = S.choose("run_a", names, "vanilla")
    st.sidebar.selectbox("run", names, key="run_a")
    b_name = None
    a = b = None
    with readable_errors():
        a = R.load(available[a_name])
        a.name = a_name
    if two and len(names) > 1:
        others = ["(none)"] + [n for n in names if n != a_name]
        S.choose("run_b", others, _first_compatible(a, others, available) if a is not None else "(none)")
        b_name = st.sidebar.selectbox("compare with", others, key="run_b",
                                      help="starts at a run recorded on the same samples; a run on other data is "
                                           "refused for comparison, with what differs")
        b_name = None if b_name == "(none)" else b_name
    if b_name and a is not None:
        with readable_errors():
            b = R.load(available[b_name])
            b.name = b_name
    for run in (a, b):
        if run is not None and not run.complete:
            st.warning(f"{run.name} is an incomplete recording ({run.n_samples} samples); numbers cover those only")
    return a, b


def _first_compatible(a: Run, others: list[str], available: dict) -> str:
    """The sample pair's ASA run when it fits, else the first run on the same samples."""
    fitting = runs_on_samples_of(a, sorted(others[1:], key=lambda n: n != "asa1"), available)
    return fitting[0] if fitting else "(none)"


def comparable(a: Run, b: Run | None, what: str) -> Run | None:
    """b when it was recorded on a's samples; otherwise a visible one-line refusal naming
    what differs, and None."""
    if b is None:
        return None
    reason = incompatibility(a, b)
    if reason:
        st.error(f"{what}: {reason}")
        return None
    return b


def pick_layer(run: Run, spatial_only: bool = False) -> int:
    """The layer (kept across pages); spatial_only leaves out layers without a map of at
    least 3 x 3 (fully connected ones)."""
    layers = [l for l in run.layers if not spatial_only or min(l.info.shape[1:]) >= 3] or run.layers
    indices = [l.info.index for l in layers]
    labels = {l.info.index: f"{l.info.index}: {l.info.name} {tuple(l.info.shape)}"
              + ("" if min(l.info.shape[1:]) >= 3 else " fully connected") for l in layers}
    S.choose("layer", indices)
    return st.selectbox("layer", indices, format_func=labels.get, key="layer")


def pick_timestep(run: Run, label: str = "timestep") -> int:
    S.clamp("t", 0, run.T - 1, run.T // 2)
    return st.slider(label, 0, run.T - 1, key="t", help=H.HELP["timestep"])


def pick_channel(channels: list[int], label: str = "channel") -> int:
    S.choose("channel", channels)
    return st.selectbox(label, channels, key="channel", format_func=lambda c: f"c{c}")


def is_spatial(run: Run, layer_index: int) -> bool:
    return min(run.layer(layer_index).info.shape[1:]) >= 3
