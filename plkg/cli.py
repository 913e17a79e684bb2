"""Command-line entry point ``plkg``.

Each sub-command lives in its own module under :mod:`plkg.commands` and exposes
``register(subparsers)``; this file only assembles them, so commands stay independent.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Order is the order shown in ``plkg --help``. A module that is missing is skipped, so the CLI
# works while a command is still being built.
COMMAND_MODULES = (
    "scenario",
    "keyrate",
    "generate",
    "train",
    "ris",
    "keys",
    "nist",
    "reproduce",
    "bench",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    from plkg import __version__

    parser = argparse.ArgumentParser(
        prog="plkg",
        description="Physical-layer key generation: key rates, solvers, learned allocators.",
    )
    parser.add_argument("--version", action="version", version=f"plkg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"plkg.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"plkg.commands.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        # Bad input is reported as one clear line, not a traceback.
        print(f"plkg {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
