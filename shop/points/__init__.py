"""Loyalty points: an append-only ledger of lots that earn, spend, expire, return and reverse."""
