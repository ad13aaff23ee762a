"""Referral analytics: downlines, shares, campaigns, sharers, the viral coefficient and ripple depth."""
