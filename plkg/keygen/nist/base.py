"""Shared result type and input validation of the NIST SP 800-22 Rev. 1a tests.

Every test in :mod:`plkg.keygen.nist` takes a bit sequence (any 1-D array of 0/1 integers or
booleans, or a string of '0'/'1' characters) and returns a :class:`NistResult` holding all its
P-values, its test statistics and whether the sequence meets the standard's recommended input
size ("eligible"). A sequence shorter than recommended is still tested -- the worked examples of
SP 800-22 section 2 use 10- to 128-bit sequences -- but ``eligible`` is ``False`` and ``note``
says which recommendation is not met; pass ``strict=True`` to raise instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Significance level used by SP 800-22 (section 1.1.5): P >= alpha passes.
DEFAULT_ALPHA = 0.01


@dataclass(frozen=True)
class NistResult:
    """Outcome of one SP 800-22 test on one sequence.

    Attributes
    ----------
    name : str
        Test name, e.g. ``"frequency"``.
    p_values : tuple of float
        All P-values of the test (two for cumulative sums and serial, one otherwise).
    p_value_labels : tuple of str
        One label per P-value (``"forward"``/``"backward"``, ``"p1"``/``"p2"``, or the test name).
    n_bits : int
        Length n of the tested sequence.
    statistics : dict
        Intermediate statistics as named in SP 800-22 (``s_obs``, ``chi2``, ``v_obs`` ...).
    eligible : bool
        ``True`` when the input meets the standard's recommended minimum size / parameter rules.
    note : str
        Why the sequence is not eligible (empty when eligible), or other remarks.
    """

    name: str
    p_values: tuple[float, ...]
    p_value_labels: tuple[str, ...]
    n_bits: int
    statistics: dict = field(default_factory=dict)
    eligible: bool = True
    note: str = ""

    @property
    def p_value(self) -> float:
        """The smallest P-value (the one that decides pass/fail)."""
        return min(self.p_values)

    def passed(self, alpha: float = DEFAULT_ALPHA) -> bool:
        """``True`` when every P-value is >= ``alpha`` (SP 800-22 section 1.1.5)."""
        return all(p >= alpha for p in self.p_values)

    @property
    def applicable(self) -> bool:
        """The test ran on an input meeting its recommendations and gave finite P-values."""
        return self.eligible and all(p == p for p in self.p_values)

    def verdict(self, alpha: float = DEFAULT_ALPHA) -> str:
        """``"pass"``, ``"fail"`` or ``"not applicable"`` (too few bits / not run / NaN).

        A sequence shorter than the test's recommended size says nothing either way, so it is
        "not applicable" rather than a pass (a 10-bit sequence must not "pass" the suite).
        """
        if not self.applicable:
            return "not applicable"
        return "pass" if self.passed(alpha) else "fail"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "p_values": dict(zip(self.p_value_labels, self.p_values, strict=True)),
            "passed": self.passed(),
            "verdict": self.verdict(),
            "n_bits": self.n_bits,
            "eligible": self.eligible,
            "note": self.note,
            "statistics": {k: _jsonable(v) for k, v in self.statistics.items()},
        }


def _jsonable(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def as_bits(bits, name: str = "bits") -> np.ndarray:
    """Validate a bit sequence and return it as a 1-D ``int8`` array of 0/1.

    Parameters
    ----------
    bits : array_like of int/bool, shape [n], or str of '0'/'1'
        The sequence epsilon. Whitespace in a string is ignored.

    Raises
    ------
    ValueError
        Empty input, more than one dimension, NaN, or values other than 0 and 1.
    """
    if isinstance(bits, str):
        text = "".join(bits.split())
        if not text:
            raise ValueError(f"{name}: empty bit sequence")
        bad = set(text) - {"0", "1"}
        if bad:
            raise ValueError(
                f"{name}: non-binary characters {sorted(bad)!r}; only '0' and '1' allowed"
            )
        return (np.frombuffer(text.encode("ascii"), dtype=np.uint8) - ord("0")).astype(np.int8)
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D bit sequence, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: empty bit sequence")
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{name}: bits must be numbers 0/1, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and np.isnan(arr).any():
        raise ValueError(f"{name}: NaN in bit sequence")
    binary = (arr == 0) | (arr == 1)
    if not binary.all():
        raise ValueError(f"{name}: non-binary values {np.unique(arr[~binary])[:5]!r}")
    return arr.astype(np.int8)


def eligibility(problems: list[str], strict: bool, name: str) -> tuple[bool, str]:
    """Turn a list of unmet recommendations into ``(eligible, note)``; raise if ``strict``."""
    note = "; ".join(problems)
    if problems and strict:
        raise ValueError(f"{name}: input does not meet SP 800-22 recommendations: {note}")
    return (not problems), note


def overlapping_pattern_counts(bits: np.ndarray, m: int) -> np.ndarray:
    """Counts of all 2^m overlapping m-bit patterns of the cyclically extended sequence.

    The sequence is augmented with its first m-1 bits (SP 800-22 sections 2.11.4 step 1 and
    2.12.4 step 1), so there are exactly n windows.

    Returns
    -------
    ndarray, shape [2^m], int64
        ``counts[v]`` is the number of windows whose bits read v in binary (first bit = MSB).
    """
    n = bits.size
    if m <= 0:
        return np.array([n], dtype=np.int64)
    ext = np.concatenate([bits, bits[: m - 1]]).astype(np.int64)
    codes = np.zeros(n, dtype=np.int64)
    for j in range(m):
        codes = (codes << 1) | ext[j : j + n]
    return np.bincount(codes, minlength=1 << m)
