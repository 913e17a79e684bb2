"""A small fully connected regression network (plain ``nn.Module``).

Shared by KGLM-Net (Fig. 3 / Section V-B of the near-field paper, P_a -> mu) and the fairness FNN
(Section VI-C, P_a -> t: one input, 20 hidden neurons, one output). Hidden layers use tanh (MATLAB
``tansig``, the default of the ``fitnet`` networks trained with ``trainlm``), the output is linear.
Weights are initialised only from an explicit ``torch.Generator``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}


class FNN(nn.Module):
    """Feed-forward net ``in -> hidden... -> out`` with a linear output layer.

    Parameters
    ----------
    in_features, out_features : int
    hidden : sequence of int
        Hidden layer widths (paper: a single layer of 20).
    activation : str
        ``tanh`` (default), ``sigmoid`` or ``relu``.
    generator : torch.Generator, optional
        Initialises the weights (uniform +-1/sqrt(fan_in), like ``nn.Linear``); without one the
        weights are zero-initialised placeholders to be loaded from a checkpoint.
    dtype : torch.dtype
        Parameter dtype (default float64: the targets need ~1e-5 relative accuracy).

    Notes
    -----
    Shapes: ``forward`` maps [B, in_features] to [B, out_features] (normalised units).
    """

    def __init__(
        self,
        in_features: int = 1,
        hidden=(20,),
        out_features: int = 1,
        activation: str = "tanh",
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose from {list(ACTIVATIONS)}")
        hidden = [int(h) for h in hidden]
        if int(in_features) < 1 or int(out_features) < 1 or any(h < 1 for h in hidden):
            raise ValueError(
                f"layer widths must be >= 1, got {in_features}, {hidden}, {out_features}"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.hidden = tuple(hidden)
        self.activation = activation
        widths = [self.in_features, *hidden, self.out_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers.append(nn.Linear(a, b, dtype=dtype))
            if i < len(widths) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.layers = nn.Sequential(*layers)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None) -> None:
        """Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) from ``generator``; zeros if None."""
        with torch.no_grad():
            for layer in self.layers:
                if isinstance(layer, nn.Linear):
                    if generator is None:
                        layer.weight.zero_()
                        layer.bias.zero_()
                        continue
                    bound = 1.0 / math.sqrt(layer.in_features)
                    nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)

    def architecture(self) -> dict:
        """JSON-serialisable description, inverse of :meth:`from_architecture`."""
        return {
            "type": type(self).__name__,
            "in_features": self.in_features,
            "hidden": list(self.hidden),
            "out_features": self.out_features,
            "activation": self.activation,
        }

    @classmethod
    def from_architecture(cls, arch: dict, dtype: torch.dtype = torch.float64) -> FNN:
        """Build an (uninitialised) network from :meth:`architecture` output."""
        try:
            return cls(
                in_features=int(arch["in_features"]),
                hidden=tuple(int(h) for h in arch["hidden"]),
                out_features=int(arch["out_features"]),
                activation=str(arch["activation"]),
                dtype=dtype,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"bad network architecture description {arch!r}: {exc}") from exc
