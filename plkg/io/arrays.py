"""Safe readers for the array files a user hands in: NumPy ``.npz`` and MATLAB ``.mat``.

Every reader returns ``{field: numpy.ndarray}`` or raises one line that names the file (and the
field) and the problem:

* a missing path: :class:`FileNotFoundError` ``"{what}: no such file: 'PATH'"`` (CLI exit 2);
* anything else: :class:`plkg.errors.PlkgInputError` (a ValueError, CLI exit 2): a folder, a file
  that is not a zip archive / not a MAT file, a MATLAB v7.3 (HDF5) file, a pickled or object
  array (never unpickled: ``allow_pickle=False``; MATLAB cells and structs likewise), a missing
  field, and every remaining NumPy / SciPy / zipfile exception, wrapped with the file's name.

The readers only decode; what a field must hold (dtype, named shape, finite values, a magnitude
limit) is checked by :func:`check_array`, which the caller applies to each field it uses, e.g.
``'correlation' must be [n_users=4, n_components=3], got [3]``.
"""

from __future__ import annotations

import errno
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from plkg.errors import PlkgInputError

#: First bytes of a zip archive (an ``.npz`` is one); ``PK\x05\x06`` is an empty archive.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: MATLAB v7.3 files are HDF5 with a 512-byte user block that starts with MATLAB's text header.
_HDF5_OFFSETS = (0, 512)
MAT_V73_HINT = "save it with `save(..., '-v7')` (v7.3 files are HDF5, which plkg does not read)"

_NUMERIC_KINDS = {
    "real": ("integer (signed/unsigned) or floating-point", "iuf"),
    "complex": ("real or complex", "iufc"),
}


def source_name(what: str, path) -> str:
    """How messages name a file: ``--measurements '/data/run1.npz'``."""
    return f"{what} {str(path)!r}"


