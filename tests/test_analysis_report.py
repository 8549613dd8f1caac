"""Measures from a recording's online statistics equal the same measures from its raw
tensors; the report runs on models trained on real N-MNIST and exports valid files; bad
input gives one clear error."""

import xml.etree.ElementTree as ET
from pathlib import Path

import shutil
import subprocess
import zipfile

import h5py
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from pypdf import PdfReader

from analysis.features import classify_patterns
from analysis.firing import n_sfr_from_spikes
from analysis.ghosts import GhostRule
from analysis.loader import AnalysisError, IncompleteRecordingWarning, load_run
from analysis.potentials import mpd_histogram, ptd, quantization_error_raw
from analysis.provenance import describe
from analysis.provenance import read as read_provenance
from analysis.report import main as report_main
from analysis.report import write_report
from analysis.tables import (AnalysisSettings, channel_ptd, channel_variance, ghosts, layer_foreground, layer_patterns,
                             table1)
from models.train import main as train_main
from recorder.cli import main as record_main
from recorder.recorder import Recorder
from recorder.schema import partial_path
from recorder.writer import RawPlan
from test_latex_tables import compile_latex
from test_recorder import frames, record, tiny_model


def test_online_statistics_and_raw_tensors_give_the_same_measures(tmp_path):
    x = frames(9, seed=4)
    record(tiny_model(), tmp_path / "r.h5", x, batch=4, raw=range(9))
    run = load_run(tmp_path / "r.h5")
    settings = AnalysisSettings(ghost=GhostRule("pearson", 0.5))
    for layer in run.layers:
        u, s = run.raw(layer.info.index, "u"), run.raw(layer.info.index, "s")
        nsfr_raw = n_sfr_from_spikes(s)
        assert np.array_equal(layer.nsfr, nsfr_raw)
        hist_raw = mpd_histogram(u, layer.info.hist_edges)
        assert np.array_equal(layer.stats["hist"], hist_raw)
        assert np.allclose(channel_ptd(layer), ptd(hist_raw.sum(0), layer.info.hist_edges, layer.info.v_threshold),
                           equal_nan=True)
        per_channel = np.moveaxis(u.astype(np.float64), 2, 0).reshape(layer.info.shape[0], -1)
        assert np.allclose(channel_variance(layer), per_channel.var(axis=1), atol=1e-6)
        qe_stats = layer.stats["qe_sum"] / layer.stats["u_count"]
        assert np.allclose(qe_stats, quantization_error_raw(u, s), atol=1e-6)
        fg = layer_foreground(run, layer, settings)
        assert np.array_equal(layer_patterns(run, layer, settings), classify_patterns(nsfr_raw, fg))
    g = ghosts(run, 0, 2, settings.ghost)
    assert g["similarity"].shape == (4, 4)


@pytest.fixture(scope="module")
def nmnist_runs(nmnist_dir, tmp_path_factory):
    """A vanilla and an ASA-1 model trained briefly on real N-MNIST, recorded on its test split."""
    root = tmp_path_factory.mktemp("runs")
    common = ["--data", str(nmnist_dir), "--T", "4", "--dt-ms", "75", "--widths", "4", "8", "8", "--hidden", "16",
              "--epochs", "1", "--max-per-class", "5", "--no-progress", "--threads", "2"]
    paths = {}
    for name, attention in (("vanilla", "none"), ("asa1", "asa1")):
        assert train_main([*common, "--attention", attention, "--out", str(root / f"{name}.pt")]) == 0
        paths[name] = root / f"{name}.h5"
        assert record_main(["record", "--checkpoint", str(root / f"{name}.pt"), "--data", str(nmnist_dir),
                            "--out", str(paths[name]), "--max-samples", "30", "--raw-per-class", "1",
                            "--no-progress"]) == 0
    return paths


