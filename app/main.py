"""Dashboard entry point: registers the pages (`streamlit run app/main.py`)."""

import streamlit as st

st.set_page_config(page_title="SNN redundancy", layout="wide")
st.navigation([st.Page("pages/home.py", title="Home", default=True)]).run()
