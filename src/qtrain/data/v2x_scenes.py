"""Synthetic V2X scenes seen by two sensors: a camera-like image and an FMCW range-Doppler map.

The V2X paper (arXiv 003, Sec. IV) fuses camera images with radar. No such dataset ships in a
package, so this module generates both modalities of the same scene from one documented model.

Scene: the ego vehicle looks along +y. One or two vehicles (probability ``p_two``), each with a
type (car, truck, motorcycle: width x height 1.8 x 1.5, 2.5 x 3.5, 0.8 x 1.3 m; mean radar cross
section 10, 100, 1 m^2), a range ``r ~ U[8, 48)`` m (two vehicles at least 6 m apart), a lane
offset ``x = 3 * lane + U(-0.5, 0.5)`` m with ``lane in {-1, 0, 1}``, and a radial velocity
``v ~ U[1, 12]`` m/s times a random sign (negative: approaching).

* **Camera** (``32 x 32``): pinhole camera 1.2 m above the road, focal length 32 px (53 deg field
  of view), horizon at row 12. A vehicle is an anti-aliased box, columns
  ``16 + 32 (x +- W/2) / r``, rows from ``12 + 32 * 1.2 / r - 32 H / r`` (top) to
  ``12 + 32 * 1.2 / r`` (ground contact); nearer vehicles occlude farther ones. Sky 0.5, road 0.2,
  vehicles 0.9, plus Gaussian pixel noise (std ``camera_noise``). The camera sees type (shape),
  lane and range (ground row), not velocity.
* **Radar** (``16 range x 16 Doppler`` bins): range 0-64 m (4 m bins), radial velocity -16..16 m/s
  (2 m/s bins). A vehicle returns power ``P = snr_ref * (sigma / 10) * (20 / r)^4`` (radar
  equation; ``snr_ref = 10^(radar_snr_db / 10)`` for a 10 m^2 target at 20 m) with a Swerling-I
  fluctuating ``sigma = mean * Exp(1)``, spread over a Gaussian mainlobe (0.6 bins); every cell
  adds unit-mean exponential noise (square-law detected complex Gaussian noise). The map is
  ``max(10 log10(power), -10) / 30``. The radar sees range and velocity; type only through the
  fluctuating cross section; no lane.

Label: the nearest vehicle's ``2 * type + approaching`` (6 classes), which needs both sensors.

Example:
    >>> s = make_scenes(4, seed=0)
    >>> s.camera.shape, s.radar.shape, s.label.shape
    (torch.Size([4, 1, 32, 32]), torch.Size([4, 1, 16, 16]), torch.Size([4]))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

__all__ = ["TYPES", "SIZES_M", "RCS_M2", "Scenes", "make_scenes", "scene_splits", "N_CLASSES"]

TYPES = ("car", "truck", "motorcycle")
SIZES_M = torch.tensor([[1.8, 1.5], [2.5, 3.5], [0.8, 1.3]])
"""(width, height) in metres per type."""
RCS_M2 = torch.tensor([10.0, 100.0, 1.0])
"""Mean radar cross section per type."""
N_CLASSES = 6
IMG, FOCAL, HORIZON, CAM_HEIGHT = 32, 32.0, 12.0, 1.2
RD = 16  # range and Doppler bins
RANGE_BIN_M, DOPPLER_BIN_MS, V_MAX = 4.0, 2.0, 16.0


@dataclass
class Scenes:
    """A batch of scenes: both sensor images, the label and the ground truth behind them."""

    camera: Tensor  # (n, 1, 32, 32)
    radar: Tensor  # (n, 1, 16, 16): rows = range bins, columns = Doppler bins
    label: Tensor  # (n,) int64 in 0..5
    types: Tensor  # (n, 2) int64, -1 for an absent second vehicle
    ranges: Tensor  # (n, 2) metres (inf when absent)
    velocities: Tensor  # (n, 2) m/s


def _coverage(lo: Tensor, hi: Tensor, n: int) -> Tensor:
    """Fraction of pixel ``i`` (spanning ``[i, i + 1)``) inside ``[lo, hi]``: ``(..., n)``."""
    px = torch.arange(n, dtype=lo.dtype)
    return (torch.minimum(hi[..., None], px + 1) - torch.maximum(lo[..., None], px)).clamp(0, 1)


def _draw(n: int, p_two: float, gen: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    types = torch.randint(0, 3, (n, 2), generator=gen)
    r1 = 8 + 40 * torch.rand(n, generator=gen)
    gap = 6 + 28 * torch.rand(n, generator=gen)  # circular distance on [8, 48) is >= 6 m
    r2 = 8 + torch.remainder(r1 - 8 + gap, 40)
    ranges = torch.stack([r1, r2], 1)
    present = torch.stack([torch.ones(n, dtype=torch.bool), torch.rand(n, generator=gen) < p_two], 1)
    lanes = torch.randint(-1, 2, (n, 2), generator=gen).float()
    x = 3.0 * lanes + torch.rand(n, 2, generator=gen) - 0.5
    sign = torch.where(torch.rand(n, 2, generator=gen) < 0.5, -1.0, 1.0)
    vel = sign * (1 + 11 * torch.rand(n, 2, generator=gen))
    return types, torch.where(present, ranges, torch.full_like(ranges, math.inf)), present, x, vel


def _camera(types: Tensor, ranges: Tensor, present: Tensor, x: Tensor, noise: float, gen: torch.Generator) -> Tensor:
    n = types.shape[0]
    rows = torch.arange(IMG, dtype=torch.float32)[:, None]
    img = torch.where(rows < HORIZON, 0.5, 0.2).expand(n, IMG, IMG).clone()
    order = torch.argsort(torch.where(present, ranges, torch.zeros_like(ranges)), dim=1, descending=True)
    for k in range(2):  # far vehicle first, the near one paints over it (occlusion)
        slot = order[:, k]
        r = ranges.gather(1, slot[:, None])[:, 0].clamp(max=1e6)
        wh = SIZES_M[types.gather(1, slot[:, None])[:, 0]]
        xc = x.gather(1, slot[:, None])[:, 0]
        bottom = HORIZON + FOCAL * CAM_HEIGHT / r
        cols = _coverage(IMG / 2 + FOCAL * (xc - wh[:, 0] / 2) / r, IMG / 2 + FOCAL * (xc + wh[:, 0] / 2) / r, IMG)
        rws = _coverage(bottom - FOCAL * wh[:, 1] / r, bottom, IMG)
        mask = rws[:, :, None] * cols[:, None, :] * present.gather(1, slot[:, None]).float()[:, :, None]
        img = img * (1 - mask) + 0.9 * mask
    return (img + noise * torch.randn(n, IMG, IMG, generator=gen)).unsqueeze(1)


def _radar(types: Tensor, ranges: Tensor, present: Tensor, vel: Tensor, snr_ref: float,
           gen: torch.Generator) -> Tensor:
    n = types.shape[0]
    rbin = torch.arange(RD, dtype=torch.float32) + 0.5
    dbin = torch.arange(RD, dtype=torch.float32) + 0.5
    power = -torch.log(torch.rand(n, RD, RD, generator=gen).clamp_min(1e-12))  # unit-mean exponential noise
    for k in range(2):
        sigma = RCS_M2[types[:, k]] * -torch.log(torch.rand(n, generator=gen).clamp_min(1e-12))  # Swerling I
        r = ranges[:, k].clamp(max=1e6)
        p = snr_ref * (sigma / 10.0) * (20.0 / r) ** 4 * present[:, k].float()
        ri, di = r / RANGE_BIN_M, (vel[:, k] + V_MAX) / DOPPLER_BIN_MS
        lobe_r = torch.exp(-0.5 * ((rbin - ri[:, None]) / 0.6) ** 2)
        lobe_d = torch.exp(-0.5 * ((dbin - di[:, None]) / 0.6) ** 2)
        power = power + p[:, None, None] * lobe_r[:, :, None] * lobe_d[:, None, :]
    return (10 * torch.log10(power).clamp_min(-1.0) / 30).unsqueeze(1)  # floor at -10 dB


def make_scenes(n: int, seed: int = 0, p_two: float = 0.5, camera_noise: float = 0.05,
                radar_snr_db: float = 30.0) -> Scenes:
    """``n`` scenes from the documented model, reproducible from ``seed``.

    Args:
        n: number of scenes.
        seed: generator seed.
        p_two: probability of a second vehicle.
        camera_noise: std of the additive pixel noise.
        radar_snr_db: mean SNR of a 10 m^2 target at 20 m.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer (number of scenes)")
    for name, v, lo, hi in (("p_two", p_two, 0, 1), ("camera_noise", camera_noise, 0, math.inf)):
        if not isinstance(v, (int, float)) or not lo <= v <= hi or not math.isfinite(float(v)):
            raise ValueError(f"{name}={v!r} must be a finite number in [{lo}, {hi}]")
    if not math.isfinite(radar_snr_db):
        raise ValueError(f"radar_snr_db={radar_snr_db!r} must be finite (dB)")
    gen = torch.Generator().manual_seed(seed)
    types, ranges, present, x, vel = _draw(n, float(p_two), gen)
    camera = _camera(types, ranges, present, x, float(camera_noise), gen)
    radar = _radar(types, ranges, present, vel, 10 ** (radar_snr_db / 10), gen)
    near = ranges.argmin(1, keepdim=True)
    label = 2 * types.gather(1, near)[:, 0] + (vel.gather(1, near)[:, 0] < 0).long()
    return Scenes(camera, radar, label, torch.where(present, types, -1), ranges, vel)


def scene_splits(n_train: int, n_val: int, n_test: int, seed: int = 0, **kwargs: float) -> tuple[TensorDataset, ...]:
    """``(train, val, test)`` datasets of ``(camera, radar, label)``, each generated from its own seed."""
    out = []
    for i, n in enumerate((n_train, n_val, n_test)):
        s = make_scenes(n, seed=1000 * seed + i, **kwargs) if n else None
        out.append(TensorDataset(s.camera, s.radar, s.label) if s is not None
                   else TensorDataset(torch.zeros(0, 1, IMG, IMG), torch.zeros(0, 1, RD, RD),
                                      torch.zeros(0, dtype=torch.long)))
    return tuple(out)
