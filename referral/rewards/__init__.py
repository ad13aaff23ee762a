"""Rewards for friends' purchases and the commission ledger they are paid into."""
