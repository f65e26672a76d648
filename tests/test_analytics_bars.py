"""Derived bars on the CPU against the oracle written from docs/spec/metrics.md, and `tapescan bars --interval`."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tapescan.analytics import available_times, derived_panel, parse_interval
from tapescan.cli.main import app
from tapescan.errors import TapescanError
from tests import oracles
from tests.session_panels import panel_bars, panels


def long_form(panel) -> pd.DataFrame:
    frame = panel_bars(panel).sort_values(["symbol", "ts"], ignore_index=True)
    return frame[["symbol", "ts", "open", "high", "low", "close", "volume"]]


@settings(max_examples=40, deadline=None)
@given(panel=panels(), minutes=st.sampled_from([1, 2, 3, 5, 7, 15, 60, 390]))
def test_derived_bars_equal_the_oracle(panel, minutes):
    derived = derived_panel(panel, minutes, backend="cpu")
    expected = oracles.derived_bars(panel_bars(panel), minutes).sort_values(["symbol", "ts"], ignore_index=True)
    got = long_form(derived)
    assert len(got) == len(expected)
    if len(expected):
        pd.testing.assert_frame_equal(got.astype(expected.dtypes.to_dict()), expected, check_exact=True)


def test_buckets_align_to_the_open_and_the_last_ends_at_an_early_close(store):
    from tapescan.synth import write_synthetic_market

    write_synthetic_market(store, 5, "2024-11-29", "2024-11-29", seed=2)
    derived = derived_panel(store.read_session("2024-11-29"), 60, backend="cpu")
    assert [t.strftime("%H:%M") for t in derived.minutes] == ["09:30", "10:30", "11:30", "12:30"]
    assert [t.strftime("%H:%M") for t in available_times(derived, 60)] == ["10:30", "11:30", "12:30", "13:00"]


@pytest.mark.parametrize(("text", "minutes"), [("1m", 1), ("5m", 5), ("15M", 15), ("1h", 60), ("2h", 120)])
def test_intervals_are_read_in_minutes(text, minutes):
    assert parse_interval(text) == minutes


@pytest.mark.parametrize("text", ["0m", "5", "5x", "m", "-5m", "1.5h"])
def test_bad_intervals_are_refused_with_the_forms_that_work(text):
    with pytest.raises(TapescanError, match="e.g. 1m, 5m"):
        parse_interval(text)


def test_bars_command_prints_derived_bars(store, tmp_path):
    from tapescan.synth import write_synthetic_market

    write_synthetic_market(store, 5, "2024-11-27", "2024-11-29", seed=2)
    out = tmp_path / "bars.csv"
    result = CliRunner().invoke(app, ["--quiet", "bars", "AAPL", "--store", str(store.path), "--start", "2024-11-27",
                                      "--end", "2024-11-29", "--interval", "15m", "--output", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out)
    one_minute = store.read_bars("AAPL", "2024-11-27", "2024-11-29")
    expected = oracles.derived_bars(one_minute.assign(symbol="AAPL"), 15)
    assert len(frame) == len(expected) and frame["volume"].tolist() == expected["volume"].tolist()
    assert frame["ts"].iloc[0] == "2024-11-27T09:30:00-05:00"
