"""The frozen target template: a copy of the target whose parameters became buffers.

Quantum-Train never trains the target's own parameters, so the wrapper holds a deep copy in which
every parameter is a buffer: ``QuantumTrain.parameters()`` then yields only the generator's
(the official code registers the template as a submodule and reports 8,187 = 1,497 + 6,690).
Generated tensors enter it through ``torch.func.functional_call``; running statistics
(BatchNorm) stay real buffers of the template and update in place in train mode.

Example:
    >>> from torch import nn
    >>> tpl, specs = make_template(nn.Linear(3, 2))
    >>> [s.name for s in specs], len(list(tpl.parameters()))
    (['weight', 'bias'], 0)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["TensorSpec", "make_template", "materialize"]


@dataclass(frozen=True)
class TensorSpec:
    """One target parameter: its name (as in ``named_parameters``), tied aliases, shape, whether generated."""

    name: str
    shape: torch.Size
    generated: bool
    aliases: tuple[str, ...] = ()

    @property
    def numel(self) -> int:
        return self.shape.numel()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _check_target(target: nn.Module) -> list[tuple[str, nn.Parameter]]:
    if not isinstance(target, nn.Module):
        raise ValueError(f"target must be a torch.nn.Module, got {type(target).__name__}")
    params = [(n, p) for n, p in target.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError(
            f"target {type(target).__name__} has no parameters with requires_grad=True, so there is "
            "nothing to generate; pass a module with at least one trainable parameter"
        )
    dtypes = sorted({str(p.dtype).replace("torch.", "") for _, p in params})
    if len(dtypes) > 1:
        raise ValueError(
            f"target parameters have mixed dtypes {dtypes}; Quantum-Train generates one flat vector, "
            "so convert the target first, e.g. target.float() or target.double()"
        )
    devices = sorted({str(p.device) for _, p in params})
    if len(devices) > 1:
        raise ValueError(
            f"target parameters are on several devices {devices}; move the target to one device "
            "first, e.g. target.to('cuda:0')"
        )
    return params


def make_template(target: nn.Module) -> tuple[nn.Module, list[TensorSpec]]:
    """Deep-copy ``target`` and turn every parameter into a buffer.

    Parameters with ``requires_grad=True`` are generated (non-persistent buffers, kept only as
    shape/dtype references); frozen ones become persistent buffers and keep their values. Tied
    parameters are generated once and fed under all their names.

    Returns:
        The template and one :class:`TensorSpec` per distinct parameter, in
        ``target.named_parameters()`` order.
    """
    _check_target(target)
    template = copy.deepcopy(target)
    names: dict[int, list[str]] = {}
    first: dict[int, nn.Parameter] = {}
    for n, p in template.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(n)
        first.setdefault(id(p), p)
    specs = [TensorSpec(ns[0], first[k].shape, first[k].requires_grad, tuple(ns[1:])) for k, ns in names.items()]
    as_buffer: dict[int, Tensor] = {}
    for module in template.modules():
        for name, p in list(module._parameters.items()):
            if p is None:
                continue
            buf = as_buffer.setdefault(id(p), p.detach())  # the deep copy's storage: no second copy
            del module._parameters[name]
            module.register_buffer(name, buf, persistent=not p.requires_grad)
    return template, specs


def materialize(template: nn.Module, specs: list[TensorSpec], generated: dict[str, Tensor]) -> nn.Module:
    """A plain deep copy of ``template`` whose parameters are ``generated`` (frozen ones keep their values).

    The result holds no autograd history and no qtrain objects, so it pickles and runs without qtrain.
    """
    out = copy.deepcopy(template)
    for spec in specs:
        owner, _, leaf = spec.name.rpartition(".")
        value = generated[spec.name] if spec.generated else out.get_submodule(owner)._buffers[leaf]
        p = nn.Parameter(value.detach().clone().reshape(spec.shape), requires_grad=spec.generated)
        for full in spec.names:
            mname, _, name = full.rpartition(".")
            module = out.get_submodule(mname)
            del module._buffers[name]
            module._non_persistent_buffers_set.discard(name)
            setattr(module, name, p)  # through __setattr__: RNN modules refresh their flat weights
    return out
