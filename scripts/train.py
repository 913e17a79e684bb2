#!/usr/bin/env python
"""Thin wrapper: `python scripts/train.py ARGS` is `plkg train ARGS`."""

import sys

from plkg.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
