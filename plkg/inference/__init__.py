"""plkg.inference."""
