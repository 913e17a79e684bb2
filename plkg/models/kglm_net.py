"""KGLM-Net, the key generation Lagrange multiplier network (Fig. 3, Section V-B of the near-field paper).

One input neuron (the normalised P_a, Eq. (49)), one hidden layer, one output neuron (the
normalised mu, Eq. (50)). The paper does not give the hidden width of Fig. 3; we use 20 tanh
neurons, the width it gives for the structurally identical fairness FNN (Section VI-C-1).
"""

from __future__ import annotations

import torch

from plkg.models.fnn import FNN

KGLM_HIDDEN = 20


class KGLMNet(FNN):
    """P_a (normalised) [B, 1] -> mu (normalised) [B, 1]; a 1-``hidden``-1 tanh :class:`FNN`."""

    def __init__(
        self,
        hidden: int = KGLM_HIDDEN,
        activation: str = "tanh",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__(1, (int(hidden),), 1, activation, generator, dtype)


def build_network(arch: dict, dtype: torch.dtype = torch.float64) -> FNN:
    """Network of a checkpoint's architecture dict (``type`` FNN or KGLMNet)."""
    kind = arch.get("type")
    if kind == "KGLMNet":
        if (
            arch.get("in_features") != 1
            or arch.get("out_features") != 1
            or len(arch["hidden"]) != 1
        ):
            raise ValueError(f"KGLMNet is 1-H-1, got {arch!r}")
        return KGLMNet(int(arch["hidden"][0]), str(arch["activation"]), dtype=dtype)
    if kind == "FNN":
        return FNN.from_architecture(arch, dtype=dtype)
    raise ValueError(f"unknown network type {kind!r} in checkpoint architecture")
