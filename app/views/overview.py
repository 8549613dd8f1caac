"""Overview: accuracy, NASFR, energy, firing rate per layer and timestep, pattern counts."""

import streamlit as st

from analysis.figures import make_firing_rate_figure
from analysis.tables import firing_rate_matrix
from app import help as H
from app import runs as R
from app import ui

st.title("Overview")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    with ui.readable_errors():
        reason = ui.incompatibility(a, b) if b is not None else None
        if reason:
            st.warning(f"shown side by side, but not comparable: {reason}")
        shown = [r for r in (a, b) if r is not None]
        base = R.cached_summary(a, settings)
        for col, run in zip(st.columns(len(shown)), shown):
            with col:
                st.subheader(run.name)
                st.caption(f"{run.model_description} · {run.n_samples} samples · T={run.T} · "
                           f"data {run.data.get('source', '?')}")
                summary = R.cached_summary(run, settings)
                second = run is not a and not reason
                m1, m2, m3 = st.columns(3)
                labelled = summary["accuracy"] == summary["accuracy"]  # NaN: the data has no labels
                m1.metric("accuracy", f"{summary['accuracy']:.1%}" if labelled else "no labels",
                          f"{100 * (summary['accuracy'] - base['accuracy']):+.1f} points" if second and labelled else None,
                          help=H.HELP["accuracy"])
                m2.metric("NASFR", f"{summary['nasfr']:.4f}",
                          f"{(summary['nasfr'] - base['nasfr']) / base['nasfr']:+.1%}" if second and base["nasfr"] else None,
                          delta_color="inverse", help=H.HELP["nasfr"])
                m3.metric("energy (µJ)", f"{summary['energy_uj']:.3f}",
                          f"{(summary['energy_uj'] - base['energy_uj']) / base['energy_uj']:+.1%}"
                          if second and base["energy_uj"] else None, delta_color="inverse", help=H.HELP["energy"])
        for run in shown:  # full width: side by side, half a page cut off the right-hand columns
            if len(shown) > 1:
                st.markdown(f"**{run.name}** per layer")
            table = R.cached_layer_table(run, settings)
            ui.small_table(H.readable(table[["layer", "firing_rate", "noise", "normal", "null", "qe", "ghost_ratio"]]))
        ui.chart(make_firing_rate_figure(firing_rate_matrix(a), [l.info.name for l in a.layers],
                                         run_names=[r.name for r in shown],
                                         more=[firing_rate_matrix(b)] if b is not None else None),
                 key="firing_rates")
        st.caption(f"Patterns over all timesteps: null if firing rate < {settings.pattern.null_rate}; noise if "
                   f"background firing density >= {settings.pattern.noise_ratio} x foreground; foreground = input "
                   f"event rate >= {settings.pattern.foreground_level} x max; fully connected layers have no "
                   "pattern. Energy: E_MAC 4.6 pJ, E_AC 0.9 pJ (Eq. 11).")
