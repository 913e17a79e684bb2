"""plkg.keyrate."""
