"""Progress of ``plkg keys`` on stderr: a bar over the key blocks, then one summary line."""

from __future__ import annotations

import contextlib
import sys


class _Progress:
    """Progress over the key blocks of all UEs / cells / links, on stderr.

    A bar while the blocks run when stderr is a terminal, otherwise a compact line at most
    every few seconds (``[keys] 12/40 blocks, UE 2, 31 s``, :func:`plkg.progress.progress_bar`);
    one summary line after a successful run; ``--quiet`` (or the global ``plkg --quiet``):
    none of it. A pending Ctrl-C / SIGTERM is raised between blocks (the CLI boundary makes it
    exit 130 / 143); the bar is closed on the way out.
    """

    def __init__(self, args):
        from plkg.progress import is_quiet

        self.quiet = bool(getattr(args, "quiet", False)) or is_quiet()
        self.bar = None
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        return self

    def start(self, n_links: int, n_rounds: int, block_rounds) -> None:
        from plkg.progress import progress_bar

        if self.quiet:
            return
        block = n_rounds if block_rounds is None else int(block_rounds)
        total = int(n_links) * (int(n_rounds) // block) if block >= 1 else 0
        # summary=False: the command's own summary line (:meth:`summary`) is the one line
        self.bar = self._stack.enter_context(
            progress_bar(total, desc="keys", unit="block", summary=False)
        )

    def tick(self, label: str) -> None:
        if self.bar is not None:
            self.bar.update(1, note=label)

    def summary(self, out: dict, seconds: float) -> None:
        """The one summary line on stderr (not with --quiet)."""
        if self.quiet:
            return
        rows = out.get("users") or out.get("cells") or []
        blocks = sum(int(r.get("blocks") or 0) for r in rows)
        label = {"nearfield": "UEs", "ris": "cells"}.get(out.get("system"), "links")
        print(
            f"plkg keys: {len(rows)} {label}, {blocks} key blocks in {seconds:.1f} s",
            file=sys.stderr,
        )

    def __exit__(self, *exc):
        self.bar = None
        self._stack.__exit__(*exc)
        return False
