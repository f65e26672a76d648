"""Build tests/data/nyse_golden_2000_2026.csv from exchange_calendars (XNYS), independently of tapescan.

The golden file lets the test suite check tapescan's calendar (pandas-market-calendars) against a second,
independent library without installing it: one row per weekday 2000-01-01..2026-12-31,
`date,kind,open,close,early_close`, where kind is `session` or `holiday`, open/close are ET `HH:MM` (empty on
holidays) and early_close says whether the session closed before 16:00 ET.

Run once, from the repository root, with the `dev` extra installed:

    python tools/build_calendar_golden.py [OUTPUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import exchange_calendars as xcals
import pandas as pd

FIRST, LAST = "2000-01-01", "2026-12-31"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "nyse_golden_2000_2026.csv"


def golden_frame() -> pd.DataFrame:
    """One row per weekday in [FIRST, LAST], as XNYS sees it."""
    schedule = xcals.get_calendar("XNYS", start=FIRST, end=LAST).schedule
    opens = schedule["open"].dt.tz_convert("America/New_York")
    closes = schedule["close"].dt.tz_convert("America/New_York")
    sessions = pd.DataFrame(
        {
            "kind": "session",
            "open": opens.dt.strftime("%H:%M"),
            "close": closes.dt.strftime("%H:%M"),
            "early_close": (closes.dt.hour * 60 + closes.dt.minute < 16 * 60).map({True: "true", False: "false"}),
        },
        index=schedule.index,
    )
    weekdays = pd.bdate_range(FIRST, LAST)
    frame = sessions.reindex(weekdays)
    closed = frame["kind"].isna()
    frame.loc[closed, ["kind", "open", "close", "early_close"]] = ["holiday", "", "", "false"]
    frame.index = weekdays.strftime("%Y-%m-%d")
    return frame.rename_axis("date").reset_index()


def main(argv: list[str]) -> None:
    """Write the golden CSV to argv[0] or the default path."""
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    frame = golden_frame()
    frame.to_csv(output, index=False, lineterminator="\n")
    print(f"wrote {len(frame)} weekdays ({(frame['kind'] == 'holiday').sum()} holidays) to {output}")


if __name__ == "__main__":
    main(sys.argv[1:])
