"""The four signals a strategy gives at a bar's close, as bits of one small integer.

A strategy kernel (tapescan/kernels/strategies.py) returns their sum for each bar; the simulator
(tapescan/kernels/portfolio.py) masks them by direction and acts on them (docs/spec/backtest.md "From signal
to order"). Signals computed in Python (`tapescan.simulate`, the `scanner` strategy, a user's strategy
function) arrive as the same bits in an int8 array per session.
"""

from __future__ import annotations

LONG_ENTRY = 1
LONG_EXIT = 2
SHORT_ENTRY = 4
SHORT_EXIT = 8
LONG_SIGNALS = LONG_ENTRY | LONG_EXIT
SHORT_SIGNALS = SHORT_ENTRY | SHORT_EXIT
#: The signals as columns of a frame (a user's strategy function, `strategy_signals`), with their bits.
SIGNAL_BITS = {"long_entry": LONG_ENTRY, "long_exit": LONG_EXIT, "short_entry": SHORT_ENTRY,
               "short_exit": SHORT_EXIT}
SIGNAL_COLUMNS = tuple(SIGNAL_BITS)
