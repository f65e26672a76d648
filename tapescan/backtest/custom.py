"""Your own strategy in Python: ``strategy: "package.module:function"`` in a strategy file.

The function takes one symbol's bars and the file's ``params`` as keyword arguments and returns that symbol's
signals, decided at each bar's close from bars up to and including it (docs/spec/backtest.md)::

    def breakout(bars: pd.DataFrame, lookback: int = 20) -> pd.DataFrame: ...

- ``bars``: columns ts (tz-aware bar start, America/New_York), open, high, low, close, volume; the symbol's
  regular-session 1-minute bars of the run (warm-up sessions included), in time order, default index.
- returns: a DataFrame with the same number of rows and boolean columns long_entry, long_exit, short_entry,
  short_exit (a missing one is all false); with ``account.rank_by: NAME``, also a float column NAME.

The module is imported when the strategy file is loaded, so that a typo in its name or a parameter the
function does not take is reported then, not after the data is read.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from tapescan.errors import TapescanError
from tapescan.kernels.signals import SIGNAL_COLUMNS

#: The signal columns a strategy function returns, in the order of the signal bits (tapescan.kernels.signals).
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_FORM = '"package.module:function", such as "tapescan.backtest.example_signals:breakout"'


class StrategyFunctionError(TapescanError):
    """A strategy function that cannot be imported or called as the strategy file says, or whose result is not
    four boolean signal columns."""


def is_function_reference(name: str) -> bool:
    """Whether `name` is written as a function reference (has a ':'), not a built-in strategy's name."""
    return ":" in name


def resolve_function(reference: str) -> Callable[..., Any]:
    """The function `reference` ("package.module:function") names, imported now; StrategyFunctionError in plain
    words when the text, the module or the function is wrong."""
    module_name, _, function_name = reference.partition(":")
    module_name, function_name = module_name.strip(), function_name.strip()
    if not _DOTTED.fullmatch(module_name) or not function_name.isidentifier():
        raise StrategyFunctionError(f"{reference!r} is not a function reference; write it as {_FORM}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        raise StrategyFunctionError(
            f"module {module_name!r} cannot be imported: no module named {missing!r}. Install the package that "
            "holds it, or run from the folder that holds it (or add that folder to PYTHONPATH)") from None
    except Exception as exc:  # the user's module failed while importing: say how, without our traceback
        raise StrategyFunctionError(
            f"module {module_name!r} failed while being imported: {type(exc).__name__}: {exc}") from None
    function = getattr(module, function_name, None)
    if function is None:
        names = [n for n, v in vars(module).items() if callable(v) and not n.startswith("_")]
        close = difflib.get_close_matches(function_name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; it has {', '.join(sorted(names)) or 'no functions'}"
        raise StrategyFunctionError(f"module {module_name!r} has no function {function_name!r}{hint}")
    if not callable(function):
        raise StrategyFunctionError(f"{module_name}:{function_name} is a {type(function).__name__}, not a function")
    return function


def check_params(function: Callable[..., Any], params: Mapping[str, Any]) -> None:
    """StrategyFunctionError when `function` cannot be called as function(bars, **params): a parameter it does not
    take (the nearest one suggested) or one it needs that `params` lacks."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: it will be called and judged then
        return
    try:
        signature.bind(None, **params)
    except TypeError as exc:
        taken = [n for n in list(signature.parameters)[1:]
                 if signature.parameters[n].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                     inspect.Parameter.KEYWORD_ONLY)]
        wrong = [name for name in params if name not in taken]
        if wrong and not any(p.kind == inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()):
            close = difflib.get_close_matches(wrong[0], taken, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(taken) or 'no parameters'}"
            raise StrategyFunctionError(f"params.{wrong[0]}: {function.__name__}() has no parameter {wrong[0]!r}{hint}") from None
        raise StrategyFunctionError(f"params: {function.__name__}(bars, **params) cannot be called with these params: "
                                    f"{exc}") from None


def user_signals(function: Callable[..., Any], bars: pd.DataFrame, params: Mapping[str, Any],
                 extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """`function`(bars, **params) checked: one row per bar, the four signal columns as booleans (missing ones
    false) and the `extra` columns (such as rank_by's) as float64."""
    name = getattr(function, "__name__", repr(function))
    result = function(bars, **params)
    if not isinstance(result, pd.DataFrame):
        raise StrategyFunctionError(f"{name}() returned {type(result).__name__}; return a DataFrame with columns "
                                    f"{', '.join(SIGNAL_COLUMNS)}")
    if len(result) != len(bars):
        raise StrategyFunctionError(f"{name}() returned {len(result)} rows for {len(bars)} bars; return one row "
                                    "per bar")
    if not any(column in result.columns for column in SIGNAL_COLUMNS):
        raise StrategyFunctionError(f"{name}() returned columns {', '.join(map(str, result.columns))}; return at "
                                    f"least one of {', '.join(SIGNAL_COLUMNS)}")
    out = {}
    for column in SIGNAL_COLUMNS:
        values = result[column].to_numpy() if column in result.columns else np.zeros(len(bars), dtype=bool)
        if values.dtype != bool:
            raise StrategyFunctionError(f"{name}() returned {column} as {values.dtype}; return true/false values")
        out[column] = values
    for column in extra:
        if column not in result.columns:
            raise StrategyFunctionError(f"account.rank_by is {column!r} but {name}() returned no such column")
        out[column] = pd.to_numeric(result[column], errors="raise").to_numpy(dtype="float64")
    return pd.DataFrame(out)
