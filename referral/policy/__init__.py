"""The referral policy admins set: who earns, how friends bind, levels, rates, the refund window."""