def test_report_exports_valid_files(nmnist_runs, tmp_path, capsys):
    out = tmp_path / "report"
    code = report_main(["report", str(nmnist_runs["vanilla"]), "--compare", str(nmnist_runs["asa1"]), "--out", str(out),
                        "--no-progress", "--zip", "--dpi", "150", "--footer",
                        "--group", "v", str(nmnist_runs["vanilla"]), "--group", "a", str(nmnist_runs["asa1"])])
    assert code == 0, capsys.readouterr().err
    replicates = pd.read_csv(out / "tables" / "table1_replicates.csv", comment="#")
    assert list(replicates["group"]) == ["v", "a"] and list(replicates["runs"]) == [1, 1]
    intervals = pd.read_csv(out / "tables" / "intervals.csv", comment="#").set_index("measure")
    assert intervals.loc["accuracy", "second"] == pytest.approx(load_run(nmnist_runs["asa1"]).accuracy)
    assert "McNemar" in intervals.loc["accuracy", "interval"] and "bootstrap" in intervals.loc["NASFR", "interval"]
    index = (out / "index.md").read_text()
    with zipfile.ZipFile(tmp_path / "report.zip") as bundle:
        files = {name for name in bundle.namelist() if not name.endswith("/")}
    assert files == {str(p.relative_to(tmp_path)) for p in out.rglob("*") if p.is_file()}
    vanilla, asa1 = load_run(nmnist_runs["vanilla"]), load_run(nmnist_runs["asa1"])
    expected = describe([vanilla, asa1], AnalysisSettings())
    sha = vanilla.model["checkpoint_sha256"][:16]
    assert sha in expected[0] and "attention asa1" in expected[1] and "T=4" in expected[0]
    for fmt in ("png", "svg", "pdf"):
        assert read_provenance(out / "figures" / f"fig6_vanilla_vs_asa1_L0_t2.{fmt}") == expected
    svg = (out / "figures" / "fig6_vanilla_vs_asa1_L0_t2.svg").read_text()
    assert f"run vanilla (vanilla.h5): lif_snn3, attention none, {sha[:8]}" in svg.replace("&amp;", "&")
    with Image.open(out / "figures" / "fig6_vanilla_vs_asa1_L0_t2.png") as img:
        assert [round(d) for d in img.info["dpi"]] == [150, 150]
    for name in ("table1", "table3", "table4", "pattern_counts"):
        csv = (out / "tables" / f"{name}.csv").read_text()
        assert csv.splitlines()[: len(expected)] == [f"# {line}" for line in expected]
        assert len(pd.read_csv(out / "tables" / f"{name}.csv", comment="#")) > 0
        assert (out / "tables" / f"{name}.tex").read_text().startswith(f"% {expected[0]}")
    assert compile_latex([p.read_text() for p in sorted((out / "tables").glob("*.tex"))], tmp_path / "latex") >= 1
    figures = sorted((out / "figures").glob("*.png"))
    names = {p.stem for p in figures}
    assert {"fig2a_vanilla_L0_t2", "fig5a_asa1_L0_t2", "fig6_vanilla_vs_asa1_L0_t2", "firing_rates"} <= names
    assert {n.rsplit("_c", 1)[0] for n in names if n.startswith(("fig2b", "fig5b"))} == {"fig2b_vanilla_L0",
                                                                                           "fig5b_asa1_L0"}
    for png in figures:
        with Image.open(png) as img:
            img.load()
            assert img.size[0] > 200 and img.size[1] > 200
        assert ET.parse(png.with_suffix(".svg")).getroot().tag.endswith("svg")
        assert len(PdfReader(png.with_suffix(".pdf")).pages) == 1
        assert f"figures/{png.name}" in index
    for name in ("table1", "table3", "table4", "pattern_counts"):
        assert (out / "tables" / f"{name}.csv").stat().st_size > 0
        assert "\\begin{tabular}" in (out / "tables" / f"{name}.tex").read_text()
    t1 = table1([load_run(nmnist_runs["vanilla"], name="vanilla"), load_run(nmnist_runs["asa1"], name="asa1")])
    assert list(t1["run"]) == ["vanilla", "asa1"] and t1["nasfr_change"][0] == 0
    assert (t1["energy_uj"] > 0).all()
    assert t1["attention_parameters"].tolist()[0] == 0
    assert t1["parameters"][1] - t1["parameters"][0] == t1["attention_parameters"][1] > 0


