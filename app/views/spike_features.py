"""Spike features (Fig. 2a/5a) of a layer at a timestep; click a tile to open its channel:
its features over time (Fig. 2b/5b), MPD, place among the layer's PTD and variance, and
its ghosts."""

import numpy as np
import streamlit as st

from analysis.figures import (make_channel_strip_figure, make_mpd_figure, make_ptd_variance_figure,
                              make_spike_features_figure, maps_png)
from app import help as H
from app import runs as R
from app import state as S
from app import ui

st.title("Spike features")
settings = ui.settings()
run, _ = ui.pick_runs(two=False)
if run is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(run)
        layer = run.layer(layer_index)
        spatial = ui.is_spatial(run, layer_index)
        C = layer.info.shape[0]
        table = R.cached_channel_table(run, layer_index, settings)
        c1, c2, c3 = st.columns(3)
        with c1:
            t = ui.pick_timestep(run)
        order = c2.selectbox("sort channels by", ["channel", "firing rate", "PTD", "pattern"], key="sf_sort")
        limit = c3.number_input(f"channels shown (of {C})", 1, C, C, key=f"sf_limit_{layer_index}")
        key = {"channel": "channel", "firing rate": "firing_rate", "PTD": "ptd", "pattern": "pattern"}[order]
        ordered = table.sort_values(key, ascending=order in ("channel", "pattern"), kind="stable")["channel"].tolist()
        shown = ordered[: int(limit)]
        grid = "sf_grid"
        channel = S.choose("channel", list(range(C)), shown[0])
        if spatial:
            o1, o2 = st.columns(2)
            outline = o1.checkbox("outline the foreground", key="sf_foreground", help=H.HELP["foreground"])
            play = o2.checkbox("play through timesteps", key="sf_play",
                               help="all timesteps in the figure, with play / pause and a slider (tiles are not "
                                    "clickable meanwhile)")
            fig = make_spike_features_figure(layer.nsfr[t], table["pattern"].to_numpy(), shown,
                                             f"{run.name}: {layer.info.name} at t={t} (Fig. 2a/5a)", selected=channel,
                                             foreground=R.cached_foreground(run, layer_index, settings) if outline else None,
                                             over_time=layer.nsfr if play else None, t=t, raster=True)
        else:
            st.info(H.HELP["fc"])
            fig = make_channel_strip_figure(layer.nsfr[t].reshape(C), shown, f"{run.name}: {layer.info.name} at t={t}",
                                            selected=channel)
        ui.chart(fig, grid, on_click=ui.open_clicked_channel(grid), width="content")
        counts = table["pattern"].value_counts().to_dict()
        st.caption((f"patterns over all timesteps: {counts.get('noise', 0)} noise, {counts.get('normal', 0)} normal, "
                    f"{counts.get('null', 0)} null · " if spatial else "")
                   + ("black outline: the input's foreground (the pattern rule's) · " if spatial and outline else "")
                   + "colour: firing rate 0 (blue) to 1 (red) · click a tile to open its channel",
                   help=H.HELP["noise"])
        st.subheader("Channel")
        channel = ui.pick_channel(list(range(C)))
        row = table[table["channel"] == channel]
        ui.small_table(H.readable(row))
        if spatial:
            T = layer.nsfr.shape[0]
            st.image(maps_png(layer.nsfr[:, channel], columns=min(T, 10)),
                     caption=f"{run.name}: channel {channel} across timesteps (Fig. 2b/5b): t=0 ... t={T - 1}, "
                             f"{min(T, 10)} per row · colour: firing rate 0 (blue) to 1 (red)")
        left, right = st.columns(2)
        hist = layer.stats["hist"][:, channel].sum(axis=0)
        with left:
            ui.chart(make_mpd_figure(hist, layer.info.hist_edges, layer.info.v_threshold,
                                     float(row["ptd"].iloc[0]), float(row["variance"].iloc[0]),
                                     f"MPD of c{channel} over all timesteps"), "sf_mpd")
            outside = (hist[0] + hist[-1]) / max(int(hist.sum()), 1)
            st.caption(f"U outside the histogram range: {outside:.1%} of values (counted, not drawn)",
                       help=H.HELP["outside"])
        with right:
            ui.chart(make_ptd_variance_figure(table["ptd"].to_numpy(), table["variance"].to_numpy(),
                                              table["pattern"].to_numpy(), f"PTD vs variance, c{channel} ringed",
                                              highlight=channel), "sf_scatter",
                     on_click=ui.open_clicked_channel("sf_scatter"))
        if spatial:
            g = R.cached_ghosts(run, layer_index, t, settings.ghost)
            group = next((grp for grp in g["groups"] if channel in grp), None)
            twins = [c for c in (group or []) if c != channel]
            rule = f"{settings.ghost.method} >= {settings.ghost.threshold}"
            st.write(f"ghost group of c{channel} at t={t} (channels linked by {rule}, directly or through one "
                     f"another; in brackets each one's {settings.ghost.method} with c{channel}): "
                     + (", ".join(f"c{c} ({g['similarity'][channel, c]:.2f})" for c in twins) if twins else "none"))
            if twins:
                st.image(maps_png(layer.nsfr[t][[channel] + twins], columns=min(len(twins) + 1, 8)),
                         caption=f"at t={t}, left to right: c{channel}, then its ghosts "
                                 + ", ".join(f"c{c}" for c in twins))
        st.caption(f"Maps use rows top to bottom as the sensor. Mean firing of c{channel}: "
                   f"{float(np.mean(layer.nsfr[:, channel])):.3f}")
