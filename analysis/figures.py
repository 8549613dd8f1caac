"""Figure builders: pure functions from arrays to plotly figures (no I/O, no streamlit).

Firing rates use one colour scale everywhere: 0 (blue) to 1 (red)."""

from __future__ import annotations

import base64
import functools
import io
import math

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

RATE_SCALE = "RdBu_r"
PATTERN_COLORS = {"noise": "#d62728", "normal": "#1f77b4", "null": "#7f7f7f", "fc": "#2ca02c"}
FONT = dict(family="Arial, Helvetica, sans-serif", size=12)
LETTERS = "abcdefghijklmnopqrstuvwxyz"  # panel letters (a), (b), ...


@functools.lru_cache(maxsize=8)
def _colour_table(scale: str, levels: int = 256) -> np.ndarray:
    """[levels, 3] uint8: the colour scale sampled evenly from its low to its high end."""
    colours = plotly.colors.sample_colorscale(scale, np.linspace(0, 1, levels))
    return np.array([plotly.colors.unlabel_rgb(c) for c in colours]).round().astype(np.uint8)


def _rgba(z: np.ndarray, zmin: float, zmax: float, scale: str) -> np.ndarray:
    """z [H, W] as [H, W, 4] uint8 colours of the scale over zmin..zmax (NaN: transparent)."""
    z = np.asarray(z, dtype=np.float64)
    span = zmax - zmin
    if not (np.isfinite(zmin) and np.isfinite(span) and span > 0):
        raise ValueError(f"colour range {zmin!r}..{zmax!r}: give finite zmin < zmax")
    share = np.clip(np.nan_to_num((z - zmin) / span, nan=0.0, posinf=1.0, neginf=0.0), 0, 1)
    level = np.rint(share * 255).astype(np.intp)
    return np.dstack([_colour_table(scale)[level], np.where(np.isnan(z), 0, 255).astype(np.uint8)])


