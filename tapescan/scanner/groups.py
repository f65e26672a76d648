"""Symbol groups for the scanner's ``symbols_group``: the built-in indexes and the user's own lists.

Built-in groups (from the packaged files in ``tapescan/data/index_membership``, see its README):

- ``SP500``: now, the ``Symbol`` column of ``sp500_current.csv``; as of a date, ``sp500_changes.csv``, plus
  the current members that file does not list as members (added since it was compiled, or renamed) from
  their ``Date added``, and with the members it lists that are no longer current counted up to its last
  recorded change.
- ``NASDAQ100``: now, the rows of ``nasdaq100_changes.csv`` with an empty ``removed_date``; as of a date, the
  same file's added/removed dates.

A row of a *_changes file makes its ticker a member on day D when (added_date is empty or added_date <= D)
and (removed_date is empty or D < removed_date). A row whose removed_date is on or before its added_date
describes a ticker that left and came back: member before removed_date and again from added_date, up to the
file's last recorded change (the row says it is not a member now). Point-in-time membership built this way is
approximate (docs/SCANNER.md "Groups"); after the files' last changes it equals the current membership.

User groups are text files ``STORE/groups/NAME.txt``, one ticker per line, ``#`` comments and blank lines
ignored; NAME, upper-cased, is the group's name. Tickers are kept as written (upper-cased), like the packaged
files write them (``BRK.B``), never rewritten to another vendor's spelling. A group file must be a regular
file inside the store's groups folder (a symlink is followed only if it resolves there), and an error about a
bad line quotes at most a short, sanitized excerpt of it, so that a group file can never be used to read or
show a file from elsewhere (or to block on a FIFO or device).
"""

from __future__ import annotations

import csv
import datetime
import functools
import importlib.resources
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from tapescan.errors import TapescanError
from tapescan.tickers import clean_ticker

BUILTIN_GROUPS = ("NASDAQ100", "SP500")
GROUPS_FOLDER = "groups"

_GROUP_NAME = re.compile(r"[A-Za-z0-9_\-]+")

# A membership interval [start, end): None means open (before the table starts / still a member).
Interval = tuple[datetime.date | None, datetime.date | None]


class GroupError(TapescanError):
    """An unknown group, or a user group file that cannot be read as a list of tickers."""


# ---------------------------------------------------------------------------------------------- built-in groups


