"""Spike features (Fig. 2a/5a) of a layer at a timestep, and one channel over time (Fig. 2b/5b)."""

import streamlit as st

from analysis.figures import make_channel_timesteps_figure, make_spike_features_figure
from analysis.tables import channel_table
from app import ui

st.title("Spike features")
settings = ui.settings()
run, _ = ui.pick_runs(two=False)
if run is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(run, key="sf_layer")
        layer = run.layer(layer_index)
        c1, c2, c3 = st.columns(3)
        t = c1.slider("timestep", 0, run.T - 1, run.T // 2, key="sf_t")
        order = c2.selectbox("sort channels by", ["channel", "firing rate", "PTD", "pattern"], key="sf_sort")
        limit = c3.number_input("channels shown", 1, layer.info.shape[0], min(layer.info.shape[0], 32), key="sf_limit")
        table = channel_table(run, layer_index, settings)
        key = {"channel": "channel", "firing rate": "firing_rate", "PTD": "ptd", "pattern": "pattern"}[order]
        ordered = table.sort_values(key, ascending=order in ("channel", "pattern"), kind="stable")["channel"].tolist()
        shown = ordered[: int(limit)]
        fig = make_spike_features_figure(layer.nsfr[t], table["pattern"].to_numpy(), shown,
                                         f"{run.name}: {layer.info.name} at t={t} (Fig. 2a/5a)")
        st.plotly_chart(fig, key="sf_grid")
        counts = table["pattern"].value_counts().to_dict()
        st.caption(f"patterns: {counts.get('noise', 0)} noise, {counts.get('normal', 0)} normal, "
                   f"{counts.get('null', 0)} null · colour: firing rate 0 (blue) to 1 (red)")
        channel = st.selectbox("channel", shown, key="sf_channel")
        st.plotly_chart(make_channel_timesteps_figure(layer.nsfr[:, channel], channel,
                                                      f"{run.name}: channel {channel} across timesteps (Fig. 2b/5b)"),
                        key="sf_channel_fig")
        st.dataframe(table[table["channel"] == channel], hide_index=True)
