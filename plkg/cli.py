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
    "sweep",
    "reproduce",
    "plot",
    "cache",
    "bench",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    from plkg._version import __version__

    parser = argparse.ArgumentParser(
        prog="plkg",
        description="Physical-layer key generation: key rates, solvers, learned allocators.",
        epilog=(
            "Progress goes to stderr: a bar in a terminal, otherwise one short line at most\n"
            "every 5 s and a summary line; --quiet silences it. UEs, cells and links are\n"
            "numbered from 1 in all text, JSON and file names (ue1.txt, cell1.txt, link1.txt)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"plkg {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (also PLKG_DEBUG=1); accepted anywhere on the line",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bars, heartbeat or stage lines on stderr (also PLKG_QUIET=1); "
        "accepted anywhere on the line; results, warnings and errors still print",
    )
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
    for name, command in sub.choices.items():
        describe(command, sub, name)
    return parser


# One example per sub-command, shown at the end of ``plkg COMMAND --help``.
EXAMPLES = {
    "scenario": "plkg scenario --scenario fig6 --json",
    "keyrate": "plkg keyrate --scenario fig6 --pa-dbm 0 10 20 --method fnnpa --json",
    "generate": "plkg generate sumrate --scenario fig6 --n-samples 200 --seed 0 --out mine.npz",
    "train": "plkg train kglm --dataset mine.npz --out-dir my_checkpoints",
    "ris": "plkg ris --scenario two-cell --json",
    "keys": "plkg keys --scenario fig6 --pa-dbm 10 --out keys/",
    "nist": "plkg nist keys/ue1.txt",
    "sweep": "plkg sweep spec.yaml --out results.parquet --workers 2",
    "reproduce": "plkg reproduce nf-fig6-sum --out results/",
    "plot": "plkg plot results.parquet --out fig.pdf",
    "cache": "plkg cache list",
    "bench": "plkg bench allocation --json",
    "demo": "plkg demo --out demo_out",
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default unless its help already names one."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" not in text.lower()
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


def describe(command: argparse.ArgumentParser, sub, name: str) -> None:
    """Give a sub-command its description (its one-line help), shown defaults and an example."""
    command.formatter_class = _HelpFormatter
    if command.description is None:
        summary = next((a.help for a in sub._choices_actions if a.dest == name), None)
        command.description = summary
    if command.epilog is None and name in EXAMPLES:
        command.epilog = f"example:\n  {EXAMPLES[name]}"


def main(argv: list[str] | None = None) -> int:
    """Run ``plkg``; the one error boundary (see :mod:`plkg.cli_boundary` for the exit codes).

    Bad input exits 2, a runtime failure 1, Ctrl-C 130 (SIGTERM 143), each with one line on
    stderr; ``--debug`` (anywhere on the line) or ``PLKG_DEBUG=1`` adds the traceback. A closed
    stdout (``plkg ... --json | head``) ends quietly with status 141 (128 + SIGPIPE, what a
    shell reports for a pipeline writer killed by SIGPIPE). Python warnings are printed as one
    line each, ``plkg COMMAND: warning: MESSAGE`` (``... warning: RuntimeWarning: MESSAGE`` for
    a category other than UserWarning); under ``--debug`` with Python's file and line.
    ``--quiet`` (anywhere on the line) or ``PLKG_QUIET=1`` silences progress on stderr.
    """
    from plkg import progress
    from plkg.cli_boundary import (
        debug_requested,
        one_line_warnings,
        quiet_broken_pipe,
        quiet_requested,
        report,
        sigterm_as_interrupt,
        stdout_broken,
    )

    debug, argv = debug_requested(sys.argv[1:] if argv is None else list(argv))
    quiet, argv = quiet_requested(argv)
    state = {"command": None}
    forced_quiet = quiet and not progress.is_quiet()
    with sigterm_as_interrupt(), one_line_warnings(lambda: state["command"], debug):
        try:
            if forced_quiet:
                progress.set_quiet(True)
            parser = build_parser()
            args = parser.parse_args(argv)  # usage errors: argparse prints them and exits 2
            state["command"] = args.command
            if quiet and hasattr(args, "quiet"):  # a sub-command's own --quiet means the same
                args.quiet = True
            status = int(args.func(args) or 0)
            sys.stdout.flush()  # a closed stdout shows here, inside the boundary
            return status
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - the boundary: one line, never a traceback
            if isinstance(exc, BrokenPipeError) and stdout_broken():
                return quiet_broken_pipe()
            return report(state["command"], exc, debug)
        finally:
            if forced_quiet:  # in-process callers (tests, notebooks) get their setting back
                progress.set_quiet(False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
