"""Reading a configuration file written as JSON, YAML or TOML, with errors that name the file and line.

Shared by the scanner's, the replay's and the backtest's (strategy file) configs; each validates the parsed
document with its own model. Each also declares its :class:`ConfigKind`, so that a config of one kind given
where another is expected is named as such ("looks like a scanner config") instead of failing key by key.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel
from pydantic_core import ErrorDetails

from tapescan.errors import TapescanError


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ValueError(where + (getattr(exc, "problem", None) or str(exc))) from None


def _parse_toml(text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None  # its text ends with "(at line L, column C)"


PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    ".json": ("JSON", _parse_json),
    ".yaml": ("YAML", _parse_yaml),
    ".yml": ("YAML", _parse_yaml),
    ".toml": ("TOML", _parse_toml),
}


def read_document(file: Path, what: str, error: type[TapescanError], example: str) -> Any:
    """The parsed contents of `file`; `error` naming it (`what`: "Scanner config", ...) and the line when it
    cannot be read; `example` says where to find a good one."""
    suffix = file.suffix.lower()
    if suffix not in PARSERS:
        raise error(f"{what} {file}: cannot read a {suffix or 'extension-less'} file; "
                    "write the config as .json, .yaml, .yml or .toml.")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise error(f"{what} {file} is not UTF-8 text; save it as UTF-8.") from None
    except OSError as exc:
        raise error(f"{what} {file} cannot be read ({exc.strerror}); check the path.") from None
    language, parse = PARSERS[suffix]
    try:
        data = parse(text)
    except ValueError as exc:
        raise error(f"{what} {file} is not valid {language}: {exc}. Fix the file's syntax.") from None
    if data is None:
        raise error(f"{what} {file} is empty; {example}.")
    return data


@dataclass(frozen=True)
class ConfigKind:
    """One kind of config tapescan reads: what it is called, the top-level keys it may hold, one valid example
    on one line, where it is documented, and the command that runs a FILE of this kind."""

    name: str
    keys: frozenset[str]
    example: str
    docs: str
    usage: str

    def fits(self, data: Any) -> bool:
        """Whether `data` is a non-empty object whose keys are all keys of this kind."""
        return isinstance(data, dict) and bool(data) and set(map(str, data)) <= self.keys


def config_kinds() -> tuple[ConfigKind, ...]:
    """Every kind of config tapescan reads (imported when asked: each config module imports this one)."""
    from tapescan.backtest.config import STRATEGY_KIND
    from tapescan.scanner.config import SCANNER_KIND
    from tapescan.stream.config import REPLAY_KIND

    return SCANNER_KIND, REPLAY_KIND, STRATEGY_KIND


def check_kind(data: Any, expected: ConfigKind, what: str, error: type[TapescanError],
               file: Path | None = None) -> None:
    """Raise `error` when `data` is not of the `expected` kind but fits another one exactly: the message names
    the kind it looks like, shows an `expected` one and the command for this one. `what` names the config in
    the message ("Replay config FILE")."""
    if expected.fits(data):
        return
    for kind in config_kinds():
        if kind.name != expected.name and kind.fits(data):
            raise error(f"{what} looks like a {kind.name}, not a {expected.name}. A {expected.name} looks like "
                        f"this ({expected.docs}):\n    {expected.example}\nTo use this one, run: "
                        f"{kind.usage.format(file=file or 'FILE')}")


# ------------------------------------------------------------------------------------ validation errors


def keys_at(model: type[BaseModel], loc: Iterable[int | str]) -> list[str]:
    """The keys allowed at `loc` (a path of config keys below `model`), or [] where that is not an object."""
    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        inner = [t for t in get_args(field and field.annotation) if isinstance(t, type) and issubclass(t, BaseModel)]
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def unknown_key(key: str, known: list[str]) -> str:
    """What to say of a key the config does not have: the nearest known key, else the list of them."""
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key; did you mean {close[0]!r}?"
    return f"unknown key; the keys here are {', '.join(known)}" if known else "unknown key; remove it"


def plain_problem(error: ErrorDetails, model: type[BaseModel]) -> str:
    """One validation problem in plain words, not pydantic's raw text ("Extra inputs are not permitted")."""
    kind, loc = error["type"], error["loc"]
    if kind == "extra_forbidden":
        return unknown_key(str(loc[-1]), keys_at(model, loc[:-1]))
    if kind == "missing":
        return "missing; this key is required"
    return error["msg"].removeprefix("Value error, ")
