"""Griffe extension: qtrain's docstrings as the API reference shows them.

* ``Example:`` sections render as example code, like ``Examples:``. The Google style guide (and
  qtrain's docstrings) write the singular; griffe only treats the plural as an examples section
  whose ``>>>`` lines become code blocks, and would render the singular as an admonition of
  markdown (where ``>>> x[:1]`` reads as a quote with a link).
* Sphinx roles (``:class:`~qtrain.x.Y```, ``:func:``...) become code spans (``Y``, or the full name).
"""
from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.M)
_ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|exc|obj):`(~?)([^`]+)`")


def plain_roles(text: str) -> str:
    """``:class:`~a.b.C``` -> ```C```, ``:mod:`a.b``` -> ```a.b```."""
    return _ROLE.sub(lambda m: f"``{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}``", text)


class ExampleSections(griffe.Extension):
    """Rename ``Example:`` section headers to ``Examples:`` and drop Sphinx roles before docstrings are parsed."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(_SINGULAR.sub(r"\1Examples:", obj.docstring.value))
