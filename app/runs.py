"""Which runs the dashboard knows (shipped sample runs and this session's own recordings),
and cached loading keyed by path and modification time."""

from __future__ import annotations

import copy
import os
import warnings
from pathlib import Path

import streamlit as st

from analysis.loader import Run, load_run
from analysis.tables import AnalysisSettings, layer_table, pattern_table, run_summary, table1, table4

SAMPLE_RUNS = Path(os.environ.get("SNNR_SAMPLE_RUNS", Path(__file__).resolve().parents[1] / "sample_runs"))


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


@st.cache_resource(show_spinner="loading recording ...", max_entries=16)
def _shared(path: str, mtime: float) -> Run:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_run(path)


def _load(path: str, mtime: float) -> Run:
    """The loaded run, one object per file version shared by every session (not copied on
    each rerun, so the layers a page has read stay read), as a shallow copy whose name a
    caller may change."""
    return copy.copy(_shared(path, mtime))


def load(path: Path) -> Run:
    return _load(str(path), _mtime(path))


@st.cache_data(max_entries=32)
def _layer_table(path: str, mtime: float, settings: AnalysisSettings):
    return layer_table(_load(path, mtime), settings)


def cached_layer_table(run: Run, settings: AnalysisSettings):
    return _layer_table(str(run.path), _mtime(run.path), settings)


@st.cache_data(max_entries=32)
def _summary(path: str, mtime: float, settings: AnalysisSettings) -> dict:
    return run_summary(_load(path, mtime), settings)


def cached_summary(run: Run, settings: AnalysisSettings) -> dict:
    """Accuracy, NASFR, QE, MACs, ACs and energy of one run."""
    return _summary(str(run.path), _mtime(run.path), settings)


@st.cache_data(max_entries=16)
def _compare_tables(a: tuple[str, float, str], b: tuple[str, float, str], settings: AnalysisSettings):
    ra, rb = _named((a, b))
    return pattern_table(ra, rb, settings), table4(ra, rb)


def cached_compare_tables(a: Run, b: Run, settings: AnalysisSettings):
    """The pattern table and Table 4 of a against b, each run under its name."""
    return _compare_tables((str(a.path), _mtime(a.path), a.name), (str(b.path), _mtime(b.path), b.name), settings)


def available_runs() -> dict[str, Path]:
    """name -> recording path: sample runs first, then this session's recordings."""
    runs = {p.stem: p for p in sorted(SAMPLE_RUNS.glob("*.h5"))}
    runs.update(st.session_state.get("session_runs", {}))
    return runs


def add_session_run(name: str, path: Path) -> None:
    st.session_state.setdefault("session_runs", {})[name] = path


@st.cache_data(max_entries=8, show_spinner="building figures ...")
def _report(a: str, ma: float, b: str | None, mb: float | None, layer: int, t: int, settings: AnalysisSettings,
            names: tuple[str, str | None], feature_channel: int | None):
    from analysis.report import build_report

    ra = _load(a, ma)
    ra.name = names[0]
    rb = _load(b, mb) if b else None
    if rb is not None:
        rb.name = names[1]
    return build_report(ra, rb, layer, t, settings, feature_channel=feature_channel)


def cached_report(a: Run, b: Run | None, layer: int, t: int, settings: AnalysisSettings,
                  feature_channel: int | None = None):
    """(tables, figures) of analysis.report.build_report, cached by paths and mtimes."""
    return _report(str(a.path), _mtime(a.path), str(b.path) if b else None, _mtime(b.path) if b else None,
                   layer, t, settings, (a.name, b.name if b else None), feature_channel)


def _named(keys: tuple[tuple[str, float, str], ...]) -> list[Run]:
    """Runs from (path, mtime, name) keys, each under its name."""
    runs = []
    for path, mtime, name in keys:
        run = _load(path, mtime)
        run.name = name
        runs.append(run)
    return runs


@st.cache_data(max_entries=16)
def _table1(keys: tuple[tuple[str, float, str], ...], settings: AnalysisSettings):
    return table1(_named(keys), settings)


def cached_table1(runs: list[Run], settings: AnalysisSettings):
    """Table 1 of any number of runs (the first is the reference), cached by paths and mtimes."""
    return _table1(tuple((str(r.path), _mtime(r.path), r.name) for r in runs), settings)


@st.cache_data(max_entries=32, show_spinner=False)
def _paired(a: tuple[str, float, str], b: tuple[str, float, str], settings: AnalysisSettings):
    from analysis.comparison import paired_comparison

    return paired_comparison(*_named((a, b)), settings)


