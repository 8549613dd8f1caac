"""Where an exported figure or table came from, written into the file itself: PNG text
chunks (with the DPI), PDF document information, an SVG <metadata> element, and comment
lines for CSV and LaTeX (analysis.latex)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from PIL import Image, PngImagePlugin
from pypdf import PdfReader, PdfWriter

from analysis.loader import Run
from models import TOOL_VERSION

KEY = "snn-redundancy-provenance"


def describe(runs: list[Run], settings) -> list[str]:
    """One line per run (recording, checkpoint and its SHA-256, architecture, attention, ASA
    mask mode, T, dt, data, samples), one line of rules, one of the tool."""
    lines = []
    for run in runs:
        model, data = run.model, run.data
        args = model.get("arch_args", {})
        sha = str(model.get("checkpoint_sha256", ""))[:16] or "unknown"
        mode = model.get("asa_mask_mode")
        mask = f", ASA masks per {'batch of ' + str(model.get('batch_size', '?')) if mode == 'batch' else 'sample'}" \
            if mode else ""
        source = data.get("source", "?")
        where = data.get("path") or data.get("folder") or (f"seed {data['seed']}" if "seed" in data else "")
        lines.append(f"run {run.name} ({run.path.name}): {model.get('arch', '?')}, attention {args.get('attention', '-')}"
                     f"{mask}; checkpoint {model.get('checkpoint', '?')} sha256 {sha}; T={run.T}, "
                     f"dt={data.get('dt_ms', '?')} ms; data {source}{' ' + str(where) if where else ''}, "
                     f"{run.n_samples} samples{'' if run.complete else ' (INCOMPLETE recording)'}")
    p, g = settings.pattern, settings.ghost
    lines.append(f"rules: foreground >= {p.foreground_level} x max input rate; null < {p.null_rate}; noise: background "
                 f">= {p.noise_ratio} x foreground density; ghosts {g.method} >= {g.threshold}")
    lines.append(f"written by snn-redundancy {TOOL_VERSION}")
    return lines


def stamp(path: Path, lines: list[str], dpi: int | None = None) -> None:
    """Write `lines` into the figure file at `path` (PNG, PDF or SVG), and for PNG the DPI."""
    suffix = path.suffix.lower()
    text = "\n".join(lines)
    if suffix == ".png":
        image = Image.open(path)
        image.load()
        info = PngImagePlugin.PngInfo()
        info.add_text(KEY, text)
        info.add_text("Software", f"snn-redundancy {TOOL_VERSION}")
        image.save(path, pnginfo=info, **({"dpi": (dpi, dpi)} if dpi else {}))
    elif suffix == ".pdf":
        writer = PdfWriter(clone_from=PdfReader(path))
        writer.add_metadata({"/Subject": text, "/Creator": f"snn-redundancy {TOOL_VERSION}", f"/{KEY}": json.dumps(lines)})
        buffer = io.BytesIO()
        writer.write(buffer)
        path.write_bytes(buffer.getvalue())
    elif suffix == ".svg":
        svg = path.read_text()
        start = svg.index(">", svg.index("<svg")) + 1
        path.write_text(svg[:start] + f'<metadata id="{KEY}">{xml_escape(text)}</metadata>' + svg[start:])
    else:
        raise ValueError(f"cannot stamp provenance into {path.name}; figures are PNG, PDF or SVG")


def read(path: Path) -> list[str]:
    """The provenance lines stamped into a figure file (empty when there are none)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        return Image.open(path).text.get(KEY, "").splitlines()
    if suffix == ".pdf":
        raw = (PdfReader(path).metadata or {}).get(f"/{KEY}")
        return json.loads(raw) if raw else []
    if suffix == ".svg":
        from xml.etree import ElementTree as ET

        for element in ET.parse(path).getroot().iter():
            if element.tag.endswith("metadata") and element.get("id") == KEY:
                return (element.text or "").splitlines()
        return []
    raise ValueError(f"{path.name}: not a figure file")
