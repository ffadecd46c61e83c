"""Where readers get their bytes from: a file, a folder, a zip archive, or files already in memory (an upload).

Every reader takes a ``source`` that is one of

- a path (``str`` or ``os.PathLike``) to a file, a folder (searched recursively) or a ``.zip`` archive;
- a mapping ``{file name: bytes}``, e.g. the files of an upload; a ``.zip`` among them is opened.

Limits on the total size and the number of files are checked before anything is decoded, and archive member
names that could escape a folder (absolute, ``..``) are refused, so an upload handler can pass user data here.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Union

from .corpus import FormatError, Problem, Problems

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_FILES", "Source", "collect_files", "decode_text"]

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_FILES = 10_000

Source = Union[str, "os.PathLike[str]", Mapping[str, bytes]]


class _Budget:
    def __init__(self, label: str, max_bytes: int, max_files: int):
        self.label = label
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.bytes = 0
        self.files = 0

    def take(self, size: int) -> None:
        self.files += 1
        self.bytes += size
        if self.files > self.max_files:
            raise FormatError(
                [Problem(self.label, None, f"too many files: more than the limit of {self.max_files}")]
            )
        if self.bytes > self.max_bytes:
            raise FormatError(
                [Problem(self.label, None, f"too large: more than the limit of {self.max_bytes:,} bytes")]
            )


def _safe_member_name(name: str) -> str | None:
    """The member name with "/" separators, or None when it is absolute or climbs out with ".."."""
    name = name.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or ".." in path.parts:
        return None
    return "/".join(part for part in path.parts if part not in ("", "."))


def _ignored(name: str) -> bool:
    # macOS archive litter (__MACOSX/, ._foo.txt) and hidden files are not data.
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _wanted(name: str, suffixes: tuple[str, ...]) -> bool:
    return name.lower().endswith(suffixes) and not _ignored(name)


def _read_zip(
    label: str,
    data: bytes | Path,
    suffixes: tuple[str, ...],
    budget: _Budget,
    problems: Problems,
    out: list[tuple[str, bytes]],
) -> None:
    try:
        archive = zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        problems.add(label, None, f"not a readable zip archive ({exc})")
        return
    with archive:
        members = []
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = _safe_member_name(info.filename)
            if name is None:
                problems.add(label, None, f"unsafe path in archive: {info.filename!r}")
                continue
            if _wanted(name, suffixes):
                budget.take(info.file_size)  # checked before anything is decompressed
                members.append((name, info))
        for name, info in members:
            try:
                out.append((name, archive.read(info)))
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                problems.add(f"{label}/{name}", None, f"cannot be extracted ({exc})")


def collect_files(
    source: Source,
    *,
    suffixes: tuple[str, ...],
    problems: Problems,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_files: int = DEFAULT_MAX_FILES,
) -> list[tuple[str, bytes]]:
    """``(name, bytes)`` of every file in ``source`` whose name ends with one of ``suffixes`` (lower case).

    Names are relative to the folder or archive ("sub/NCT1_inc.txt"), the given name for a single file.
    Raises FormatError at once when a limit is exceeded; other problems go to ``problems``.
    """
    suffixes = tuple(suffix.lower() for suffix in suffixes)
    out: list[tuple[str, bytes]] = []
    if isinstance(source, Mapping):
        budget = _Budget("upload", max_bytes, max_files)
        for raw_name, data in source.items():
            name = _safe_member_name(raw_name)
            if name is None:
                problems.add(raw_name, None, "unsafe file name")
            elif name.lower().endswith(".zip") and ".zip" not in suffixes:
                _read_zip(name, bytes(data), suffixes, budget, problems, out)
            elif _wanted(name, suffixes):
                budget.take(len(data))
                out.append((name, bytes(data)))
        return out

    path = Path(source)
    budget = _Budget(path.name or str(path), max_bytes, max_files)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        chosen = []
        for file in files:
            name = file.relative_to(path).as_posix()
            if _wanted(name, suffixes):
                budget.take(file.stat().st_size)
                chosen.append((name, file))
        out.extend((name, file.read_bytes()) for name, file in chosen)
    elif path.is_file() and path.suffix.lower() == ".zip" and ".zip" not in suffixes:
        budget.take(0)
        _read_zip(path.name, path, suffixes, budget, problems, out)
    elif path.is_file():
        budget.take(path.stat().st_size)
        out.append((path.name, path.read_bytes()))
    else:
        problems.add(str(path), None, "no such file or folder")
    return out


def decode_text(name: str, data: bytes, problems: Problems) -> tuple[str, bool] | None:
    """UTF-8 text of ``data`` and whether it began with a byte order mark (which is dropped, so offsets do
    not count it). None, with a problem giving the line of the first bad byte, when it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.add(name, line, f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start})")
        return None
    if text.startswith("\ufeff"):
        return text[1:], True
    return text, False
