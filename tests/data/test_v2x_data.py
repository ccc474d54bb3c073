"""Digits 6:2:2 splits and the generated V2X scenes (camera + range-Doppler) follow their documented models."""
from __future__ import annotations

import pytest
import torch

from qtrain.data.digits import digits_splits, split_sizes
from qtrain.data.v2x_scenes import make_scenes, scene_splits


def test_digits_split_is_the_papers_6_2_2_and_stratified() -> None:
    assert split_sizes(1797, (0.6, 0.2, 0.2)) == [1078, 359, 360]
    s = digits_splits(seed=0)
    assert [len(d) for d in (s.train, s.val, s.test)] == [1078, 359, 360]
    x, y = s.test.tensors
    assert x.shape[1:] == (1, 8, 8) and float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert torch.bincount(y).tolist() == [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]
    with pytest.raises(ValueError, match=r"fractions=\[0.5, 0.2\] must be non-negative numbers summing to 1"):
        split_sizes(10, (0.5, 0.2))


def test_scenes_are_seeded_and_labels_follow_the_nearest_vehicle() -> None:
    a, b = make_scenes(64, seed=3), make_scenes(64, seed=3)
    assert torch.equal(a.camera, b.camera) and torch.equal(a.radar, b.radar) and torch.equal(a.label, b.label)
    near = a.ranges.argmin(1)
    t = a.types.gather(1, near[:, None])[:, 0]
    v = a.velocities.gather(1, near[:, None])[:, 0]
    assert torch.equal(a.label, 2 * t + (v < 0).long())
    gap = (a.ranges[:, 1] - a.ranges[:, 0]).abs()
    assert float(gap[torch.isfinite(gap)].min()) >= 6.0
    assert [len(d) for d in scene_splits(10, 0, 5, seed=1)] == [10, 0, 5]


def test_radar_peak_sits_in_the_vehicle_range_and_doppler_bins() -> None:
    s = make_scenes(200, seed=0, p_two=0.0, radar_snr_db=60.0)  # one strong target per scene
    peak = s.radar[:, 0].flatten(1).argmax(1)
    rbin, dbin = peak // 16, peak % 16
    want_r = (s.ranges[:, 0] / 4.0).floor().long().clamp(max=15)
    want_d = ((s.velocities[:, 0] + 16.0) / 2.0).floor().long()
    assert float((rbin == want_r).float().mean()) > 0.9 and float((dbin == want_d).float().mean()) > 0.9


def test_camera_box_bottom_is_the_ground_contact_row() -> None:
    s = make_scenes(100, seed=1, p_two=0.0, camera_noise=0.0)
    for i in range(100):
        img, r = s.camera[i, 0], float(s.ranges[i, 0])
        bottom = 12 + 32 * 1.2 / r  # documented pinhole model
        rows = torch.nonzero((img - torch.where(torch.arange(32)[:, None] < 12, 0.5, 0.2)).abs().amax(1) > 1e-6)
        assert int(rows.max()) == int(bottom - 1e-9)
    with pytest.raises(ValueError, match=r"p_two=1.5 must be a finite number in \[0, 1\]"):
        make_scenes(4, p_two=1.5)


def test_digits_are_read_without_importing_sklearn_and_equal_its_loader() -> None:
    # in a subprocess: sklearn brings a second OpenMP runtime that must not enter the test process
    import subprocess
    import sys

    code = ("import sys, numpy as np, torch\n"
            "from qtrain.data.digits import load_digits_tensors\n"
            "x, y = load_digits_tensors()\n"
            "assert 'sklearn' not in sys.modules\n"
            "from sklearn.datasets import load_digits\n"
            "b = load_digits()\n"
            "assert np.array_equal(x.numpy()[:, 0], (b.images / 16.0).astype(np.float32))\n"
            "assert np.array_equal(y.numpy(), b.target)\n"
            "print('ok', x.shape[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok 1797", out.stderr
