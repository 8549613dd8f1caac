"""Server paths typed into the dashboard: allowed only inside configured roots, so that a
visitor can neither probe which files exist on the server nor record any readable file.

Roots: the repository's `sample_runs/` and `runs/`, and `../shared/data`, where present;
more from the environment variable SNNR_SERVER_ROOTS (folders separated by ':') or from
`server_roots = ["/data/dvs", ...]` in `.streamlit/secrets.toml`. A public deployment turns
server paths off entirely with SNNR_SERVER_PATHS=off (or `server_paths = false` in the
secrets file): visitors then upload their files instead.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOTS = (REPO / "sample_runs", REPO / "runs", REPO.parent / "shared" / "data")


class PathRefused(ValueError):
    """A server path outside the allowed roots (or server paths switched off)."""


def _secret(key: str):
    try:
        import streamlit as st

        return st.secrets.get(key)
    except Exception:  # no secrets file, or not under Streamlit: no setting
        return None


def server_paths_enabled() -> bool:
    env = os.environ.get("SNNR_SERVER_PATHS")
    if env is not None:
        return env.strip().lower() not in ("0", "off", "false", "no")
    secret = _secret("server_paths")
    return secret is None or bool(secret)


def allowed_roots() -> list[Path]:
    """The folders server paths may point into (resolved, existing ones only)."""
    roots = list(DEFAULT_ROOTS)
    roots += [Path(p) for p in os.environ.get("SNNR_SERVER_ROOTS", "").split(os.pathsep) if p.strip()]
    roots += [Path(p) for p in (_secret("server_roots") or [])]
    return [r.resolve() for r in roots if r.is_dir()]


def resolve_server_path(text: str, what: str) -> Path:
    """The path `text` if it lies inside an allowed root, else PathRefused. The answer is the
    same whether or not a refused path exists, so refusals reveal nothing."""
    if not server_paths_enabled():
        raise PathRefused(f"paths on the server are switched off here (SNNR_SERVER_PATHS); upload the {what} instead")
    raw = Path(text).expanduser()
    candidate = (raw if raw.is_absolute() else REPO / raw).resolve()
    roots = allowed_roots()
    if not any(candidate == root or root in candidate.parents for root in roots):
        shown = ", ".join(str(r) for r in roots) or "none configured"
        raise PathRefused(f"{what} path refused: the dashboard reads only inside {shown} "
                          "(add folders with SNNR_SERVER_ROOTS); upload the file instead")
    return candidate
