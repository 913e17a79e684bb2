"""plkg.data."""
