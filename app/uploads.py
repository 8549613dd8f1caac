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


def fresh_folder(root: Path, prefix: str) -> Path:
    """A new empty folder under root for one upload, so that a later upload never mixes
    with (or is poisoned by) an earlier one."""
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def extract_class_zip(data: bytes, name: str, dest: Path, suffixes: tuple[str, ...],
                      limit_mb: float = MAX_UPLOAD_MB) -> Path:
    """Unpack a zip of class folders (<class>/<file>, optionally under one top folder) into
    dest; refuses members that would leave dest, files of other kinds and archives that
    unpack to more than limit_mb (checked from the zip's directory and while reading)."""
    import io
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UploadError(f"{name}: not a readable zip archive ({exc})") from None
    if sum(m.file_size for m in members) > limit_mb * 2**20:
        raise UploadError(f"{name}: unpacks to more than {limit_mb:g} MB (set SNNR_MAX_UPLOAD_MB to change it)")
    parts = [[p for p in m.filename.replace("\\", "/").split("/") if p] for m in members]
    if parts and len({p[0] for p in parts}) == 1 and all(len(p) >= 3 for p in parts):
        parts = [p[1:] for p in parts]  # one enclosing folder: skip it
    written = 0
    for member, path in zip(members, parts):
        if len(path) != 2 or any(p in ("..", ".") or p.startswith(".") for p in path):
            raise UploadError(f"{name}: member {member.filename!r} is not <class>/<file>; zip one folder per class")
        if Path(path[1]).suffix.lower() not in suffixes:
            raise UploadError(f"{name}: member {member.filename!r} is not an event file ({', '.join(suffixes)})")
        target = (dest / sanitize(path[0]) / sanitize(path[1])).resolve()
        if dest.resolve() not in target.parents:
            raise UploadError(f"{name}: member {member.filename!r} would leave the upload folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(member) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > limit_mb * 2**20:
                    raise UploadError(f"{name}: unpacks to more than {limit_mb:g} MB")
                out.write(chunk)
    if not members:
        raise UploadError(f"{name}: the archive is empty")
    return dest