def maps_png(maps: np.ndarray, columns: int | None = None, min_side_px: int = 80, max_width_px: int = 1200) -> bytes:
    """maps [N, H, W] (firing rates, 0..1) as one PNG: a mosaic row by row (`columns` per row,
    default about square), maps a sixth of their side apart on a transparent background,
    coloured as every rate map here (RATE_SCALE, 0 blue, 1 red), each neuron a block of k x k
    pixels, k the smallest integer that makes a map's longer side at least min_side_px
    (at most what keeps the mosaic within max_width_px, at least 1). For views that only
    show maps (nothing to hover or click): a browser draws an image far faster than a chart."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 3 or 0 in maps.shape:
        raise ValueError(f"maps of shape {maps.shape}: give [N, H, W] with N, H, W >= 1")
    N, H, W = maps.shape
    _, cols = _grid(N, columns)
    gap = max(1, round(max(H, W) / 6))
    mosaic = _mosaic(maps, list(range(N)), cols, gap)
    k = max(1, min(math.ceil(min_side_px / max(H, W)), max_width_px // mosaic.shape[1]))
    pixels = np.repeat(np.repeat(_rgba(mosaic, 0, 1, RATE_SCALE), k, axis=0), k, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def raster_image(z: np.ndarray, zmin: float, zmax: float, scale: str = RATE_SCALE) -> dict:
    """z [H, W] coloured as a heatmap with this scale and range would be (NaN: transparent),
    as one PNG layout image with pixel (r, c) centred at x = c, y = r on a y axis that runs
    down (range [H - 0.5, -0.5]). A browser draws it in a fraction of a heatmap's time
    (it only decodes and scales the image). Unlike an image trace it leaves hover and
    clicks to the traces above it; it has no hover of its own and no colour bar (add
    colour_bar); the dashboard draws such images pixelated (app.ui.STYLE)."""
    buffer = io.BytesIO()
    Image.fromarray(_rgba(z, zmin, zmax, scale), "RGBA").save(buffer, format="PNG", compress_level=1)
    H, W = np.shape(z)
    return dict(source="data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), xref="x", yref="y",
                x=-0.5, y=-0.5, sizex=W, sizey=H, sizing="stretch", xanchor="left", yanchor="top", layer="below")


def colour_bar(zmin: float, zmax: float, title: str, scale: str = RATE_SCALE) -> go.Scatter:
    """A trace that draws nothing but the colour bar of a raster_image."""
    return go.Scatter(x=[None], y=[None], mode="markers", name="colour scale", showlegend=False, hoverinfo="skip",
                      marker=dict(color=[zmin], colorscale=scale, cmin=zmin, cmax=zmax, showscale=True,
                                  colorbar=dict(title=title, len=0.8)))


def _map_layout(mosaic: np.ndarray, raster: bool, headroom: float = 0) -> dict:
    """Layout of a mosaic of maps: hidden axes of square cells, row 0 at the top; raster: the
    mosaic as a raster_image, with `headroom` rows above it (for labels)."""
    H, W = mosaic.shape
    y = dict(range=[H - 0.5, -0.5 - headroom]) if raster else dict(autorange="reversed")
    return dict(images=[raster_image(mosaic, 0, 1)] if raster else None,
                xaxis=dict(visible=False, range=[-0.5, W - 0.5]),
                yaxis=dict(visible=False, scaleanchor="x", constrain="domain", **y))


def _vline(x: float, dash: str, color: str, label: str | None = None) -> tuple[dict, list[dict]]:
    """A vertical line over the whole plot height at data x (and its label at the top right),
    as layout dicts: given to the figure at once, which plotly builds faster than add_vline."""
    shape = dict(type="line", xref="x", yref="y domain", x0=x, x1=x, y0=0, y1=1, line=dict(dash=dash, color=color))
    notes = [dict(xref="x", yref="y domain", x=x, y=1, text=label, showarrow=False, xanchor="left",
                  yanchor="top")] if label else []
    return shape, notes


def _square_cells(fig: go.Figure, n: int) -> None:
    """Keep every map's pixels square: each subplot's y axis follows its x axis."""
    for i in range(1, n + 1):
        suffix = "" if i == 1 else str(i)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", constrain="domain")
        fig.layout[f"xaxis{suffix}"].update(constrain="domain")


def _grid(n: int, columns: int | None = None) -> tuple[int, int]:
    cols = columns or min(n, max(1, math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def _mosaic(features: np.ndarray, channels: list[int], cols: int, gap: int) -> np.ndarray:
    """The maps features[c] [H, W] of `channels` laid out row by row, `gap` NaN pixels apart."""
    H, W = features.shape[1:]
    rows = -(-len(channels) // cols)
    mosaic = np.full((rows * (H + gap) - gap, cols * (W + gap) - gap), np.nan)
    for i, c in enumerate(channels):
        r0, c0 = (i // cols) * (H + gap), (i % cols) * (W + gap)
        mosaic[r0:r0 + H, c0:c0 + W] = features[c]
    return mosaic


def boundary_segments(mask: np.ndarray) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The outline of a boolean map [H, W] as unit segments ((x0, y0), (x1, y1)) in pixel
    coordinates (pixel (r, c) spans x c - 0.5 .. c + 0.5, y r - 0.5 .. r + 0.5): every side
    of a True pixel whose neighbour is False or off the map."""
    m = np.pad(np.asarray(mask, bool), 1)
    inner = m[1:-1, 1:-1]
    out = []
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        open_side = inner & ~m[1 + dr:m.shape[0] - 1 + dr, 1 + dc:m.shape[1] - 1 + dc]
        for r, c in zip(*np.nonzero(open_side)):
            if dr:
                y = r + dr / 2
                out.append(((c - 0.5, y), (c + 0.5, y)))
            else:
                x = c + dc / 2
                out.append(((x, r - 0.5), (x, r + 0.5)))
    return out


