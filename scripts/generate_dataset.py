#!/usr/bin/env python
"""Thin wrapper: `python scripts/generate_dataset.py ARGS` is `plkg generate ARGS`."""

import sys

from plkg.cli import main

if __name__ == "__main__":
    sys.exit(main(["generate", *sys.argv[1:]]))
