"""Adam with its state in shared memory, so that every A3C worker process steps the same optimizer.

The moments and step counts are created eagerly and moved to shared memory (as in the public
PyTorch A3C implementations the DiffQAS-QT RL experiments build on); the parameters must be
shared too (``model.share_memory()``). Updates from different workers are applied without a lock
(Hogwild-style, as in A3C).
"""
from __future__ import annotations

from typing import Any, Iterable

import torch

__all__ = ["SharedAdam"]


class SharedAdam(torch.optim.Adam):
    """``torch.optim.Adam`` whose ``step``, ``exp_avg`` and ``exp_avg_sq`` live in shared memory.

    Args:
        params: the shared model's parameters.
        lr, betas, eps, weight_decay: as in Adam (DiffQAS-QT: lr 1e-4, betas (0.92, 0.999)).

    Example:
        >>> m = torch.nn.Linear(3, 1).share_memory()
        >>> opt = SharedAdam(m.parameters(), lr=1e-4, betas=(0.92, 0.999))
        >>> opt.state[m.weight]["exp_avg"].is_shared()
        True
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-4,
                 betas: tuple[float, float] = (0.92, 0.999), eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        # foreach=False: the per-parameter path updates the shared tensors in place, one by one
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = torch.zeros((), dtype=torch.float32)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        self.share_memory()

    def share_memory(self) -> SharedAdam:
        """Move every state tensor to shared memory (again after :meth:`load_state_dict`)."""
        for state in self.state.values():
            for t in state.values():
                if isinstance(t, torch.Tensor):
                    t.share_memory_()
        return self

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.share_memory()
