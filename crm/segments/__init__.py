"""CRM segments."""
