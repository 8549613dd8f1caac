"""Figure builders checked against values worked out by hand: the mosaic's pixels, the
foreground outline, the animation frames."""

import numpy as np
import pytest

from analysis.figures import boundary_segments, make_input_frames_figure, make_spike_features_figure


def _trace(fig, name):
    return next(tr for tr in fig.data if tr.name == name)


def test_outline_of_a_square_and_of_an_l():
    square = np.zeros((4, 4), bool)
    square[1:3, 1:3] = True
    segments = {tuple(sorted(seg)) for seg in boundary_segments(square)}
    expected = {((0.5, 0.5), (1.5, 0.5)), ((1.5, 0.5), (2.5, 0.5)),      # top
                ((0.5, 2.5), (1.5, 2.5)), ((1.5, 2.5), (2.5, 2.5)),      # bottom
                ((0.5, 0.5), (0.5, 1.5)), ((0.5, 1.5), (0.5, 2.5)),      # left
                ((2.5, 0.5), (2.5, 1.5)), ((2.5, 1.5), (2.5, 2.5))}      # right
    assert segments == expected
    ell = np.array([[1, 0], [1, 1]], bool)  # three pixels: perimeter 8 unit sides
    assert len(boundary_segments(ell)) == 8
    assert boundary_segments(np.ones((3, 3), bool)).__len__() == 12  # the map's border closes it
    assert boundary_segments(np.zeros((3, 3), bool)) == []


def test_mosaic_tiles_hold_their_channels_and_the_outline_sits_on_every_tile():
    rng = np.random.default_rng(0)
    features = rng.random((5, 4, 4))
    fg = np.zeros((4, 4), bool)
    fg[1:3, 1:3] = True
    fig = make_spike_features_figure(features, channels=[3, 0, 4], columns=2, foreground=fg)
    z = np.array(fig.data[0].z, dtype=float)
    gap = 1  # round(4 / 6) -> 1
    assert np.array_equal(z[0:4, 0:4], features[3]) and np.array_equal(z[0:4, 5:9], features[0])
    assert np.array_equal(z[5:9, 0:4], features[4])
    assert np.isnan(z[4]).all() and np.isnan(z[:, 4]).all() and np.isnan(z[5:9, 5:9]).all()
    assert list(_trace(fig, "tiles").customdata) == [3, 0, 4]
    line = _trace(fig, "foreground")
    xs = [x for x in line.x if x is not None]
    ys = [y for y in line.y if y is not None]
    assert len(xs) == 3 * 8 * 2  # 3 tiles x 8 unit segments x 2 ends
    # the second tile starts at column 4 + gap: its outline spans x 5.5 .. 7.5
    assert min(xs) == 0.5 and max(xs) == 4 + gap + 2.5 and max(ys) == 4 + gap + 2.5


def test_play_through_timesteps_has_one_frame_per_timestep():
    rng = np.random.default_rng(1)
    over_time = rng.random((3, 2, 3, 3))
    fig = make_spike_features_figure(over_time[0], channels=[1], over_time=over_time)
    assert [f.name for f in fig.frames] == ["0", "1", "2"]
    for t, frame in enumerate(fig.frames):
        assert np.array_equal(np.array(frame.data[0].z, dtype=float), over_time[t, 1])
        assert list(frame.traces) == [0]
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["play", "pause"]
    assert make_spike_features_figure(over_time[2], channels=[1], over_time=over_time, t=2).layout.sliders[0].active == 2
    frames = np.zeros((4, 2, 5, 5))
    frames[2, 0, 1, 1] = 3
    fig = make_input_frames_figure(frames)
    assert len(fig.frames) == 4 and np.array(fig.frames[2].data[0].z)[1, 1] == 3


def test_journal_sizes_come_out_at_the_printed_size(tmp_path):
    """One column is 3.3 in wide: the PDF page measures 3.3 x 72 pt, the PNG at 300 DPI
    990 px, and the DPI is stored; a bad width is refused with the choices."""
    import pytest
    from PIL import Image
    from pypdf import PdfReader

    from analysis.export import journal_size, write_figures

    rng = np.random.default_rng(2)
    fig = journal_size(make_spike_features_figure(rng.random((4, 6, 6))), "column", 2.5)
    assert fig.layout.width == round(3.3 * 96) and fig.layout.height == 240 and fig.layout.font.size == 8.5 * 96 / 72
    assert {tr.textfont.size for tr in fig.data if tr.type == "scatter" and tr.mode == "text"} == {8.5 * 96 / 72}  # labels
    pdf, png = write_figures({"f": fig}, tmp_path, ("pdf", "png"), ["a provenance line"], dpi=300)
    box = PdfReader(pdf).pages[0].mediabox
    assert abs(float(box.width) - 3.3 * 72) < 1.5 and abs(float(box.height) - 2.5 * 72) < 1.5
    with Image.open(png) as img:
        assert abs(img.size[0] - 990) <= 2 and abs(img.size[1] - 750) <= 2
        assert [round(d) for d in img.info["dpi"]] == [300, 300]
    with pytest.raises(ValueError, match="choose 'column' \\(3.3 in\\), 'page' \\(6.9 in\\) or 1-20 inches"):
        journal_size(fig, "poster")