@functools.cache
def _read_membership(name: str) -> tuple[dict[str, str], ...]:
    """The rows of one packaged membership CSV, parsed once."""
    path = importlib.resources.files("tapescan") / "data" / "index_membership" / name
    with path.open("r", encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def _date(text: str) -> datetime.date | None:
    return datetime.date.fromisoformat(text) if text else None


def _last_change(rows: Iterable[Mapping[str, str]]) -> datetime.date:
    """The latest date a *_changes file records: the file describes membership up to that day."""
    return max(datetime.date.fromisoformat(row[k]) for row in rows for k in ("added_date", "removed_date") if row[k])


def _row_intervals(added: datetime.date | None, removed: datetime.date | None, last: datetime.date) -> list[Interval]:
    """The membership intervals of one *_changes row.

    A removal on or before the addition means the ticker left and was re-added; as the row still has a
    removed_date, the file says it is not a member at its end, so the re-addition is counted up to ``last``
    (the real second removal is not in the file).
    """
    if added is not None and removed is not None and removed <= added:
        return [(None, removed), (added, last)]
    return [(added, removed)]


def parse_changes(rows: Iterable[Mapping[str, str]]) -> dict[str, tuple[Interval, ...]]:
    """Rows with ticker, added_date, removed_date (ISO dates or empty) -> membership intervals per ticker."""
    rows = list(rows)
    last = _last_change(rows)
    history: dict[str, list[Interval]] = {}
    for row in rows:
        intervals = _row_intervals(_date(row["added_date"]), _date(row["removed_date"]), last)
        history.setdefault(row["ticker"].upper(), []).extend(intervals)
    return {ticker: tuple(intervals) for ticker, intervals in history.items()}


@functools.cache
def _history(group: str) -> dict[str, tuple[Interval, ...]]:
    """Point-in-time membership intervals of a built-in group."""
    if group == "NASDAQ100":
        return parse_changes(_read_membership("nasdaq100_changes.csv"))
    changes = _read_membership("sp500_changes.csv")
    history, last = parse_changes(changes), _last_change(changes)
    current = {row["Symbol"].upper(): _date(row["Date added"]) for row in _read_membership("sp500_current.csv")}
    for ticker, intervals in history.items():
        if ticker not in current:  # left after the changes file was compiled, on a day it does not know
            history[ticker] = tuple((start, last if end is None else end) for start, end in intervals)
    for ticker, added in current.items():
        intervals = history.get(ticker, ())
        if not any(end is None for _, end in intervals):  # joined (or was renamed) after the changes file
            history[ticker] = (*intervals, (added, None))
    return history


@functools.cache
def _current(group: str) -> tuple[str, ...]:
    """Today's members of a built-in group, as the packaged files list them."""
    if group == "NASDAQ100":
        rows = _read_membership("nasdaq100_changes.csv")
        return tuple(row["ticker"].upper() for row in rows if not row["removed_date"])
    return tuple(row["Symbol"].upper() for row in _read_membership("sp500_current.csv"))


def _is_member(intervals: Iterable[Interval], day: datetime.date) -> bool:
    return any((start is None or start <= day) and (end is None or day < end) for start, end in intervals)


def _builtin_members(group: str, as_of: datetime.date | None) -> list[str]:
    if as_of is None:
        return sorted(set(_current(group)))
    return sorted(ticker for ticker, intervals in _history(group).items() if _is_member(intervals, as_of))


# ---------------------------------------------------------------------------------------------- user groups


def _user_group_files(store_root: str | Path | None) -> dict[str, Path]:
    """Group name -> its file under STORE/groups; GroupError for a bad name, a clash or a shadowed built-in."""
    if store_root is None:
        return {}
    folder = Path(store_root).expanduser() / GROUPS_FOLDER
    files: dict[str, Path] = {}
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else ():
        if not _GROUP_NAME.fullmatch(path.stem):
            raise GroupError(
                f"{path}: a group file's name is the group's name: letters, digits, '_' or '-', then .txt; rename it."
            )
        name = path.stem.upper()
        if name in BUILTIN_GROUPS:
            raise GroupError(f"{path}: {name} is a built-in group and cannot be redefined; rename the file.")
        if name in files:
            raise GroupError(f"{files[name]} and {path} both define group {name}; keep one of them.")
        files[name] = path
    return files


def _check_group_file(path: Path, store_root: Path) -> None:
    """GroupError unless `path` is a regular file that resolves inside STORE/groups: a link out of the store
    would let a group name read any file, and a FIFO or device would block or never end."""
    folder = store_root.expanduser().resolve() / GROUPS_FOLDER
    if not path.resolve().is_relative_to(folder):
        raise GroupError(f"{path} points outside {folder}; a group file must be a plain file in the store's "
                         f"{GROUPS_FOLDER} folder: replace the link with a copy of the list.")
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise GroupError(f"{path}: cannot be read ({exc.strerror}).") from None
    if not stat.S_ISREG(mode):
        raise GroupError(f"{path} is not a regular file (a FIFO, device or the like); a group file must be a "
                         "plain text file, one ticker per line.")


def _read_user_group(path: Path, store_root: Path) -> list[str]:
    """The sorted tickers of one user group file; GroupError naming the file (and line) when it is unusable."""
    _check_group_file(path, store_root)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise GroupError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise GroupError(f"{path}, line {line}: not UTF-8 text; save the file as UTF-8.") from None
    tickers: set[str] = set()
    for number, line in enumerate(text.split("\n"), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            tickers.add(clean_ticker(entry))
        except ValueError as exc:
            raise GroupError(f"{path}, line {number}: {exc}; write one ticker per line.") from None
    return sorted(tickers)


# ---------------------------------------------------------------------------------------------- public


def known_groups(store_root: str | Path | None = None) -> list[str]:
    """Every group name ``symbols_group`` may use: the built-ins and the store's user groups, sorted."""
    return sorted((*BUILTIN_GROUPS, *_user_group_files(store_root)))


def group_members(
    name: str, as_of: datetime.date | None = None, store_root: str | Path | None = None
) -> list[str]:
    """The sorted tickers of group ``name`` (case-insensitive): today's members, or those on ``as_of``.

    ``as_of`` applies to the built-in groups only; a user group is the same list on every date.
    """
    group = name.strip().upper()
    if isinstance(as_of, datetime.datetime):
        as_of = as_of.date()
    if group in BUILTIN_GROUPS:
        return _builtin_members(group, as_of)
    files = _user_group_files(store_root)
    if group not in files:
        known = ", ".join(sorted((*BUILTIN_GROUPS, *files)))
        raise GroupError(f"unknown group {group!r}; known groups: {known}. Define it as STORE/groups/{group}.txt.")
    return _read_user_group(files[group], Path(store_root))