def test_incomplete_recordings_warn_or_are_refused(tmp_path, capsys):
    model = tiny_model()
    x = frames(6)
    path = tmp_path / "cut.h5"
    with pytest.raises(KeyboardInterrupt):
        with Recorder(model, path, sample_indices=list(range(6)), T=4, raw=RawPlan(()),
                      model_info={"arch": model.ARCH, "arch_args": model.arch_args}) as rec:
            rec.record_batch(x[:, :3], np.zeros(3, int), [0, 1, 2])
            raise KeyboardInterrupt
    path = partial_path(path)  # an interrupted recording keeps its .partial name
    with pytest.warns(IncompleteRecordingWarning):
        run = load_run(path)
    assert run.n_samples == 3 and run.warnings
    with pytest.raises(AnalysisError, match="incomplete recording .* --resume"):
        load_run(path, strict=True)
    code = report_main(["report", str(path), "--out", str(tmp_path / "r"), "--no-progress", "--formats", "svg"])
    err = capsys.readouterr().err
    assert code == 0 and "warning: cut.h5.partial is an incomplete recording (3 of 6 samples)" in err
    assert "**Warning:**" in (tmp_path / "r" / "index.md").read_text()
    assert report_main(["report", str(path), "--out", str(tmp_path / "s"), "--strict", "--no-progress"]) == 2


def test_bad_requests_are_one_line_errors(nmnist_runs, tmp_path, capsys):
    def fails(argv, message):
        code = report_main(argv + ["--out", str(tmp_path / "x"), "--no-progress", "--formats", "svg"])
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1, err

    van, asa = str(nmnist_runs["vanilla"]), str(nmnist_runs["asa1"])
    fails(["report", van, "--layer", "9"], "layer 9 does not exist")
    fails(["report", van, "--layer", "blocks.7.lif"], "layer 'blocks.7.lif' does not exist")
    fails(["report", van, "--channels", "99"], "channel 99 does not exist in layer blocks.0.lif")
    fails(["report", van, "--timestep", "12"], "timestep 12 does not exist (T=4)")
    versioned = tmp_path / "v99.h5"
    versioned.write_bytes(nmnist_runs["vanilla"].read_bytes())
    with h5py.File(versioned, "r+") as f:
        f.attrs["format_version"] = 99
    fails(["report", str(versioned)], "format version 99 is not supported")
    fewer = tmp_path / "fewer.h5"
    record_main(["record", "--checkpoint", str(nmnist_runs["asa1"].with_suffix(".pt")), "--data",
                 load_run(asa).data["source"], "--out", str(fewer), "--max-samples", "20", "--no-progress"])
    capsys.readouterr()
    fails(["report", van, "--compare", str(fewer)], "they recorded different samples")
    other_t = tmp_path / "t.h5"
    with h5py.File(fewer, "r") as f, h5py.File(other_t, "w") as g:
        for key in f:
            f.copy(key, g)
        for key, value in f.attrs.items():
            g.attrs[key] = value
        g.attrs["data"] = g.attrs["data"].replace('"T": 4', '"T": 8')
    fails(["report", van, "--compare", str(other_t)], "different T (4 vs 8)")


