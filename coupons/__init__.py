"""Coupons: batches, claiming, the wallet, checkout discounts, in-store redemption (issue 5)."""
