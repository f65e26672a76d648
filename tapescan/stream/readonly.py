"""Read-only views of what the coordinator owns: what consumers and live sources get instead of session_data.

The coordinator thread is session_data's only writer; anyone else reads it through a `ReadOnly` view. A view
reads through to the owner as it is now (so it never goes stale: the owner keeps writing, and replacing, its
own arrays), and everything it hands out is read-only: arrays as non-writeable views, records (derived bars,
panels, items) as copies holding such views, dicts and lists as copies of views, frames as copy-on-write
copies. Methods are offered only when they only read (READ_METHODS); setting anything raises.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

#: The methods of session_data (and of its derived bars) that only read.
READ_METHODS = frozenset({"bar_quality", "first_last_bar", "missing_minutes", "pending_bucket_start"})


class ReadOnly:
    """A read-only view of `owner` (session_data)."""

    __slots__ = ("_owner",)

    def __init__(self, owner: object) -> None:
        object.__setattr__(self, "_owner", owner)

    def __getattr__(self, name: str) -> object:
        value = getattr(self._owner, name)
        if callable(value) and name not in READ_METHODS:
            raise AttributeError(f"{name!r} is not offered by a read-only view: only the coordinator thread "
                                 "writes session_data")
        return value if callable(value) else read_only(value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot set {name!r}: this view of session_data is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: this view of session_data is read-only")


def read_only(value: object) -> object:
    """`value` as a reader may hold it: its arrays non-writeable views of the owner's, containers copied."""
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=False)  # copy-on-write: writing to it never reaches the owner's frame
    if isinstance(value, dict):
        return {key: read_only(item) for key, item in value.items()}
    if isinstance(value, list):
        return [read_only(item) for item in value]
    if isinstance(value, tuple):
        return tuple(read_only(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: read_only(getattr(value, f.name))
                                             for f in dataclasses.fields(value) if f.init})
    return value
