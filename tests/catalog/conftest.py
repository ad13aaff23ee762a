"""Catalog fixtures: a marketing token, and a way to set rows up and read them back."""

from __future__ import annotations

import pytest

from shop.auth import Role


@pytest.fixture
def marketing(staff_token) -> dict:
    return staff_token(Role.MARKETING)

