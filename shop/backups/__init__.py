"""Backups of the PostgreSQL database: pg_dump's custom format with the row counts and ledger sums of the
same snapshot, a restore into a new database, and the check of a restore against them."""
