"""Write figures (PNG, SVG, PDF through kaleido and the local Chromium; no network) and
tables (CSV, LaTeX), each with its provenance inside (analysis.provenance)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from analysis.latex import escape_comment, latex_table
from analysis.provenance import stamp

CSS_DPI = 96  # plotly's layout sizes are CSS pixels

FIGURE_FORMATS = ("png", "svg", "pdf")
TABLE_FORMATS = ("csv", "tex")


class ExportError(RuntimeError):
    """Static export failed (usually: no Chromium for kaleido)."""


JOURNAL_WIDTHS_IN = {"column": 3.3, "page": 6.9}  # one column / two columns (full width) of a two-column paper
FONT_PT = 8.5


def journal_size(fig: go.Figure, width: str | float, height_in: float | None = None, font_pt: float = FONT_PT
                 ) -> go.Figure:
    """A copy of `fig` sized for print: `width` 'column' (3.3 in), 'page' (6.9 in) or inches;
    height in inches (default: the figure's own aspect ratio); every font at `font_pt`
    points (8-9 pt stay readable at these sizes); no title (the caption belongs to the
    paper; panel letters and labels stay). PDF and SVG come out at exactly this size, PNG at
    this size times its DPI."""
    width_in = JOURNAL_WIDTHS_IN.get(width) if isinstance(width, str) else float(width)
    if width_in is None or not 1.0 <= width_in <= 20.0:
        raise ValueError(f"figure width {width!r}: choose 'column' (3.3 in), 'page' (6.9 in) or 1-20 inches")
    old_w, old_h = fig.layout.width or 700, fig.layout.height or 450
    height_in = height_in or width_in * old_h / old_w
    if not 0.5 <= height_in <= 20.0:
        raise ValueError(f"figure height {height_in:.3g} in: choose 0.5-20 inches")
    out = go.Figure(fig)
    px = font_pt * CSS_DPI / 72
    out.update_layout(width=round(width_in * CSS_DPI), height=round(height_in * CSS_DPI), font=dict(size=px),
                      title_text=None, margin=dict(l=40, r=20, t=30, b=35))
    for annotation in out.layout.annotations or ():
        annotation.font = dict(size=px, color=annotation.font.color if annotation.font else None)
    out.update_traces(textfont_size=px, selector=dict(mode="text"))  # e.g. the mosaic's channel labels
    return out


def with_footer(fig: go.Figure, text: str) -> go.Figure:
    """A copy of `fig` with one small line of text (e.g. its provenance) under the plot."""
    out = go.Figure(fig)
    bottom = (out.layout.margin.b if out.layout.margin and out.layout.margin.b is not None else 80) + 22
    height = (out.layout.height or 500) + 22
    out.update_layout(margin=dict(b=bottom), height=height)
    out.add_annotation(text=text, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-(bottom - 20), showarrow=False, font=dict(size=8, color="#555555"))
    return out


def footer_text(provenance: list[str]) -> str:
    """The short provenance line a footer shows: runs with their checkpoint hashes, tool."""
    runs = [line.split(";")[0] + ", " + line.split(";")[1].strip().split(" sha256 ")[-1][:8]
            for line in provenance if line.startswith("run ") and ";" in line]
    return " · ".join(runs + [provenance[-1]] if provenance else runs)


def figure_bytes(fig: go.Figure, fmt: str, provenance: list[str] = (), dpi: int = 300) -> bytes:
    """One figure as PNG (at `dpi`, stored in the file), SVG or PDF bytes, with `provenance`
    stamped in."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"unknown figure format '{fmt}'; choose one of {FIGURE_FORMATS}")
    with tempfile.TemporaryDirectory() as tmp:
        path = write_figures({"figure": fig}, Path(tmp), (fmt,), provenance, dpi)[0]
        return path.read_bytes()


def write_figures(figures: dict[str, go.Figure], out_dir: Path, formats=FIGURE_FORMATS, provenance: list[str] = (),
                  dpi: int = 300) -> list[Path]:
    """Write every figure in every format with one browser session, PNGs at `dpi` (the DPI
    stored in the file), each stamped with `provenance`; returns the paths."""
    if not 30 <= dpi <= 2400:
        raise ValueError(f"DPI {dpi} is out of range; choose 30 to 2400 (300 for print)")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {fmt: [out_dir / f"{name}.{fmt}" for name in figures] for fmt in formats}
    try:
        figs = list(figures.values())
        for fmt, targets in paths.items():  # sizes passed explicitly: write_images does not read them from layouts
            pio.write_images(figs, targets, scale=dpi / CSS_DPI if fmt == "png" else 1,
                             width=[f.layout.width or 700 for f in figs], height=[f.layout.height or 500 for f in figs])
    except Exception as exc:  # kaleido reports a missing browser in several ways
        raise ExportError(f"static export failed ({str(exc).splitlines()[0]}); install Chromium "
                          "(scripts/setup.sh does it on Debian)") from None
    written = [p for targets in paths.values() for p in targets]
    for path in written:
        stamp(path, list(provenance), dpi if path.suffix == ".png" else None)
    return written


def table_text(table: pd.DataFrame, fmt: str, caption: str = "", label: str = "table", provenance: list[str] = ()) -> str:
    """CSV (provenance as leading `#` lines: read it with pandas.read_csv(..., comment="#"))
    or a LaTeX table (analysis.latex)."""
    if fmt == "csv":
        return "".join(f"# {escape_comment(p)}\n" for p in provenance) + table.to_csv(index=False)
    if fmt == "tex":
        return latex_table(table, caption or label, label, provenance)
    raise ValueError(f"unknown table format '{fmt}'; choose one of {TABLE_FORMATS}")


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path, formats=TABLE_FORMATS, provenance: list[str] = (),
                 captions: dict[str, str] | None = None) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            path.write_text(table_text(table, fmt, (captions or {}).get(name, name), f"tab:{name}", provenance))
            paths.append(path)
    return paths
