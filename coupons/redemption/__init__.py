"""In-store redemption: the shopper's rotating code and the clerk's redemption at the counter."""
