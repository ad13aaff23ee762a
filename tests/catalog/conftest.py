"""Catalog fixtures: a marketing token, and a way to set rows up and read them back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shop.auth import Role
from shop.extensions import db


@pytest.fixture
def marketing(staff_token) -> dict:
    return staff_token(Role.MARKETING)


@pytest.fixture
def committed(app) -> Callable[[Callable[[], Any]], Any]:
    """Run ``work`` in an app context and commit; returns what it returned (plain values, not rows)."""

    def run(work: Callable[[], Any]) -> Any:
        with app.app_context():
            result = work()
            db.session.commit()
            return result

    return run
