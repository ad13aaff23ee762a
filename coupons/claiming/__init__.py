"""Claiming: the Redis gate, the claim centre, issuing on channels (new members, followers, friends of sharers), targeted issuance and exchange codes."""
