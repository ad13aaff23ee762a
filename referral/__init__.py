"""Referral: shares, binding, the share tree, rewards and analytics (issue 6)."""
