"""The data plkg ships: scenario configs, committed datasets and checkpoints.

One source of truth: the files live in this package (``plkg/defaults/{configs,datasets,checkpoints}``)
and are read through :mod:`importlib.resources`, so an installed wheel finds them from any folder.
The top-level ``configs/``, ``datasets/`` and ``checkpoints/`` of a source checkout are symbolic
links to these folders, where users look for them. Nothing is ever written here: user outputs go to
the current folder or ``--out``.

This module imports nothing of plkg.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

KINDS = ("configs", "datasets", "checkpoints")
_SUFFIX = {"configs": ".yaml", "datasets": ".npz", "checkpoints": ".safetensors"}


def folder(kind: str) -> Path:
    """The shipped folder of ``kind`` (``configs``, ``datasets`` or ``checkpoints``).

    plkg is installed as plain files (wheel or editable), so the resource is a real directory.

    Parameters
    ----------
    kind : {"configs", "datasets", "checkpoints"}
        Which package data.

    Returns
    -------
    pathlib.Path
        The folder inside the installed package.

    Raises
    ------
    ValueError
        An unknown ``kind``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of package data {kind!r}; use one of {', '.join(KINDS)}")
    path = resources.files(__name__) / kind
    return Path(str(path))


def names(kind: str) -> list[str]:
    """Sorted names (file stems) of the shipped files of ``kind``.

    Parameters
    ----------
    kind : {"configs", "datasets", "checkpoints"}
        Which package data.

    Returns
    -------
    list of str
        File stems, e.g. ``"fig6"`` for ``configs/fig6.yaml``.
    """
    return sorted(p.stem for p in folder(kind).glob(f"*{_SUFFIX[kind]}"))


def path(kind: str, name: str) -> Path:
    """Path of the shipped file ``name`` of ``kind`` (suffix optional); may not exist.

    Names are bare file names: a name with a folder part is refused, so a config name can never
    reach outside the package data.

    Parameters
    ----------
    kind : {"configs", "datasets", "checkpoints"}
        Which package data.
    name : str
        Bare file name, with or without the kind's suffix (``.yaml``, ``.npz``,
        ``.safetensors``).

    Returns
    -------
    pathlib.Path
        The file's path inside the package (it need not exist).

    Raises
    ------
    ValueError
        A name that is empty, ``.``/``..`` or has a folder part.
    """
    stem = str(name)
    if not stem or "/" in stem or "\\" in stem or stem in (".", ".."):
        raise ValueError(f"{kind[:-1]} name {name!r} must be a bare name without a folder")
    suffix = _SUFFIX[kind]
    if not stem.endswith(suffix):
        stem += suffix
    return folder(kind) / stem


def config_path(name: str) -> Path:
    """``configs/<name>.yaml`` of the package.

    Parameters
    ----------
    name : str
        Bare config name (``"fig6"``), suffix optional.

    Returns
    -------
    pathlib.Path
        The YAML file's path (it need not exist).
    """
    return path("configs", name)


def dataset_path(name: str) -> Path:
    """``datasets/<name>.npz`` of the package (its ``.json`` sidecar sits beside it).

    Parameters
    ----------
    name : str
        Bare dataset name, suffix optional.

    Returns
    -------
    pathlib.Path
        The ``.npz`` file's path (it need not exist).
    """
    return path("datasets", name)


def checkpoint_path(name: str) -> Path:
    """``checkpoints/<name>.safetensors`` of the package (its ``.json`` sidecar sits beside it).

    Parameters
    ----------
    name : str
        Bare checkpoint name (``"kglm_fig6"``), suffix optional.

    Returns
    -------
    pathlib.Path
        The ``.safetensors`` file's path (it need not exist).
    """
    return path("checkpoints", name)
