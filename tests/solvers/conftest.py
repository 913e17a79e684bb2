"""Fixtures shared by the solver tests."""

from __future__ import annotations

import pytest

from plkg.solvers.water_level import PowerDomainError


def _run_paths_or_refusal(paths):
    """Run every path of one problem: {name: result}, or None when they all refused.

    ``paths`` maps a path's name to a zero-argument callable. A refusal must be a
    :class:`PowerDomainError` in one line naming P_a or the subchannel, raised by every path
    alike: one path answering where another refuses is a failure.
    """
    outcomes = {}
    for name, solve in paths.items():
        try:
            outcomes[name] = solve()
        except PowerDomainError as err:
            outcomes[name] = err
    refused = {name for name, v in outcomes.items() if isinstance(v, PowerDomainError)}
    if not refused:
        return outcomes
    assert refused == set(outcomes), f"only {sorted(refused)} refused: {outcomes}"
    for err in outcomes.values():
        msg = str(err)
        assert "\n" not in msg and ("P_a" in msg or "subchannel" in msg), msg
    return None


@pytest.fixture(scope="session")
def paths_or_refusal():
    """The checker :func:`_run_paths_or_refusal` (session-scoped, so hypothesis may use it)."""
    return _run_paths_or_refusal
