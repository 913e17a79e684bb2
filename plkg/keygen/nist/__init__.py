"""NIST SP 800-22 Rev. 1a statistical tests (the nine of the RIS paper's Table I), NumPy/SciPy.

One test per module; :mod:`plkg.keygen.nist.suite` runs them on one sequence or on a batch.
"""

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
from plkg.keygen.nist.suite import (
    NIST_TESTS,
    BatchSummary,
    run_batch,
    run_tests,
    uniformity_p_value,
)

__all__ = [
    "DEFAULT_ALPHA",
    "NIST_TESTS",
    "BatchSummary",
    "NistResult",
    "approximate_entropy_test",
    "as_bits",
    "block_frequency_test",
    "cumulative_sums_test",
    "dft_test",
    "frequency_test",
    "longest_run_test",
    "rank_test",
    "run_batch",
    "run_tests",
    "runs_test",
    "serial_test",
    "uniformity_p_value",
]
