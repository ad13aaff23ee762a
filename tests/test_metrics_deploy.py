"""The alert rules and the dashboard in deploy/ watch metrics the app declares (shop/metrics.py), with
labels those metrics have: a renamed metric or label breaks this test, not the alert that should page."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from app import ROOT
from shop import metrics

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "ripple.json"
SERIES = re.compile(r"\b(ripple_[a-z0-9_]+)\b(\{[^}]*\})?")
MATCHER = re.compile(r"([a-z_]+)\s*(?:=~|!~|!=|=)")
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_count", "_sum")}


def declared() -> dict[str, set[str]]:
    """Every series name the app exposes -> the labels it carries."""
    series = {}
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for suffix in SUFFIXES[metric._type]:  # noqa: SLF001 - prometheus_client's kind of metric
                labels = set(metric._labelnames) | ({"le"} if suffix == "_bucket" else set())  # noqa: SLF001
                series[metric._name + suffix] = labels  # noqa: SLF001
    return series


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def panel_expressions() -> list[str]:
    return [target["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for target in panel["targets"]]


def expressions() -> list[str]:
    return [rule["expr"] for rule in alert_rules()] + panel_expressions()


def test_every_alert_says_who_it_wakes_and_what_to_do():
    rules = alert_rules()
    assert len({rule["alert"] for rule in rules}) == len(rules)
    for rule in rules:
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
    paging = " ".join(rule["expr"] for rule in rules if rule["labels"]["severity"] == "page")
    for watched in ("status=~\"5..\"", "ripple_outbox_overdue", "ripple_pay_notifies_rejected_total",
                    "ripple_coupon_gate_rebuilds_total", "ripple_bill_reconciliations_total{outcome=\"failed\"}"):
        assert watched in paging, f"nothing pages on {watched}"


@pytest.mark.parametrize("expression", expressions())
def test_each_expression_names_declared_metrics_and_their_labels(expression):
    series = declared()
    assert expression.count("(") == expression.count(")") and expression.count("{") == expression.count("}")
    used = SERIES.findall(expression)
    assert used, expression
    for name, selector in used:
        assert name in series, f"{name} is not a metric the app declares (shop/metrics.py)"
        assert set(MATCHER.findall(selector)) <= series[name], f"{selector} names a label {name} lacks"


def test_the_dashboard_shows_every_metric_the_app_declares():
    shown = {name for expression in panel_expressions() for name, _ in SERIES.findall(expression)}
    families = {name.removesuffix("_total").removesuffix("_bucket") for name in shown}
    missing = {metric._name for metric in vars(metrics).values()  # noqa: SLF001
               if isinstance(metric, MetricWrapperBase)} - families
    assert not missing, f"no panel shows {sorted(missing)}"
