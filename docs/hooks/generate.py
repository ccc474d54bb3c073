"""MkDocs hook: pages generated at build time from the sources, so the site cannot drift from them.

* ``recipes/<name>.md`` for every registered recipe: its module docstring (what it reproduces, the
  commands), its presets with their header lines (paper, table row, the paper's number, the exact
  command), its config fields and run options, and the results tables of ``benchmarks/results/``
  that belong to it (``RESULTS``, else files named after the recipe), included verbatim.
* ``recipes/index.md``: the table of recipes.
* ``results/**``: every ``benchmarks/results/**/*.md`` with the PNGs they show.
* ``examples.md``: every script of ``examples/`` with its docstring and source.

Nothing here is written into ``docs/``: the files exist only inside the build (``File.generated``).
"""
from __future__ import annotations

import ast
import importlib
import posixpath
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
from griffe_examples import plain_roles  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "benchmarks" / "results"
EXAMPLES_DIR = ROOT / "examples"

RESULTS: dict[str, list[str]] = {
    "qt_image": ["qt_image_results.md", "qt_image_shots.md", "qt_image_epoch.md"],
    "qet_amc": ["qet_long/qet_table2.md", "qet_table2.md"],
    "pilot_assignment": ["pilot_readme.md"],
}
"""Recipe -> its results files (relative to ``benchmarks/results``); a recipe not listed gets ``<recipe>*.md``."""

_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def _qtrain() -> Any:
    if str(ROOT / "src") not in sys.path:
        sys.path.insert(0, str(ROOT / "src"))
    import qtrain.recipes.registry as registry

    return registry


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _relink(text: str, source_dir: str, page_dir: str) -> str:
    """Rewrite relative links of a results file (relative to ``results/<source_dir>``) for a page in ``page_dir``."""
    def fix(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^[a-z]+:|^#|^/", target):
            return m.group(0)
        if target.startswith("benchmarks/results/"):
            path = posixpath.join("results", target[len("benchmarks/results/"):])
        else:
            path = posixpath.normpath(posixpath.join("results", source_dir, target))
        return m.group(1) + posixpath.relpath(path, page_dir or ".") + m.group(3)
    return _LINK.sub(fix, text)


def _demote(text: str, levels: int = 1) -> str:
    return re.sub(r"^(#+) ", lambda m: "#" * min(6, len(m.group(1)) + levels) + " ", text, flags=re.M)


def _results_files(recipe: str) -> list[Path]:
    names = RESULTS.get(recipe)
    paths = [RESULTS_DIR / n for n in names] if names is not None else sorted(RESULTS_DIR.glob(f"{recipe}*.md"))
    return [p for p in paths if p.is_file()]


def _preset_rows(registry: Any, name: str) -> list[str]:
    from qtrain.config import yaml_header

    rows = ["| preset | what it reproduces (the preset's header) and its command |", "|---|---|"]
    for preset, path in registry.list_presets(name).items():
        header = yaml_header(path)
        command = next((h.split(":", 1)[1].strip() for h in header if h.startswith("Command:")),
                       f"qtrain run {name} --preset {preset}")
        rows.append(f"| `{preset}` | {_cell(header[0] if header else '')}<br>`{_cell(command)}` |")
    return rows


def _field_rows(fields: list[Any]) -> list[str]:
    rows = ["| field | default | type | meaning |", "|---|---|---|---|"]
    for f in fields:
        default = list(f.default) if isinstance(f.default, tuple) else f.default
        rows.append(f"| `{f.name}` | `{_cell(repr(default))}` | {_cell(f.type_name)} | {_cell(f.help)} |")
    return rows


def recipe_page(registry: Any, name: str) -> str:
    """The markdown page of one recipe."""
    from qtrain.config import config_fields
    from qtrain.recipes.runner import RunOptions

    recipe = registry.get_recipe(name)
    module = importlib.import_module(registry.RECIPE_MODULES[name])
    doc = plain_roles((module.__doc__ or "").strip())
    title, _, body = doc.partition("\n")
    parts = [f"# `{name}`", "", f"*{recipe.description}*", "", f"**{title.strip()}**", "", body.strip(), "",
             "## Presets", "", f"`qtrain ls {name}` lists them; each YAML file holds the differences from the "
             "defaults below, headed by the paper row it reproduces and the paper's number.", "",
             *_preset_rows(registry, name), "", "## Config fields", "",
             f"`qtrain run {name} --help` prints the same list; set any field with `--set key=value`.", "",
             *_field_rows(config_fields(recipe.config_cls)), "", "Run options (every recipe):", "",
             *_field_rows(config_fields(RunOptions)), "", "## Results: ours vs the paper", ""]
    files = _results_files(name)
    if not files:
        parts.append("No results tables yet (`benchmarks/results/` has none for this recipe).")
    for path in files:
        rel = path.relative_to(RESULTS_DIR).as_posix()
        parts += [f"From [`benchmarks/results/{rel}`](../results/{rel}):", "",
                  _demote(_relink(path.read_text(), posixpath.dirname(rel), "recipes"), 2), ""]
    parts += ["## API", "", f"::: {registry.RECIPE_MODULES[name]}", "    options:", "      show_root_heading: false",
              "      members_order: source", ""]
    return "\n".join(parts)


def recipes_index(registry: Any) -> str:
    rows = ["# Recipes", "", "One home per paper: the recipe module, its presets and the paper's numbers live "
            "together under `src/qtrain/recipes/<paper>/`. `qtrain ls` lists them.", "",
            "| recipe | what | presets |", "|---|---|---:|"]
    for name in registry.recipe_names():
        rows.append(f"| [`{name}`]({name}.md) | {_cell(registry.get_recipe(name).description)} | "
                    f"{len(registry.list_presets(name))} |")
    return "\n".join(rows) + "\n"


def results_pages() -> dict[str, str | bytes]:
    """``results/<path>`` -> content for every results markdown file and PNG, plus an index."""
    out: dict[str, str | bytes] = {}
    index = ["# Results files", "", "Every table the benchmark and paper scripts wrote into `benchmarks/results/`.", ""]
    for path in sorted(RESULTS_DIR.rglob("*")):
        rel = path.relative_to(RESULTS_DIR).as_posix()
        if path.suffix == ".md":
            page_dir = posixpath.dirname(f"results/{rel}")
            out[f"results/{rel}"] = _relink(path.read_text(), posixpath.dirname(rel), page_dir)
            index.append(f"- [`{rel}`]({rel})")
        elif path.suffix == ".png":
            out[f"results/{rel}"] = path.read_bytes()
    out["results/index.md"] = "\n".join(index) + "\n"
    return out


def examples_page() -> str:
    parts = ["# Examples", "", "Runnable scripts in `examples/` (the test suite runs every one of them):", ""]
    for path in sorted(EXAMPLES_DIR.glob("*.py")):
        source = path.read_text()
        doc = ast.get_docstring(ast.parse(source)) or ""
        title, _, body = doc.partition("\n")
        parts += [f"## `{path.name}`", "", f"**{title.strip()}**", "", body.strip(), "", "```python",
                  source.rstrip(), "```", ""]
    return "\n".join(parts)


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages to the build."""
    registry = _qtrain()
    pages: dict[str, str | bytes] = {"recipes/index.md": recipes_index(registry), "examples.md": examples_page()}
    pages.update({f"recipes/{name}.md": recipe_page(registry, name) for name in registry.recipe_names()})
    pages.update(results_pages())
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files
