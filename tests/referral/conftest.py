"""Fixtures the referral tests share with the order tests: a shop to buy from and a shopper (store shares
and the home store follow purchases)."""

from tests.orders.conftest import alice, shop  # noqa: F401 - fixtures
