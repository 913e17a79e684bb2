"""Safe loading of FNN checkpoints written by :func:`plkg.training.train.train_regressor`.

``NAME.safetensors`` (weights, no pickle) + ``NAME.json`` (architecture, normalisation, training
range, scenario fingerprint, metrics). The JSON holds the SHA-256 of the weights, so a truncated or
swapped file is reported clearly, and (format 2) ``sidecar_sha256``, the SHA-256 of its own
canonical JSON without that field (:mod:`plkg.io.sidecar_hash`), so any edit of the sidecar
(training range, normalisation, activation ...) is refused. Format-1 checkpoints, which predate
that field, still load with a warning. This module imports neither Lightning nor :mod:`plkg.training`.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plkg.checks import check_choice, check_path, check_real_array, describe
from plkg.data.normalization import MinMax
from plkg.errors import PlkgInputError, PlkgTypeError
from plkg.io.sidecar_hash import verify_sidecar_sha256

# torch is imported only by the "torch" backend: the "numpy" backend (the CLI's) starts in a
# fraction of the time, since importing torch alone takes about 1.5 s.
BACKENDS = ("torch", "numpy")
_NUMPY_ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda h: 1.0 / (1.0 + np.exp(-h)),
    "relu": lambda h: np.maximum(h, 0.0),
}


class NumpyNet:
    """Forward pass of a :class:`plkg.models.fnn.FNN` checkpoint in float64 NumPy.

    Same network as the torch one (Linear layers at ``layers.0, 2, 4, ...`` of the state dict,
    the activation between them, a linear output); outputs agree with torch to ~1e-15 relative
    (the two libraries' tanh and summation orders differ in the last bit).

    Parameters
    ----------
    arch : dict
        The checkpoint's ``architecture`` (``in_features``, ``hidden``, ``out_features``,
        ``activation``).
    state : dict of str -> ndarray
        ``layers.{i}.weight`` [out, in] and ``layers.{i}.bias`` [out].
    """

    def __init__(self, arch: dict, state: dict):
        try:
            widths = [int(arch["in_features"]), *(int(h) for h in arch["hidden"])]
            widths.append(int(arch["out_features"]))
            self.activation = _NUMPY_ACTIVATIONS[str(arch["activation"])]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad network architecture description {arch!r}: {exc}") from exc
        expected = {
            f"layers.{2 * i}.{p}" for i in range(len(widths) - 1) for p in ("weight", "bias")
        }
        if set(state) != expected:
            raise ValueError(f"weights {sorted(state)} do not match the architecture {arch}")
        self.layers = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            w = np.asarray(state[f"layers.{2 * i}.weight"], dtype=np.float64)
            bias = np.asarray(state[f"layers.{2 * i}.bias"], dtype=np.float64)
            if w.shape != (b, a) or bias.shape != (b,):
                raise ValueError(f"weights of layer {i} do not match the architecture {arch}")
            self.layers.append((w, bias))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """[B, in_features] -> [B, out_features], normalised units."""
        h = np.asarray(x, dtype=np.float64)
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = self.activation(h)
        return h


CHECKPOINT_FORMAT = "plkg-fnn-checkpoint-2"
# Read with a warning: no sidecar_sha256, so edits of their JSON cannot be detected.
LEGACY_CHECKPOINT_FORMATS = ("plkg-fnn-checkpoint-1",)


@dataclass(frozen=True)
class Checkpoint:
    """A loaded, validated checkpoint.

    Attributes
    ----------
    net : FNN (eval mode, float64)
    meta : dict
        The JSON sidecar.
    input_norm, label_norm : MinMax
        Eqs. (49)/(50) constants.
    design : dict of str -> ndarray
        ``m_a``, ``m_b``, ``user`` of the scenario the net was trained for (may be empty).
    path : Path
    """

    net: object
    meta: dict
    input_norm: MinMax
    label_norm: MinMax
    design: dict = field(default_factory=dict)
    path: Path | None = None

    @property
    def fingerprint(self) -> str:
        return str(self.meta["scenario_fingerprint"])

    @property
    def training_range(self) -> tuple[float, float]:
        """(lo, hi) of the input the net was trained on, in ``meta['input_units']``."""
        r = self.meta["training_range"]
        return float(r["lo"]), float(r["hi"])

    def check_inputs(self, inputs, allow_extrapolation: bool = False) -> np.ndarray:
        """Validate network inputs [...] (real, finite; inside the training range unless allowed)."""
        if isinstance(inputs, np.ndarray) and inputs.dtype == np.float64:
            v = inputs  # already real (the allocators' validated P_a in dBm): no type check
        else:
            v = check_real_array(inputs, str(self.meta.get("input_name", "inputs")), finite=False)
        if v.size == 0:
            raise ValueError("no inputs given")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{self.meta['input_name']} must be finite (got NaN or inf)")
        lo, hi = self.training_range
        tol = 1e-9 * max(1.0, abs(lo), abs(hi))
        if not allow_extrapolation and (np.any(v < lo - tol) or np.any(v > hi + tol)):
            bad = v[(v < lo - tol) | (v > hi + tol)].ravel()[0]
            raise ValueError(
                f"{self.meta['input_name']} = {bad:.4g} {self.meta['input_units']} is outside the "
                f"training range [{lo:g}, {hi:g}] {self.meta['input_units']} of checkpoint "
                f"{self.meta.get('name')!r}; allow extrapolation (CLI: --allow-extrapolation) to force it"
            )
        return v

    def predict(self, inputs, allow_extrapolation: bool = False) -> np.ndarray:
        """Denormalised network output for inputs [...] (same shape, float64)."""
        v = self.check_inputs(inputs, allow_extrapolation)
        z = self.input_norm.forward(v).reshape(-1, 1)
        if isinstance(self.net, NumpyNet):
            out = self.net(z).reshape(v.shape)
        else:
            import torch

            with torch.no_grad():
                out = self.net(torch.as_tensor(z, dtype=torch.float64)).reshape(v.shape).numpy()
        return np.asarray(self.label_norm.inverse(out), dtype=np.float64)


def _check_load_arguments(path, expected_fingerprint, expected_label, backend) -> Path:
    """The arguments of :func:`load_checkpoint`, before any file is read."""
    path = check_path(path, "checkpoint path", must_exist=False)
    if path.is_dir():
        raise PlkgInputError(
            f"checkpoint path {str(path)!r} is a folder; give its NAME.safetensors file"
        )
    for name, value in (
        ("expected_fingerprint", expected_fingerprint),
        ("expected_label", expected_label),
    ):
        if value is not None and not isinstance(value, str):
            raise PlkgTypeError(f"{name} must be a str or None, got {describe(value)}")
    check_choice(backend, BACKENDS, "backend")
    return path


def load_checkpoint(
    path,
    expected_fingerprint: str | None = None,
    expected_label: str | None = None,
    backend: str = "torch",
) -> Checkpoint:
    """Load ``NAME.safetensors`` + ``NAME.json``.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint's ``.safetensors`` (or its ``.json`` sidecar).
    expected_fingerprint : str, optional
        Scenario fingerprint the caller works with; a different one is refused.
    expected_label : str, optional
        E.g. ``mu`` (KGLM-Net) or ``t`` (fairness FNN); a different label is refused.
    backend : {"torch", "numpy"}
        ``torch``: ``net`` is the :class:`plkg.models.fnn.FNN` (eval mode, float64). ``numpy``:
        ``net`` is a :class:`NumpyNet` and torch is never imported (fast start-up; predictions
        equal to ~1e-15 relative).

    Returns
    -------
    Checkpoint
        The network (``net``), its JSON sidecar (``meta``: label, training range, scenario
        fingerprint), the Eqs. (49)/(50) normalisations and the subchannel constants
        (``design``) it was trained for.

    Raises
    ------
    PlkgTypeError
        ``path`` is not a str or path, ``expected_fingerprint``/``expected_label`` not a str.
    ValueError
        Missing files, a folder, bad JSON, hash mismatch (truncated/corrupt/swapped weights),
        unknown architecture, weights that do not fit the architecture, wrong fingerprint or
        label, an unknown ``backend``.
    """
    path = _check_load_arguments(path, expected_fingerprint, expected_label, backend)
    if path.suffix not in ("", ".safetensors", ".json"):
        raise PlkgInputError(
            f"checkpoint {str(path)!r} is not a checkpoint: give NAME.safetensors (weights, with "
            "NAME.json beside it) or NAME, as `plkg train` writes them"
        )
    weights = path.with_suffix(".safetensors")
    side = path.with_suffix(".json")
    for p in (weights, side):
        if not p.is_file():
            raise PlkgInputError(f"checkpoint file {str(p)!r} does not exist")
    try:
        meta = json.loads(side.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"checkpoint sidecar {str(side)!r} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") not in (
        CHECKPOINT_FORMAT,
        *LEGACY_CHECKPOINT_FORMATS,
    ):
        raise ValueError(f"{str(side)!r} is not a {CHECKPOINT_FORMAT} checkpoint description")
    if meta["format"] == CHECKPOINT_FORMAT:
        verify_sidecar_sha256(meta, f"checkpoint sidecar {str(side)!r}")
    else:
        warnings.warn(
            f"checkpoint sidecar {str(side)!r} is {meta['format']} (no sidecar_sha256): edits of "
            "it cannot be detected; retrain or regenerate it",
            UserWarning,
            stacklevel=2,
        )
    blob = weights.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.get("safetensors_sha256"):
        raise ValueError(
            f"checkpoint weights {str(weights)!r} are truncated or corrupt, or do not belong to "
            f"{side.name} (SHA-256 mismatch)"
        )
    if backend == "numpy":
        from safetensors.numpy import load
    else:
        from safetensors.torch import load

    try:
        tensors = load(blob)
    except Exception as exc:  # safetensors raises its own error types
        raise ValueError(f"checkpoint weights {str(weights)!r} cannot be read: {exc}") from exc
    try:
        if backend == "torch":
            from plkg.models.kglm_net import build_network

            net = build_network(meta["architecture"])
        input_norm = MinMax.from_dict(meta["normalization"]["input"])
        label_norm = MinMax.from_dict(meta["normalization"]["label"])
        lo, hi = float(meta["training_range"]["lo"]), float(meta["training_range"]["hi"])
        fingerprint = meta["scenario_fingerprint"]
        label = meta["label_name"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"checkpoint sidecar {str(side)!r} lacks {exc}") from exc
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"checkpoint {str(side)!r} has a bad training range [{lo}, {hi}]")
    state = {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}
    if backend == "numpy":
        try:
            net = NumpyNet(meta["architecture"], state)
        except ValueError as exc:
            raise ValueError(f"checkpoint weights {str(weights)!r}: {exc}") from exc
    else:
        try:
            net.load_state_dict(state, strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"checkpoint weights {str(weights)!r} do not match the architecture "
                f"{meta['architecture']}: {exc}"
            ) from exc
        net.eval()
    if expected_fingerprint is not None and fingerprint != expected_fingerprint:
        raise ValueError(
            f"checkpoint {weights.name} was trained for scenario fingerprint {fingerprint} "
            f"({meta.get('scenario_name')}), not {expected_fingerprint}"
        )
    if expected_label is not None and label != expected_label:
        raise ValueError(
            f"checkpoint {weights.name} predicts {label!r}, expected {expected_label!r}"
        )
    design = {
        k[7:]: np.array(v if backend == "numpy" else v.numpy(), copy=True)
        for k, v in tensors.items()
        if k.startswith("design.")
    }
    return Checkpoint(
        net=net,
        meta=meta,
        input_norm=input_norm,
        label_norm=label_norm,
        design=design,
        path=weights,
    )
