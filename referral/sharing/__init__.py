"""Shares, posters and opens, and the binds they make: the bind mode at work, admin re-binds, binds
flagged for review and the bind history."""
