"""``build_report``: run or sweep folder -> PNG figures + ``report.html`` + ``report.md``.

Runs are grouped by recipe; each group becomes one section, made by the recipe's report hook
(passed in by the caller: this layer does not import recipes) or by
:func:`~qtrain.report.generic.generic_section`. Every section ends with the protocol of each run
(:mod:`qtrain.report.protocol`) and, when a run differs from its paper's protocol (looked up by
``protocols``), opens with a caveat naming the differences. ``qtrain report PATH`` is
:func:`qtrain.recipes.report`, which passes every registered recipe's hook and paper protocol.

Example:
    >>> page = build_report("runs/qet_amc__smoke__s0__20250101-000000")   # doctest: +SKIP
    >>> page.name                                                          # doctest: +SKIP
    'report.html'
"""
from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Callable, Sequence

from qtrain.report.collect import Run, find_runs, load_run, runs_by_recipe, series_keys
from qtrain.report.generic import generic_section
from qtrain.report.plots import plot_series
from qtrain.report.protocol import ProtocolLookup, caveat, protocol_table
from qtrain.report.section import Figure, ReportHook, ReportSection, Table
from qtrain.report.tables import html_table, markdown_rows

__all__ = ["build_report", "make_sections", "markdown_rows", "html_table"]

HookLookup = Callable[[str], "ReportHook | None"]
"""Recipe name -> its report hook (``None``: the generic section)."""

_CSS = ("body{font-family:sans-serif;max-width:1500px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;font-size:13px;margin-bottom:1em}"
        "td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}td:nth-child(-n+3){text-align:left}"
        "table.protocol td{text-align:left}"
        "div.caveat{background:#fff4d6;border-left:5px solid #e0a000;padding:.6em 1em}"
        "div.caveat ul{margin:.3em 0 0}img{max-width:100%;height:auto}figure{margin:1.5em 0}"
        "figcaption{font-size:14px;color:#333}")


def make_sections(runs: Sequence[Run], hooks: HookLookup | None = None
                  ) -> list[tuple[str, ReportSection, list[Run]]]:
    """``(recipe, section, its finished runs)`` per recipe (the hook's section when there is one, else generic)."""
    out = []
    for recipe, group in runs_by_recipe([r for r in runs if r.summary]).items():
        hook = hooks(recipe) if hooks is not None else None
        out.append((recipe, hook(group) if hook is not None else generic_section(recipe, group), group))
    return out


def _curves(recipe: str, section: ReportSection, runs: Sequence[Run]) -> list[Figure]:
    keys = series_keys(runs) if section.curves is None else list(section.curves)
    if not keys:
        return []
    name = f"{recipe}_curves.png"
    return [Figure(name, "Curves", f"Per-epoch metrics.jsonl series: {', '.join(keys)}.",
                   lambda path: plot_series(runs, keys, path, recipe))]


def _tables_html(tables: Sequence[Table]) -> tuple[list[str], list[str]]:
    parts: list[str] = []
    md: list[str] = []
    for table in tables:
        parts.append(f"<h3>{html.escape(table.title)}</h3>")
        parts += [f"<p>{html.escape(table.note)}</p>"] if table.note else []
        parts.append(html_table(table.rows, "protocol" if table.title == "Protocol of each run" else "ours-vs-paper"))
        md += [f"### {table.title}", ""] + ([table.note, ""] if table.note else []) + [markdown_rows(table.rows)]
    return parts, md


def _section_html(recipe: str, section: ReportSection, runs: Sequence[Run], out: Path,
                  protocols: ProtocolLookup | None = None) -> tuple[str, str, int]:
    """HTML and markdown of one section (``runs``: the recipe's finished runs), and the PNG files it wrote."""
    parts = [f"<h2>{html.escape(section.title)}</h2>"] + [f"<p>{html.escape(p)}</p>" for p in
                                                          section.intro.split("\n\n") if p.strip()]
    md = [f"## {section.title}", "", section.intro, ""] if section.intro else [f"## {section.title}", ""]
    if warning := caveat(recipe, runs, protocols):
        items = "".join(f"<li>{html.escape(line)}</li>" for line in warning[1:])
        parts.append(f'<div class="caveat"><b>Caveat:</b> {html.escape(warning[0])}<ul>{items}</ul></div>')
        md += [f"> **Caveat:** {warning[0]}", ">"] + [f"> - {line}" for line in warning[1:]] + [""]
    table_parts, table_md = _tables_html([*section.tables, protocol_table(recipe, runs, protocols)])
    parts += table_parts
    md += table_md
    n_png = 0
    for fig in [*section.figures, *_curves(recipe, section, runs)]:
        if fig.draw(out / fig.name) is not None:
            n_png += 1
            parts.append(f'<figure><img src="{html.escape(fig.name)}" alt="{html.escape(fig.title)}"><figcaption>'
                         f"{html.escape(fig.title)}: {html.escape(fig.caption)}</figcaption></figure>")
    return "".join(parts), "\n".join(md), n_png


def build_report(path: str | Path, out: str | Path | None = None, hooks: HookLookup | None = None,
                 protocols: ProtocolLookup | None = None) -> Path:
    """Write the figures, ``report.md`` (every table) and ``report.html`` for the runs at ``path``.

    Args:
        path: a run folder, a sweep folder, or a folder of those.
        out: output folder (default ``path/report``).
        hooks: recipe name -> report hook (``None``: generic sections for every recipe).
        protocols: ``(recipe, config) -> PaperProtocol | None``, the paper protocol each run is checked
            against (``None``: protocol tables without a comparison).

    Returns:
        The path of ``report.html``.

    Raises:
        FileNotFoundError: ``path`` holds no run folder.
        ImportError: matplotlib is missing (``pip install "qtrain[plot]"``).
    """
    root = Path(path)
    runs = [load_run(p) for p in find_runs(root)]
    out = Path(out) if out is not None else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    body, md = [], [f"# qtrain report: {root.name}", ""]
    for recipe, section, group in make_sections(runs, hooks):
        h, m, _ = _section_html(recipe, section, group, out, protocols)
        body.append(h)
        md.append(m)
    unfinished = [r.name for r in runs if r.summary is None]
    note = (f"<p>Unfinished runs (no summary.json, left out): {html.escape(', '.join(unfinished))}</p>"
            if unfinished else "")
    (out / "report.md").write_text("\n".join(md).rstrip() + "\n")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>qtrain report: {html.escape(root.name)}</title>"
            f"<style>{_CSS}</style></head><body><h1>qtrain report</h1>"
            f"<p>Source: <code>{html.escape(str(root))}</code>; {len(runs)} run folder(s); written "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}.</p>{note}{''.join(body) or '<p>(no finished runs)</p>'}"
            f"<h2>Runs</h2><ul>{''.join(f'<li><code>{html.escape(r.name)}</code></li>' for r in runs)}</ul>"
            "</body></html>\n")
    target = out / "report.html"
    target.write_text(page)
    return target
