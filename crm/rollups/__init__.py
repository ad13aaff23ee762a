"""Daily rollups of the CRM's reports: each report registers a builder of one business day's rows,
which a periodic job keeps fresh and ``flask crm rebuild-rollups`` rebuilds; every answer carries the
``as_of`` of the rollup days it read."""
