"""The installed version of plkg (package metadata), recorded in datasets, checkpoints and runs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("plkg")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"
