"""Uploaded files: kept in a temporary folder of their own per browser session, with
sanitised names and a size limit. Nothing here unpickles anything."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import streamlit as st

MAX_UPLOAD_MB = float(os.environ.get("SNNR_MAX_UPLOAD_MB", "200"))


class UploadError(ValueError):
    """An upload that is refused; the message says why and what to do."""


def session_dir() -> Path:
    """This browser session's private folder (created on first use)."""
    if "upload_dir" not in st.session_state:
        st.session_state["upload_dir"] = tempfile.mkdtemp(prefix="snnr-session-")
    return Path(st.session_state["upload_dir"])


def sanitize(name: str) -> str:
    """A safe file name: no folders, no '..', only letters, digits, '.', '_' and '-'."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name.replace("\\", "/")).name).lstrip(".")
    return base[:120] or "upload"


def save_upload(data: bytes, name: str, root: Path, subfolder: str = "", limit_mb: float = MAX_UPLOAD_MB) -> Path:
    """Write an upload into root/subfolder under a sanitised name; refuses files over the
    size limit and names that would leave root."""
    size_mb = len(data) / 2**20
    if size_mb > limit_mb:
        raise UploadError(f"{name}: {size_mb:.1f} MB is over the upload limit of {limit_mb:g} MB "
                          "(set SNNR_MAX_UPLOAD_MB to change it)")
    folder = root / subfolder if subfolder else root
    folder.mkdir(parents=True, exist_ok=True)
    path = (folder / sanitize(name)).resolve()
    if root.resolve() not in path.parents:
        raise UploadError(f"{name}: refused, the name leaves the upload folder")
    path.write_bytes(data)
    return path
