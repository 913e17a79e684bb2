"""plkg.training."""
