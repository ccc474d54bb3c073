"""MC-Net (Huynh-The et al., IEEE Commun. Lett. 24(4), 2020) for 2x128 IQ windows: 121,611 weights.

A faithful PyTorch port of the Keras model used by the QET paper and by AMR-Benchmark
(``RML201610a/MCNET/rmlmodels/MCNET.py``): every convolution has TensorFlow ``padding="same"``
(asymmetric when the stride is > 1: the extra row/column goes to the bottom/right), a ReLU,
a glorot-uniform kernel and a zero bias; max pooling pads with ``-inf``; average pooling with
``"same"`` excludes the padded cells from the mean. The dense layer returns logits (the Keras
softmax belongs to the loss: use ``torch.nn.functional.cross_entropy``).

Tensor layout: PyTorch channels-first ``(N, C, H, W)`` with ``H = 2`` (I/Q rows) and ``W = 128``
(time); the Keras input ``(2, 128, 1)`` is ``(N, 1, 2, 128)`` here.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["tf_same_pads", "same_pad", "SamePad2d", "Conv2dSame", "max_pool_same", "avg_pool_same",
           "MCNetBlock", "MCNet"]

_Pair = tuple[int, int]


def _pair(v: int | tuple[int, ...], name: str) -> _Pair:
    out = (v, v) if isinstance(v, int) else tuple(v)
    if len(out) != 2 or any(int(i) < 1 for i in out):
        raise ValueError(f"{name}={v!r} must be a positive int or a pair of positive ints, e.g. (1, 3)")
    return int(out[0]), int(out[1])


def tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding ``(before, after)`` of one spatial axis.

    total = max((ceil(size / stride) - 1) * stride + kernel - size, 0); the odd pixel goes after.

    Example:
        >>> tf_same_pads(128, 7, 2)
        (2, 3)
    """
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def same_pad(x: Tensor, kernel: int | tuple[int, int], stride: int | tuple[int, int],
             value: float = 0.0) -> Tensor:
    """Pad ``x`` ``(..., H, W)`` so that a ``kernel``/``stride`` window gives TF "same" output.

    The output of the following valid convolution/pooling has shape ``ceil(H/sh) x ceil(W/sw)``.
    """
    (kh, kw), (sh, sw) = _pair(kernel, "kernel"), _pair(stride, "stride")
    top, bottom = tf_same_pads(x.shape[-2], kh, sh)
    left, right = tf_same_pads(x.shape[-1], kw, sw)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


class SamePad2d(nn.Module):
    """Module form of :func:`same_pad` (``value=-inf`` for max pooling)."""

    def __init__(self, kernel: int | tuple[int, int], stride: int | tuple[int, int] = 1,
                 value: float = 0.0) -> None:
        super().__init__()
        self.kernel, self.stride, self.value = _pair(kernel, "kernel"), _pair(stride, "stride"), value

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, H, W)`` -> padded ``(N, C, H + ph, W + pw)``."""
        return same_pad(x, self.kernel, self.stride, self.value)

    def extra_repr(self) -> str:
        return f"kernel={self.kernel}, stride={self.stride}, value={self.value}"


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` with TensorFlow "same" padding for any stride (no activation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1) -> None:
        super().__init__(in_channels, out_channels, _pair(kernel_size, "kernel_size"),
                         _pair(stride, "stride"), padding=0)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C_in, H, W)`` -> ``(N, C_out, ceil(H/sh), ceil(W/sw))``."""
        return F.conv2d(same_pad(x, self.kernel_size, self.stride), self.weight, self.bias, self.stride)


def max_pool_same(x: Tensor, kernel: int | tuple[int, int], stride: int | tuple[int, int]) -> Tensor:
    """Keras ``MaxPool2D(padding="same")``: pads with ``-inf``, so padding never wins."""
    return F.max_pool2d(same_pad(x, kernel, stride, float("-inf")), _pair(kernel, "kernel"),
                        _pair(stride, "stride"))


def avg_pool_same(x: Tensor, kernel: int | tuple[int, int], stride: int | tuple[int, int]) -> Tensor:
    """Keras ``AveragePooling2D(padding="same")``: the mean over the real (unpadded) cells only.

    Equivalent to ``count_include_pad=False`` with TF's asymmetric padding, which
    ``nn.AvgPool2d`` cannot express (it pads symmetrically).
    """
    k, s = _pair(kernel, "kernel"), _pair(stride, "stride")
    total = F.avg_pool2d(same_pad(x, k, s), k, s)
    ones = torch.ones((1, 1) + tuple(x.shape[-2:]), dtype=x.dtype, device=x.device)
    return total / F.avg_pool2d(same_pad(ones, k, s), k, s)


