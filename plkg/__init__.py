"""plkg: physical-layer key generation research toolkit.

Two systems are modelled:

* the near-field multi-user ELAA system of ``nearfield-multiuser-key-rate.md`` (channels, probing,
  key rates, block-diagonal precoding, power allocation, learned allocators);
* the RIS-aided multi-cell system of ``ris-multicell-key-generation.md``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("plkg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
