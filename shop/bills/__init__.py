"""WeChat Pay's daily bills, compared with our payments and refunds: a reconciliation report per day."""
