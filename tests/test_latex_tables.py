"""LaTeX tables checked by hand and compiled by a real LaTeX engine (pdflatex from Debian's
texlive, installed by scripts/setup.sh --test)."""

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
from pypdf import PdfReader

from analysis.latex import escape, latex_table, number


def compile_latex(bodies: list[str], folder: Path) -> int:
    """Compile a document holding `bodies` with pdflatex; returns its page count (fails the
    test with LaTeX's log when it does not compile)."""
    engine = shutil.which("pdflatex")
    assert engine, "pdflatex is missing: run scripts/setup.sh --test (it installs texlive-latex-base)"
    folder.mkdir(parents=True, exist_ok=True)
    doc = "\n".join([r"\documentclass[twocolumn]{article}", r"\usepackage{booktabs}", r"\begin{document}",
                     *bodies, r"\end{document}"])
    (folder / "doc.tex").write_text(doc)
    done = subprocess.run([engine, "-halt-on-error", "-interaction=nonstopmode", "doc.tex"], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    return len(PdfReader(folder / "doc.pdf").pages)


def test_escaping_and_numbers_by_hand():
    assert escape("asa_1 50% & #2 {x} $y ~ ^ \\") == \
        r"asa\_1 50\% \& \#2 \{x\} \$y \textasciitilde{} \textasciicircum{} \textbackslash{}"
    assert number(3_329_000) == "3.33 M" and number(3.329e6) == "3.33 M" and number(2.5e9) == "2.5 G"
    assert number(12345) == "12345" and number(np.int64(7)) == "7" and number(999_999) == "999999"
    assert number(0.123456) == "0.123" and number(-0.0456) == "-0.0456" and number(12.3456) == "12.3"
    assert number(0.00012) == r"$1.2 \times 10^{-4}$" and number(-3.0e-5) == r"$-3 \times 10^{-5}$"
    assert number(float("nan")) == "--" and number(None) == "--" and number(0.0) == "0"
    assert number(math.inf) == r"$\infty$" and number(True) == "yes"


def test_a_table_with_hostile_names_compiles_and_reads_as_written(tmp_path):
    table = pd.DataFrame({"run": ["vanilla_1", "asa_1 50% & co", "#3 {x}"], "attention": ["none", "asa1", "sa"],
                          "macs": [3.329e6, 3.4e6, float("nan")], "nasfr_change": [0.0, -0.6123, 1.5e-5],
                          "samples": [100, 100, 100]})
    tex = latex_table(table, "Runs_with 100% names", "tab:runs_1", ["run a_b: sha256 ab12", "rules: x >= 0.1"])
    lines = tex.splitlines()
    assert lines[:2] == ["% run a_b: sha256 ab12", "% rules: x >= 0.1"]
    assert r"\begin{tabular}{llrrr}" in lines and r"\toprule" in lines and r"\bottomrule" in lines
    assert r"run & attention & macs & nasfr\_change & samples \\" in lines
    assert r"asa\_1 50\% \& co & asa1 & 3.4 M & -0.612 & 100 \\" in lines
    assert r"\#3 \{x\} & sa & -- & $1.5 \times 10^{-5}$ & 100 \\" in lines
    assert compile_latex([tex], tmp_path) == 1
    text = " ".join(PdfReader(tmp_path / "doc.pdf").pages[0].extract_text().split())
    # LaTeX's default (OT1) fonts draw \_ as a rule, which text extraction reads as a space
    assert "asa 1 50% & co" in text and "#3 {x}" in text and "Runs with 100% names" in text
    assert "vanilla 1 none 3.33 M 0 100" in text
