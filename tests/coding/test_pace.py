"""Coding pace from submission times (coding/pace.py, pure)."""

import datetime as dt

from coding.pace import coder_pace, duration_label

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _at(*minutes: float) -> list[dt.datetime]:
    return [T0 + dt.timedelta(minutes=m) for m in minutes]


def test_gaps_within_a_session_are_item_times_and_breaks_are_left_out():
    # 9:00, 9:02, 9:06, 9:09 | lunch | 13:00, 13:05: measured gaps of 2, 4, 3 and 5 minutes.
    pace = coder_pace(_at(0, 2, 6, 9, 240, 245))
    assert pace.submitted == 6 and pace.measured == 4
    assert pace.median_seconds == 210  # median of 120, 180, 240, 300
    assert pace.items_per_hour == 4 * 3600 / (14 * 60)
    assert pace.first == T0 and pace.last == T0 + dt.timedelta(minutes=245)


def test_order_does_not_matter_and_nothing_to_measure_is_none():
    assert coder_pace(_at(5, 0, 2)) == coder_pace(_at(0, 2, 5))
    for times in ([], _at(0), _at(0, 45)):
        pace = coder_pace(times)
        assert pace.median_seconds is None and pace.items_per_hour is None


def test_duration_labels():
    assert duration_label(None) == "—"
    assert duration_label(42.4) == "42 s"
    assert duration_label(185) == "3 min 05 s"
    assert duration_label(3720) == "1 h 02 min"