def test_a_run_reads_each_layer_when_first_used_and_refuses_a_changed_file(tmp_path):
    """Lazy loading: load_run reads metadata only; a layer's statistics come from the file
    on first use and equal the reader's; a file replaced since it was loaded is refused."""
    import os
    import shutil

    from analysis.firing import n_sfr
    from analysis.loader import AnalysisError, load_run
    from recorder.reader import open_recording

    path = tmp_path / "vanilla.h5"
    shutil.copy(Path(__file__).resolve().parents[1] / "sample_runs" / "vanilla.h5", path)
    run = load_run(path)
    assert [layer.loaded for layer in run.layers] == [False] * len(run.layers)
    one = run.layer(1)
    with open_recording(path) as rec:
        expected = rec.stats(1)
        n_done = rec.n_done
    assert np.array_equal(one.stats["hist"], expected["hist"])
    assert np.array_equal(one.nsfr, n_sfr(expected["spike_count"], n_done))
    assert [layer.loaded for layer in run.layers] == [i == 1 for i in range(len(run.layers))]
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(AnalysisError, match="vanilla.h5 changed on disk since it was loaded; load it again"):
        run.layer(0).stats
    assert np.array_equal(one.stats["hist"], expected["hist"])  # what was read stays usable


def _fonts_embedded(pdf: Path) -> list[str]:
    """Names of the fonts a PDF uses without embedding them (Type 3 fonts are embedded by
    definition: their glyphs are drawn in the file)."""
    missing = []
    for page in PdfReader(pdf).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            font = ref.get_object()
            descendants = [d.get_object() for d in font.get("/DescendantFonts", [])] or [font]
            for f in descendants:
                if f.get("/Subtype") == "/Type3":
                    continue
                descriptor = f.get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor is not None else {}
                if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    missing.append(str(f.get("/BaseFont")))
    return missing


@pytest.mark.parametrize("size, inches", [("column", 3.3), ("page", 6.9)])
def test_paper_figures_at_journal_width_go_into_a_latex_document(nmnist_runs, tmp_path, size, inches):
    """Fig. 2, 5 and 6 exported at one column and at page width: each PDF page is the preset
    width, its fonts are embedded, its provenance equals the recordings', and a minimal
    document includes each at that width. Rendered pages (pdftoppm) go to
    test-artifacts/figures/ to be looked at."""
    vanilla, asa1 = load_run(nmnist_runs["vanilla"]), load_run(nmnist_runs["asa1"])
    out = tmp_path / "report"
    write_report(out, vanilla, asa1, 0, 2, AnalysisSettings(), formats=("pdf", "png"), size=size)
    expected = describe([vanilla, asa1], AnalysisSettings())
    chosen = sorted(p for p in (out / "figures").glob("*.pdf") if p.name.startswith(("fig2a", "fig5_", "fig6")))
    assert [p.name.split("_")[0] for p in chosen] == ["fig2a", "fig5", "fig6"]
    for pdf in chosen:
        box = PdfReader(pdf).pages[0].mediabox
        assert abs(float(box.width) - inches * 72) < 1.5, (pdf.name, float(box.width))
        assert _fonts_embedded(pdf) == [], pdf.name
        assert read_provenance(pdf) == expected
    bodies = [f"\\noindent\\includegraphics[width={inches}in]{{{pdf.resolve()}}}\\par" for pdf in chosen]
    doc = ["\\documentclass{article}", "\\usepackage[margin=0.5in]{geometry}", "\\usepackage{graphicx}",
           "\\begin{document}", *bodies, "\\end{document}"]
    (tmp_path / "figs.tex").write_text("\n".join(doc))
    done = subprocess.run(["pdflatex", "-halt-on-error", "-interaction=nonstopmode", "figs.tex"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert len(PdfReader(tmp_path / "figs.pdf").pages) >= 1
    shots = Path(__file__).resolve().parents[1] / "test-artifacts" / "figures"
    if shutil.which("pdftoppm"):
        shots.mkdir(parents=True, exist_ok=True)
        for pdf in chosen:
            subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf),
                            str(shots / f"{pdf.name.split('_')[0]}_{size}")], check=True, timeout=60)
