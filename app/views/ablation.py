"""Silence channels: what the redundant channels are worth. Re-runs the run's checkpoint on
its own samples with channels silenced (noise channels, ghosts, top channels by firing or
PTD, random controls; sweeps in an order) and shows accuracy against spikes removed, with
intervals. Results are kept beside the recording (RUN.ablations/)."""

import json

import streamlit as st

from analysis import ablation as A
from analysis.figures import make_sweep_figure
from analysis.intervals import IntervalSettings
from app import help as H
from app import ui

st.title("Silence channels")
st.caption(H.HELP["ablation"])
settings = ui.settings()
run, _ = ui.pick_runs(two=False)


def show_results(folder) -> None:
    results = A.load_results(folder)
    if not results:
        st.info("no silencing results for this run yet: run an experiment below (or `python -m analysis ablate`)")
        return
    for name, (table, info) in results.items():
        st.subheader(name)
        level = info.get("intervals", {}).get("level", 0.95)
        if info.get("kind") == "sweep" or "order" in table.columns:
            ui.chart(make_sweep_figure(table, f"{run.name}: accuracy as channels are silenced"),
                     key=f"abl_sweep_{name}")
            free = A.free_spikes_summary(A.free_spikes(table))
            st.caption(f"spikes removed before the {level:.0%} interval of the accuracy change lies wholly below 0 "
                       "(per order; random: per draw)")
            st.dataframe(free.rename(columns={"spikes_removed": "spikes removed", "accuracy_change": "accuracy change"}),
                         hide_index=True)
        else:
            st.caption(f"changes against the unsilenced model [{level:.0%} interval over the samples: accuracy exact, "
                       "as McNemar's test; spikes and energy paired bootstrap]; random controls silence as many "
                       "channels per layer")
            st.dataframe(A.selection_summary(table), hide_index=True)
        with st.expander("provenance and every row"):
            st.code(json.dumps(info, indent=1, default=str), language="json")
            st.dataframe(table, hide_index=True)
        st.download_button(f"download {name}.csv", table.to_csv(index=False), f"{run.name}_{name}.csv",
                           key=f"abl_dl_{name}")


if run is not None:
    folder = A.results_dir(run.path)
    with ui.readable_errors():
        show_results(folder)
    st.subheader("Run an experiment")
    spatial = A.map_layers(run)
    with st.form("abl_form"):
        layers = st.multiselect("layers to silence channels in", [l.info.name for l in run.layers], default=spatial,
                                key="abl_layers")
        c1, c2, c3 = st.columns(3)
        picks = c1.multiselect("selections", ["noise", "ghosts", "rate top K", "PTD top K"], default=["noise"],
                               key="abl_select", help=H.HELP["ablation_select"])
        k = c2.number_input("K", 1, 10_000, 8, key="abl_k")
        draws = c3.number_input("random draws per control", 0, 50, 5, key="abl_draws")
        orders = c1.multiselect("sweep orders", ["noise", "rate", "rate-low", "ptd", "random"], default=[],
                                key="abl_orders", help=H.HELP["ablation_sweep"])
        step = c2.number_input("channels per sweep step", 1, 10_000, 4, key="abl_step")
        name = c3.text_input("result name", "ablation", key="abl_name")
        go = st.form_submit_button("silence and measure")
    if go:
        with ui.readable_errors():
            if not layers:
                raise ValueError("choose at least one layer")
            t = run.T // 2
            chosen = {}
            for pick in picks:
                if pick == "noise":
                    chosen["noise"] = A.noise_selection(run, layers, settings)
                elif pick == "ghosts":
                    chosen["ghosts"] = A.ghost_selection(run, layers, t, settings)
                else:
                    by = "rate" if pick.startswith("rate") else "ptd"
                    chosen[f"{by} top {k}"] = A.top_selection(run, layers, by, int(k), settings)
            if not chosen and not orders:
                raise ValueError("choose a selection or a sweep order")
            bar = st.progress(0.0, "re-running the unsilenced model ...")
            exp = A.Experiment(run, A.find_checkpoint(run), None, "cpu", settings, IntervalSettings(n_resamples=2000))
            step_done = lambda done, total: bar.progress(done / total, f"{done} of {total} passes")  # noqa: E731
            if chosen:
                table = A.silence_selections(exp, chosen, int(draws), 0, step_done)
                A.save_results(table, A.provenance(exp, kind="selections", layers=layers, random_draws=int(draws),
                                                   selections=chosen), folder, name)
            if orders:
                curve = A.sweep(exp, layers, orders, int(step), int(draws), 0, None, step_done)
                A.save_results(curve, A.provenance(exp, kind="sweep", layers=layers, orders=orders, step=int(step),
                                                   random_draws=int(draws)), folder, f"{name}_sweep")
            bar.empty()
            st.rerun()
