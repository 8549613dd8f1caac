"""Plotly charts that the browser updates in place.

st.plotly_chart keys a chart in the browser by its figure's JSON: every changed figure is
thrown away and drawn from scratch (about 100 ms a chart on our 2-core machine), and each
figure it is given is validated again by plotly. live_chart is a Streamlit component (v2)
keyed by the caller's key: a new figure goes to plotly.js's Plotly.react in the same
element, and a figure already serialized (JSON text, e.g. from a cache) is passed as it is.
plotly.js is the copy inside the plotly Python package, served by Streamlit's component
file route: nothing is fetched from outside."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import plotly
import streamlit as st
import streamlit.components.v1 as components_v1

_PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# registered for its file route only: /component/<module>.plotly_js/plotly.min.js
components_v1.declare_component("plotly_js", path=str(_PLOTLY_JS.parent))
_ROUTE = f"component/{__name__}.plotly_js/{_PLOTLY_JS.name}"
_COMPONENT = st.components.v2.component("snnr.live_chart", js=Path(__file__).with_name("plotly_chart.js").read_text(),
                                        isolate_styles=False)


def plotly_url() -> str:
    """The path the browser loads plotly.js from (under the server's base URL path)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{_ROUTE}" if base else f"/{_ROUTE}"


def live_chart(fig, key: str, config: dict | None = None, on_click: Callable[[], None] | None = None,
               width: str = "stretch"):
    """Draw plotly figure `fig` (go.Figure, or its JSON text) under `key`, which must stay
    the same across runs for the browser to update the chart in place. config: plotly.js's
    config (e.g. {"staticPlot": True}). on_click: a callback run before the script's next
    run when a point is clicked; in it, clicked_points(key) lists the points. width:
    "stretch" (the container's) or "content" (the figure's own layout.width)."""
    data = {"figure": fig if isinstance(fig, str) else fig.to_json(), "config": config or {}, "src": plotly_url(),
            "clickable": on_click is not None, "stretch": width == "stretch"}
    return _COMPONENT(key=key, data=data, width=width,
                      **({"on_click_change": on_click} if on_click is not None else {}))


def clicked_points(key: str) -> list[dict]:
    """The points of the click that triggered this run on chart `key` (each {curve_number,
    point_index, customdata}); [] when none. Read in the chart's on_click callback."""
    value = st.session_state.get(key)
    points = value.get("click") if hasattr(value, "get") else None
    return [p for p in points if isinstance(p, dict)] if isinstance(points, list) else []
