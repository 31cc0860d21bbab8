"""MkDocs hook: docstrings' Sphinx roles rendered as code, and linked where possible.

The docstrings are NumPy style and use Sphinx cross-reference roles
(``:func:`tapegrad.tensor```), which mkdocstrings leaves as they are: the page would
show ``:func:`` before each name. This hook turns every such role into the name in
code, linked to its entry when the same page documents it (the API reference does).

It also drops a docstring that an attribute without one of its own inherited from a
builtin type (an attribute holding a tuple would otherwise show ``tuple()``'s text).
"""

from __future__ import annotations

import html as _html
import re

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):"
                  r"<code>(~?)([\w.]+)(?:\(\))?</code>")
IDS = re.compile(r'id="(tapegrad\.[\w.]+)"')


def _target(name: str, ids: set[str]) -> str | None:
    if name in ids:
        return name
    if f"tapegrad.{name}" in ids:
        return f"tapegrad.{name}"
    ends = sorted(i for i in ids if i.endswith("." + name))
    return ends[0] if ends else None


_BUILTINS = (int, float, complex, bool, str, bytes, tuple, list, dict, set, frozenset,
             object, type, range, slice, property)
_BUILTIN_FIRST_LINES = tuple(sorted({
    _html.escape((t.__doc__ or "").strip().splitlines()[0], quote=False)
    for t in _BUILTINS if (t.__doc__ or "").strip()}))
_CONTENTS = re.compile(r'(<div class="doc doc-contents ">\s*)'
                       r'((?:<(p|pre|ul|ol|dl)>.*?</\3>\s*)+)(</div>)', re.S)


def _drop_builtin_docstrings(html: str) -> str:
    def fix(m: re.Match) -> str:
        body = m.group(2)
        text = re.sub(r"<[^>]+>", "", body).strip()
        if any(text.startswith(first) for first in _BUILTIN_FIRST_LINES):
            return m.group(1) + m.group(4)
        return m.group(0)

    return _CONTENTS.sub(fix, html)


def on_page_content(html: str, page, config, files) -> str:  # noqa: ARG001 (MkDocs API)
    """Replace each ``:role:<code>name</code>`` in the rendered page, and drop builtin
    types' docstrings."""
    html = _drop_builtin_docstrings(html)
    ids = set(IDS.findall(html))

    def fix(m: re.Match) -> str:
        tilde, name = m.group(1), m.group(2)
        shown = name.rsplit(".", 1)[-1] if tilde else name
        target = _target(name, ids)
        code = f"<code>{shown}</code>"
        return f'<a href="#{target}">{code}</a>' if target else code

    return ROLE.sub(fix, html)
