"""Name selection shared by the registry commands (``plkg reproduce``, ``plkg bench``)."""

from __future__ import annotations


def select_names(registry: dict, names: list[str], what: str) -> list[str] | None:
    """Resolve ``names`` against ``registry``: ``all`` -> every entry, ``list`` -> print and None.

    Raises ValueError naming the unknown entries and the available ones.
    """
    if names == ["list"]:
        for name in registry:
            print(name)
        return None
    selected = list(registry) if names == ["all"] else list(names)
    unknown = [n for n in selected if n not in registry]
    if unknown:
        raise ValueError(
            f"unknown {what}(s) {', '.join(unknown)}; available: {', '.join(registry)}"
        )
    return selected
