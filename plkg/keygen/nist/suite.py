"""The nine SP 800-22 tests of the RIS paper's Table I, run on one sequence or on a batch.

Batch mode follows SP 800-22 section 4.2: for every P-value of every test it reports the
proportion of sequences passing at alpha = 0.01 with the acceptable interval
p_hat +- 3 sqrt(p_hat (1 - p_hat) / s) (section 4.2.1), and the uniformity P-value
P_T = igamc(9/2, chi2/2) of the P-values' histogram over 10 equal bins (section 4.2.2).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaincc

from plkg.keygen.nist.approximate_entropy import approximate_entropy_test
from plkg.keygen.nist.base import DEFAULT_ALPHA, NistResult, as_bits
from plkg.keygen.nist.block_frequency import block_frequency_test
from plkg.keygen.nist.cumulative_sums import cumulative_sums_test
from plkg.keygen.nist.dft import dft_test
from plkg.keygen.nist.frequency import frequency_test
from plkg.keygen.nist.longest_run import longest_run_test
from plkg.keygen.nist.rank import rank_test
from plkg.keygen.nist.runs import runs_test
from plkg.keygen.nist.serial import serial_test

#: The nine tests of Table I of the RIS paper, by name.
NIST_TESTS: dict[str, Callable[..., NistResult]] = {
    "frequency": frequency_test,
    "block_frequency": block_frequency_test,
    "runs": runs_test,
    "longest_run": longest_run_test,
    "rank": rank_test,
    "dft": dft_test,
    "approximate_entropy": approximate_entropy_test,
    "cumulative_sums": cumulative_sums_test,
    "serial": serial_test,
}

#: Minimum number of sequences for the uniformity assessment (section 4.2.2).
MIN_SEQUENCES_UNIFORMITY = 55


def run_tests(
    bits, tests=None, options: dict | None = None, skip_inapplicable: bool = True
) -> dict[str, NistResult]:
    """Run SP 800-22 tests on one sequence.

    Parameters
    ----------
    bits : array_like, shape [n], 0/1
    tests : iterable of str or None
        Test names (keys of :data:`NIST_TESTS`); ``None`` runs all nine.
    options : dict or None
        Per-test keyword arguments, e.g. ``{"block_frequency": {"block_size": 64}}``.
    skip_inapplicable : bool
        A test that is undefined for the input (too short to form one block or matrix) gets NaN
        P-values (which do not pass) and a ``note`` starting with "not run" instead of raising.
    """
    eps = as_bits(bits)
    names = list(NIST_TESTS) if tests is None else list(tests)
    unknown = [t for t in names if t not in NIST_TESTS]
    if unknown:
        raise ValueError(f"unknown NIST test(s) {unknown}; available: {', '.join(NIST_TESTS)}")
    options = options or {}
    out = {}
    for t in names:
        try:
            out[t] = NIST_TESTS[t](eps, **options.get(t, {}))
        except ValueError as exc:
            if not skip_inapplicable or "recommendations" in str(exc):
                raise
            # the test is undefined for this input (e.g. n < 128 for the longest run)
            labels = {"cumulative_sums": ("forward", "backward"), "serial": ("p1", "p2")}.get(
                t, (t,)
            )
            nan = tuple(float("nan") for _ in labels)
            out[t] = NistResult(t, nan, labels, int(eps.size), {}, False, f"not run: {exc}")
    return out


@dataclass(frozen=True)
class BatchSummary:
    """Section 4.2 summary of one P-value of one test over s sequences.

    Attributes
    ----------
    test, label : str
        Test name and P-value label (``forward``, ``p1`` ...).
    n_sequences : int
        s.
    pass_ratio : float
        Proportion of sequences with P >= alpha.
    proportion_interval : (float, float)
        Acceptable range (1 - alpha) -+ 3 sqrt(alpha (1 - alpha) / s) of section 4.2.1.
    uniformity_p_value : float
        P_T of section 4.2.2 (NaN when s < 55: not computed, see ``note``).
    mean_p_value : float
        Average P-value (what Table I of the RIS paper appears to print).
    eligible : bool
        Every sequence met the test's input-size recommendations.
    note : str
    """

    test: str
    label: str
    n_sequences: int
    pass_ratio: float
    proportion_interval: tuple[float, float]
    uniformity_p_value: float
    mean_p_value: float
    histogram: tuple[int, ...]
    eligible: bool
    note: str

    @property
    def proportion_ok(self) -> bool:
        return self.pass_ratio >= self.proportion_interval[0]

    @property
    def uniform(self) -> bool:
        """P_T >= 0.0001 (section 4.2.2)."""
        return bool(self.uniformity_p_value >= 1e-4)

    @property
    def verdict(self) -> str:
        """``"not applicable"`` (ineligible input or NaN P-values), else ``"fail"`` when the pass
        ratio is below its interval or P_T (when computed, s >= 55) < 0.0001, else ``"pass"``."""
        if not self.eligible or math.isnan(self.pass_ratio) or math.isnan(self.mean_p_value):
            return "not applicable"
        if not self.proportion_ok:
            return "fail"
        if not math.isnan(self.uniformity_p_value) and not self.uniform:
            return "fail"
        return "pass"

    def to_dict(self) -> dict:
        return {
            "test": self.test,
            "label": self.label,
            "n_sequences": self.n_sequences,
            "pass_ratio": self.pass_ratio,
            "proportion_interval": list(self.proportion_interval),
            "proportion_ok": self.proportion_ok,
            "uniformity_p_value": None
            if math.isnan(self.uniformity_p_value)
            else self.uniformity_p_value,
            "uniform": self.uniform,
            "mean_p_value": self.mean_p_value,
            "histogram": list(self.histogram),
            "eligible": self.eligible,
            "verdict": self.verdict,
            "note": self.note,
        }


def uniformity_p_value(p_values) -> tuple[float, np.ndarray]:
    """P_T = igamc(9/2, chi2/2) over 10 equal bins of [0, 1] (section 4.2.2); also the counts."""
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        raise ValueError("uniformity_p_value: no P-values")
    counts = np.bincount(np.minimum((p * 10).astype(np.int64), 9), minlength=10)
    expected = p.size / 10.0
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    return float(gammaincc(4.5, chi2 / 2.0)), counts


def summarize(
    test: str, label: str, p_values, eligible: bool, note: str, alpha: float = DEFAULT_ALPHA
) -> BatchSummary:
    """Section 4.2 summary of a list of P-values of one test."""
    p = np.asarray(p_values, dtype=np.float64)
    s = p.size
    if s == 0:
        raise ValueError(f"{test}: no P-values to summarise")
    if np.isnan(p).any():
        nan = float("nan")
        return BatchSummary(test, label, s, 0.0, (nan, nan), nan, nan, (0,) * 10, False, note)
    half = 3.0 * math.sqrt(alpha * (1.0 - alpha) / s)
    interval = (1.0 - alpha - half, min(1.0, 1.0 - alpha + half))
    p_t, counts = uniformity_p_value(p)
    notes = [note] if note else []
    if s < MIN_SEQUENCES_UNIFORMITY:
        p_t = float("nan")
        notes.append(f"uniformity needs >= {MIN_SEQUENCES_UNIFORMITY} sequences, got {s}")
    return BatchSummary(
        test,
        label,
        s,
        float(np.mean(p >= alpha)),
        interval,
        p_t,
        float(p.mean()),
        tuple(int(c) for c in counts),
        eligible,
        "; ".join(notes),
    )


def run_batch(
    sequences,
    tests=None,
    options: dict | None = None,
    alpha: float = DEFAULT_ALPHA,
    progress=None,
) -> list[BatchSummary]:
    """Run the tests on every sequence and summarise each P-value as in section 4.2.

    Parameters
    ----------
    sequences : array_like, shape [S, n], 0/1
        S sequences of n bits.
    tests, options, alpha
        As in :func:`run_tests` and :func:`summarize`.
    progress : callable or None
        Called with no argument after each sequence (e.g. a progress bar's tick).

    Returns
    -------
    list of BatchSummary, one per (test, P-value label), in :data:`NIST_TESTS` order.
    """
    seqs = np.asarray(sequences)
    if seqs.ndim != 2 or seqs.shape[0] == 0 or seqs.shape[1] == 0:
        raise ValueError(
            f"run_batch: expected a non-empty [S, n] array of sequences, got shape {seqs.shape}"
        )
    if not (0 < alpha < 1):
        raise ValueError(f"run_batch: alpha must lie in (0, 1), got {alpha}")
    per_seq = []
    for s in seqs:
        per_seq.append(run_tests(s, tests, options))
        if progress is not None:
            progress()
    out = []
    for name, first in per_seq[0].items():
        eligible = all(r[name].eligible for r in per_seq)
        notes = sorted({r[name].note for r in per_seq if r[name].note})
        note = notes[0] if len(notes) == 1 else "; ".join(notes[:3])
        for j, label in enumerate(first.p_value_labels):
            ps = [r[name].p_values[j] for r in per_seq]
            out.append(summarize(name, label, ps, eligible, note, alpha))
    return out