def test_fig6_grid_has_a_row_per_run_and_a_lettered_pair_per_pattern():
    from analysis.figures import make_fig6_figure

    rng = np.random.default_rng(3)
    edges = np.linspace(-1, 1, 11)

    def panel(c, pattern):
        hist = rng.integers(0, 50, 12)
        return {"label": f"c{c}", "hist": hist, "edges": edges, "v_threshold": 0.3, "ptd": 0.1 * c,
                "variance": 0.01 * c, "feature": rng.random((5, 5)), "pattern": pattern}

    rows = [[panel(c, "noise") for c in range(4)], [panel(c, "normal") for c in range(3)]]
    fig = make_fig6_figure(rows, ["vanilla", "asa1"], "Fig. 6")
    bars = [tr for tr in fig.data if tr.type == "scatter" and tr.fill == "tozeroy"]
    maps = [tr for tr in fig.data if tr.type == "heatmap"]
    assert len(bars) == len(maps) == 7
    texts = [a.text for a in fig.layout.annotations]
    letters = [t.split("</b>")[0].removeprefix("<b>") for t in texts if t.startswith("<b>(")]
    assert letters == ["(a)", "(b)", "(c)", "(d)", "(e)", "(f)", "(g)"]
    assert any(t.startswith("<b>(e)</b> A: c0, normal") for t in texts)
    assert sum(t == "V<sub>th</sub>" for t in texts) == 7 and "PTD 0.30<br>Var 0.03" in texts
    share = rows[0][1]["hist"][1:-1] / rows[0][1]["hist"].sum()
    assert np.allclose(bars[1].y[::2], share) and np.allclose(bars[1].y[1::2], share)  # steps: one level per bin
    assert np.allclose(bars[1].x[::2], edges[:-1]) and np.allclose(bars[1].x[1::2], edges[1:])
    assert fig.layout.yaxis2.scaleanchor == "x2" and fig.layout.yaxis2.autorange == "reversed"
    assert fig.layout.yaxis.title.text == "vanilla<br>share of U"


def test_fig6_patterns_are_picked_by_ptd_quantiles_of_firing_channels():
    """Checked against the channel table ordered with pandas."""
    from pathlib import Path

    from analysis.loader import load_run
    from analysis.report import PATTERN_QUANTILES, pick_patterns
    from analysis.tables import AnalysisSettings, channel_table

    run = load_run(Path(__file__).resolve().parents[1] / "sample_runs" / "vanilla.h5")
    for layer in (0, 1):
        table = channel_table(run, layer, AnalysisSettings())
        firing = table[(table["pattern"] != "null") & table["ptd"].notna()].sort_values(["ptd", "variance", "channel"])
        order = firing["channel"].tolist()
        expected = list(dict.fromkeys(order[int(round(q * (len(order) - 1)))] for q in PATTERN_QUANTILES))
        assert pick_patterns(run, layer, AnalysisSettings()) == expected and len(expected) >= 2


def test_fig5_pair_puts_the_runs_side_by_side_with_letters():
    from analysis.figures import make_feature_pair_figure

    rng = np.random.default_rng(4)
    a, b = rng.random((4, 3, 3)), rng.random((4, 3, 3))
    fig = make_feature_pair_figure([a, b], ["vanilla", "asa1"], "Fig. 5")
    z0, z1 = (np.array(tr.z, dtype=float) for tr in fig.data)
    assert np.array_equal(z0[0:3, 0:3], a[0]) and np.array_equal(z1[4:7, 4:7], b[3])  # 2 x 2 tiles, gap 1
    assert [t.text for t in fig.layout.annotations] == ["<b>(a)</b> vanilla", "<b>(b)</b> asa1"]
    assert [tr.showscale for tr in fig.data] == [True, False] and fig.layout.yaxis2.scaleanchor == "x2"


