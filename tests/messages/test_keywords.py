"""Each kind of template keyword within WeChat's rule: trimmed where trimming keeps the meaning,
refused where it would not."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shop.messages.keywords import fit
from shop.messages.templates import LAYOUTS
from shop.wechat.stub.subscribe_messages import KIND_CHECKS, LIBRARY


def test_a_thing_is_cut_to_20_characters_with_an_ellipsis_and_kept_on_one_line():
    assert fit("thing", "People's Square\nshop\t") == "People's Square shop"
    long = fit("thing", "人民广场旗舰店（南京东路步行街入口处左转）")
    assert len(long) == 20 and long.endswith("…")
    assert fit("thing", "a" * 20) == "a" * 20


def test_a_phrase_is_five_chinese_characters_at_most_and_nothing_else():
    assert fit("phrase", "待取餐") == "待取餐"
    assert fit("phrase", "订单已经可以取餐") == "订单已经可"
    with pytest.raises(ValueError):
        fit("phrase", "ready")


def test_a_name_is_ten_chinese_characters_or_twenty_letters():
    assert fit("name", "欧阳娜娜娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜娜…"
    assert fit("name", "Alexandra Montgomery-Smith") == "Alexandra Montgomer…"


def test_a_character_string_is_never_cut_and_refuses_chinese_and_spaces():
    assert fit("character_string", "R20261207ABCDEF") == "R20261207ABCDEF"
    for bad in ("x" * 33, "取餐码 123", "", "12 34"):
        with pytest.raises(ValueError):
            fit("character_string", bad)


def test_an_amount_is_yuan_from_fen_with_an_optional_yuan_sign():
    assert fit("amount", 7200) == "72.00元"
    assert fit("amount", 5) == "0.05元"
    assert fit("amount", "￥99.01") == "￥99.01"
    for bad in (-1, 10**12 * 100, "99.999", "about 10", True):
        with pytest.raises(ValueError):
            fit("amount", bad)


def test_times_and_dates_are_written_in_the_brands_zone_as_wechat_shows_them():
    at = datetime(2026, 12, 7, 7, 1, tzinfo=UTC)  # 15:01 in Shanghai
    assert fit("time", at) == "2026年12月7日 15:01"
    assert fit("time", "15:01~16:30") == "15:01~16:30"
    assert fit("date", date(2026, 1, 2)) == "2026年1月2日"
    assert fit("date", at) == "2026年12月7日 15:01"
    for kind, bad in (("time", "3pm"), ("date", "2026-12-07"), ("time", datetime(2026, 1, 1))):
        with pytest.raises(ValueError):
            fit(kind, bad)


def test_a_number_is_digits_only():
    assert fit("number", 42) == "42"
    with pytest.raises(ValueError):
        fit("number", "4x2")


def test_a_kind_without_a_rule_or_an_empty_value_is_our_bug():
    with pytest.raises(ValueError):
        fit("emoji", "x")
    with pytest.raises(ValueError):
        fit("thing", " \n ")


def test_the_stub_knows_every_template_ripple_sends_and_what_fits_passes_its_check():
    for layout in LAYOUTS.values():
        assert LIBRARY[layout.dev_template_id] == dict(layout.keywords)
    samples = {"thing": "人民广场旗舰店（南京东路步行街入口处左转）", "phrase": "订单已经可以取餐", "name": "Alexandra Montgomery-Smith",
               "character_string": "R-123", "number": 12, "amount": 123456, "time": datetime.now(UTC),
               "date": date.today()}
    for kind, check in KIND_CHECKS.items():
        assert check(fit(kind, samples[kind])), kind
