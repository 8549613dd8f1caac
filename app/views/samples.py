"""Single samples: which samples spend the most spikes, and for the samples recorded with
raw tensors their input events (play through timesteps), a spike raster per layer and the
membrane potential of one neuron over time."""

import streamlit as st

from analysis.figures import make_input_frames_figure, make_raster_figure, make_sample_spikes_figure, make_u_trace_figure
from analysis.samples import raw_sample, sample_table
from app import runs as R
from app import ui

st.title("Samples")
run, _ = ui.pick_runs(two=False)
if run is not None:
    with ui.readable_errors():
        table = R.cached(sample_table, run)
        labelled = table["correct"].notna().to_numpy()
        correct = table["correct"].fillna(False).astype(bool).to_numpy()
        ui.chart(make_sample_spikes_figure(table["spikes"].to_numpy(), correct, labelled,
                                           f"{run.name}: spikes per sample"), key="smp_spikes")
        if labelled.any():
            right, wrong = table["spikes"][labelled & correct], table["spikes"][labelled & ~correct]
            st.caption(f"mean spikes per sample: {right.mean():.0f} when correct ({len(right)}), "
                       + (f"{wrong.mean():.0f} when wrong ({len(wrong)})" if len(wrong) else "no wrong samples"))
        st.dataframe(table.sort_values("spikes", ascending=False).head(10), hide_index=True)
        if run.raw_count == 0:
            st.info("this recording kept no raw tensors: record with --raw-fraction or --raw-per-class to see "
                    "single samples")
            st.stop()
        raw_rows = table[table["raw"] >= 0]
        choice = st.selectbox("sample with raw tensors", raw_rows["sample"].tolist(), key="smp_sample",
                              format_func=lambda s: f"sample {s} (label {table['label'][s]}, "
                                                    f"predicted {table['prediction'][s]}, {table['spikes'][s]} spikes)")
        layer_index = ui.pick_layer(run)
        layer = run.layer(layer_index)
        data = R.cached(raw_sample, run, int(table["raw"][choice]), layer_index)
        left, right = st.columns(2)
        if data["input"] is not None and len(data["input"]):
            ui.chart(make_input_frames_figure(data["input"], f"sample {choice}: input events"), key="smp_input",
                     where=left)
        ui.chart(make_raster_figure(data["s"], layer.info.name), key="smp_raster", where=right)
        C, H, W = layer.info.shape
        c1, c2, c3 = st.columns(3)
        channel = c1.number_input("neuron: channel", 0, C - 1, 0, key="smp_c")
        row = c2.number_input("row", 0, H - 1, H // 2, key="smp_y")
        col = c3.number_input("column", 0, W - 1, W // 2, key="smp_x")
        ui.chart(make_u_trace_figure(data["u"][:, channel, row, col], data["s"][:, channel, row, col],
                                     layer.info.v_threshold,
                                     f"U of {layer.info.name} c{channel} ({row}, {col}), sample {choice}"),
                 key="smp_u")
