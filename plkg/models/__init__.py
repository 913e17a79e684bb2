"""plkg.models."""
