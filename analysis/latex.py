"""Tables as LaTeX a paper can \\input as it is: every text cell escaped, numbers in a
readable form, booktabs rules, a caption and a label, provenance in comment lines."""

from __future__ import annotations

import math
import numbers
import re

import pandas as pd

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
            "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_PATTERN = re.compile("|".join(re.escape(k) for k in _SPECIAL))
_UNITS = ((1e12, "T"), (1e9, "G"), (1e6, "M"))


def escape(text) -> str:
    """Text as LaTeX prints it literally (the ten special characters escaped)."""
    return _PATTERN.sub(lambda m: _SPECIAL[m.group()], str(text))


def number(value, digits: int = 3) -> str:
    """A number for a table cell: integers as they are below a million; from a million up
    with a unit ("3.33 M"); others with `digits` significant digits, in scientific notation
    ("$1.2 \\times 10^{-3}$") only below 0.001; NaN as "--"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "--"
    if isinstance(value, bool):
        return "yes" if value else "no"
    x = float(value)
    if math.isinf(x):
        return r"$\infty$" if x > 0 else r"$-\infty$"
    for scale, unit in _UNITS:
        if abs(x) >= scale:
            return f"{x / scale:.{digits}g} {unit}"
    if isinstance(value, numbers.Integral) or (x.is_integer() and abs(x) >= 10**digits):
        return f"{int(x)}"
    if x != 0 and abs(x) < 1e-3:
        mantissa, exponent = f"{x:.{max(digits - 1, 1)}e}".split("e")
        return f"${mantissa.rstrip('0').rstrip('.')} \\times 10^{{{int(exponent)}}}$"
    return f"{x:.{digits}g}"


def latex_table(table: pd.DataFrame, caption: str, label: str, provenance: list[str] = (), digits: int = 3) -> str:
    """A booktabs `table` environment of `table` (headers and text escaped, numeric columns
    right-aligned), with `caption`, `\\label{label}` and each provenance line as a `%`
    comment on top. Needs `\\usepackage{booktabs}`."""
    numeric = [pd.api.types.is_numeric_dtype(table[c]) and not pd.api.types.is_bool_dtype(table[c])
               for c in table.columns]
    lines = [f"% {escape_comment(p)}" for p in provenance]
    lines += [r"\begin{table}[t]", r"\centering", f"\\caption{{{escape(caption)}}}", f"\\label{{{_label(label)}}}",
              r"\begin{tabular}{" + "".join("r" if n else "l" for n in numeric) + "}", r"\toprule",
              " & ".join(escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for row in table.itertuples(index=False):
        cells = [number(v, digits) if n and not isinstance(v, str) else escape(v) for v, n in zip(row, numeric)]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def escape_comment(text: str) -> str:
    """One line that stays a comment (no line breaks)."""
    return " ".join(str(text).split())


def _label(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9:._-]", "-", label)
