"""CRM tags."""
