"""Ghost features: similarity of spike features per layer and timestep, groups, ratio."""

import pandas as pd
import streamlit as st

from analysis.figures import make_ghost_heatmap_figure
from app import help as H
from app import runs as R
from app import ui

st.title("Ghost features")
settings = ui.settings()
run, _ = ui.pick_runs(two=False)
if run is not None:
    with ui.readable_errors():
        if not any(ui.is_spatial(run, l.info.index) for l in run.layers):
            st.info("this recording has no layer with maps of at least 3 x 3: " + H.HELP["fc"])
            st.stop()
        layer_index = ui.pick_layer(run, spatial_only=True)
        t = ui.pick_timestep(run)
        g = R.cached_ghosts(run, layer_index, t, settings.ghost)
        name = run.layer(layer_index).info.name
        st.metric("ghost ratio", f"{g['ratio']:.0%}", help=H.HELP["ghost"])
        ui.chart(make_ghost_heatmap_figure(g["similarity"], g["groups"], settings.ghost.method,
                                           settings.ghost.threshold, f"{run.name}: {name} at t={t}"),
                 key="gh_heatmap")
        if g["groups"]:
            ui.small_table(pd.DataFrame({"group": range(1, len(g["groups"]) + 1),
                                         "channels": [", ".join(f"c{c}" for c in grp) for grp in g["groups"]],
                                         "size": [len(grp) for grp in g["groups"]]}))
        else:
            st.write(f"no ghost groups at t={t} ({settings.ghost.method} >= {settings.ghost.threshold})")
