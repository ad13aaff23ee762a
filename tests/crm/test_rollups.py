"""The rollup registry: a day rebuilt records when, a report's as_of is its oldest day, missing days
say the figures are incomplete, the refresh runs when due, and the CLI rebuilds a range."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm.rollups import service as rollups
from crm.rollups.service import as_of, business_day, day_bounds, rebuild, refresh_when_due
from shop.extensions import db

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def counted(monkeypatch):
    """Only a counting rollup registered: it remembers the days it built."""
    built: list[date] = []
    monkeypatch.setattr(rollups, "ROLLUPS", {"counting": lambda day, now: built.append(day)})
    return built


def test_business_days_are_shanghai_days():
    assert business_day(datetime(2026, 12, 6, 16, 30, tzinfo=UTC)) == date(2026, 12, 7)
    start, end = day_bounds(date(2026, 12, 7))
    assert (start, end) == (datetime(2026, 12, 6, 16, tzinfo=UTC), datetime(2026, 12, 7, 16, tzinfo=UTC))


def test_a_rebuilt_range_is_complete_and_its_as_of_is_the_oldest_build(app, counted):
    with app.app_context():
        assert rebuild(date(2026, 12, 1), date(2026, 12, 3), NOW) == 3
        rebuild(date(2026, 12, 2), date(2026, 12, 2), NOW + timedelta(hours=1))
        assert counted == [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 2)]
        assert as_of("counting", date(2026, 12, 1), date(2026, 12, 3)) == NOW
        assert as_of("counting", date(2026, 12, 2), date(2026, 12, 2)) == NOW + timedelta(hours=1)
        assert as_of("counting", date(2026, 12, 1), date(2026, 12, 4)) is None  # the 4th was never built


def test_the_refresh_rebuilds_the_last_three_days_only_when_due(app, counted):
    app.config["CRM_ROLLUP_REFRESH_MINUTES"] = 15
    with app.app_context():
        assert refresh_when_due(NOW) == {"days": 3}
        assert counted == [date(2026, 12, 5), date(2026, 12, 6), date(2026, 12, 7)]
        assert refresh_when_due(NOW + timedelta(minutes=10)) == "fresh"
        assert refresh_when_due(NOW + timedelta(minutes=16)) == {"days": 3}
        db.session.rollback()


def test_rebuild_rollups_command_rebuilds_the_range_and_refuses_a_backwards_one(app, counted):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["crm", "rebuild-rollups", "--from", "2026-11-30", "--to", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "rebuilt 2 rollup days" in result.output
    assert counted == [date(2026, 11, 30), date(2026, 12, 1)]
    backwards = runner.invoke(args=["crm", "rebuild-rollups", "--from", "2026-12-02", "--to", "2026-12-01"])
    assert backwards.exit_code != 0 and "--to is before --from" in backwards.output
    unknown = runner.invoke(args=["crm", "rebuild-rollups", "--from", "2026-12-01", "--to", "2026-12-01",
                                  "--only", "nope"])
    assert unknown.exit_code != 0 and "nope" in unknown.output
