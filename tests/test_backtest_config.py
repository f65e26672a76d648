"""Strategy files (docs/spec/backtest.md "Strategy file"): the spec's defaults, an error naming the file and the
dotted key for every bad field, nearest-key suggestions, a scanner config named as such, grids parsed and
refused by backtest, the user's own functions checked at load time, the warnings for legal nonsense, the flat
settings of tapescan.simulate, and the shipped examples loading cleanly."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tapescan.backtest.config import (
    StrategyConfig,
    StrategyConfigError,
    as_strategy_config,
    load_strategy_config,
    settings_from_flat,
)
from tapescan.backtest.custom import StrategyFunctionError, user_signals
from tapescan.backtest.example_signals import breakout
from tapescan.kernels.signals import SIGNAL_COLUMNS

EXAMPLES = Path(__file__).resolve().parents[1] / "tapescan" / "data" / "examples" / "strategies"
SCANNER_BODY = {"symbols": ["AAPL", "SPY"], "relative_volume": {"min": 2, "days": 5}}


def problems(document: dict, **kwargs) -> str:
    """The message of the StrategyConfigError `document` raises."""
    with pytest.raises(StrategyConfigError) as caught:
        as_strategy_config(document, **kwargs)
    return str(caught.value)


def warnings_of(**document) -> list[str]:
    return StrategyConfig.model_validate(document).warnings()


# ------------------------------------------------------------------------------------------------ defaults


def test_every_key_but_strategy_has_the_spec_default():
    config = as_strategy_config({"strategy": "sma_cross"})
    assert config.params == {} and config.universe.is_empty() and config.scanner is None
    assert config.direction == "long" and config.warmup_sessions == 0
    assert (config.execution.fill, config.execution.slippage_pct, config.execution.fee_pct,
            config.execution.fee_per_order) == ("next_open", 0.0, 0.0, 0.0)
    assert (config.size.kind, config.size.amount) == ("shares", 100.0)
    account = config.account
    assert (account.mode, account.init_cash, account.max_positions, account.max_position_pct, account.rank_by) == (
        "per_symbol", 100000.0, None, None, None)
    assert all(getattr(config.stops, key) is None for key in ("stop_loss_pct", "take_profit_pct",
                                                             "trailing_stop_pct", "max_minutes"))
    assert (config.session.entry_start, config.session.entry_end, config.session.flat_at_close) == (
        dt.time(9, 30), dt.time(16, 0), True)
    assert config.warnings() == [] and config.grids() == {}


def test_json_yaml_and_toml_files_give_the_same_config(tmp_path):
    document = {"strategy": "rsi_reversion", "params": {"period": 10, "lower": 20, "upper": 80},
                "execution": {"fill": "close", "fee_per_order": 1.5}, "size": {"percent_equity": 25},
                "stops": {"trailing_stop_pct": 1.5}, "session": {"entry_start": "10:00", "flat_at_close": False}}
    (tmp_path / "s.json").write_text(json.dumps(document))
    (tmp_path / "s.yaml").write_text(
        "strategy: rsi_reversion\nparams: {period: 10, lower: 20, upper: 80}\n"
        "execution: {fill: close, fee_per_order: 1.5}\nsize: {percent_equity: 25}\n"
        "stops: {trailing_stop_pct: 1.5}\nsession: {entry_start: \"10:00\", flat_at_close: false}\n")
    (tmp_path / "s.toml").write_text(
        'strategy = "rsi_reversion"\n[params]\nperiod = 10\nlower = 20\nupper = 80\n'
        '[execution]\nfill = "close"\nfee_per_order = 1.5\n[size]\npercent_equity = 25\n'
        '[stops]\ntrailing_stop_pct = 1.5\n[session]\nentry_start = "10:00"\nflat_at_close = false\n')
    configs = [load_strategy_config(tmp_path / name) for name in ("s.json", "s.yaml", "s.toml")]
    assert configs[0].model_dump() == configs[1].model_dump() == configs[2].model_dump()
    assert configs[0].source == tmp_path / "s.json"
    assert configs[0].session.entry_start == dt.time(10, 0) and configs[0].size.percent_equity == 25


def test_a_config_dumped_loads_back_equal_grids_included():
    config = as_strategy_config({"strategy": "scanner", "scanner": {"relative_volume": {"min": [1.5, 2, 3]}},
                                 "session": {"entry_end": "15:00"}}, grids=True)
    for document in (config.model_dump(), json.loads(config.model_dump_json())):
        again = as_strategy_config(document, grids=True)
        assert again == config and again.grids() == {"scanner.relative_volume.min": (1.5, 2, 3)}


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(("patch", "where"), [
    ({"strategy": 3}, "strategy"),
    ({"params": {"fast": "ten"}}, "params.fast"),
    ({"params": {"fast": 30, "slow": 10}}, "params.fast"),
    ({"universe": {"symbols": ["BAD TICKER"]}}, "universe.symbols[0]"),
    ({"universe": {"symbols_group": ["NOPE"]}}, "universe.symbols_group[0]"),
    ({"universe": {"exclude_symbols": [""]}}, "universe.exclude_symbols[0]"),
    ({"scanner": SCANNER_BODY}, "scanner"),
    ({"direction": "sideways"}, "direction"),
    ({"warmup_sessions": -1}, "warmup_sessions"),
    ({"warmup_sessions": 1.5}, "warmup_sessions"),
    ({"execution": {"fill": "open"}}, "execution.fill"),
    ({"execution": {"slippage_pct": -0.1}}, "execution.slippage_pct"),
    ({"execution": {"slippage_pct": 100}}, "execution.slippage_pct"),
    ({"execution": {"fee_pct": "1"}}, "execution.fee_pct"),
    ({"execution": {"fee_per_order": -1}}, "execution.fee_per_order"),
    ({"size": {"shares": 0}}, "size.shares"),
    ({"size": {"shares": 2.5}}, "size.shares"),
    ({"size": {"value": 0}}, "size.value"),
    ({"size": {"percent_equity": -5}}, "size.percent_equity"),
    ({"size": {}}, "size"),
    ({"size": {"shares": 10, "percent_equity": 5}}, "size"),
    ({"account": {"mode": "joint"}}, "account.mode"),
    ({"account": {"init_cash": 0}}, "account.init_cash"),
    ({"account": {"max_positions": 0}}, "account.max_positions"),
    ({"account": {"max_position_pct": 0}}, "account.max_position_pct"),
    ({"account": {"max_position_pct": 100.5}}, "account.max_position_pct"),
    ({"account": {"rank_by": 7}}, "account.rank_by"),
    ({"account": {"rank_by": "rel_volume"}}, "account.rank_by"),
    ({"stops": {"stop_loss_pct": 0}}, "stops.stop_loss_pct"),
    ({"stops": {"take_profit_pct": -1}}, "stops.take_profit_pct"),
    ({"stops": {"trailing_stop_pct": math.nan}}, "stops.trailing_stop_pct"),
    ({"stops": {"max_minutes": 0}}, "stops.max_minutes"),
    ({"stops": {"max_minutes": 2.5}}, "stops.max_minutes"),
    ({"session": {"entry_start": "9:00"}}, "session.entry_start"),
    ({"session": {"entry_end": "25:00"}}, "session.entry_end"),
    ({"session": {"entry_start": 930}}, "session.entry_start"),
    ({"session": {"entry_start": "11:00", "entry_end": "11:00"}}, "session"),
    ({"session": {"flat_at_close": "yes"}}, "session.flat_at_close"),
    ({"stops": 5}, "stops"),
])
def test_every_bad_field_is_named_by_its_dotted_key(patch, where):
    message = problems({"strategy": "sma_cross", **patch})
    assert message.startswith("The strategy config has a problem:\n"), message
    line = message.splitlines()[1]
    assert line.startswith(f"  {where}") and "\n" not in line, message
    assert "Input should" not in message and "pydantic" not in message and "Value error" not in message


def test_every_problem_is_listed_at_once_and_the_file_is_named(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("strategy: sma_cross\nexecution: {fill: open}\nstops: {stop_loss_pct: 0}\n")
    with pytest.raises(StrategyConfigError) as caught:
        load_strategy_config(path)
    message = str(caught.value)
    assert message.startswith(f"Strategy file {path} has 2 problems:")
    assert "  execution.fill: must be one of 'next_open' or 'close' (got the text 'open')" in message
    assert "  stops.stop_loss_pct must be above 0 (got 0)" in message
    assert 'docs/spec/backtest.md ("Strategy file")' in message


def test_a_syntax_error_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("strategy: sma_cross\nparams: {fast: 10\nsize: {shares: 5}\n")
    with pytest.raises(StrategyConfigError, match=rf"Strategy file {path} is not valid YAML: line 3"):
        load_strategy_config(path)
    with pytest.raises(StrategyConfigError, match="is empty"):
        (tmp_path / "empty.yaml").write_text("# nothing yet\n")
        load_strategy_config(tmp_path / "empty.yaml")
    with pytest.raises(StrategyConfigError, match="cannot read a .txt file"):
        load_strategy_config(tmp_path / "s.txt")


@pytest.mark.parametrize(("document", "line"), [
    ({"strateg": "sma_cross", "strategy": "orb"}, "  strateg: unknown key; did you mean 'strategy'?"),
    ({"strategy": "orb", "stop": {}}, "  stop: unknown key; did you mean 'stops'?"),
    ({"strategy": "orb", "execution": {"slipage_pct": 1}}, "  execution.slipage_pct: unknown key; did you mean "
                                                          "'slippage_pct'?"),
    ({"strategy": "orb", "account": {"max_position": 3}}, "  account.max_position: unknown key; did you mean "
                                                         "'max_positions'?"),
    ({"strategy": "orb", "session": {"flat_at_the_close": True}}, "  session.flat_at_the_close: unknown key; did "
                                                                  "you mean 'flat_at_close'?"),
    ({"strategy": "scanner", "scanner": {"relative_volum": {"min": 2}}},
     "  scanner.relative_volum: unknown key; did you mean 'relative_volume'?"),
    ({"strategy": "sma_cros"}, "  strategy: unknown strategy 'sma_cros'; did you mean 'sma_cross'?"),
    ({"strategy": "sma_cross", "params": {"fats": 5}}, "  params.fats: sma_cross has no parameter 'fats'; did you "
                                                       "mean 'fast'?"),
    ({"strategy": "scanner", "scanner": SCANNER_BODY, "account": {"mode": "shared", "rank_by": "rel_volum"}},
     "  account.rank_by 'rel_volum' is not a scan value; did you mean 'rel_volume'?"),
])
def test_a_misspelt_key_or_name_suggests_the_nearest(document, line):
    message = problems(document)
    assert line in message, message


def test_a_scanner_config_given_as_a_strategy_file_is_named_as_such(tmp_path):
    for name, document in (("wrapped.json", {"market_scanner_config": SCANNER_BODY}), ("bare.json", SCANNER_BODY)):
        path = tmp_path / name
        path.write_text(json.dumps(document))
        with pytest.raises(StrategyConfigError) as caught:
            load_strategy_config(path)
        message = " ".join(str(caught.value).split())
        assert f"Strategy file {path} looks like a scanner config (market_scanner_config), not a strategy file" in \
            message
        assert '{"strategy": "sma_cross"' in message and f"tapescan scan {path} --store" in message
        assert "unknown key" not in message


def test_the_strategy_is_required_and_signals_is_simulates_own():
    assert "  strategy: missing; name a built-in strategy" in problems({"params": {}})
    assert "unknown strategy 'signals'" in problems({"strategy": "signals"})


def test_the_scanner_block_belongs_to_strategy_scanner_alone():
    assert "  scanner: strategy: scanner trades the first hit of a scanner config" in problems({"strategy": "scanner"})
    assert "only strategy: scanner uses a scanner config (this file's strategy is orb)" in problems(
        {"strategy": "orb", "scanner": SCANNER_BODY})
    assert "  universe: strategy: scanner trades the scanner config's universe" in problems(
        {"strategy": "scanner", "scanner": SCANNER_BODY, "universe": {"symbols": ["AAPL"]}})
    assert "  scanner.relative_volume.days must be a whole number of sessions" in problems(
        {"strategy": "scanner", "scanner": {"relative_volume": {"min": 2, "days": 0}}})
    assert "takes no params" in problems({"strategy": "scanner", "scanner": SCANNER_BODY, "params": {"x": 1}})
    wrapped = as_strategy_config({"strategy": "scanner", "scanner": {"market_scanner_config": SCANNER_BODY}})
    assert wrapped.scanner.symbols == ["AAPL", "SPY"] and wrapped.scanner.relative_volume.min == 2


def test_rank_by_names_a_value_the_strategy_exposes():
    scanner = as_strategy_config({"strategy": "scanner", "scanner": SCANNER_BODY,
                                  "account": {"mode": "shared", "rank_by": "rel_volume"}})
    assert scanner.account.rank_by == "rel_volume"
    own = as_strategy_config({"strategy": "tapescan.backtest.example_signals:breakout",
                              "account": {"mode": "shared", "rank_by": "range_pct"}})
    assert own.account.rank_by == "range_pct"
    assert "account.rank_by: sma_cross exposes no value to rank entries by" in problems(
        {"strategy": "sma_cross", "account": {"mode": "shared", "rank_by": "rel_volume"}})


def test_user_groups_are_known_when_given(tmp_path):
    document = {"strategy": "orb", "universe": {"symbols_group": ["mine"]}}
    assert "unknown group 'MINE'" in problems(document)
    assert as_strategy_config(document, groups=["MINE"]).universe.symbols_group == ["MINE"]


# ------------------------------------------------------------------------------------------------ grids


def test_grids_are_parsed_and_named():
    config = as_strategy_config({
        "strategy": "bbands_reversion",
        "params": {"period": {"start": 10, "stop": 30, "step": 10}, "k": {"start": 1.5, "stop": 2.0, "step": 0.1}},
    }, grids=True)
    assert config.params == {"period": (10, 20, 30), "k": (1.5, 1.6, 1.7, 1.8, 1.9, 2.0)}
    assert all(isinstance(v, int) for v in config.params["period"])
    assert config.grids() == {"params.period": (10, 20, 30), "params.k": (1.5, 1.6, 1.7, 1.8, 1.9, 2.0)}
    scanner = as_strategy_config({"strategy": "scanner", "scanner": {
        "average_volume": {"min": [1e5, 1e6], "days": {"start": 5, "stop": 20, "step": 5}},
        "current_price_change_percentage": {"min": 2, "max": [10, 20]}}}, grids=True)
    assert scanner.grids() == {"scanner.average_volume.min": (1e5, 1e6), "scanner.average_volume.days": (5, 10, 15, 20),
                               "scanner.current_price_change_percentage.max": (10, 20)}
    assert scanner.scanner.average_volume.min == 1e5 and scanner.scanner.average_volume.days == 5  # runnable


def test_a_one_value_grid_is_that_value():
    config = as_strategy_config({"strategy": "sma_cross", "params": {"fast": [5], "slow": {"start": 20, "stop": 20,
                                                                                           "step": 1}}})
    assert config.params == {"fast": 5, "slow": 20} and config.grids() == {}


def test_backtest_refuses_grids_and_points_at_optimize(tmp_path):
    document = {"strategy": "sma_cross", "params": {"fast": [5, 10], "slow": 30}}
    message = problems(document)
    assert "has parameter grids: params.fast (2 values)" in message and "tapescan optimize" in message
    path = tmp_path / "grid.yaml"
    path.write_text("strategy: sma_cross\nparams: {fast: [5, 10]}\n")
    with pytest.raises(StrategyConfigError, match=f"Strategy file {path} has parameter grids"):
        as_strategy_config(path)
    config = load_strategy_config(path)  # loading alone keeps them, for optimize
    with pytest.raises(StrategyConfigError, match="tapescan optimize"):
        as_strategy_config(config)


@pytest.mark.parametrize(("grid", "said"), [
    ([], "an empty list is no value"),
    ([5, 5], "lists 5 twice"),
    ([5, None], "a grid's values must be finite numbers"),
    ({"start": 5, "stop": 10}, "step missing"),
    ({"start": 5, "stop": 10, "step": 1, "by": 2}, "it has no key 'by'"),
    ({"start": 5, "stop": 10, "step": 0}, "step must be above 0"),
    ({"start": 10, "stop": 5, "step": 1}, "start (10) is above its stop (5)"),
    ({"start": 1, "stop": 1e9, "step": 1}, "use a larger step"),
])
def test_a_bad_grid_is_named(grid, said):
    message = problems({"strategy": "sma_cross", "params": {"fast": grid}}, grids=True)
    assert "  params.fast: " in message and said in message, message


def test_a_grid_value_that_never_runs_is_an_error_one_that_sometimes_does_is_a_warning():
    message = problems({"strategy": "sma_cross", "params": {"fast": [40, 50], "slow": 30}}, grids=True)
    assert "params.fast of sma_cross must be less than params.slow" in message
    config = as_strategy_config({"strategy": "sma_cross", "params": {"fast": [5, 40], "slow": [30, 60]}}, grids=True)
    assert config.warnings() == ["params: 1 of 4 combinations cannot run (params.fast of sma_cross must be less than "
                                 "params.slow (fast 40, slow 30); swap them or pick another.); optimize skips them"]


# ------------------------------------------------------------------------------------------------ own functions


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module `my_signals` on sys.path, and one that fails on import."""
    (tmp_path / "my_signals.py").write_text(
        "import pandas as pd\nTHRESHOLD = 3\n\n"
        "def above(bars, level):\n"
        "    return pd.DataFrame({'long_entry': bars['close'] > level, 'long_exit': bars['close'] < level})\n")
    (tmp_path / "broken_signals.py").write_text("raise RuntimeError('no data feed configured')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


@pytest.mark.parametrize(("strategy", "said"), [
    ("my_signals:abovee", "module 'my_signals' has no function 'abovee'; did you mean 'above'?"),
    ("my_signals:THRESHOLD", "my_signals:THRESHOLD is a int, not a function"),
    ("missing_pkg.signals:f", "module 'missing_pkg.signals' cannot be imported: no module named 'missing_pkg'"),
    ("broken_signals:f", "module 'broken_signals' failed while being imported: RuntimeError: no data feed"),
    ("my_signals:", "'my_signals:' is not a function reference; write it as \"package.module:function\""),
    ("my signals:above", "is not a function reference"),
])
def test_a_function_that_cannot_be_imported_is_named_at_load_time(user_module, strategy, said):
    message = problems({"strategy": strategy})
    assert message.splitlines()[1].startswith("  strategy: ") and said in message, message


def test_a_functions_params_are_checked_against_its_signature(user_module):
    config = as_strategy_config({"strategy": "my_signals:above", "params": {"level": 2.5}})
    assert config.is_function and config.signal_function().__name__ == "above"
    assert "  params.levle: above() has no parameter 'levle'; did you mean 'level'?" in problems(
        {"strategy": "my_signals:above", "params": {"levle": 2.5}})
    assert "missing a required argument: 'level'" in problems({"strategy": "my_signals:above"})


def test_user_signals_are_four_boolean_columns_one_row_per_bar(user_module):
    config = as_strategy_config({"strategy": "my_signals:above", "params": {"level": 2.5}})
    bars = pd.DataFrame({"close": [1.0, 3.0, 2.0]})
    signals = user_signals(config.signal_function(), bars, config.params)
    assert list(signals.columns) == list(SIGNAL_COLUMNS)
    assert signals["long_entry"].tolist() == [False, True, False]
    assert signals["long_exit"].tolist() == [True, False, True]
    assert not signals["short_entry"].any() and not signals["short_exit"].any()
    with pytest.raises(StrategyFunctionError, match="returned 2 rows for 3 bars"):
        user_signals(lambda bars: pd.DataFrame({"long_entry": [True, False]}), bars, {})
    with pytest.raises(StrategyFunctionError, match="returned long_entry as float64; return true/false"):
        user_signals(lambda bars: pd.DataFrame({"long_entry": [1.0, 0.0, 1.0]}), bars, {})
    with pytest.raises(StrategyFunctionError, match="returned list"):
        user_signals(lambda bars: [], bars, {})
    with pytest.raises(StrategyFunctionError, match="rank_by is 'score' but"):
        user_signals(lambda bars: pd.DataFrame({"long_entry": [True] * 3}), bars, {}, extra=("score",))


def test_the_example_breakout_decides_from_earlier_bars_only():
    bars = pd.DataFrame({"high": [10.0, 11.0, 10.5, 12.5, 9.0], "low": [9.0, 10.0, 9.5, 11.0, 8.0],
                         "close": [9.5, 10.5, 10.0, 12.0, 8.5]})
    signals = breakout(bars, lookback=2)
    # bar 2: the two bars before span 9.0..11.0, close 10 inside; bar 3: before 10.0..11.0 (bars 1-2: highs 11,
    # 10.5), close 12 > 11; bar 4: before 9.5..12.5, close 8.5 < 9.5.
    assert signals["long_entry"].tolist() == [False, False, False, True, False]
    assert signals["long_exit"].tolist() == [False, False, False, False, True]
    assert signals["short_entry"].tolist() == signals["long_exit"].tolist()
    assert signals["short_exit"].tolist() == signals["long_entry"].tolist()
    assert np.isclose(signals["range_pct"].iloc[3], 100 * (11.0 - 9.5) / 12.0)


# ------------------------------------------------------------------------------------------------ warnings


@pytest.mark.parametrize(("document", "start"), [
    # the level is P * (1 + tp) from the entry fill P; the exit fills at level * (1 - slippage), fees on both fills:
    # break-even at tp = (1 + fee) / ((1 - slippage) * (1 - fee)) - 1 = 0.15012...% here
    ({"strategy": "sma_cross", "execution": {"slippage_pct": 0.05, "fee_pct": 0.05}, "stops": {"take_profit_pct": 0.15}},
     "stops.take_profit_pct 0.15 is at or below the cost of its round trip in fees and slippage (break-even at 0.150"),
    ({"strategy": "sma_cross", "session": {"entry_start": "15:58"}},
     "session.entry_start 15:58: with fill next_open and flat_at_close, a signal after 15:57"),
    ({"strategy": "sma_cross", "execution": {"fill": "close"}, "session": {"entry_start": "15:59"}},
     "session.entry_start 15:59: with flat_at_close, a signal after 15:58"),
    ({"strategy": "sma_cross", "size": {"percent_equity": 150}}, "size.percent_equity 150 is more than the account"),
    ({"strategy": "sma_cross", "size": {"value": 200000}}, "size.value 200000 is more than account.init_cash 100000"),
    ({"strategy": "scanner", "scanner": SCANNER_BODY, "size": {"percent_equity": 30},
      "account": {"mode": "shared", "max_position_pct": 20}},
     "size.percent_equity 30 is above account.max_position_pct 20"),
    ({"strategy": "sma_cross", "account": {"max_positions": 5}}, "account.max_positions applies to shared accounts"),
    ({"strategy": "sma_cross", "account": {"max_position_pct": 10}}, "account.max_position_pct applies to shared"),
    ({"strategy": "scanner", "scanner": SCANNER_BODY, "account": {"rank_by": "rel_volume"}},
     "account.rank_by applies to shared accounts only"),
    ({"strategy": "sma_cross", "stops": {"stop_loss_pct": 100}}, "stops.stop_loss_pct 100: a price cannot fall 100%"),
    ({"strategy": "sma_cross", "direction": "both", "stops": {"trailing_stop_pct": 120}},
     "stops.trailing_stop_pct 120: a price cannot fall 100% or more, so this stop never triggers for long positions"),
    ({"strategy": "sma_cross", "stops": {"max_minutes": 390}}, "stops.max_minutes 390 is a whole session or more"),
    ({"strategy": "orb", "session": {"flat_at_close": False}}, "orb gives no exit signals, no stop is set"),
    ({"strategy": "orb", "params": {"minutes": 30}, "session": {"entry_end": "09:59"}},
     "orb's opening range of 30 minutes is first defined at 09:59, not before session.entry_end 09:59"),
    ({"strategy": "scanner", "scanner": {**SCANNER_BODY, "start_time": "14:00"}, "session": {"entry_end": "13:00"}},
     "the scanner's scan times 14:00-16:00 all lie outside the entry window 09:30-13:00"),
    ({"strategy": "scanner", "scanner": {"correlation": {"min": 1, "max": 10}}},
     "scanner: correlation min 1 / max 10: a correlation never exceeds 1"),
])
def test_each_warning_is_one_line_naming_its_key(document, start):
    warnings = StrategyConfig.model_validate(document).warnings()
    assert len(warnings) == 1 and warnings[0].startswith(start) and "\n" not in warnings[0], warnings


@pytest.mark.parametrize("document", [
    {"strategy": "sma_cross", "execution": {"slippage_pct": 0.05, "fee_pct": 0.05}, "stops": {"take_profit_pct": 0.1502}},
    {"strategy": "sma_cross", "session": {"entry_start": "15:57"}},
    {"strategy": "sma_cross", "session": {"entry_start": "15:59", "flat_at_close": False}, "execution": {"fill": "close"}},
    {"strategy": "sma_cross", "size": {"percent_equity": 100}},
    {"strategy": "sma_cross", "direction": "short", "stops": {"stop_loss_pct": 150}},
    {"strategy": "sma_cross", "stops": {"max_minutes": 389}},
    {"strategy": "sma_cross", "stops": {"max_minutes": 600}, "session": {"flat_at_close": False}},
    {"strategy": "orb", "session": {"flat_at_close": False}, "stops": {"max_minutes": 60}},
    {"strategy": "orb", "params": {"minutes": 30}, "session": {"entry_end": "10:00"}},
    {"strategy": "scanner", "scanner": {**SCANNER_BODY, "start_time": "13:01"}, "session": {"entry_end": "13:01"}},
])
def test_just_inside_each_warnings_limit_there_is_none(document):
    assert StrategyConfig.model_validate(document).warnings() == []


# ------------------------------------------------------------------------------------------------ simulate


def test_simulates_flat_keys_land_in_their_sections():
    config = settings_from_flat(direction="both", fill="close", slippage_pct=0.1, value=5000, mode="shared",
                                max_positions=3, stop_loss_pct=1, max_minutes=30, entry_start="10:00",
                                flat_at_close=False, warmup_sessions=2, rank_by="score", take_profit_pct=None)
    assert config.strategy == "signals" and config.direction == "both" and config.warmup_sessions == 2
    assert config.execution.fill == "close" and config.execution.slippage_pct == 0.1
    assert (config.size.kind, config.size.amount) == ("value", 5000.0)
    assert (config.account.mode, config.account.max_positions, config.account.rank_by) == ("shared", 3, "score")
    assert (config.stops.stop_loss_pct, config.stops.max_minutes, config.stops.take_profit_pct) == (1.0, 30, None)
    assert config.session.entry_start == dt.time(10, 0) and config.session.flat_at_close is False
    assert settings_from_flat() == settings_from_flat(shares=100)


def test_simulates_bad_settings_are_named_by_their_keyword():
    with pytest.raises(StrategyConfigError) as caught:
        settings_from_flat(fil="close", shares=0, entry_start="08:00", value=100, stop_loss=2)
    message = str(caught.value)
    assert message.startswith("tapescan.simulate's settings have 4 problems:")
    assert "  fil: unknown key; did you mean 'fill'?" in message
    assert "  stop_loss: unknown key; did you mean 'stop_loss_pct'?" in message
    assert "  shares must be a whole number, at least 1 (got 0)" in message
    assert "  entry_start 08:00 is outside the regular session 09:30-16:00" in message
    with pytest.raises(StrategyConfigError, match="  shares / value / percent_equity: give exactly one"):
        settings_from_flat(shares=10, value=100)


# ------------------------------------------------------------------------------------------------ examples


def test_the_examples_cover_the_spec_and_load_without_warnings():
    files = sorted(EXAMPLES.glob("*.*"))
    assert {f.suffix for f in files} >= {".yaml", ".toml"}
    configs = {f.name: load_strategy_config(f) for f in files if f.suffix in (".yaml", ".toml", ".json")}
    for name, config in configs.items():
        assert config.warnings() == [], name
        assert config.grids() == {}, name
    kinds = {config.strategy for config in configs.values()}
    assert {"sma_cross", "orb", "rsi_reversion", "scanner", "tapescan.backtest.example_signals:breakout"} <= kinds
    assert any(c.account.mode == "shared" and c.account.rank_by == "rel_volume" for c in configs.values())
    assert configs["sma_cross.yaml"].stops.stop_loss_pct is not None


def test_the_demos_strategy_file_is_what_the_demo_runs_and_loads_cleanly(tmp_path):
    from tapescan.demo import demo_scanner_document, demo_strategy

    config, path = demo_strategy(tmp_path)
    saved = load_strategy_config(path)
    assert saved.model_dump() == config.model_dump() and saved.warnings() == []
    assert config.strategy == "scanner"
    assert config.scanner == as_strategy_config({"strategy": "scanner", "scanner": demo_scanner_document()[0]}).scanner
