"""Options that apply to some choices only: refused, naming both, when given with another.

An option that a command accepts but the chosen method, kind or system does not read would be
silently ignored (``plkg keyrate --method wfpa --mapping exact`` would run water-filling and say
nothing about the mapping). Each command lists which of its options apply to which choices, and
:func:`check_applies` turns a mismatch into one line naming the option and the choice (exit 2).
Options whose applicability is checked keep ``None`` (or ``False``) as their parser default, so
that "given" and "left at its default" can be told apart; the documented default is filled in
after the check.
"""

from __future__ import annotations

from plkg.errors import PlkgInputError


def given(value) -> bool:
    """Whether an option was given: not None, and not False for a flag."""
    return value is not None and value is not False


def check_applies(option: str, value, chooser: str, choice: str, allowed) -> None:
    """Refuse ``option`` (given as ``value``) unless ``choice`` is in ``allowed``.

    Parameters
    ----------
    option : str
        The flag, e.g. ``--mapping``.
    value : object
        Its parsed value; None/False mean "not given" and always pass.
    chooser : str
        What selects the behaviour, e.g. ``--method`` or ``plkg train``.
    choice : str
        The selected value, e.g. ``wfpa``.
    allowed : iterable of str
        Choices that read ``option``.

    Raises
    ------
    PlkgInputError
        ``--mapping applies to --method fnnpakf only, not --method wfpa``.
    """
    allowed = tuple(allowed)
    if given(value) and choice not in allowed:
        raise PlkgInputError(
            f"{option} applies to {chooser} {' / '.join(allowed)} only, not {chooser} {choice}"
        )


def check_one_engine(workers, scheduler) -> None:
    """Refuse ``--workers`` together with ``--scheduler`` (one execution engine at a time)."""
    if workers is not None and scheduler is not None:
        raise PlkgInputError("give either --workers (local Dask workers) or --scheduler, not both")
