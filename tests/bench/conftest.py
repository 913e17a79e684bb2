"""The machine block every rendered benchmark report starts from."""

from __future__ import annotations

import pytest


@pytest.fixture
def machine() -> dict:
    return {
        "machine": "x86_64",
        "cpu_count": 2,
        "torch": "2.x",
        "torch_threads": 1,
        "python": "3.11",
        "cuda": False,
        "plkg_version": "0",
    }
