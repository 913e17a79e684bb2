"""Shared part of the checkpoint-bound allocators (FNNPA and FNNPAKF).

:class:`BoundAllocator` checks a checkpoint's label and input units, binds it to a scenario's
subchannel constants (fingerprint and m_a, m_b checks), validates P_a and scales allocations
down to the budget; :class:`CheckedBoundAllocator` adds the by-name argument checks of the public
:class:`plkg.inference.allocator.Allocator` and
:class:`plkg.inference.fairness_allocator.FairnessAllocator`. This module imports neither
Lightning nor :mod:`plkg.training`.
"""

from __future__ import annotations

import numpy as np

from plkg.checks import (
    check_choice,
    check_flag,
    check_instance,
    check_path,
    check_real_array,
    describe,
)
from plkg.errors import PlkgInputError, PlkgTypeError
from plkg.inference.checkpoint import BACKENDS, Checkpoint, load_checkpoint

# Binding tolerance on m_a, m_b. Designs reproduce to <= 3e-8 across CPUs and BLAS thread counts,
# and to <= 2.3e-5 under a 1e-12 relative perturbation of the CCM (the null-space basis of Eq. (16)
# turns by ~perturbation / null_space_rtol; tests/precoding). KGLM-Net's own mu error is ~6e-3.
# 1e-4 sits above every measured drift and 60x below the network's error: a design that differs by
# more is another design; one that differs by less gives allocations equal far below the FNN's
# accuracy.
DESIGN_RTOL = 1e-4


def scale_to_budget(x, pa):
    """Scale rows of x [B, N_D] whose sum exceeds P_a [B] down to sum x = P_a.

    Returns ``(x_scaled, scaled [B] bool, total [B])`` with ``total`` the sum before scaling.
    """
    total = x.sum(-1)
    scaled = total > pa
    factor = np.where(scaled, pa / np.where(total > 0, total, 1.0), 1.0)
    return x * factor[:, None], scaled, total


def check_same_design(ck: Checkpoint, stored: dict, design) -> None:
    """Refuse a design whose subchannel set or constants differ from the checkpoint's.

    The subchannel set (D_k per UE, i.e. the ``user`` array) must be identical, and m_a, m_b
    equal within :data:`DESIGN_RTOL`; the message names the largest difference.
    """
    if "user" in stored and not np.array_equal(stored["user"], design.user):
        got = np.bincount(design.user).tolist()
        want = np.bincount(stored["user"]).tolist()
        raise ValueError(
            f"checkpoint {ck.path.name} was trained for other subchannels: D_k {want}, the "
            f"design has D_k {got} (scenario fingerprint {ck.fingerprint})"
        )
    for name in ("m_a", "m_b"):
        want, got = stored[name], getattr(design, name)
        if want.shape != got.shape:
            raise ValueError(
                f"checkpoint {ck.path.name} was trained for {want.size} subchannels, the design "
                f"has {got.size} (scenario fingerprint {ck.fingerprint})"
            )
        rel = float(np.max(np.abs(got / want - 1.0)))
        if not rel <= DESIGN_RTOL:
            raise ValueError(
                f"checkpoint {ck.path.name} was trained for other subchannels: {name} differs by "
                f"{rel:.2e} (relative; tolerance {DESIGN_RTOL:g}) from the design's (scenario "
                f"fingerprint {ck.fingerprint})"
            )


