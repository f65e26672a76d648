"""Input sources: the files, folders and zip archives named on the command line, as a flat list of files.

Nothing is ever extracted: zip members are streamed, so no path inside an archive can write anywhere.
Members whose names are absolute or climb out with `..` are refused all the same, as the sign of a
hostile or broken archive; so are members whose data fails to decompress or its CRC check, when read.

Only regular files are read (a symlink to one is fine): a FIFO would block forever and a device such as
/dev/zero never ends, so a path named on the command line that is neither a regular file nor a folder is
refused before it is opened. Inside a folder such entries, and links to folders (never followed, so that a
walk cannot loop or leave the folder's tree), are passed over.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from tapescan.errors import IngestError

#: File endings taken from folders and archives; a file named explicitly is always read.
DATA_SUFFIXES = (".txt", ".csv")
PARQUET_SUFFIXES = (".parquet",)  # the csv vendor also reads Parquet
#: What a path that is not a regular file is, in words for messages.
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


@dataclass(frozen=True)
class Source:
    """One input file: a plain file, or a member of a zip archive."""

    path: Path
    member: str | None
    size: int

    @property
    def name(self) -> str:
        """The file's own name (without folders), which carries the ticker for most vendors."""
        return PurePosixPath(self.member).name if self.member else self.path.name

    @property
    def is_parquet(self) -> bool:
        return self.name.lower().endswith(".parquet")

    @property
    def label(self) -> str:
        """How reports and messages name the file: `path` or `archive.zip!member`."""
        return f"{self.path}!{self.member}" if self.member else str(self.path)

    @property
    def key(self) -> str:
        """A file-system-safe, unique name for per-source outputs (quarantine files)."""
        digest = hashlib.sha1(self.label.encode()).hexdigest()[:8]
        return f"{re.sub(r'[^A-Za-z0-9._-]+', '_', self.name)}-{digest}"

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """The file's bytes as a stream; IngestError naming the member when a zip member turns out damaged."""
        if self.member is None:
            with _open_regular(self.path) as handle:
                yield handle
            return
        info = self.path.stat()
        try:
            with _archive(self.path, info.st_mtime_ns, info.st_size).open(self.member) as handle:
                yield handle
        except (zipfile.BadZipFile, zlib.error, EOFError) as error:
            raise IngestError(f"{self.path}: member {self.member} is damaged ({_damage(error)}); "
                              "re-download the archive.") from error


def _damage(error: Exception) -> str:
    """What is wrong with a zip member, in a few words, from the error reading it raised."""
    if "CRC" in str(error):
        return "bad CRC"
    if isinstance(error, EOFError):
        return "its data ends early"
    return f"its data cannot be read: {error}"


def _open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading, refused unless it is a regular file. Opened non-blocking and checked on
    the open descriptor, so that a FIFO swapped in after discovery cannot block the read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        _refuse_irregular(path, os.fstat(fd).st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _refuse_irregular(path: Path, mode: int) -> None:
    """IngestError unless `mode` (from stat) is a regular file's, naming what the path is instead."""
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    raise IngestError(f"{path} is not a regular file ({kind}); give files, folders or zip archives.")


@functools.lru_cache(maxsize=4)
def _archive(path: Path, mtime_ns: int, size: int) -> zipfile.ZipFile:
    """An open archive, kept per process (and per version of the file): reading its index once, not once
    per member, matters when a bundle's zip holds thousands of files. Members are read one at a time."""
    return zipfile.ZipFile(path)


@dataclass
class Discovery:
    """What the paths on the command line hold."""

    sources: list[Source]
    skipped: list[str]


def discover(paths: Iterable[Path | str], suffixes: tuple[str, ...] = DATA_SUFFIXES) -> Discovery:
    """Expand files, folders (recursively) and zip archives into sources, in a stable order."""
    sources: list[Source] = []
    skipped: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise IngestError(f"{path} does not exist; give files, folders or zip archives to ingest.")
        if path.is_dir():
            sources.extend(_folder_sources(path, suffixes, skipped))
            continue
        _refuse_irregular(path, path.stat().st_mode)
        if _is_zip(path):
            sources.extend(_zip_members(path, suffixes, skipped))
        else:
            sources.append(Source(path, None, path.stat().st_size))
    return Discovery(sources=_unique(sources), skipped=skipped)


def _folder_sources(folder: Path, suffixes: tuple[str, ...], skipped: list[str]) -> list[Source]:
    """The data files in `folder` and its subfolders, other file types listed in `skipped`. Hidden files,
    entries that are not regular files (FIFOs, devices, sockets) and links to folders are passed over:
    rglob does not descend into linked folders, and `is_file` is true only of (links to) regular files."""
    sources: list[Source] = []
    for child in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if _is_zip(child):
            sources.extend(_zip_members(child, suffixes, skipped))
        elif child.suffix.lower() in suffixes:
            sources.append(Source(child, None, child.stat().st_size))
        else:
            skipped.append(str(child))
    return sources


def _is_zip(path: Path) -> bool:
    return path.suffix.lower() == ".zip"


def _zip_members(path: Path, suffixes: tuple[str, ...], skipped: list[str]) -> list[Source]:
    """The data files inside one archive; IngestError for unsafe member names or a broken archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise IngestError(f"{path} is not a readable zip archive ({error}); re-download it.") from error
    members = []
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise IngestError(
                f"{path} holds a member with an unsafe path ({name!r}: absolute or climbing out with '..'). "
                "Refusing the whole archive; nothing was read from it. Get the archive from the vendor again."
            )
        if info.is_dir():
            continue
        if PurePosixPath(name).suffix.lower() in suffixes:
            members.append(Source(path, name, info.file_size))
        else:
            skipped.append(f"{path}!{name}")
    return members


def _unique(sources: list[Source]) -> list[Source]:
    """Sources in order of first mention, each once (a file named twice is read once)."""
    seen: dict[str, Source] = {}
    for source in sources:
        seen.setdefault(source.label, source)
    return list(seen.values())
