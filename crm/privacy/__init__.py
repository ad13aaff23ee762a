"""Personal data (PIPL): a member's export of their own data and the deletion of their account."""