class BoundAllocator:
    """A power-in-dBm FNN checkpoint bound to one scenario's subchannels.

    Subclasses set ``DEFAULT_CHECKPOINT``, ``LABEL`` (the checkpoint's label name), ``WRONG_LABEL`` (message tail when
    the label differs), ``WRONG_UNITS`` (message when the input is not in dBm) and
    ``POSITIVE_PA`` (message for P_a <= 0).
    """

    DEFAULT_CHECKPOINT: object  # path of the committed checkpoint
    LABEL: str
    WRONG_LABEL: str
    WRONG_UNITS: str
    POSITIVE_PA: str

    def __init__(
        self, checkpoint: Checkpoint, m_a, m_b, user, design=None, allow_extrapolation=False
    ):
        if checkpoint.meta.get("label_name") != self.LABEL:
            raise ValueError(
                f"checkpoint {checkpoint.meta.get('name')!r} predicts "
                f"{checkpoint.meta.get('label_name')!r}{self.WRONG_LABEL}"
            )
        if checkpoint.meta.get("input_units") != "dBm":
            raise ValueError(self.WRONG_UNITS)
        self.checkpoint = checkpoint
        self.m_a = np.asarray(m_a, dtype=np.float64)
        self.m_b = np.asarray(m_b, dtype=np.float64)
        self.user = np.asarray(user, dtype=np.int64)
        self.n_users = int(self.user.max()) + 1
        self.design = design
        self.allow_extrapolation = bool(allow_extrapolation)

    @classmethod
    def from_checkpoint(
        cls,
        path=None,
        scenario=None,
        design=None,
        allow_extrapolation=False,
        backend="torch",
    ):
        """Load a checkpoint (default: the class's ``DEFAULT_CHECKPOINT``) and bind it.

        ``scenario`` (if given) must have the checkpoint's fingerprint. ``design`` (if given) must
        have the subchannel constants stored in the checkpoint (:func:`check_same_design`);
        without a design the stored constants are used (enough for the label, x and C_k, not for
        precoders). ``backend``: ``torch`` or ``numpy``
        (:func:`plkg.inference.checkpoint.load_checkpoint`).

        Raises
        ------
        ValueError
            Bad checkpoint, mismatched fingerprint or subchannel constants.
        """
        path = cls.DEFAULT_CHECKPOINT if path is None else path
        return cls._bind(path, scenario, design, allow_extrapolation, backend)

    @classmethod
    def _bind(cls, path, scenario, design, allow_extrapolation, backend="torch"):
        ck = load_checkpoint(
            path,
            expected_fingerprint=None if scenario is None else scenario.fingerprint(),
            expected_label=cls.LABEL,
            backend=backend,
        )
        stored = ck.design
        if design is not None:
            if stored:
                check_same_design(ck, stored, design)
            return cls(ck, design.m_a, design.m_b, design.user, design, allow_extrapolation)
        if not stored:
            raise ValueError(
                f"checkpoint {ck.path.name} stores no subchannel constants: pass design"
            )
        return cls(ck, stored["m_a"], stored["m_b"], stored["user"], None, allow_extrapolation)

    def _powers(self, pa_w) -> np.ndarray:
        pa = np.atleast_1d(np.asarray(pa_w, dtype=np.float64))
        if pa.ndim != 1 or pa.size == 0:
            raise ValueError(f"P_a must be a scalar or a 1-D array, got shape {pa.shape}")
        if not np.all(np.isfinite(pa)):
            raise ValueError("P_a must be finite (got NaN or inf)")
        if np.any(pa <= 0):
            raise ValueError(self.POSITIVE_PA)
        return pa

    def _predict_raw(self, pa) -> np.ndarray:
        """Checkpoint output for validated P_a [B] (W); refuses P_a outside the training range."""
        # pa is validated (real, finite, > 0): dBm directly, without the checked units.w_to_dbm
        return self.checkpoint.predict(10.0 * np.log10(pa) + 30.0, self.allow_extrapolation)


def _check_design_like(design, name: str = "design") -> None:
    """None, or an object with the subchannel constants (a SubchannelDesign)."""
    if design is not None and not all(hasattr(design, a) for a in ("m_a", "m_b", "user")):
        raise PlkgTypeError(
            f"{name} must be a SubchannelDesign (from plkg.design_for_scenario) or None, got "
            f"{describe(design)}"
        )


