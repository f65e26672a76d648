"""Parameter grids of a strategy file (docs/spec/backtest.md "Strategy file"): a value written as a list, or as
``{start, stop, step}`` (stop included), stands for every one of its values. `tapescan optimize` (planned) runs
every combination; `tapescan backtest` runs one, so it refuses a file with a grid.

A list of one value is that value (nothing to search). Values are checked here only for being grid-shaped and
finite; what each value may be is the caller's business.
"""

from __future__ import annotations

import math
from typing import Any

from tapescan.scanner.config import _describe, _problem, format_number

#: The keys of a range grid, in the order people write them.
RANGE_KEYS = ("start", "stop", "step")
#: The most values one grid may expand to: far beyond any useful search, short of a typo in `step`.
MAX_GRID_VALUES = 10_000
#: Decimal places a float range's values are rounded to, so that 0.1 steps give 0.3, not 0.30000000000000004.
RANGE_DECIMALS = 10

Scalar = bool | int | float | str


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _range_number(value: Any, key: str) -> float | int:
    if not _is_number(value) or not math.isfinite(value):
        raise _problem(f"a range grid's {key} must be a finite number (got {_describe(value)})")
    return value


def range_values(grid: dict[str, Any]) -> tuple[float | int, ...]:
    """The values of ``{start, stop, step}``: start, start + step, ... up to and including stop."""
    unknown = sorted(set(grid) - set(RANGE_KEYS))
    missing = [key for key in RANGE_KEYS if key not in grid]
    if unknown or missing:
        said = "; ".join(part for part in (
            f"it has no key {', '.join(map(repr, unknown))}" if unknown else "",
            f"{', '.join(missing)} missing" if missing else "") if part)
        raise _problem(f"a range grid is written {{start, stop, step}} (stop included): {said}")
    start, stop, step = (_range_number(grid[key], key) for key in RANGE_KEYS)
    if step <= 0:
        raise _problem(f"a range grid's step must be above 0 (got {format_number(step)})")
    if start > stop:
        raise _problem(f"a range grid's start ({format_number(start)}) is above its stop ({format_number(stop)}); "
                       "swap them")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_GRID_VALUES:
        raise _problem(f"this range grid has {count:,} values, more than {MAX_GRID_VALUES:,}; use a larger step")
    if all(isinstance(grid[key], int) for key in RANGE_KEYS):
        return tuple(int(start + i * step) for i in range(count))
    return tuple(round(start + i * step, RANGE_DECIMALS) for i in range(count))


def list_values(values: list[Any]) -> tuple[Scalar, ...]:
    """The values of a list grid: non-empty, each a number, text or true/false, none twice."""
    if not values:
        raise _problem("an empty list is no value; give one value, or a list of the values to search")
    if len(values) > MAX_GRID_VALUES:
        raise _problem(f"this grid has {len(values):,} values, more than {MAX_GRID_VALUES:,}")
    for value in values:
        if not isinstance(value, bool | int | float | str) or (_is_number(value) and not math.isfinite(value)):
            raise _problem(f"a grid's values must be finite numbers, text or true/false (got {_describe(value)})")
    if len(set(values)) != len(values):
        twice = next(v for i, v in enumerate(values) if v in values[:i])
        raise _problem(f"the grid lists {_describe(twice)} twice; list each value once")
    return tuple(values)


def grid_values(value: Any) -> tuple[Scalar, ...] | None:
    """The values `value` stands for when it is a grid of at least two values; None for a single value (a list of
    one included: see :func:`single_value`)."""
    if isinstance(value, list | tuple):
        values = list_values(list(value))
    elif isinstance(value, dict):
        values = range_values(value)
    else:
        return None
    return values if len(values) > 1 else None


def single_value(value: Any) -> Any:
    """`value` with a one-value grid unwrapped (``[10]`` and ``{start: 10, stop: 10, step: 1}`` are 10)."""
    if isinstance(value, list | tuple | dict) and grid_values(value) is None:
        return (range_values(value) if isinstance(value, dict) else list_values(list(value)))[0]
    return value


def describe_grids(grids: dict[str, tuple[Any, ...]]) -> str:
    """``params.fast (3 values), scanner.relative_volume.min (5 values)``."""
    return ", ".join(f"{name} ({len(values)} values)" for name, values in grids.items())
