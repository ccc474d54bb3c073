"""``make docs``: the MkDocs site builds with warnings as errors, with a page per recipe generated from the sources."""
from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qtrain.recipes.registry import list_presets, recipe_names

ROOT = Path(__file__).resolve().parents[2]
NEEDS = ("mkdocs", "material", "mkdocstrings_handlers.python")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = [m for m in NEEDS if importlib.util.find_spec(m.split(".")[0]) is None]
    if missing:
        pytest.skip(f'docs build needs {missing}: pip install "qtrain[docs]"')
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-4000:]
    assert "WARNING" not in res.stderr
    return out


def _text(page: str) -> str:
    """The page's text: tags dropped (highlighted code keeps its characters together), entities decoded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def test_every_recipe_has_a_page_with_its_presets_fields_and_results(site: Path) -> None:
    for name in recipe_names():
        page = _text((site / "recipes" / name / "index.html").read_text())
        for preset in list_presets(name):
            assert f"qtrain run {name} --preset {preset}" in page or preset in page, (name, preset)
        assert "Config fields" in page and "loggers" in page
    qt = _text((site / "recipes" / "qt_image" / "index.html").read_text())
    assert "Table I, rows Classical CNN + QT-16" in qt and "paper protocol: test %" in qt  # header; results
    assert "QTImageConfig" in qt  # the API of the recipe module


def test_home_guides_examples_and_api_pages_are_built(site: Path) -> None:
    home = _text((site / "index.html").read_text())
    assert "qtrain.QuantumTrain(torch.nn.Linear(64, 10), blocks=8)" in home
    examples = _text((site / "examples" / "index.html").read_text())
    assert all(p.name in examples for p in (ROOT / "examples").glob("*.py"))
    api = (site / "api" / "hybrid" / "index.html").read_text()
    assert 'id="qtrain.hybrid.circuit_layer.CircuitLayer"' in api
    assert "language-pycon" in api or "highlight" in api  # docstring examples render as code
    for guide in ("quantum-train", "simulator", "hybrid", "workflow", "threads"):
        assert (site / "guide" / guide / "index.html").is_file()
    assert (site / "results" / "threads" / "index.html").is_file()
