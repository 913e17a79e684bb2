"""plkg.solvers."""
