"""The bottom layer for files a user hands in: safe readers that name the file, field and problem.

Every reader raises :class:`plkg.errors.PlkgInputError` (a ValueError, CLI exit 2) with one line
that names the file, the field and what is wrong, before any work starts. Modules here import
only :mod:`plkg.errors` and third-party libraries, never another plkg layer.
"""
