"""The outbox: work that must happen after a commit (refunds, transfers, closing transactions,
targeted issuance), written in the same transaction as the change that needs it, then run, retried
and, when it keeps failing, shown to an admin who can send it again."""
