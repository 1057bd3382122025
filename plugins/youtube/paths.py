"""Folder and file names made from titles a remote site chose.

A title is data, never a path: every name is one component, with separators,
control characters and the characters Windows and Plex choke on replaced, no
leading dots (so never ``..``), reserved device names avoided and the length
capped in UTF-8 bytes.  :func:`inside` is the last check before any file is
written, served or removed.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 150  # leaves room for " [id].ext" and ".part" under the usual 255-byte limit
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_SPACES = re.compile(r"\s+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_name(title: str | None, fallback: str = "untitled", max_bytes: int = MAX_NAME_BYTES) -> str:
    """One safe path component for ``title``."""
    text = unicodedata.normalize("NFC", title or "")
    text = _UNSAFE.sub("_", text)
    text = _SPACES.sub(" ", text).strip()
    text = text.lstrip(".").rstrip(". ")  # no hidden files, no "..", no trailing dot (Windows shares)
    text = _truncate(text, max_bytes).rstrip(". ")
    if not text or text.replace("_", "") == "":
        text = fallback
    if text.split(".")[0].lower() in _RESERVED:
        text = f"_{text}"
    return text


def _truncate(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", errors="ignore").rstrip()


def entry_file_stem(index: int, title: str | None, entry_id: str | None, width: int = 2) -> str:
    """``"03 - Title [id]"``: the index keeps playlist order, the id keeps two entries with one title apart."""
    ident = safe_name(entry_id, fallback="", max_bytes=40)
    stem = f"{index:0{width}d} - {safe_name(title, fallback='untitled', max_bytes=110)}"
    return f"{stem} [{ident}]" if ident else stem


def inside(root: Path, candidate: Path | str) -> bool:
    """True when ``candidate`` (symlinks resolved) is ``root`` itself or below it."""
    root_real = Path(os.path.realpath(root))
    real = Path(os.path.realpath(candidate))
    return real == root_real or root_real in real.parents


def user_folder(download_root: Path, name: str) -> Path:
    """A person's folder: ``name`` as :func:`readable_folder_name` chose it (or the old ``"<id>"``)."""
    return download_root / safe_name(name, fallback="user")


def readable_folder_name(display_name: str | None, user_id: int) -> str:
    """``"alice-3f9c2"``: the display name in lower-case ASCII, and a suffix that keeps two Alices apart.

    The suffix comes from the user id, so it is the same however often it is
    worked out; the name is stored once chosen and never follows a rename.
    """
    text = unicodedata.normalize("NFKD", display_name or "").encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")[:40].rstrip("-") or "user"
    suffix = hashlib.sha256(f"medianest-user:{int(user_id)}".encode()).hexdigest()[:5]
    return f"{slug}-{suffix}"


def playlist_folder(user_dir: Path, title: str | None) -> str:
    """The folder name for a playlist in the user's folder.

    A folder that already exists with the same name in another case is reused, so
    "Mix" and "MIX" never become two folders that collide on a case-insensitive
    file system (or in Plex); file names carry the entry id, so entries never
    overwrite each other.
    """
    wanted = safe_name(title, fallback="download")
    if user_dir.is_dir():
        for existing in sorted(p.name for p in user_dir.iterdir() if p.is_dir()):
            if existing.casefold() == wanted.casefold():
                return existing
    return wanted


def folder_size(folder: Path) -> int:
    """Bytes used below ``folder`` (partial files included: they take the disk too)."""
    total = 0
    if not folder.is_dir():
        return 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total
