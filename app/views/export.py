"""Export: Fig. 2, 5 and 6 and the tables for download (PNG at a chosen DPI, SVG, PDF,
CSV, LaTeX), every file with its provenance, one click each; the whole report as one zip;
and the recording itself."""

import io
import tempfile
import zipfile
from pathlib import Path

import streamlit as st

from analysis.export import figure_bytes, footer_text, journal_size, table_text, with_footer
from analysis.provenance import describe
from analysis.report import captions, write_report
from app import help as H
from app import runs as R
from app import ui

MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}


SIZES = {"screen": None, "one column (3.3 in)": "column", "two columns (6.9 in)": "page"}


def report_zip(a, b, layer: int, t: int, channel: int, settings, dpi: int, size, height_in, footer: bool) -> bytes:
    """The whole report (tables, figures in every format, index.md) as zip bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / f"report_{a.name}{'_vs_' + b.name if b else ''}"
        write_report(folder, a, b, layer, t, settings, dpi=dpi, size=size, height_in=height_in, feature_channel=channel,
                     footer=footer)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    bundle.write(path, path.relative_to(folder.parent))
        return buffer.getvalue()


st.title("Export")
settings = ui.settings()
a, b = ui.pick_runs()
if a is not None:
    with ui.readable_errors():
        layer_index = ui.pick_layer(a)
        c1, c2 = st.columns(2)
        with c1:
            t = ui.pick_timestep(a)
        with c2:
            channel = ui.pick_channel(list(range(a.layer(layer_index).info.shape[0])), "channel of Fig. 2b/5b")
        b = ui.comparable(a, b, "figures and tables compare runs on the same samples; exporting the first run alone")
        tables, figs = R.cached_report(a, b, layer_index, t, settings, channel)
        provenance = describe([a] + ([b] if b else []), settings)
        s1, s2, s3 = st.columns(3)
        size = SIZES[s1.selectbox("figure size", list(SIZES), key="ex_size",
                                  help="journal widths with fonts at 8.5 pt; PDF and SVG come out at exactly this size")]
        height = s2.number_input("height (in; 0 = the figure's aspect)", 0.0, 20.0, 0.0, step=0.5, key="ex_height",
                                 disabled=size is None) or None
        dpi = s3.number_input("PNG resolution (DPI, stored in the file)", 30, 2400, 300, step=50, key="ex_dpi")
        footer = st.checkbox("print the provenance under every figure (it is in every file's metadata anyway)",
                             key="ex_footer")
        st.download_button("Download everything (zip: every figure as PNG, SVG and PDF, every table as CSV and LaTeX, "
                           "index.md)", lambda: report_zip(a, b, layer_index, t, channel, settings, int(dpi), size, height, footer),
                           f"report_{a.name}{'_vs_' + b.name if b else ''}_L{layer_index}_t{t}.zip", "application/zip",
                           key="ex_zip", on_click="ignore", type="primary")
        st.subheader("Figures")
        fig_name = st.selectbox("figure", list(figs), key="ex_fig")
        figure = journal_size(figs[fig_name], size, height) if size else figs[fig_name]
        if footer:
            figure = with_footer(figure, footer_text(provenance))
        ui.chart(figure, key="ex_preview", width="content" if size else "stretch")
        columns = st.columns(3)
        for column, fmt in zip(columns, ("png", "svg", "pdf")):
            column.download_button(f"{fmt.upper()}", lambda fmt=fmt: figure_bytes(figure, fmt, provenance, int(dpi)),
                                   f"{fig_name}.{fmt}", MIME[fmt], key=f"ex_fig_{fmt}", on_click="ignore")
        st.caption("Each file carries its provenance (recordings, checkpoint SHA-256, architecture, attention, T, dt, "
                   "data, samples, rules, tool version) in its metadata.", help=H.HELP["provenance"])
        st.subheader("Tables")
        table_name = st.selectbox("table", list(tables), key="ex_table")
        caption = captions(tables)[table_name]
        st.caption(caption)
        st.dataframe(H.readable(tables[table_name]), hide_index=True)
        d1, d2 = st.columns(2)
        d1.download_button("CSV", table_text(tables[table_name], "csv", caption, f"tab:{table_name}", provenance),
                           f"{table_name}.csv", "text/csv", key="ex_csv", on_click="ignore")
        d2.download_button("LaTeX", table_text(tables[table_name], "tex", caption, f"tab:{table_name}", provenance),
                           f"{table_name}.tex", "text/x-tex", key="ex_tex", on_click="ignore")
        st.subheader("Recording")
        st.download_button(f"Download {a.path.name}", lambda: a.path.read_bytes(), a.path.name, "application/x-hdf5",
                           key="ex_recording", on_click="ignore")