def test_footer_and_panel_letter():
    from analysis.export import footer_text, with_footer
    from analysis.figures import with_letter

    lines = ["run vanilla (vanilla.h5): lif_snn3, attention none; checkpoint v.pt sha256 0123456789abcdef; T=4",
             "run asa1 (asa1.h5): lif_snn3, attention asa1; checkpoint a.pt sha256 fedcba9876543210; T=4",
             "rules: ...", "written by snn-redundancy 0.1.0"]
    text = footer_text(lines)
    assert text == ("run vanilla (vanilla.h5): lif_snn3, attention none, 01234567 · run asa1 (asa1.h5): lif_snn3, "
                    "attention asa1, fedcba98 · written by snn-redundancy 0.1.0")
    fig = make_spike_features_figure(np.zeros((2, 3, 3)))
    footed = with_footer(fig, text)
    assert footed.layout.height == fig.layout.height + 22 and footed.layout.annotations[-1].text == text
    assert with_letter(fig, "a").layout.annotations[-1].text == "<b>(a)</b>"


def test_channel_over_timesteps_is_one_mosaic_with_a_label_per_step():
    from analysis.figures import make_channel_timesteps_figure

    rng = np.random.default_rng(5)
    maps = rng.random((12, 4, 4))
    fig = make_channel_timesteps_figure(maps, 3)
    z = np.array(fig.data[0].z, dtype=float)
    assert len(fig.data) == 1 and z.shape == (2 * 4 + 1, 10 * 4 + 9)  # 10 per row, gap 1
    assert np.array_equal(z[0:4, 5:9], maps[1]) and np.array_equal(z[5:9, 5:9], maps[11])
    assert [a.text for a in fig.layout.annotations] == [f"t={t}" for t in range(12)]


def _decode(image: dict) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    head, data = image["source"].split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA"))


def test_raster_image_has_the_heatmaps_colours_pixel_for_pixel():
    """Each pixel is the colour plotly's own colour-scale sampling gives its value (to the
    256 levels of the table, a step of at most 2 per channel on RdBu), NaN is transparent,
    and the image covers the pixel centres 0..W-1, 0..H-1."""
    import plotly.colors

    from analysis.figures import RATE_SCALE, raster_image

    z = np.array([[0.0, 0.25, np.nan], [0.5, 0.75, 1.0]])
    image = raster_image(z, 0, 1)
    rgba = _decode(image)
    assert rgba.shape == (2, 3, 4) and rgba[0, 2, 3] == 0 and (np.delete(rgba[..., 3].ravel(), 2) == 255).all()
    for (r, c), v in np.ndenumerate(z):
        if v == v:
            want = plotly.colors.unlabel_rgb(plotly.colors.sample_colorscale(RATE_SCALE, [v])[0])
            assert np.abs(rgba[r, c, :3].astype(int) - np.array(want)).max() <= 2, (r, c, v)
    assert (image["x"], image["y"], image["sizex"], image["sizey"]) == (-0.5, -0.5, 3, 2)
    assert (image["xref"], image["yref"], image["xanchor"], image["yanchor"], image["sizing"], image["layer"]) == \
        ("x", "y", "left", "top", "stretch", "below")  # top left corner at the first pixel's, under the traces
    clipped = _decode(raster_image(np.array([[-5.0, 5.0]]), 0, 1))  # outside the range: the scale's ends
    assert (clipped[0, 0] == _decode(raster_image(np.array([[0.0]]), 0, 1))[0, 0]).all()
    assert (clipped[0, 1] == _decode(raster_image(np.array([[1.0]]), 0, 1))[0, 0]).all()


