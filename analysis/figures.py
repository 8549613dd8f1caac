"""Figure builders: pure functions from arrays to plotly figures (no I/O, no streamlit).

Firing rates use one colour scale everywhere: 0 (blue) to 1 (red)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

RATE_SCALE = "RdBu_r"
PATTERN_COLORS = {"noise": "#d62728", "normal": "#1f77b4", "null": "#7f7f7f"}
FONT = dict(family="Arial, Helvetica, sans-serif", size=12)


def _square_cells(fig: go.Figure, n: int) -> None:
    """Keep every map's pixels square: each subplot's y axis follows its x axis."""
    for i in range(1, n + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", constrain="domain")
        fig.layout[f"xaxis{suffix}"].update(constrain="domain")


def _grid(n: int, columns: int | None = None) -> tuple[int, int]:
    cols = columns or min(n, max(1, math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def make_spike_features_figure(features: np.ndarray, patterns: np.ndarray | None = None,
                               channels: list[int] | None = None, title: str = "Spike features",
                               columns: int | None = None) -> go.Figure:
    """Fig. 2a / 5a: the spike features [C, H, W] (N-SFR, 0..1) of many channels at one
    timestep as a grid of maps; subplot titles give the channel and its pattern."""
    channels = list(range(features.shape[0])) if channels is None else list(channels)
    rows, cols = _grid(len(channels), columns)
    titles = [f"c{c}" + (f" · {patterns[c]}" if patterns is not None else "") for c in channels]
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02,
                        vertical_spacing=0.35 / max(rows, 1))
    for i, c in enumerate(channels):
        fig.add_trace(go.Heatmap(z=features[c][::-1], zmin=0, zmax=1, colorscale=RATE_SCALE, showscale=i == 0,
                                 colorbar=dict(title="firing rate", len=0.8), hovertemplate=f"c{c} x=%{{x}} y=%{{y}} rate=%{{z:.3f}}<extra></extra>"),
                      row=i // cols + 1, col=i % cols + 1)
    if patterns is not None:
        for ann, c in zip(fig.layout.annotations, channels):
            ann.font = dict(color=PATTERN_COLORS.get(str(patterns[c]), "black"), size=10)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    _square_cells(fig, len(channels))
    fig.update_layout(title=title, font=FONT, height=max(300, 150 * rows + 90), width=max(400, 140 * cols + 160),
                      margin=dict(l=20, r=20, t=70, b=20))
    return fig


def make_channel_timesteps_figure(channel_nsfr: np.ndarray, channel: int, title: str | None = None) -> go.Figure:
    """Fig. 2b / 5b: one channel's spike feature at every timestep. channel_nsfr: [T, H, W]."""
    T = channel_nsfr.shape[0]
    rows, cols = _grid(T, min(T, 10))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[f"t={t}" for t in range(T)], horizontal_spacing=0.01)
    for t in range(T):
        fig.add_trace(go.Heatmap(z=channel_nsfr[t][::-1], zmin=0, zmax=1, colorscale=RATE_SCALE, showscale=t == 0,
                                 colorbar=dict(title="firing rate")), row=t // cols + 1, col=t % cols + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    _square_cells(fig, T)
    fig.update_layout(title=title or f"Channel {channel} across timesteps", font=FONT,
                      height=140 * rows + 90, width=max(500, 110 * cols + 150), margin=dict(l=20, r=20, t=70, b=20))
    return fig


def _mpd_trace(hist: np.ndarray, edges: np.ndarray, color: str, name: str) -> go.Bar:
    centres = (edges[:-1] + edges[1:]) / 2
    total = max(int(hist.sum()), 1)
    return go.Bar(x=centres, y=hist[1:-1] / total, width=np.diff(edges), marker_color=color, name=name,
                  hovertemplate="U=%{x:.3f} share=%{y:.4f}<extra></extra>")


def make_mpd_figure(hist: np.ndarray, edges: np.ndarray, v_threshold: float, ptd_value: float, variance: float,
                    title: str = "Membrane potential distribution") -> go.Figure:
    """Definition 5: the MPD histogram (share of values per bin, under/overflow left out of
    the bars but in the total) with V_th marked and PTD and variance written."""
    fig = go.Figure(_mpd_trace(hist, edges, "#1f77b4", "MPD"))
    fig.add_vline(x=v_threshold, line_dash="dash", line_color="black", annotation_text="V_th")
    fig.add_annotation(xref="paper", yref="paper", x=0.99, y=0.98, showarrow=False, align="right",
                       text=f"PTD = {ptd_value:.3f}<br>Var = {variance:.3f}")
    fig.update_layout(title=title, xaxis_title="membrane potential U", yaxis_title="share of neurons", font=FONT,
                      bargap=0, height=360, width=520, showlegend=False)
    return fig


def make_fig6_figure(panels: list[dict], title: str = "MPD and spike features: vanilla vs ASA") -> go.Figure:
    """Fig. 6: one row per panel, each with the channel's MPD (V_th marked, PTD and variance
    written) beside its spike feature. panel keys: label, hist [B+2], edges [B+1],
    v_threshold, ptd, variance, feature [H, W], pattern."""
    rows = len(panels)
    fig = make_subplots(rows=rows, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.08,
                        vertical_spacing=min(0.3, 0.5 / max(rows, 1)),
                        subplot_titles=[t for p in panels for t in (f"{p['label']}: MPD ({p['pattern']})",
                                                                    f"{p['label']}: spike feature")])
    for r, p in enumerate(panels, start=1):
        fig.add_trace(_mpd_trace(p["hist"], p["edges"], PATTERN_COLORS.get(p["pattern"], "#1f77b4"), p["label"]),
                      row=r, col=1)
        fig.add_vline(x=p["v_threshold"], line_dash="dash", line_color="black", row=r, col=1)
        fig.add_annotation(text=f"PTD={p['ptd']:.3f}<br>Var={p['variance']:.3f}", showarrow=False, align="left",
                           xref=f"x{2 * r - 1} domain" if r > 1 else "x domain",
                           yref=f"y{2 * r - 1} domain" if r > 1 else "y domain", x=0.02, y=0.95, xanchor="left",
                           font=dict(size=11), bgcolor="rgba(255,255,255,0.7)")
        fig.add_trace(go.Heatmap(z=p["feature"][::-1], zmin=0, zmax=1, colorscale=RATE_SCALE, showscale=r == 1,
                                 colorbar=dict(title="firing rate", len=0.5, y=0.75)), row=r, col=2)
        fig.update_xaxes(title_text="U" if r == rows else None, row=r, col=1)
        fig.update_xaxes(showticklabels=False, row=r, col=2)
        fig.update_yaxes(showticklabels=False, row=r, col=2)
    fig.update_layout(title=title, font=FONT, showlegend=False, bargap=0, height=300 * rows + 100, width=860)
    return fig


def make_firing_rate_figure(rates: np.ndarray, layer_names: list[str], title: str = "Firing rate per layer and timestep",
                            run_names: list[str] | None = None, more: list[np.ndarray] | None = None) -> go.Figure:
    """T-SFR per layer (lines) over timesteps; rates [L, T]. `more` adds other runs' [L, T]
    (dashed), named by run_names."""
    import plotly.colors

    fig = go.Figure()
    sets = [rates] + list(more or [])
    names = run_names or [""] * len(sets)
    palette = plotly.colors.qualitative.Plotly
    for k, (data, run) in enumerate(zip(sets, names)):
        for i, layer in enumerate(layer_names):
            fig.add_trace(go.Scatter(x=np.arange(data.shape[1]), y=data[i], mode="lines+markers",
                                     name=f"{layer} {run}".strip(),
                                     line=dict(dash="solid" if k == 0 else "dash", color=palette[i % len(palette)])))
    fig.update_layout(title=title, xaxis_title="timestep t", yaxis_title="T-SFR (spikes per neuron)", font=FONT,
                      height=420, width=760, yaxis=dict(rangemode="tozero"))
    return fig


def make_ptd_variance_figure(ptd_values: np.ndarray, variances: np.ndarray, patterns: np.ndarray,
                             title: str = "PTD vs variance per channel") -> go.Figure:
    """Scatter of per-channel PTD against variance, coloured by pattern."""
    fig = go.Figure()
    for kind, color in PATTERN_COLORS.items():
        sel = np.asarray(patterns) == kind
        if sel.any():
            fig.add_trace(go.Scatter(x=np.asarray(ptd_values)[sel], y=np.asarray(variances)[sel], mode="markers",
                                     name=kind, marker=dict(color=color, size=8),
                                     text=[f"c{c}" for c in np.flatnonzero(sel)],
                                     hovertemplate="%{text} PTD=%{x:.3f} Var=%{y:.3f}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dot", line_color="gray")
    fig.update_layout(title=title, xaxis_title="PTD", yaxis_title="variance of U", font=FONT, height=420, width=600,
                      legend_title="pattern")
    return fig


def make_ghost_heatmap_figure(similarity: np.ndarray, groups: list[list[int]], method: str, threshold: float,
                              title: str = "Spike feature similarity") -> go.Figure:
    """Pairwise similarity [C, C] with the ghost groups listed in the subtitle."""
    fig = go.Figure(go.Heatmap(z=similarity, zmin=-1 if method == "pearson" else 0, zmax=1, colorscale="Viridis",
                               colorbar=dict(title=method), hovertemplate="c%{y} vs c%{x}: %{z:.3f}<extra></extra>"))
    shown = "; ".join("{" + ",".join(map(str, g)) + "}" for g in groups[:6]) + (" ..." if len(groups) > 6 else "")
    fig.update_layout(title=f"{title}<br><sup>ghost groups ({method} >= {threshold}): {shown or 'none'}</sup>",
                      xaxis_title="channel", yaxis_title="channel", font=FONT, height=520, width=580,
                      yaxis=dict(autorange="reversed"))
    return fig
