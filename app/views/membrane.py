"""Membrane potentials: MPD per channel with V_th, PTD and variance; PTD-vs-variance
scatter; the Fig. 6 panel for two runs."""

import streamlit as st

from analysis.figures import make_fig6_figure, make_mpd_figure, make_ptd_variance_figure
from analysis.report import fig6_panels, pick_channels
from analysis.tables import channel_ptd, channel_table, channel_variance
from app import ui

st.title("Membrane potentials")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(a, key="mp_layer")
        layer = a.layer(layer_index)
        table = channel_table(a, layer_index, settings)
        channel = st.selectbox("channel", table["channel"].tolist(), key="mp_channel")
        left, right = st.columns(2)
        with left:
            st.plotly_chart(make_mpd_figure(layer.stats["hist"][:, channel].sum(axis=0), layer.info.hist_edges,
                                            layer.info.v_threshold, float(table["ptd"][channel]),
                                            float(table["variance"][channel]),
                                            f"{a.name}: MPD of {layer.info.name} c{channel} ({table['pattern'][channel]})"),
                            key="mp_mpd")
        with right:
            st.plotly_chart(make_ptd_variance_figure(channel_ptd(layer), channel_variance(layer), table["pattern"],
                                                     f"{a.name}: PTD vs variance, {layer.info.name}"), key="mp_scatter")
        st.subheader("Fig. 6: vanilla vs ASA")
        t = st.slider("timestep of the spike features", 0, a.T - 1, a.T // 2, key="mp_t")
        panels = fig6_panels(a, layer_index, pick_channels(a, layer_index, settings), t, settings)
        if b is not None:
            panels += fig6_panels(b, layer_index, pick_channels(b, layer_index, settings), t, settings)
        else:
            st.info("choose a second run in the sidebar to put it beside this one")
        if panels:
            st.plotly_chart(make_fig6_figure(panels), key="mp_fig6")
        st.caption(f"PTD: mean centre of the 3 tallest MPD bins minus V_th; bins of "
                   f"{a.settings['histogram']['bin_width_vth']:.3g} V_th. Channels picked automatically: the most "
                   "background-heavy noise channel and the most object-centred normal channel of each run.")
