"""Checkout: the discount provider, a coupon's scope, and its life with the order (locked, used, released, returned)."""
