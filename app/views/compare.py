"""Compare any number of runs recorded on the same samples (the paper's Table 1 and 3
compare several attention modules): Table 1 for all, firing per layer and timestep, and
Tables 3 and 4 of each run against the first. Runs on other data are refused with what
differs."""

import streamlit as st

from analysis.figures import make_firing_rate_figure
from analysis.tables import firing_rate_matrix, table3_from
from app import help as H
from app import runs as R
from app import state as S
from app import ui

st.title("Compare")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    available = R.available_runs()
    others = [n for n in available if n != a.name]
    S.choose_many("runs_many", others, [b.name] if b is not None else [])
    S.follow_sidebar("runs_many", b.name if b is not None else None)
    chosen = st.multiselect(f"runs to compare with {a.name} (the run chosen in the sidebar is the reference)", others,
                            key="runs_many")
    with ui.readable_errors():
        runs = []
        for name in chosen:
            run = R.load(available[name])
            run.name = name
            runs.append(run)
        kept = [a] + [r for r in runs if ui.comparable(a, r, f"{r.name} left out") is not None]
        if len(kept) < 2:
            fitting = ui.runs_on_samples_of(a, others, available)
            fits = ", ".join(fitting) if fitting else "none here"
            st.info(f"none of the chosen runs was recorded on the samples of {a.name}; runs that were: {fits}" if chosen
                    else f"choose runs to compare with {a.name}; recorded on its samples: {fits}")
        else:
            st.subheader("Table 1: accuracy, NASFR and energy")
            st.caption("changes against the first run (the reference): accuracy in percentage points, NASFR relative")
            t1_all = R.cached_table1(kept, settings)
            ui.small_table(H.readable(t1_all, changes=True))
            st.subheader("Table 3: attention modules")
            st.caption("extra parameters and Δ MACs against the reference run, accuracy, NASFR, energy per sample")
            ui.small_table(H.readable(table3_from(t1_all)))
            ui.chart(make_firing_rate_figure(firing_rate_matrix(kept[0]), [l.info.name for l in kept[0].layers],
                                             run_names=[r.name for r in kept],
                                             more=[firing_rate_matrix(r) for r in kept[1:]]),
                     key="cmp_rates")
            replicates = R.cached_replicates(kept, settings)
            if replicates is not None:
                st.subheader("Replicates: mean ± sd per condition")
                st.caption("Runs of one architecture and data form a group (e.g. seeds); changes against the first "
                           "group with a 95% Welch t interval over the group's runs. " + H.HELP["interval"])
                ui.small_table(replicates[[c for c in replicates.columns if not c.endswith((" mean", " sd"))]])
            for other in kept[1:]:
                t3, t4 = R.cached_compare_tables(kept[0], other, settings)
                st.subheader(f"{other.name} against {kept[0].name}")
                paired = R.cached_paired(kept[0], other, settings)
                st.caption("Changes with 95% intervals over the same samples (accuracy in percentage points, with "
                           "McNemar's exact p; the others relative). " + H.HELP["interval"])
                shown = paired[["measure", "first", "second", "cell", "p_value"]].rename(
                    columns={"first": kept[0].name, "second": other.name, "cell": "change [95% interval]",
                             "p_value": "McNemar p"})
                shown["McNemar p"] = [f"{p:.2g}" if p == p else "" for p in shown["McNemar p"]]
                pairs = [ui.number_text(pair) for pair in zip(shown[kept[0].name], shown[other.name])]
                shown[kept[0].name], shown[other.name] = zip(*pairs)  # one measure per row, one precision per row
                ui.small_table(shown)
                st.caption("Spike patterns (over all timesteps), PTD and variance per layer (the project's pattern table)")
                ui.small_table(H.readable(t3))
                st.caption("Table 4: quantization error (change relative to the reference)")
                ui.small_table(H.readable(t4, changes=True))
