"""CRM members."""
