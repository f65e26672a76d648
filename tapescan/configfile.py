"""Reading a configuration file written as JSON, YAML or TOML, with errors that name the file and line.

Shared by the scanner's and the replay's configs; each validates the parsed document with its own model.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

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
