"""Ghost features: similarity of spike features per layer and timestep, groups, ratio."""

import streamlit as st

from analysis.figures import make_ghost_heatmap_figure
from analysis.tables import ghosts
from app import ui

st.title("Ghost features")
settings = ui.settings()
run, _ = ui.pick_runs(two=False)
if run is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(run, key="gh_layer", conv_only=settings.ghost.method == "ssim")
        t = st.slider("timestep", 0, run.T - 1, run.T // 2, key="gh_t")
        g = ghosts(run, layer_index, t, settings.ghost)
        name = run.layer(layer_index).info.name
        st.metric("ghost ratio", f"{g['ratio']:.2f}", help="share of the layer's channels in a ghost group")
        st.plotly_chart(make_ghost_heatmap_figure(g["similarity"], g["groups"], settings.ghost.method,
                                                  settings.ghost.threshold, f"{run.name}: {name} at t={t}"),
                        key="gh_heatmap")
        st.write("ghost groups:", [", ".join(f"c{c}" for c in grp) for grp in g["groups"]] or "none")