def make_spike_features_figure(features: np.ndarray, patterns: np.ndarray | None = None,
                               channels: list[int] | None = None, title: str = "Spike features",
                               columns: int | None = None, selected: int | None = None,
                               foreground: np.ndarray | None = None, over_time: np.ndarray | None = None,
                               t: int = 0, raster: bool = False) -> go.Figure:
    """Fig. 2a / 5a: the spike features [C, H, W] (N-SFR, 0..1) of many channels at one
    timestep, as one mosaic of square maps (row 0 of each map at the top) separated by gaps,
    each labelled with its channel and pattern. One invisible marker per tile (trace "tiles",
    customdata = channel) makes a tile clickable; `selected` is framed (trace "frame", a
    square around the longer side of a map, sized for the figure's own width and height).
    foreground [H, W]
    (bool): its outline is drawn on every tile (trace "foreground"). over_time [T, C, H, W]:
    one animation frame per timestep with play / pause buttons and a timestep slider that
    starts at `t` (the timestep of `features`). raster (not with over_time): the maps as one
    image (raster_image, for the dashboard: far quicker for a browser to draw; the tiles'
    hover gives each channel's mean rate instead of each neuron's)."""
    channels = list(range(features.shape[0])) if channels is None else list(channels)
    rows, cols = _grid(len(channels), columns)
    H, W = features.shape[1:]
    gap = max(1, round(max(H, W) / 6))
    mosaic = _mosaic(features, channels, cols, gap)
    ids = np.broadcast_to(np.arange(features.shape[0], dtype=float)[:, None, None], features.shape)
    owner = np.nan_to_num(_mosaic(ids, channels, cols, gap), nan=-1).astype(int)
    centres = [((i % cols) * (W + gap) + (W - 1) / 2, (i // cols) * (H + gap) + (H - 1) / 2)
               for i in range(len(channels))]

    raster = raster and over_time is None

    def heat(z):
        return go.Heatmap(z=z, zmin=0, zmax=1, colorscale=RATE_SCALE, customdata=owner, hoverongaps=False,
                          colorbar=dict(title="firing rate", len=0.8),
                          hovertemplate="c%{customdata} rate=%{z:.3f}<extra></extra>")
    xs, ys = zip(*centres) if centres else ((), ())
    tile = max(40, min(110, 900 // max(cols, 1)))
    width, height = max(400, tile * cols + 160), max(260, tile * rows + 110)
    # the plot area, less the colour bar's ~90 px; y axis follows x at one pixel size
    unit = min((width - 40 - 90) / mosaic.shape[1], (height - 90) / (mosaic.shape[0] + gap))
    frame = dict(size=max(8.0, max(H, W) * unit + 4), symbol="square-open", color="black", line=dict(width=3))
    traces = [] if raster else [heat(mosaic)]
    traces.append(go.Scatter(x=xs, y=ys, mode="markers", name="tiles", customdata=channels, showlegend=False,
                             marker=dict(frame, opacity=0.01),
                             text=[f"{float(np.nanmean(features[c])):.3f}" for c in channels],
                             hovertemplate="c%{customdata} mean rate %{text}: click to open<extra></extra>"))
    if selected in channels:
        i = channels.index(selected)
        traces.append(go.Scatter(x=[xs[i]], y=[ys[i]], mode="markers", name="frame", customdata=[selected],
                                 showlegend=False, hoverinfo="skip", marker=frame))
    if foreground is not None:
        px, py = [], []
        for i in range(len(channels)):
            x0, y0 = centres[i][0] - (W - 1) / 2, centres[i][1] - (H - 1) / 2
            for (ax, ay), (bx, by) in boundary_segments(foreground):
                px += [x0 + ax, x0 + bx, None]
                py += [y0 + ay, y0 + by, None]
        traces.append(go.Scatter(x=px, y=py, mode="lines", name="foreground", showlegend=False, hoverinfo="skip",
                                 line=dict(color="black", width=1.5)))
    # labels as text traces (one per colour): much cheaper to build and draw than an
    # annotation per tile
    colours = [PATTERN_COLORS.get(str(patterns[c]), "black") if patterns is not None else "black" for c in channels]
    for colour in dict.fromkeys(colours):
        mine = [i for i, k in enumerate(colours) if k == colour]
        traces.append(go.Scatter(
            x=[xs[i] for i in mine], y=[ys[i] - (H + 1) / 2 for i in mine], mode="text", name="labels",
            showlegend=False, hoverinfo="skip", textposition="top center", cliponaxis=False,
            text=[f"c{channels[i]}" + (f" {patterns[channels[i]]}" if patterns is not None else "") for i in mine],
            textfont=dict(size=9, color=colour)))
    if raster:
        traces.append(colour_bar(0, 1, "firing rate"))
    fig = go.Figure(traces, layout=dict(
        title=title, font=FONT, height=height, width=width,
        margin=dict(l=20, r=20, t=70, b=20), plot_bgcolor="white",
        **_map_layout(mosaic, raster, headroom=gap)))
    if over_time is not None:
        _animate(fig, [heat(_mosaic(step, channels, cols, gap)) for step in over_time], active=t)
    return fig


def make_feature_pair_figure(maps: list[np.ndarray], labels: list[str], title: str | None = None,
                             channels: list[int] | None = None) -> go.Figure:
    """Fig. 5 as the paper pairs it: the spike features [C, H, W] of the same layer and
    timestep of two (or more) runs side by side, panels (a), (b), ..., one colour bar
    (firing rate 0-1), square pixels, row 0 at the top."""
    channels = list(range(maps[0].shape[0])) if channels is None else list(channels)
    _, cols = _grid(len(channels))
    H, W = maps[0].shape[1:]
    gap = max(1, round(max(H, W) / 6))
    fig = make_subplots(rows=1, cols=len(maps), horizontal_spacing=0.04,
                        subplot_titles=[f"<b>({LETTERS[i]})</b> {label}" for i, label in enumerate(labels)])
    for i, features in enumerate(maps):
        fig.add_trace(go.Heatmap(z=_mosaic(features, channels, cols, gap), zmin=0, zmax=1, colorscale=RATE_SCALE,
                                 showscale=i == 0, colorbar=dict(title="firing rate"), hoverongaps=False,
                                 hovertemplate="rate=%{z:.3f}<extra></extra>"), row=1, col=i + 1)
    _square_cells(fig, len(maps))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    fig.update_layout(title=title, font=FONT, height=420, width=380 * len(maps) + 120, margin=dict(l=20, r=20, t=80, b=20),
                      plot_bgcolor="white")
    return fig


def with_letter(fig: go.Figure, letter: str) -> go.Figure:
    """`fig` with its panel letter, bold "(a)", in the top left corner (the paper's Fig. 2:
    (a) all channels at one timestep, (b) one channel over timesteps)."""
    fig.add_annotation(text=f"<b>({letter})</b>", xref="paper", yref="paper", x=0, y=1, xanchor="right",
                       yanchor="bottom", showarrow=False, font=dict(size=13))
    return fig


def _animate(fig: go.Figure, first_traces: list, active: int = 0) -> None:
    """Frames that replace trace 0 by first_traces[t], with play / pause and a slider at `active`."""
    T = len(first_traces)
    fig.frames = [go.Frame(data=[tr], traces=[0], name=str(t)) for t, tr in enumerate(first_traces)]
    steps = [dict(method="animate", label=str(t), args=[[str(t)], dict(mode="immediate", frame=dict(duration=0))])
             for t in range(T)]
    fig.update_layout(sliders=[dict(steps=steps, active=active, currentvalue=dict(prefix="t="), pad=dict(t=30))],
                      updatemenus=[dict(type="buttons", direction="left", showactive=False, x=1.0, y=1.12,
                                        xanchor="right", yanchor="bottom", buttons=[
                          dict(label="play", method="animate",
                               args=[None, dict(frame=dict(duration=400, redraw=True), fromcurrent=True)]),
                          dict(label="pause", method="animate",
                               args=[[None], dict(mode="immediate", frame=dict(duration=0))])])])


def make_channel_timesteps_figure(channel_nsfr: np.ndarray, channel: int, title: str | None = None,
                                  raster: bool = False) -> go.Figure:
    """Fig. 2b / 5b: one channel's spike feature at every timestep, channel_nsfr [T, H, W],
    as one mosaic of square maps (row 0 at the top), up to 10 per row, each labelled t=...
    (one heatmap instead of T subplots: much lighter for the browser to draw; raster: one
    image, lighter still, without per-neuron hover)."""
    T, H, W = channel_nsfr.shape
    rows, cols = _grid(T, min(T, 10))
    gap = max(1, round(max(H, W) / 6))
    mosaic = _mosaic(channel_nsfr, list(range(T)), cols, gap)
    labels = [dict(x=(t % cols) * (W + gap) + (W - 1) / 2, y=(t // cols) * (H + gap) - 0.5, text=f"t={t}",
                   showarrow=False, yanchor="bottom", font=dict(size=10)) for t in range(T)]
    maps = [colour_bar(0, 1, "firing rate")] if raster else \
        [go.Heatmap(z=mosaic, zmin=0, zmax=1, colorscale=RATE_SCALE, hoverongaps=False,
                    colorbar=dict(title="firing rate"), hovertemplate="rate=%{z:.3f}<extra></extra>")]
    return go.Figure(maps,
                     layout=dict(title=title or f"Channel {channel} across timesteps", font=FONT, annotations=labels,
                                 height=140 * rows + 90, width=max(500, 110 * cols + 150),
                                 margin=dict(l=20, r=20, t=70, b=20), plot_bgcolor="white",
                                 **_map_layout(mosaic, raster)))


def _mpd_trace(hist: np.ndarray, edges: np.ndarray, color: str, name: str) -> go.Scatter:
    """The MPD as a filled step outline (share of all values per bin; under/overflow counted
    in the total, not drawn): unlike bars it stays visible when a bin is under a pixel wide,
    as at print sizes."""
    total = max(int(hist.sum()), 1)
    share = np.asarray(hist[1:-1], dtype=np.float64) / total
    x, y = np.repeat(edges, 2)[1:-1], np.repeat(share, 2)
    return go.Scatter(x=x, y=y, mode="lines", line=dict(color=color, width=1), fill="tozeroy", fillcolor=color,
                      name=name, hovertemplate="U=%{x:.3f} share=%{y:.4f}<extra></extra>")


def make_mpd_figure(hist: np.ndarray, edges: np.ndarray, v_threshold: float, ptd_value: float, variance: float,
                    title: str = "Membrane potential distribution") -> go.Figure:
    """Definition 5: the MPD histogram (share of values per bin, under/overflow left out of
    the bars but in the total) with V_th marked and PTD and variance written."""
    line, notes = _vline(v_threshold, "dash", "black", "V_th")
    notes.append(dict(xref="paper", yref="paper", x=0.99, y=0.98, showarrow=False, align="right",
                      text=f"PTD = {ptd_value:.3f}<br>Var = {variance:.3f}"))
    return go.Figure(_mpd_trace(hist, edges, "#1f77b4", "MPD"),
                     layout=dict(title=title, xaxis_title="membrane potential U", yaxis_title="share of neurons",
                                 font=FONT, bargap=0, height=360, width=520, showlegend=False, shapes=[line],
                                 annotations=notes))


def make_fig6_figure(rows: list[list[dict]], row_labels: list[str], title: str | None = None,
                     per_row: int | None = None) -> go.Figure:
    """Fig. 6 as the paper lays it out: one row per run (e.g. vanilla, ASA), one column pair
    per pattern (A, B, ...): the channel's MPD (share of the channel's U per bin, V_th dashed
    and labelled, PTD and variance written) beside its spike feature (square pixels, firing
    rate 0-1). Panels carry letters (a), (b), ... row by row. per_row: at most this many
    patterns per row (a narrow figure wraps each run over several rows). rows[r][k]: panel
    dict with label, hist [B+2], edges [B+1], v_threshold, ptd, variance, feature [H, W],
    pattern."""
    per_row = per_row or max(len(r) for r in rows)
    cells = []  # (row label, pattern index, panel, letter index) per grid row
    letter = 0
    for label, panels in zip(row_labels, rows):
        for start in range(0, len(panels), per_row):
            chunk = [(start + k, p, letter + start + k) for k, p in enumerate(panels[start:start + per_row])]
            cells.append((label, chunk))
        letter += len(panels)
    n_rows = len(cells)
    fig = make_subplots(rows=n_rows, cols=2 * per_row, column_widths=[0.64, 0.36] * per_row,
                        horizontal_spacing=0.1 / per_row + 0.02, vertical_spacing=0.5 / n_rows if n_rows > 1 else 0.1)
    notes = []
    for r, (label, chunk) in enumerate(cells):
        for k, (pattern_index, p, letter_index) in enumerate(chunk):
            i = r * 2 * per_row + 2 * k + 1  # subplot number of the MPD; the map is i + 1
            ax = "" if i == 1 else str(i)
            fig.add_trace(_mpd_trace(p["hist"], p["edges"], PATTERN_COLORS.get(p["pattern"], "#1f77b4"), p["label"]),
                          row=r + 1, col=2 * k + 1)
            fig.add_vline(x=p["v_threshold"], line_dash="dash", line_color="black", line_width=1, row=r + 1,
                          col=2 * k + 1)
            notes.append(dict(x=p["v_threshold"], y=0, xref=f"x{ax}", yref=f"y{ax} domain", text="V<sub>th</sub>",
                              showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=10)))
            notes.append(dict(x=0.98, y=0.98, xref=f"x{ax} domain", yref=f"y{ax} domain", xanchor="right",
                              yanchor="top", align="right", showarrow=False, font=dict(size=10),
                              bgcolor="rgba(255,255,255,0.8)", text=f"PTD {p['ptd']:.2f}<br>Var {p['variance']:.2f}"))
            notes.append(dict(x=0.0, y=1.02, xref=f"x{ax} domain", yref=f"y{ax} domain", xanchor="left",
                              yanchor="bottom", showarrow=False, font=dict(size=11),
                              text=f"<b>({LETTERS[letter_index % len(LETTERS)]})</b> "
                                   f"{chr(ord('A') + pattern_index)}: {p['label']}, {p['pattern']}"))
            fig.add_trace(go.Heatmap(z=p["feature"], zmin=0, zmax=1, colorscale=RATE_SCALE,
                                     showscale=r == 0 and k == 0, colorbar=dict(title="firing<br>rate", len=0.6),
                                     hovertemplate="x=%{x} y=%{y} rate=%{z:.3f}<extra></extra>"),
                          row=r + 1, col=2 * k + 2)
            fig.update_yaxes(autorange="reversed", scaleanchor=f"x{i + 1}", constrain="domain",
                             showticklabels=False, row=r + 1, col=2 * k + 2)
            fig.update_xaxes(constrain="domain", showticklabels=False, row=r + 1, col=2 * k + 2)
            fig.update_xaxes(title_text="U" if r == n_rows - 1 else None, nticks=4, tickangle=0, row=r + 1,
                             col=2 * k + 1)
            fig.update_yaxes(title_text=f"{label}<br>share of U" if k == 0 else None, nticks=4, row=r + 1,
                             col=2 * k + 1)
    fig.update_layout(title=title, font=FONT, showlegend=False, annotations=notes,
                      height=250 * n_rows + 90, width=330 * per_row + 120, margin=dict(l=70, r=30, t=90, b=50))
    return fig


def make_firing_rate_figure(rates: np.ndarray, layer_names: list[str], title: str = "Firing rate per layer and timestep",
                            run_names: list[str] | None = None, more: list[np.ndarray] | None = None) -> go.Figure:
    """T-SFR per layer (lines) over timesteps; rates [L, T]. `more` adds other runs' [L, T]
    (dashed), named by run_names."""
    sets = [rates] + list(more or [])
    names = run_names or [""] * len(sets)
    palette = plotly.colors.qualitative.Plotly
    traces = [go.Scatter(x=np.arange(data.shape[1]), y=data[i], mode="lines+markers", name=f"{layer} {run}".strip(),
                         line=dict(dash="solid" if k == 0 else "dash", color=palette[i % len(palette)]))
              for k, (data, run) in enumerate(zip(sets, names)) for i, layer in enumerate(layer_names)]
    return go.Figure(traces, layout=dict(title=title, xaxis_title="timestep t", yaxis_title="T-SFR (spikes per neuron)",
                                         font=FONT, height=420, width=760, yaxis=dict(rangemode="tozero")))


def make_ptd_variance_figure(ptd_values: np.ndarray, variances: np.ndarray, patterns: np.ndarray,
                             title: str = "PTD vs variance per channel", highlight: int | None = None) -> go.Figure:
    """Scatter of per-channel PTD against variance, coloured by pattern (customdata: the
    channel); `highlight` rings one channel."""
    traces = []
    patterns = np.asarray(patterns)
    for kind, color in PATTERN_COLORS.items():
        sel = patterns == kind
        if sel.any():
            traces.append(go.Scatter(x=np.asarray(ptd_values)[sel], y=np.asarray(variances)[sel], mode="markers",
                                     name=kind, marker=dict(color=color, size=8), customdata=np.flatnonzero(sel),
                                     hovertemplate="c%{customdata} PTD=%{x:.3f} Var=%{y:.3f}<extra></extra>"))
    if highlight is not None and 0 <= highlight < len(patterns):
        traces.append(go.Scatter(x=[ptd_values[highlight]], y=[variances[highlight]], mode="markers",
                                 name=f"c{highlight}", customdata=[highlight], hoverinfo="skip",
                                 marker=dict(size=18, color="rgba(0,0,0,0)", line=dict(color="black", width=2.5))))
    return go.Figure(traces, layout=dict(title=title, xaxis_title="PTD (U)", yaxis_title="variance of U", font=FONT,
                                         height=420, width=600, legend_title="pattern",
                                         shapes=[_vline(0, "dot", "gray")[0]]))


def make_channel_strip_figure(rates: np.ndarray, channels: list[int] | None = None,
                              title: str = "Firing rate per neuron", selected: int | None = None) -> go.Figure:
    """A fully connected layer at one timestep: the firing rate [C] of each neuron (channel)
    as bars (customdata: the channel); `selected` is drawn dark."""
    channels = list(range(len(rates))) if channels is None else list(channels)
    colors = ["#333333" if c == selected else "#d62728" for c in channels]
    fig = go.Figure(go.Bar(x=[f"c{c}" for c in channels], y=np.asarray(rates)[channels], customdata=channels,
                           marker_color=colors, hovertemplate="c%{customdata} rate=%{y:.3f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="neuron (channel)", yaxis_title="firing rate", font=FONT,
                      yaxis=dict(range=[0, 1]), height=320, width=max(500, min(1400, 12 * len(channels) + 200)))
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


def make_input_frames_figure(frames: np.ndarray, title: str = "Input events") -> go.Figure:
    """A sample's input [T, P, H, W] (events per pixel and timestep, polarities summed) as
    one map per timestep with a play button and a timestep slider (row 0 at the top)."""
    maps = np.asarray(frames, dtype=np.float64).sum(axis=1)
    top = max(float(maps.max()), 1.0)

    def heat(t):
        return go.Heatmap(z=maps[t], zmin=0, zmax=top, colorscale="Greys", colorbar=dict(title="events"),
                          hovertemplate="x=%{x} y=%{y} events=%{z}<extra></extra>")
    fig = go.Figure(heat(0))
    fig.update_layout(title=title, font=FONT, height=460, width=460,
                      xaxis=dict(constrain="domain"), yaxis=dict(autorange="reversed", scaleanchor="x", constrain="domain"))
    _animate(fig, [heat(t) for t in range(len(maps))])
    return fig


def make_raster_figure(spikes: np.ndarray, layer_name: str, max_points: int = 200_000) -> go.Figure:
    """Spike raster of one sample's layer: spikes [T, C, H, W] (bool) as a dot per spike at
    (timestep, neuron), neurons numbered channel by channel (c * H * W + row * W + col).
    When there are more than max_points spikes an even subsample is drawn, and the title says so."""
    s = np.asarray(spikes, dtype=bool)
    T = s.shape[0]
    flat = s.reshape(T, -1)
    t_idx, n_idx = np.nonzero(flat)
    note = ""
    if len(t_idx) > max_points:
        keep = np.linspace(0, len(t_idx) - 1, max_points).astype(int)
        t_idx, n_idx = t_idx[keep], n_idx[keep]
        note = f" (every {len(flat.nonzero()[0]) // max_points}th spike drawn)"
    per_channel = int(np.prod(s.shape[2:])) if s.ndim > 2 else 1
    fig = go.Figure(go.Scattergl(x=t_idx, y=n_idx, mode="markers", marker=dict(size=3, color="black"),
                                 customdata=n_idx // per_channel,
                                 hovertemplate="t=%{x} neuron %{y} (c%{customdata})<extra></extra>"))
    fig.update_layout(title=f"Spike raster of {layer_name}: {int(flat.sum())} spikes{note}", font=FONT,
                      xaxis=dict(title="timestep t", range=[-0.5, T - 0.5]),
                      yaxis=dict(title="neuron (channel-major)", range=[-0.5, flat.shape[1] - 0.5]),
                      height=420, width=620)
    return fig


def make_u_trace_figure(u: np.ndarray, spikes: np.ndarray, v_threshold: float, title: str = "U of one neuron") -> go.Figure:
    """One neuron's membrane potential U[t] before fire and reset, its spikes marked, V_th dashed."""
    t = np.arange(len(u))
    fired = np.asarray(spikes, dtype=bool)
    fig = go.Figure(go.Scatter(x=t, y=u, mode="lines+markers", name="U", line=dict(color="#1f77b4")))
    fig.add_trace(go.Scatter(x=t[fired], y=np.asarray(u)[fired], mode="markers", name="spike",
                             marker=dict(symbol="star", size=12, color="#d62728")))
    fig.update_layout(title=title, xaxis_title="timestep t", yaxis_title="membrane potential U", font=FONT,
                      height=360, width=560,
                      shapes=[dict(type="line", xref="x domain", yref="y", x0=0, x1=1, y0=v_threshold, y1=v_threshold,
                                   line=dict(dash="dash", color="black"))],
                      annotations=[dict(xref="x domain", yref="y", x=1, y=v_threshold, text="V_th", showarrow=False,
                                        xanchor="right", yanchor="bottom")])
    return fig


def make_sample_spikes_figure(spikes: np.ndarray, correct: np.ndarray, labelled: np.ndarray,
                              title: str = "Spikes per sample") -> go.Figure:
    """Spikes of each recorded sample (all layers and timesteps) against its position,
    coloured by correct / wrong / unlabelled (customdata: the position)."""
    fig = go.Figure()
    spikes = np.asarray(spikes)
    for name, sel, color in (("correct", labelled & correct, "#2ca02c"), ("wrong", labelled & ~correct, "#d62728"),
                             ("no label", ~labelled, "#7f7f7f")):
        if sel.any():
            fig.add_trace(go.Scatter(x=np.flatnonzero(sel), y=spikes[sel], mode="markers", name=name,
                                     customdata=np.flatnonzero(sel), marker=dict(color=color, size=7),
                                     hovertemplate="sample %{customdata}: %{y} spikes<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="recorded sample", yaxis_title="spikes (all layers and timesteps)",
                      font=FONT, height=380, width=700)
    return fig


ORDER_COLORS = {"noise": "#d62728", "rate": "#1f77b4", "rate-low": "#9467bd", "ptd": "#ff7f0e", "random": "#7f7f7f"}


def make_sweep_figure(curve: pd.DataFrame, title: str | None = "Accuracy as channels are silenced") -> go.Figure:
    """A silencing sweep (analysis.ablation.sweep): accuracy against the share of spikes
    removed, one line per order with its accuracy interval as error bars; random orders as
    their mean with a band from the lowest to the highest draw."""
    fig = go.Figure()
    for order, part in curve.groupby("order", sort=False):
        color = ORDER_COLORS.get(str(order), "#2ca02c")
        if (part["draw"] >= 0).any():  # random draws
            by_k = part.groupby("k").agg(removed=("spikes_removed", "mean"), acc=("accuracy", "mean"),
                                         lo=("accuracy", "min"), hi=("accuracy", "max"), draws=("draw", "nunique"))
            x = 100 * by_k["removed"].to_numpy()
            fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]), y=np.concatenate([by_k["hi"], by_k["lo"][::-1]]),
                                     fill="toself", fillcolor="rgba(127,127,127,0.2)", line=dict(width=0),
                                     hoverinfo="skip", showlegend=False))
            fig.add_trace(go.Scatter(x=x, y=by_k["acc"], mode="lines+markers", line=dict(color=color, dash="dash"),
                                     name=f"{order} (mean of {int(by_k['draws'].max())} draws, band: min-max)",
                                     customdata=by_k.index.to_numpy(),
                                     hovertemplate="k=%{customdata}: %{x:.1f}% spikes removed, accuracy %{y:.3f}"
                                                   "<extra></extra>"))
            continue
        acc = part["accuracy"].to_numpy()
        fig.add_trace(go.Scatter(
            x=100 * part["spikes_removed"], y=acc, mode="lines+markers", name=str(order),
            line=dict(color=color, width=5 if order == "noise" else 2),  # wide: other orders often start the same
            error_y=dict(type="data", symmetric=False, array=part["accuracy_change_high"] - part["accuracy_change"],
                         arrayminus=part["accuracy_change"] - part["accuracy_change_low"], thickness=1, width=3),
            customdata=part["k"], hovertemplate="k=%{customdata}: %{x:.1f}% spikes removed, accuracy %{y:.3f}"
                                                "<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="spikes removed (%)", yaxis_title="accuracy", font=FONT, height=420,
                      width=700, legend=dict(orientation="h", y=-0.25))
    low = min(0.0, 100 * float(curve["spikes_removed"].min())) if len(curve) else 0.0  # silencing can add spikes
    fig.update_xaxes(range=[low - 2, 102])
    return fig
