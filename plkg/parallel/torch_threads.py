"""Temporarily limit torch's intra-op threads (the RIS matrices are tiny: one thread is fastest)."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def torch_threads(n: int | None = 1):
    """Run the block with ``n`` torch threads (``None``: leave the setting alone), then restore."""
    if n is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)
