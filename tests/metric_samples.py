"""Reading this process's metrics in tests: what a scrape of it would say, and how much it moved."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY


def sample(name: str, **labels: str) -> float:
    """The value of one series (a counter's ``_total``), 0 when it was never counted."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


@contextmanager
def moved(name: str, **labels: str) -> Iterator[Callable[[], float]]:
    """``with moved("ripple_orders_total", state="paid") as by: ...`` then ``by()``: how far it moved inside."""
    before = sample(name, **labels)
    yield lambda: sample(name, **labels) - before
