"""Withdrawals: commission paid out to WeChat change through WeChat Pay's merchant transfer."""
