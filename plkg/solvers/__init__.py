"""the power-allocation and RIS optimisation problems of both papers.

Near-field paper, sum key rate (P1), Eq. (45): equal power (:mod:`~plkg.solvers.equal_power`),
exact water-filling (:mod:`~plkg.solvers.water_filling`, Eqs. (45)-(48); batched and design-bound
variants) and a CVXPY reference (:mod:`~plkg.solvers.sum_rate_cvxpy`). Max-min fairness (P2),
Eq. (52): the exact solver (:mod:`~plkg.solvers.maxmin_exact`), its canonical optimum
(:mod:`~plkg.solvers.maxmin_lexicographic`), the high-power algorithm
(:mod:`~plkg.solvers.maxmin_highpower`, Algorithm 1) and CVXPY's (P3), Eq. (53)
(:mod:`~plkg.solvers.maxmin_cvxpy`, with :mod:`~plkg.solvers.maxmin_cvxpy_problem`,
:mod:`~plkg.solvers.maxmin_cvxpy_certify` and :mod:`~plkg.solvers.maxmin_pruning`). Every method returns an
:class:`~plkg.solvers.allocation.AllocationResult`.

RIS paper: the alternating optimisation of Section IV (:mod:`~plkg.solvers.ris_alternating`, its
inputs :mod:`~plkg.solvers.ris_ao_inputs` and results :mod:`~plkg.solvers.ris_ao_result`) of
the precoders (Algorithm 1, :mod:`~plkg.solvers.ris_precoder_kkt`) and the RIS phases
(Algorithm 2, :mod:`~plkg.solvers.ris_phase_pga`).
"""
