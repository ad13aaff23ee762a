"""Coupon batches: marketing creates, edits and moves them through their states; their figures."""
