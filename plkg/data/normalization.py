"""Min-max normalisation of network inputs and labels, Eqs. (49)-(50) of the near-field paper.

``kind="minmax"`` is the paper's (v - min)/(max - min). ``kind="log_minmax"`` applies the same map
to log(v) (for positive labels such as mu, which spans several decades over the P_a range).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("minmax", "log_minmax")


@dataclass(frozen=True)
class MinMax:
    """Affine map of (log) values onto [0, 1] fitted on a reference set.

    Attributes
    ----------
    kind : ``minmax`` or ``log_minmax``
    lo, hi : float
        min and max of the (log) reference values.
    """

    kind: str
    lo: float
    hi: float

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"normalisation kind must be one of {KINDS}, got {self.kind!r}")
        if not (np.isfinite(self.lo) and np.isfinite(self.hi)) or not self.hi > self.lo:
            raise ValueError(f"normalisation needs finite lo < hi, got {self.lo}, {self.hi}")

    @classmethod
    def fit(cls, values, kind: str = "minmax") -> MinMax:
        v = np.asarray(values, dtype=np.float64)
        if v.size < 2 or not np.all(np.isfinite(v)):
            raise ValueError("normalisation needs at least two finite values")
        if kind == "log_minmax":
            if np.any(v <= 0):
                raise ValueError("log_minmax normalisation needs positive values")
            v = np.log(v)
        return cls(kind, float(v.min()), float(v.max()))

    def forward(self, values):
        """Eq. (49)/(50): values (any shape, NumPy or torch) -> normalised."""
        v = values
        if self.kind == "log_minmax":
            v = np.log(v) if isinstance(v, np.ndarray | float) else v.log()
        return (v - self.lo) / (self.hi - self.lo)

    def inverse(self, normalised):
        """Inverse of :meth:`forward`."""
        v = normalised * (self.hi - self.lo) + self.lo
        if self.kind == "log_minmax":
            return np.exp(v) if isinstance(v, np.ndarray | float) else v.exp()
        return v

    def to_dict(self) -> dict:
        return {"kind": self.kind, "lo": self.lo, "hi": self.hi}

    @classmethod
    def from_dict(cls, d: dict) -> MinMax:
        try:
            return cls(str(d["kind"]), float(d["lo"]), float(d["hi"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"bad normalisation description {d!r}") from exc
