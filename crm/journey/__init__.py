"""Journey events from the client (``POST /api/v1/events``), their deduplication, the monthly partitions
of ``journey_events`` on PostgreSQL and the retention of raw client events."""
