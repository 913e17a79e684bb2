"""Which spec changes extend a result table, and which spec records describe the same rows.

A table written for one spec may be resumed by a spec whose record differs only in where a
checkpoint of the same SHA-256 lies, and extended by a spec that keeps every
finished row and only adds grid values, methods or random draws (:func:`extension_problem`).
"""

from __future__ import annotations

import json


def _shown(values) -> str:
    text = ", ".join(json.dumps(v) for v in values[:3])
    return text + (", ..." if len(values) > 3 else "")


def _dropped(old: list, new: list) -> list:
    kept = {json.dumps(v, sort_keys=True) for v in new}
    return [v for v in old if json.dumps(v, sort_keys=True) not in kept]


def extension_problem(stored: dict, new: dict) -> str | None:
    """Why the spec of record ``new`` cannot extend a table of the spec of record ``stored``.

    A spec extends a table when every finished row stays a row of the new spec, computed the same
    way: the same system, base scenario, seed, options, swept columns (with their types), random
    seed and ranges, and the same checkpoint (by SHA-256) for every method that had one; it may
    add grid values, methods and random draws (``random.n`` grows: the first draws stay the same).
    Identical records extend trivially.

    Parameters
    ----------
    stored, new : dict
        :meth:`plkg.sweep.spec_model.SweepSpec.record` of the table's spec and of the new one
        (JSON round-tripped).

    Returns
    -------
    str or None
        One phrase naming the first difference, or None if ``new`` extends ``stored``.
    """
    if stored.get("tasks") != new.get("tasks"):
        return "its tasks are identified differently (written by another version of plkg)"
    for key in ("system", "base_scenario", "seed", "options"):
        if stored.get(key) != new.get(key):
            if key == "base_scenario":
                changed = sorted(
                    k
                    for k in set(stored[key]) | set(new[key])
                    if stored[key].get(k) != new[key].get(k)
                )
                return f"the base scenario differs in {', '.join(changed)}"
            return f"{key} {json.dumps(stored.get(key))} is {json.dumps(new.get(key))} now"
    old_grid, new_grid = stored["grid"], new["grid"]
    if list(old_grid) != list(new_grid):
        return f"grid columns {list(old_grid)} are {list(new_grid)} now"
    if stored.get("kinds") != new.get("kinds"):
        return "a swept column holds values of another type"
    for column, values in old_grid.items():
        dropped = _dropped(values, new_grid[column])
        if dropped:
            return f"grid {column} drops {_shown(dropped)} (an extension may only add values)"
    old_random, new_random = stored["random"], new["random"]
    for key in ("seed", "ranges"):
        if old_random[key] != new_random[key]:
            return f"random {key} differs"
    if new_random["n"] < old_random["n"]:
        return f"random n {old_random['n']} is {new_random['n']} now (draws may only be added)"
    dropped = _dropped(stored["methods"], new["methods"])
    if dropped:
        return f"methods drop {_shown(dropped)} (an extension may only add methods)"
    for method in stored["methods"]:
        old_ck = stored["checkpoints"].get(method, {}).get("sha256")
        new_ck = new["checkpoints"].get(method, {}).get("sha256")
        if old_ck != new_ck:
            return f"the checkpoint of method {method} differs (SHA-256 {old_ck} -> {new_ck})"
    return None


def _same_points(stored: dict, new: dict) -> bool:
    """Whether two spec records describe the same rows: equal but for where a checkpoint of the
    same SHA-256 lies (its path)."""

    def points(record: dict) -> dict:
        checkpoints = record.get("checkpoints")
        if not isinstance(checkpoints, dict):
            return record
        shas = {m: c.get("sha256") if isinstance(c, dict) else c for m, c in checkpoints.items()}
        return {**record, "checkpoints": shas}

    return isinstance(stored, dict) and points(stored) == points(new)
