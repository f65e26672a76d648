"""Peers as second oracles: vectorbt for trades, empyrical-reloaded for statistics (the `peers` test extra).

`require_peer` skips a test when its peer is not installed, except under CI (CI=true), where a missing peer is an
error: there the extra is installed and a skip would hide that the comparison never ran.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require_peer(name: str) -> ModuleType:
    """The peer module `name`; skipped outside CI when it is absent (install: pip install -e '.[test,peers]')."""
    if os.environ.get("CI", "").lower() == "true":
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=f"{name} is a peer of the 'peers' extra: pip install -e '.[test,peers]'")
