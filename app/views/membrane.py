"""Membrane potentials: MPD per channel with V_th, PTD and variance; PTD-vs-variance
scatter (click a point to open its channel); the Fig. 6 panel for two comparable runs."""

import streamlit as st

from analysis.figures import make_mpd_figure, make_ptd_variance_figure
from app import help as H
from app import runs as R
from app import ui

st.title("Membrane potentials")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(a)
        layer = a.layer(layer_index)
        table = R.cached_channel_table(a, layer_index, settings)
        channel = ui.pick_channel(table["channel"].tolist())
        left, right = st.columns(2)
        hist = layer.stats["hist"][:, channel].sum(axis=0)
        with left:
            ui.chart(make_mpd_figure(hist, layer.info.hist_edges, layer.info.v_threshold,
                                     float(table["ptd"][channel]), float(table["variance"][channel]),
                                     f"{a.name}: MPD of {layer.info.name} c{channel} ({table['pattern'][channel]})"),
                     "mp_mpd")
            outside = (hist[0] + hist[-1]) / max(int(hist.sum()), 1)
            st.caption(f"over all timesteps · U outside the histogram range: {outside:.1%} of values (counted in PTD's "
                       "shares and in Var, not drawn)", help=H.HELP["mpd"])
        with right:
            ui.chart(make_ptd_variance_figure(table["ptd"].to_numpy(), table["variance"].to_numpy(),
                                              table["pattern"].to_numpy(),
                                              f"{a.name}: PTD vs variance, {layer.info.name}", highlight=channel),
                     "mp_scatter", on_click=ui.open_clicked_channel("mp_scatter"))
            st.caption("click a point to open its channel", help=H.HELP["ptd"])
        st.subheader("Fig. 6: MPD and spike features, patterns A-D")
        t = ui.pick_timestep(a, "timestep of the spike features")
        other = ui.comparable(a, b, "Fig. 6 compares runs on the same samples")
        runs = [a] + ([other] if other is not None else [])
        if other is None and b is None:
            st.info("choose a second run in the sidebar to put it beside this one")
        chosen = []
        for i, run in enumerate(runs):
            picked = R.cached_pick_patterns(run, layer_index, settings)
            C = run.layer(layer_index).info.shape[0]
            chosen.append(st.multiselect(f"Fig. 6 channels of {run.name} (A, B, ... in this order)", list(range(C)),
                                         default=picked, key=f"fig6_{i}_{run.name}_{layer_index}",
                                         format_func=lambda c: f"c{c}", max_selections=6))
        fig6 = R.cached_fig6_figure(runs, chosen, layer_index, t, settings,
                                    f"MPD and spike features of {layer.info.name} at t={t}")
        if fig6 is not None:
            ui.chart(fig6, "mp_fig6")
        st.caption(f"PTD: mean centre of the 3 tallest MPD bins minus V_th; bins of "
                   f"{a.settings['histogram']['bin_width_vth']:.3g} V_th. Patterns A-D picked by rule: among the "
                   "channels that fire, ordered by PTD, those at the 10th, 37th, 63rd and 90th percentile (A low PTD, "
                   "D high); choose others above.", help=H.HELP["ptd"])