class CheckedBoundAllocator(BoundAllocator):
    """:class:`BoundAllocator` whose constructor, :meth:`from_checkpoint` and budgets check their
    arguments by name first (the public :class:`plkg.inference.allocator.Allocator` and
    :class:`plkg.inference.fairness_allocator.FairnessAllocator` derive from it)."""

    def __init__(
        self, checkpoint: Checkpoint, m_a, m_b, user, design=None, allow_extrapolation=False
    ):
        check_instance(
            checkpoint, Checkpoint, "checkpoint", "a Checkpoint (from plkg.load_checkpoint)"
        )
        m_a = check_real_array(m_a, "m_a", ndim=1, positive=True, allow_empty=False, unit="W")
        m_b = check_real_array(m_b, "m_b", ndim=1, size=m_a.size, positive=True, unit="W")
        user = _check_user(user, m_a.size)
        _check_design_like(design)
        if design is not None and np.shape(design.m_a) != m_a.shape:
            raise PlkgInputError(
                f"design has {np.size(design.m_a)} subchannels but m_a has {m_a.size}"
            )
        check_flag(allow_extrapolation, "allow_extrapolation")
        super().__init__(checkpoint, m_a, m_b, user, design, allow_extrapolation)

    @classmethod
    def from_checkpoint(
        cls, path=None, scenario=None, design=None, allow_extrapolation=False, backend="torch"
    ):
        """Load a checkpoint (default: the class's ``DEFAULT_CHECKPOINT``) and bind it.

        Parameters
        ----------
        path : str or os.PathLike, optional
            The checkpoint's ``.safetensors`` (its ``.json`` sidecar beside it).
        scenario : NearFieldScenario, optional
            Must have the checkpoint's fingerprint.
        design : SubchannelDesign, optional
            Must have the subchannel constants stored in the checkpoint; needed for precoders.
        allow_extrapolation : bool
            Allow P_a outside the checkpoint's training range.
        backend : {"torch", "numpy"}
            Forward pass of the network (see :func:`plkg.inference.checkpoint.load_checkpoint`).

        Returns
        -------
        Allocator or FairnessAllocator
            An instance of the class it is called on, bound to the checkpoint's subchannels.

        Raises
        ------
        PlkgTypeError
            An argument of the wrong type.
        ValueError
            Bad checkpoint, mismatched fingerprint or subchannel constants.
        """
        if path is not None:
            check_path(path, "path", must_exist=False)
        if scenario is not None:
            from plkg.channels.nearfield_scenario import NearFieldScenario

            check_instance(
                scenario,
                NearFieldScenario,
                "scenario",
                "a NearFieldScenario (from plkg.load_scenario) or None",
            )
        _check_design_like(design)
        check_flag(allow_extrapolation, "allow_extrapolation")
        check_choice(backend, BACKENDS, "backend")
        return super().from_checkpoint(path, scenario, design, allow_extrapolation, backend)

    def _powers(self, pa_w) -> np.ndarray:
        # Types first (None, str, bool, complex are no power); the values by the shared check. A
        # float or a float64 array of <= 1 dimension is fine already: the online path skips it.
        if not (
            isinstance(pa_w, float)
            or (isinstance(pa_w, np.ndarray) and pa_w.dtype == np.float64 and pa_w.ndim <= 1)
        ):
            pa_w = check_real_array(pa_w, "pa_w", ndim=(0, 1), finite=False, unit="W")
        return super()._powers(pa_w)


def _check_user(user, n_subchannels: int) -> np.ndarray:
    """Owner UE of each subchannel: [N_D] integers >= 0."""
    if user is None or isinstance(user, (str, bytes, bool)):
        raise PlkgTypeError(f"user must be an integer array [N_D], got {describe(user)}")
    u = np.asarray(user)
    if u.dtype.kind not in "iu":
        raise PlkgTypeError(f"user must be an integer array [N_D], got dtype {u.dtype}")
    if u.shape != (n_subchannels,) or np.any(u < 0):
        raise PlkgInputError(
            f"user must hold one UE index >= 0 per subchannel ({n_subchannels}), got {describe(user)}"
        )
    return u
