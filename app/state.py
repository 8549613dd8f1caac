"""Dashboard state that outlives a page: the chosen runs, layer, channel, timestep and rules
stay in the session when the user changes pages (Streamlit forgets the value of a widget
that a page does not draw) and are mirrored in the URL's query parameters, so that a view
can be shared and reloaded."""

from __future__ import annotations

import json

import streamlit as st


def _names(text: str) -> list[str]:
    return [n for n in text.split(",") if n]


# session key (also the widget's key) -> (query parameter, parse, format)
PERSISTED = {
    "run_a": ("run", str, str),
    "run_b": ("compare", str, str),
    "runs_many": ("runs", _names, ",".join),
    "layer": ("layer", int, str),
    "channel": ("channel", int, str),
    "t": ("t", int, str),
    "rule_fg": ("fg", float, repr),
    "rule_null": ("null", float, repr),
    "rule_ratio": ("noise_ratio", float, repr),
    "rule_method": ("ghost", str, str),
    "rule_threshold": ("ghost_threshold", float, repr),
}


# kept in the session only (not in the URL): the Inspect form
KEPT = ("ckpt_path", "ckpt_T", "ckpt_classes", "ckpt_dt", "ckpt_mask", "ckpt_batch", "data_source", "data_folder",
        "window_ms", "stride_ms", "sensor_w", "sensor_h", "max_samples", "run_name", "upload_class",
        "upload_class_name", "sf_sort", "smp_sample", "smp_c", "smp_y", "smp_x")


def restore(page: str = "") -> None:
    """Once per session take the view from the URL. On every run keep a copy of each
    persisted value and put it back when Streamlit has dropped it; on the first run of a
    newly opened page also re-assign the values present, which is what makes the widgets of
    that page take them. Within a page values are never re-assigned, so a rerun cannot
    overwrite what the user is typing."""
    state = st.session_state
    if not state.get("_state_restored"):
        for key, (param, parse, _) in PERSISTED.items():
            if param in st.query_params and key not in state:
                try:
                    state[key] = parse(st.query_params[param])
                except ValueError:
                    pass  # a hand-edited URL: the widget's default instead
        state["_state_restored"] = True
    switched = state.get("_state_page") != page
    state["_state_page"] = page
    for key in (*PERSISTED, *KEPT):
        copy = f"_kept_{key}"
        if key in state:
            if switched:
                state[key] = state[key]
            state[copy] = state[key]
        elif copy in state:
            state[key] = state[copy]


def publish() -> None:
    """Write the persisted values into the URL (after the page has drawn its widgets)."""
    params = {}
    for key, (param, _, fmt) in PERSISTED.items():
        value = st.session_state.get(key)
        if value not in (None, "", []):
            params[param] = fmt(value)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)


def choose(key: str, options: list, default=None):
    """Make the stored value of widget `key` one of `options` before the widget is drawn:
    kept when it is one, else `default` (or the first option). Returns the value."""
    state = st.session_state
    if not options:
        return None
    if state.get(key) not in options:
        state[key] = default if default in options else options[0]
    return state[key]


def choose_many(key: str, options: list, default: list) -> list:
    """choose() for a multiselect: keep the stored values that are options."""
    state = st.session_state
    if key not in state:
        state[key] = [v for v in default if v in options]
    else:
        state[key] = [v for v in state[key] or [] if v in options]
    return state[key]


def follow_sidebar(key: str, value) -> None:
    """Add `value` (the sidebar's "compare with" run) to the multiselect `key` when the
    sidebar's choice has changed since this was last called, so that both pickers agree;
    a run the user removed from the multiselect stays removed until the sidebar changes."""
    state = st.session_state
    seen = f"_followed_{key}"
    if state.get(seen, value) != value and value is not None and value not in (state.get(key) or []):
        state[key] = [*(state.get(key) or []), value]
    state[seen] = value


def clamp(key: str, low: int, high: int, default: int) -> int:
    """Keep an integer widget value (timestep, channel) inside [low, high]."""
    state = st.session_state
    value = state.get(key)
    if not isinstance(value, int) or not low <= value <= high:
        state[key] = min(max(default, low), high)
    return state[key]


def select(key: str, value) -> None:
    """Set a persisted value from code (a clicked tile, a new recording): it takes effect on
    the next run, when the widget is drawn again."""
    st.session_state[key] = value


def describe() -> str:
    """The persisted values as JSON (for tests and bug reports)."""
    return json.dumps({k: st.session_state.get(k) for k in PERSISTED}, default=str)