def test_raster_mosaic_keeps_tiles_clickable_and_the_same_pixels():
    """The dashboard's raster mosaic holds the heatmap's very mosaic as an image behind the
    traces; the tiles are the only trace with hover (so they take the clicks), the selected
    tile is framed, and a colour bar stays; with over_time it stays a heatmap (frames)."""
    from analysis.figures import make_channel_timesteps_figure, raster_image

    rng = np.random.default_rng(1)
    features = rng.random((5, 4, 4))
    heat = make_spike_features_figure(features, channels=[3, 0, 4], columns=2)
    raster = make_spike_features_figure(features, channels=[3, 0, 4], columns=2, raster=True)
    z = np.array(heat.data[0].z, dtype=float)
    assert np.array_equal(_decode(raster.layout.images[0].to_plotly_json()), _decode(raster_image(z, 0, 1)))
    assert [tr.name for tr in raster.data] == ["tiles", "labels", "colour scale"]
    assert [tr.name for tr in raster.data if tr.hoverinfo != "skip"] == ["tiles"] and raster.layout.images[0].layer == "below"
    assert _trace(raster, "tiles").text == tuple(f"{features[c].mean():.3f}" for c in (3, 0, 4))
    labels = _trace(raster, "labels")
    assert labels.text == ("c3", "c0", "c4")
    assert labels.cliponaxis is False and labels.y == tuple(y - 2.5 for y in _trace(raster, "tiles").y)
    coloured = make_spike_features_figure(features, np.array(["noise", "normal", "null", "noise", "normal"]),
                                          channels=[3, 0, 1], columns=2, raster=True)
    assert [(tr.text, tr.textfont.color) for tr in coloured.data if tr.name == "labels"] == \
        [(("c3 noise", "c0 noise"), "#d62728"), (("c1 normal",), "#1f77b4")]
    assert tuple(raster.layout.yaxis.range) == (z.shape[0] - 0.5, -1.5)  # row 0 at the top, its label above
    framed = make_spike_features_figure(features, channels=[3, 0, 4], columns=2, raster=True, selected=0)
    tiles, frame = _trace(framed, "tiles"), _trace(framed, "frame")
    assert tiles.marker.opacity == 0.01 and frame.marker.opacity is None  # tiles clickable but unseen, the frame shown
    assert (frame.x, frame.y, frame.customdata) == ((tiles.x[1],), (tiles.y[1],), (0,)) and frame.hoverinfo == "skip"
    assert frame.marker.size == tiles.marker.size and frame.marker.symbol == "square-open"
    assert framed.layout.shapes == () and tiles.selectedpoints is None and framed.layout.clickmode is None
    assert "frame" not in [tr.name for tr in make_spike_features_figure(features, channels=[3, 4], selected=0).data]
    animated = make_spike_features_figure(features, channels=[1], over_time=rng.random((3, 5, 4, 4)), raster=True)
    assert animated.data[0].type == "heatmap" and len(animated.frames) == 3 and not animated.layout.images
    steps = make_channel_timesteps_figure(rng.random((3, 4, 4)), 0, raster=True)
    assert len(steps.layout.images) == 1 and [tr.name for tr in steps.data] == ["colour scale"]


def test_maps_png_lays_out_scaled_blocks_in_the_rate_colours():
    """maps_png: N maps row by row, a sixth of a side apart (transparent), each neuron a k x k
    block coloured as plotly colours RdBu_r at its rate; k from the wanted side, capped by
    the width; bad shapes refused."""
    import io

    import plotly.colors
    from PIL import Image

    from analysis.figures import maps_png

    maps = np.zeros((3, 6, 6))
    maps[0, 0, 0], maps[1, 5, 5], maps[2, 2, 3] = 1.0, 0.6, 1.0  # 0.6: exactly level 153 of 255
    image = np.asarray(Image.open(io.BytesIO(maps_png(maps, columns=2, min_side_px=30))).convert("RGBA"))
    k, gap = 5, 1  # 30 px / 6 neurons; a sixth of 6
    assert image.shape == ((2 * 6 + gap) * k, (2 * 6 + gap) * k, 4)

    def rgb(value):
        return tuple(round(float(v)) for v in plotly.colors.unlabel_rgb(plotly.colors.sample_colorscale("RdBu_r", [value])[0]))

    def pixel(row, col):
        return tuple(int(v) for v in image[row * k + k // 2, col * k + k // 2])

    assert pixel(0, 0) == (*rgb(1.0), 255) and pixel(0, 1) == (*rgb(0.0), 255)  # map 0, top left
    assert pixel(5, 6 + gap + 5) == (*rgb(0.6), 255)  # map 1 beside it, bottom right neuron
    assert pixel(6 + gap + 2, 3) == (*rgb(1.0), 255)  # map 2 on the second row
    assert pixel(6, 0)[3] == 0 and pixel(6 + gap, 6 + gap)[3] == 0  # the gap and the empty fourth place
    assert (image[:k, :k] == image[0, 0]).all() and (image[k:2 * k, :k] != image[0, 0]).any()  # one block a neuron
    wide = np.asarray(Image.open(io.BytesIO(maps_png(np.zeros((10, 34, 34)), columns=10, max_width_px=600))))
    assert wide.shape[1] == 10 * 34 + 9 * 6  # 80 px would need k = 3; 600 px allows only k = 1
    for bad in (np.zeros((4, 4)), np.zeros((0, 4, 4))):
        with pytest.raises(ValueError, match="give \\[N, H, W\\]"):
            maps_png(bad)
