"""Membrane potentials: MPD per channel with V_th, PTD and variance; PTD-vs-variance
scatter (click a point to open its channel); the Fig. 6 panel for two comparable runs."""

import streamlit as st

from analysis.figures import make_fig6_figure, make_mpd_figure, make_ptd_variance_figure
from app import help as H
from app import runs as R
from app import state as S
from app import ui

st.title("Membrane potentials")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(a)
        layer = a.layer(layer_index)
        table = R.cached_channel_table(a, layer_index, settings)
        clicked = ui.new_click(f"mp_scatter_{layer_index}")
        if clicked is not None:
            S.select("channel", clicked)
        channel = ui.pick_channel(table["channel"].tolist())
        left, right = st.columns(2)
        hist = layer.stats["hist"][:, channel].sum(axis=0)
        with left:
            st.plotly_chart(make_mpd_figure(hist, layer.info.hist_edges, layer.info.v_threshold,
                                            float(table["ptd"][channel]), float(table["variance"][channel]),
                                            f"{a.name}: MPD of {layer.info.name} c{channel} ({table['pattern'][channel]})"),
                            key="mp_mpd")
            outside = (hist[0] + hist[-1]) / max(int(hist.sum()), 1)
            st.caption(f"over all timesteps · U outside the histogram range: {outside:.1%} of values (counted in PTD's "
                       "shares and in Var, not drawn)", help=H.HELP["mpd"])
        with right:
            st.plotly_chart(make_ptd_variance_figure(table["ptd"].to_numpy(), table["variance"].to_numpy(),
                                                     table["pattern"].to_numpy(),
                                                     f"{a.name}: PTD vs variance, {layer.info.name}", highlight=channel),
                            key=f"mp_scatter_{layer_index}", on_select="rerun", selection_mode="points")
            st.caption("click a point to open its channel", help=H.HELP["ptd"])
        st.subheader("Fig. 6: MPD and spike features of two runs")
        t = ui.pick_timestep(a, "timestep of the spike features")
        other = ui.comparable(a, b, "Fig. 6 compares runs on the same samples")
        panels = R.cached_fig6_panels(a, layer_index, t, settings)
        if other is not None:
            panels = panels + R.cached_fig6_panels(other, layer_index, t, settings)
        elif b is None:
            st.info("choose a second run in the sidebar to put it beside this one")
        if panels:
            st.plotly_chart(make_fig6_figure(panels, f"MPD and spike features: {a.name}"
                                             + (f" vs {other.name}" if other is not None else "")), key="mp_fig6")
        st.caption(f"PTD: mean centre of the 3 tallest MPD bins minus V_th; bins of "
                   f"{a.settings['histogram']['bin_width_vth']:.3g} V_th. Channels picked automatically: the most "
                   "background-heavy noise channel and the most object-centred normal channel of each run.")
