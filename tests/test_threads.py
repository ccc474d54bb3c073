"""The thread policy: 'auto' = idle cores from the load average, set/restore, errors."""
from __future__ import annotations

import pytest
import torch

import qtrain
from qtrain import threads


def test_auto_takes_the_idle_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads, "available_cpus", lambda: 8)
    before = torch.get_num_threads()
    try:
        for load, expected in ((0.3, 8), (2.6, 5), (7.5, 1), (30.0, 1)):
            monkeypatch.setattr(threads, "load_average", lambda load=load: load)
            assert qtrain.set_threads("auto") == expected == torch.get_num_threads()
        monkeypatch.setattr(threads, "load_average", lambda: None)  # unknown load: every usable CPU
        assert threads.recommended_threads() == 8
    finally:
        torch.set_num_threads(before)


def test_use_threads_restores_and_errors_name_the_value() -> None:
    before = torch.get_num_threads()
    with qtrain.use_threads(1) as n:
        assert n == torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    for bad in (0, -2, 1.5, True, "all"):
        with pytest.raises(ValueError, match=rf"^threads={bad!r} must be a positive integer or 'auto'"):
            qtrain.set_threads(bad)  # type: ignore[arg-type]
    assert torch.get_num_threads() == before
