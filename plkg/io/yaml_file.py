"""YAML reading that refuses what :func:`yaml.safe_load` silently accepts: duplicate keys.

PyYAML keeps the last of two equal keys in a mapping (``pa_dbm: 0`` then ``pa_dbm: 30`` gives
30); in a scenario or sweep spec that is almost always a copy-paste slip that changes results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from plkg.errors import PlkgInputError


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader whose mappings refuse a key given twice (at any depth)."""


class _DuplicateKey(yaml.YAMLError):
    pass


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep=False):
    # Checked before merges are flattened: a key that overrides a merged (<<: *anchor) one is
    # YAML's intended use, not a duplicate.
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            first = seen.get(key)
        except TypeError:  # unhashable key: SafeLoader's own error names it
            break
        if first is not None:
            line = key_node.start_mark.line + 1
            raise _DuplicateKey(f"key {key!r} is given twice (lines {first + 1} and {line})")
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def parse_yaml(text: str, *, source: str) -> Any:
    """Parse YAML text with duplicate keys refused.

    Parameters
    ----------
    text : str
        The YAML document.
    source : str
        What the text is, for the message (``"sweep spec 'a.yaml'"``).

    Raises
    ------
    PlkgInputError
        One line naming ``source``, the line and the problem (malformed YAML, a key given twice).
    """
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise PlkgInputError(f"{source}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PlkgInputError(f"{source} is malformed YAML: {' '.join(str(exc).split())}") from exc


def read_yaml(path: str | Path, *, what: str) -> Any:
    """Read a UTF-8 YAML file with duplicate keys refused.

    Parameters
    ----------
    path : str or Path
        The file. A missing file raises FileNotFoundError naming ``what`` and the path.
    what : str
        What the file is, for messages (``"scenario file"``, ``"--slurm settings"``).

    Returns
    -------
    object
        The parsed document (``None`` for an empty file).

    Raises
    ------
    PlkgInputError
        Not UTF-8, malformed YAML or a key given twice; the message names ``what`` and the path.
    """
    path = Path(path)
    source = f"{what} {str(path)!r}"
    if not path.is_file():
        if path.exists():
            raise PlkgInputError(f"{source} is not a regular file")
        raise FileNotFoundError(2, f"{what} does not exist", str(path))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PlkgInputError(
            f"{source} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    return parse_yaml(text, source=source)
