"""Dashboard entry point: registers the pages (`streamlit run app/main.py`) and keeps the
chosen runs, layer, channel, timestep and rules across pages and in the URL."""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:  # the project's packages, also under `streamlit run` (once: this file runs on every rerun)
    sys.path.insert(0, ROOT)


def main() -> None:
    # imported here, not at the top: a worker process that imports this file (below) then
    # starts in about a second instead of ten (streamlit, torch and the analysis modules)
    import streamlit as st

    from app import state, ui, warm

    st.set_page_config(page_title="SNN redundancy", layout="wide")
    pages = st.navigation([
        st.Page("views/overview.py", title="Overview", default=True),
        st.Page("views/spike_features.py", title="Spike features"),
        st.Page("views/membrane.py", title="Membrane potentials"),
        st.Page("views/ghosts.py", title="Ghost features"),
        st.Page("views/samples.py", title="Samples"),
        st.Page("views/compare.py", title="Compare"),
        st.Page("views/ablation.py", title="Silence channels"),
        st.Page("views/inspect.py", title="Inspect a checkpoint"),
        st.Page("views/export.py", title="Export"),
    ])
    st.html(ui.STYLE)
    state.restore(pages.url_path)
    with warm.WARMER.script_run():
        try:
            pages.run()
        finally:  # also after st.stop() in a page
            state.publish()
    warm.after_run()


# Streamlit runs this file as "__main__". A worker process that multiprocessing spawns from
# the server (events.isolated) imports it again as "__mp_main__": there it must do nothing.
if __name__ == "__main__":
    main()
