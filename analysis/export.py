"""Write figures (PNG, SVG, PDF through kaleido and the local Chromium; no network) and
tables (CSV, LaTeX)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

FIGURE_FORMATS = ("png", "svg", "pdf")
TABLE_FORMATS = ("csv", "tex")


class ExportError(RuntimeError):
    """Static export failed (usually: no Chromium for kaleido)."""


def figure_bytes(fig: go.Figure, fmt: str, scale: float = 2.0) -> bytes:
    """One figure as PNG, SVG or PDF bytes."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"unknown figure format '{fmt}'; choose one of {FIGURE_FORMATS}")
    try:
        return pio.to_image(fig, format=fmt, scale=scale if fmt == "png" else 1)
    except Exception as exc:  # kaleido reports a missing browser in several ways
        raise ExportError(f"static export failed ({str(exc).splitlines()[0]}); install Chromium "
                          "(scripts/setup.sh does it on Debian)") from None


def write_figures(figures: dict[str, go.Figure], out_dir: Path, formats=FIGURE_FORMATS) -> list[Path]:
    """Write every figure in every format with one browser session; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    figs, paths = [], []
    for name, fig in figures.items():
        for fmt in formats:
            figs.append(fig)
            paths.append(out_dir / f"{name}.{fmt}")
    try:
        pio.write_images(figs, paths)
    except Exception as exc:
        raise ExportError(f"static export failed ({str(exc).splitlines()[0]}); install Chromium "
                          "(scripts/setup.sh does it on Debian)") from None
    return paths


def table_text(table: pd.DataFrame, fmt: str) -> str:
    if fmt == "csv":
        return table.to_csv(index=False)
    if fmt == "tex":
        return table.to_latex(index=False, float_format="%.4g", na_rep="--")
    raise ValueError(f"unknown table format '{fmt}'; choose one of {TABLE_FORMATS}")


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path, formats=TABLE_FORMATS) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        for fmt in formats:
            path = out_dir / f"{name}.{fmt}"
            path.write_text(table_text(table, fmt))
            paths.append(path)
    return paths