def _regular_file(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        if path.exists():
            raise PlkgInputError(f"{source_name(what, path)} is not a regular file")
        raise FileNotFoundError(errno.ENOENT, f"{what}: no such file", str(path))
    return path


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _select(names: Iterable[str], fields, optional, source: str) -> list[str]:
    """The members to decode: all of them, or the requested ones (required ones must exist)."""
    names = list(names)
    if fields is None:
        return names
    missing = [f for f in fields if f not in names]
    if missing:
        holds = ", ".join(repr(n) for n in names) or "no arrays"
        raise PlkgInputError(f"{source} lacks the array {missing[0]!r} (it holds {holds})")
    wanted = [*fields, *(f for f in optional if f not in fields)]
    return [n for n in wanted if n in names]


def read_npz(
    path,
    *,
    what: str,
    fields: Sequence[str] | None = None,
    optional: Sequence[str] = (),
    max_bytes: int | None = None,
    max_bytes_why: str = "the limit for this file",
) -> dict[str, np.ndarray]:
    """Read an ``.npz`` archive without unpickling anything.

    Parameters
    ----------
    path : str or Path
        The file.
    what : str
        What it is, for messages: the option (``"--measurements"``) or a noun (``"dataset file"``).
    fields : sequence of str, optional
        Arrays that must be present; only these and ``optional`` are decoded and returned.
        ``None`` returns every array of the archive.
    optional : sequence of str
        Arrays returned when present (with ``fields``).
    max_bytes : int, optional
        Refuse, before decoding anything, arrays whose headers declare more bytes in all (the
        caller's memory budget, e.g. from :func:`plkg.machine.available_memory_bytes`).
    max_bytes_why : str
        What the limit is, for the message (``"a quarter of the memory available"``).

    Returns
    -------
    dict of str to numpy.ndarray
        Arrays as stored (no dtype or shape check; see :func:`check_array`).

    Raises
    ------
    FileNotFoundError
        No such file (the message names ``what`` and the path).
    PlkgInputError
        Not a regular file, not a zip archive, an object/pickled array (named), a missing field,
        a header that declares more data than the member holds or than ``max_bytes``, a damaged
        member; one line naming the file.
    """
    path = _regular_file(path, what)
    with path.open("rb") as f:
        limit = (max_bytes, max_bytes_why)
        return _read_npz_stream(f, source_name(what, path), fields, optional, limit)


def read_npz_bytes(
    blob: bytes,
    *,
    source: str,
    fields: Sequence[str] | None = None,
    optional: Sequence[str] = (),
    max_bytes: int | None = None,
    max_bytes_why: str = "the limit for this file",
) -> dict[str, np.ndarray]:
    """:func:`read_npz` on bytes already read (e.g. hash-verified); ``source`` names them."""
    limit = (max_bytes, max_bytes_why)
    return _read_npz_stream(io.BytesIO(blob), source, fields, optional, limit)


def _read_npz_stream(stream, source: str, fields, optional, limit) -> dict[str, np.ndarray]:
    max_bytes, max_bytes_why = limit
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(_NPY_MAGIC):
        raise PlkgInputError(
            f"{source} is a single .npy array, not an .npz archive of named arrays "
            "(write it with numpy.savez)"
        )
    if not head.startswith(_ZIP_MAGICS):
        raise PlkgInputError(f"{source} is not an .npz file (not a zip archive)")
    try:
        with np.load(stream, allow_pickle=False) as npz:
            names = _select(npz.files, fields, optional, source)
            declared = sum(_declared_bytes(npz.zip, name, source) for name in names)
            if max_bytes is not None and declared > max_bytes:
                raise PlkgInputError(
                    f"{source} declares {_size(declared)} of arrays, more than {_size(max_bytes)} "
                    f"({max_bytes_why})"
                )
            return {name: _member(npz, name, source) for name in names}
    except PlkgInputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # zipfile, zlib, numpy header parsing: one line naming the file
        raise PlkgInputError(f"{source} cannot be read as .npz ({_one_line(exc)})") from exc


def _size(n_bytes: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} bytes"


def _member(npz, name: str, source: str) -> np.ndarray:
    try:
        return np.asarray(npz[name])
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # numpy's refusal of an object array: never unpickle
            raise PlkgInputError(
                f"{source}: array {name!r} holds Python objects (pickled); only numeric arrays "
                "are read, never pickles"
            ) from exc
        raise PlkgInputError(f"{source}: array {name!r} cannot be read ({_one_line(exc)})") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise PlkgInputError(f"{source}: array {name!r} cannot be read ({_one_line(exc)})") from exc


_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _declared_bytes(zf, name: str, source: str) -> int:
    """Bytes an ``.npy`` member's header declares; refuses one that holds less (or objects).

    A forged header (shape (10**12,) over a few bytes) would otherwise make NumPy allocate
    terabytes before noticing; object dtypes are refused here, before any data is touched.
    """
    member = f"{name}.npy"
    if member not in zf.namelist():
        return zf.getinfo(name).file_size  # not .npy: NumPy returns the raw bytes
    info = zf.getinfo(member)
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        reader = _HEADER_READERS.get(version)
        if reader is None:
            return info.file_size  # format 3.0 (utf-8 field names): NumPy's reader checks it
        shape, _, dtype = reader(f)
        header_bytes = f.tell()
    if dtype.hasobject:
        raise PlkgInputError(
            f"{source}: array {name!r} holds Python objects (pickled); only numeric arrays "
            "are read, never pickles"
        )
    declared = header_bytes + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if declared > info.file_size:
        raise PlkgInputError(
            f"{source}: array {name!r} declares shape {list(shape)} of {dtype} "
            f"({declared} bytes) but holds {info.file_size} bytes (truncated or forged)"
        )
    return declared


#: Bytes per element of MATLAB's numeric classes (as :func:`scipy.io.whosmat` names them).
_MAT_ITEMSIZE = {
    "double": 8,
    "single": 4,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "uint64": 8,
    "logical": 1,
    "char": 2,
}


def _is_v73(head: bytes) -> bool:
    if b"MATLAB 7.3" in head[:116]:
        return True
    if any(head[o : o + len(_HDF5_MAGIC)] == _HDF5_MAGIC for o in _HDF5_OFFSETS):
        return True
    # Bytes 124-127 of the header: version, then the endian indicator; version 0x0200 is HDF5.
    order = {b"IM": "little", b"MI": "big"}.get(head[126:128])
    return order is not None and int.from_bytes(head[124:126], order) == 0x0200


def read_mat(
    path,
    *,
    what: str,
    fields: Sequence[str] | None = None,
    optional: Sequence[str] = (),
    max_bytes: int | None = None,
    max_bytes_why: str = "the limit for this file",
) -> dict[str, np.ndarray]:
    """Read a MATLAB ``.mat`` file (v4 to v7) through :func:`scipy.io.loadmat`.

    MATLAB v7.3 files (HDF5) are refused before SciPy sees them, with the hint to save with
    ``save(..., '-v7')``. MATLAB keeps at least two dimensions: a vector comes back as [1, n]
    or [n, 1] (see :func:`matlab_vector`). Cells, structs and other object arrays are refused.

    Parameters and errors as :func:`read_npz`; ``max_bytes`` is compared with the sizes the
    file's variable headers declare (real parts; :func:`scipy.io.whosmat`), before reading.
    """
    path = _regular_file(path, what)
    source = source_name(what, path)
    with path.open("rb") as f:
        head = f.read(520)
    if _is_v73(head):
        raise PlkgInputError(f"{source} is a MATLAB v7.3 (HDF5) file; {MAT_V73_HINT}")
    from scipy.io import loadmat, whosmat

    wanted = None if fields is None else [*fields, *optional]
    try:
        if max_bytes is not None:
            declared = sum(
                int(np.prod(shape, dtype=object)) * _MAT_ITEMSIZE.get(cls, 1)
                for name, shape, cls in whosmat(path)
                if wanted is None or name in wanted
            )
            if declared > max_bytes:
                raise PlkgInputError(
                    f"{source} declares {_size(declared)} of variables, more than "
                    f"{_size(max_bytes)} ({max_bytes_why})"
                )
        raw = loadmat(path, variable_names=wanted)
    except PlkgInputError:
        raise
    except MemoryError:
        raise
    except Exception as exc:  # truncated streams, unsupported classes, ...
        if "Unknown mat file type" in str(exc):  # SciPy's words for "no MAT header at all"
            raise PlkgInputError(f"{source} is not a MAT file (no MATLAB v4-v7 header)") from exc
        raise PlkgInputError(
            f"{source} is not a MAT file SciPy can read ({_one_line(exc)})"
        ) from exc
    data = {k: v for k, v in raw.items() if not k.startswith("__")}
    names = _select(data, fields, optional, source)
    out = {}
    for name in names:
        arr = np.asarray(data[name])
        if arr.dtype.hasobject:
            raise PlkgInputError(
                f"{source}: variable {name!r} is a cell array, struct or object; only numeric "
                "matrices are read"
            )
        out[name] = arr
    return out


def read_arrays(
    path,
    *,
    what: str,
    fields: Sequence[str] | None = None,
    optional: Sequence[str] = (),
    max_bytes: int | None = None,
    max_bytes_why: str = "the limit for this file",
) -> dict[str, np.ndarray]:
    """:func:`read_npz` or :func:`read_mat` by the file's extension (``.npz`` / ``.mat``)."""
    path = _regular_file(path, what)
    suffix = path.suffix.lower()
    kwargs = {
        "what": what,
        "fields": fields,
        "optional": optional,
        "max_bytes": max_bytes,
        "max_bytes_why": max_bytes_why,
    }
    if suffix == ".npz":
        return read_npz(path, **kwargs)
    if suffix == ".mat":
        return read_mat(path, **kwargs)
    raise PlkgInputError(f"{source_name(what, path)} must be a .npz or .mat file")


def matlab_vector(arr: np.ndarray) -> np.ndarray:
    """A MATLAB row or column vector ([1, n] or [n, 1]) as 1-D [n]; other arrays unchanged."""
    if arr.ndim == 2 and 1 in arr.shape:
        return arr.reshape(-1)
    return arr


def _shape_text(dims: Sequence[tuple[str, int | None]]) -> str:
    return "[" + ", ".join(name if size is None else f"{name}={size}" for name, size in dims) + "]"


def check_array(
    arr,
    *,
    source: str,
    field: str,
    dims: Sequence[Sequence[tuple[str, int | None]]] | Sequence[tuple[str, int | None]],
    kind: str = "real",
    finite: bool = True,
    max_abs: float | None = None,
) -> np.ndarray:
    """Check one numeric field of a file; return it as float64 (complex128 when complex).

    Parameters
    ----------
    arr : numpy.ndarray
        The field as read.
    source : str
        The file, for messages (:func:`source_name`).
    field : str
        The field's name.
    dims : list of (name, size or None), or a list of such lists
        The allowed shape(s): named dimensions with their required size (``None``: any size).
        ``[("n_users", 4), ("n_components", 3)]`` refuses shape [3] with
        ``'correlation' must be [n_users=4, n_components=3], got [3]``. ``[]`` is a scalar;
        ``[[], [("n", None)]]`` allows a scalar or a vector.
    kind : {"real", "complex"}
        ``"real"``: integer or floating point; ``"complex"``: complex allowed too. Booleans,
        strings, bytes, structured and object dtypes are refused.
    finite : bool
        Refuse NaN and inf.
    max_abs : float, optional
        Refuse entries with ``|x| > max_abs`` (e.g. so that squares and sums stay finite).

    Raises
    ------
    PlkgInputError
        One line naming ``source`` and ``field``.
    """
    arr = np.asarray(arr)
    allowed, kinds = _NUMERIC_KINDS[kind]
    where = f"{source}: {field!r}"
    if arr.dtype.names is not None or arr.dtype.kind not in kinds:
        raise PlkgInputError(f"{where} must hold {allowed} numbers, got dtype {arr.dtype}")
    options = [dims] if _one_shape(dims) else list(dims)
    if not any(_shape_matches(arr.shape, d) for d in options):
        wanted = " or ".join(_shape_text(d) for d in options)
        raise PlkgInputError(f"{where} must be {wanted}, got {list(arr.shape)}")
    out = arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)
    if finite and not np.all(np.isfinite(out)):
        bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        raise PlkgInputError(f"{where} contains {bad} NaN or infinite value(s)")
    if max_abs is not None and out.size:
        with np.errstate(over="ignore", invalid="ignore"):
            peak = float(np.max(np.abs(out)))
        if not peak <= max_abs:
            raise PlkgInputError(
                f"{where} has |value| up to {peak:.3g}, above the limit {max_abs:g}"
            )
    return out


def _one_shape(dims) -> bool:
    """``dims`` is one shape (a list of (name, size) pairs, ``[]`` for a scalar), not a list of
    shapes (whose first entry may itself be ``[]``)."""
    if not dims:
        return True
    first = dims[0]
    return isinstance(first, tuple) and len(first) == 2 and isinstance(first[0], str)


def _shape_matches(shape: tuple[int, ...], dims) -> bool:
    return len(shape) == len(dims) and all(
        size is None or n == size for n, (_, size) in zip(shape, dims, strict=True)
    )
