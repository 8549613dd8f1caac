"""Export: Fig. 2, 5 and 6 and the tables for download (PNG, SVG, PDF, CSV, LaTeX), and
the recording itself."""

import streamlit as st

from analysis.export import figure_bytes, table_text
from app import runs as R
from app import ui

st.title("Export")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(a)
        t = ui.pick_timestep(a)
        b = ui.comparable(a, b, "figures and tables compare runs on the same samples; exporting the first run alone")
        tables, figs = R.cached_report(a, b, layer_index, t, settings)
        c1, c2 = st.columns(2)
        fig_name = c1.selectbox("figure", list(figs), key="ex_fig")
        fmt = c2.selectbox("format", ["png", "svg", "pdf"], key="ex_fmt")
        st.plotly_chart(figs[fig_name], key="ex_preview")
        if st.button("Prepare figure file", key="ex_prepare"):
            st.session_state["ex_file"] = (fig_name, fmt, figure_bytes(figs[fig_name], fmt))
        prepared = st.session_state.get("ex_file")
        if prepared and prepared[:2] == (fig_name, fmt):
            st.download_button(f"Download {fig_name}.{fmt}", prepared[2], f"{fig_name}.{fmt}",
                               mime={"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[fmt],
                               key="ex_download_fig")
        st.subheader("Tables")
        table_name = st.selectbox("table", list(tables), key="ex_table")
        st.dataframe(tables[table_name], hide_index=True)
        d1, d2 = st.columns(2)
        d1.download_button("CSV", table_text(tables[table_name], "csv"), f"{table_name}.csv", "text/csv", key="ex_csv")
        d2.download_button("LaTeX", table_text(tables[table_name], "tex"), f"{table_name}.tex", "text/x-tex", key="ex_tex")
        st.subheader("Recording")
        st.download_button(f"Download {a.path.name}", a.path.read_bytes(), a.path.name, "application/x-hdf5",
                           key="ex_recording")
