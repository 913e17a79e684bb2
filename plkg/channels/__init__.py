"""plkg.channels."""
