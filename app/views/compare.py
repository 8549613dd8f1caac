"""Compare two runs: Table 1, 3 and 4 style tables with the relative changes."""

import streamlit as st

from app import runs as R
from app import ui

st.title("Compare")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    if b is None:
        st.info("choose a second run in the sidebar ('compare with')")
    else:
        with ui.readable_errors():
            t1, t3, t4 = R.cached_compare_tables(a, b, settings)
            st.subheader("Table 1: accuracy, NASFR and energy")
            st.dataframe(t1, hide_index=True)
            st.subheader("Table 3: spike patterns, PTD and variance per layer")
            st.dataframe(t3, hide_index=True)
            st.subheader("Table 4: quantization error")
            st.dataframe(t4, hide_index=True)
