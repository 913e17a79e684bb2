"""plkg.keygen."""
