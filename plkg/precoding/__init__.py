"""plkg.precoding."""