def cached_paired(a: Run, b: Run, settings: AnalysisSettings):
    """analysis.comparison.paired_comparison(a, b), cached by paths and mtimes."""
    return _paired((str(a.path), _mtime(a.path), a.name), (str(b.path), _mtime(b.path), b.name), settings)


@st.cache_data(max_entries=16, show_spinner=False)
def _replicates(keys: tuple[tuple[str, float, str], ...], settings: AnalysisSettings):
    from analysis.comparison import group_runs, replicate_table

    groups = group_runs(_named(keys))
    return replicate_table(groups, settings) if any(len(g) > 1 for g in groups.values()) else None


def cached_replicates(runs: list[Run], settings: AnalysisSettings):
    """The replicate table of the runs grouped by condition (None when no group has two
    runs), cached by paths and mtimes."""
    return _replicates(tuple((str(r.path), _mtime(r.path), r.name) for r in runs), settings)


@st.cache_data(max_entries=64, show_spinner=False)
def _cached(fn_name: str, path: str, mtime: float, args: tuple):
    from analysis import samples

    return getattr(samples, fn_name)(path, *args)


def cached(fn, run: Run, *args):
    """fn(run.path, *args) for a function of analysis.samples, cached by path, mtime and args."""
    return _cached(fn.__name__, str(run.path), _mtime(run.path), args)


@st.cache_data(max_entries=64, show_spinner=False)
def _channel_table(path: str, mtime: float, layer: int, settings: AnalysisSettings):
    from analysis.tables import channel_table

    return channel_table(_load(path, mtime), layer, settings)


def cached_channel_table(run: Run, layer: int, settings: AnalysisSettings):
    """analysis.tables.channel_table, cached by path, mtime, layer and rules."""
    return _channel_table(str(run.path), _mtime(run.path), layer, settings)


@st.cache_data(max_entries=128, show_spinner=False)
def _ghosts(path: str, mtime: float, layer: int, t: int, rule):
    from analysis.tables import ghosts

    return ghosts(_load(path, mtime), layer, t, rule)


def cached_ghosts(run: Run, layer: int, t: int, rule):
    """analysis.tables.ghosts, cached by path, mtime, layer, timestep and rule."""
    return _ghosts(str(run.path), _mtime(run.path), layer, t, rule)


@st.cache_data(max_entries=64, show_spinner=False)
def _foreground(path: str, mtime: float, layer: int, settings: AnalysisSettings):
    from analysis.tables import layer_foreground

    run = _load(path, mtime)
    return layer_foreground(run, run.layer(layer), settings)


def cached_foreground(run: Run, layer: int, settings: AnalysisSettings):
    """analysis.tables.layer_foreground [H, W] (bool), cached by path, mtime, layer and rules."""
    return _foreground(str(run.path), _mtime(run.path), layer, settings)


@st.cache_data(max_entries=64, show_spinner=False)
def _patterns_picked(path: str, mtime: float, layer: int, settings: AnalysisSettings) -> list[int]:
    from analysis.report import pick_patterns

    return pick_patterns(_load(path, mtime), layer, settings)


def cached_pick_patterns(run: Run, layer: int, settings: AnalysisSettings) -> list[int]:
    """analysis.report.pick_patterns, cached by path, mtime, layer and rules."""
    return _patterns_picked(str(run.path), _mtime(run.path), layer, settings)


@st.cache_data(max_entries=32, show_spinner=False)
def _fig6_figure(keys: tuple, layer: int, t: int, settings: AnalysisSettings, title: str):
    from analysis.figures import make_fig6_figure
    from analysis.report import fig6_panels, pick_patterns

    rows, labels = [], []
    for path, mtime, name, channels in keys:
        run = _load(path, mtime)
        panels = fig6_panels(run, layer, list(channels) or pick_patterns(run, layer, settings), t, settings)
        if panels:
            rows.append(panels)
            labels.append(name)
    if not rows:
        return None
    # kept as JSON text: an unpickled go.Figure is validated again by plotly on every hit
    # (about 70 ms for this figure), JSON text goes to the browser as it is
    return make_fig6_figure(rows, labels, title).to_json()


def cached_fig6_figure(runs: list[Run], channels: list[list[int]], layer: int, t: int, settings: AnalysisSettings,
                       title: str):
    """analysis.figures.make_fig6_figure of the runs' chosen channels (empty: picked A-D) as
    JSON text, None when no run has a firing channel; cached by paths, mtimes, names, channels, layer,
    timestep and rules."""
    keys = tuple((str(r.path), _mtime(r.path), r.name, tuple(c)) for r, c in zip(runs, channels))
    return _fig6_figure(keys, layer, t, settings, title)