class MCNetBlock(nn.Module):
    """One MC-Net block: 1x1 squeeze, then parallel (3,1), (1,3) and 1x1 convolutions, concatenated.

    Output channels are ``[conv4, conv2, conv3]`` (the Keras concatenation order).
    ``down=True`` halves the width: ``conv2`` is followed by MaxPool (1,3)/(1,2) and ``conv3``,
    ``conv4`` have stride (1,2) (Keras Mblockp1/p3/p5); ``prepool=True`` adds the MaxPool (1,3)/(1,2)
    that Mblockp1 applies to its input.

    Shapes:
        ``(N, in_ch, H, W)`` -> ``(N, c4 + c2 + c3, H, W')`` with ``W' = ceil(W/2)`` if ``down``
        (``ceil(W/4)`` with ``prepool`` too), else ``W``.
    """

    def __init__(self, in_ch: int, c1: int = 32, c2: int = 48, c3: int = 48, c4: int = 32,
                 down: bool = False, prepool: bool = False) -> None:
        super().__init__()
        s = (1, 2) if down else (1, 1)
        self.down, self.prepool = down, prepool
        self.conv1 = Conv2dSame(in_ch, c1, (1, 1))
        self.conv2 = Conv2dSame(c1, c2, (3, 1))
        self.conv3 = Conv2dSame(c1, c3, (1, 3), s)
        self.conv4 = Conv2dSame(c1, c4, (1, 1), s)

    def forward(self, x: Tensor) -> Tensor:
        """See the class docstring for shapes."""
        if self.prepool:
            x = max_pool_same(x, (1, 3), (1, 2))
        c = F.relu(self.conv1(x))
        b2 = F.relu(self.conv2(c))
        if self.down:
            b2 = max_pool_same(b2, (1, 3), (1, 2))
        return torch.cat([F.relu(self.conv4(c)), b2, F.relu(self.conv3(c))], dim=1)


def _glorot_(module: nn.Module) -> None:
    """Keras defaults: glorot-uniform kernels (same fans as ``xavier_uniform_``), zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class MCNet(nn.Module):
    """MC-Net for RadioML-style IQ windows; 121,611 trainable parameters for 11 classes, W = 128.

    Layer names follow the Keras model (``conv1_1``, ``conv2_1``, ``conv2_2``, ``conv111``,
    ``mblockp1`` ... ``mblockp6``, ``dense``); ``add1`` ... ``add5``, ``x_con`` and ``flatten`` are
    identity taps so forward hooks can read the residual sums, the 384-channel concatenation and
    the dense input.

    Args:
        n_classes: number of output logits (11 for RML2016.10a, 10 for 10b, 24 for 2018.01a).
        input_length: window length ``W`` (128 in RML2016); the dense layer takes
            ``384 * ceil(W / 128)`` features.
        dropout: dropout probability before the dense layer (0.5 in the reference).

    Shapes:
        ``x``: ``(N, 1, 2, W)`` or ``(N, 2, W)`` -> logits ``(N, n_classes)``.

    Example:
        >>> import torch
        >>> model = MCNet()
        >>> sum(p.numel() for p in model.parameters())
        121611
        >>> model(torch.zeros(3, 2, 128)).shape
        torch.Size([3, 11])
    """

    def __init__(self, n_classes: int = 11, input_length: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        if n_classes < 1 or input_length < 1 or not 0.0 <= dropout < 1.0:
            raise ValueError(f"MCNet(n_classes={n_classes}, input_length={input_length}, dropout={dropout}): "
                             "need n_classes >= 1, input_length >= 1 and 0 <= dropout < 1")
        self.n_classes, self.input_length = n_classes, input_length
        self.conv1_1 = Conv2dSame(1, 64, (3, 7), (1, 2))
        self.conv2_1 = Conv2dSame(64, 32, (3, 1))
        self.conv2_2 = Conv2dSame(64, 32, (1, 3), (1, 2))
        self.conv111 = Conv2dSame(64, 128, (1, 1), (1, 2))
        self.mblockp1 = MCNetBlock(64, down=True, prepool=True)
        self.mblock2 = MCNetBlock(128)
        self.mblockp3 = MCNetBlock(128, down=True)
        self.mblockp4 = MCNetBlock(128)
        self.mblockp5 = MCNetBlock(128, down=True)
        self.mblockp6 = MCNetBlock(128, c2=96, c3=96, c4=64)
        for name in ("add1", "add2", "add3", "add4", "add5", "x_con"):
            self.add_module(name, nn.Identity())
        self.dropout = nn.Dropout(dropout)
        self.flatten = nn.Flatten()
        width = input_length
        for _ in range(7):  # seven stride-2 stages along W, each ceil(W / 2)
            width = math.ceil(width / 2)
        self.dense = nn.Linear(384 * width, n_classes)
        _glorot_(self)

    def _stem(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x1 = max_pool_same(F.relu(self.conv1_1(x)), (1, 3), (1, 2))
        x2 = avg_pool_same(F.relu(self.conv2_1(x1)), (1, 3), (1, 2))
        x222 = torch.cat([x2, F.relu(self.conv2_2(x1))], dim=1)
        xx1 = max_pool_same(F.relu(self.conv111(x222)), (1, 3), (1, 2))
        return x222, xx1

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, n_classes)`` for ``x`` ``(N, 1, 2, W)`` or ``(N, 2, W)``."""
        shape = tuple(x.shape)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 2, self.input_length):
            raise ValueError(f"MCNet input has shape {shape}; expected (N, 1, 2, {self.input_length}) "
                             f"or (N, 2, {self.input_length}) (I/Q rows, time); reshape the batch or "
                             "build MCNet(input_length=...)")
        x222, xx1 = self._stem(x)
        add1 = self.add1(self.mblockp1(x222) + xx1)
        add2 = self.add2(self.mblock2(add1) + add1)
        add3 = self.add3(self.mblockp3(add2) + max_pool_same(add2, (2, 2), (1, 2)))
        add4 = self.add4(self.mblockp4(add3) + add3)
        add5 = self.add5(self.mblockp5(add4) + max_pool_same(add4, (2, 2), (1, 2)))
        x_con = self.x_con(torch.cat([self.mblockp6(add5), add5], dim=1))
        feats = self.flatten(self.dropout(F.avg_pool2d(x_con, (2, 1))))
        return self.dense(feats)
