"""Graphviz DOT text, and :class:`Diagram`, the picture both ``tg.viz`` drawings return.

The DOT text is written here, in a few lines, so drawing needs no Python dependency;
only rendering needs the ``dot`` program (Debian package ``graphviz``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["Diagram", "digraph", "dot_available", "quote", "type_str"]

_FORMATS = ("svg", "png", "pdf", "jpg", "gif")

# Colours: inputs that require grad (blue), constants (grey), output (green).
_STYLE = {
    "record": 'shape=box, style="rounded,filled", fillcolor="#f4f4f4"',
    "output": 'shape=box, style="rounded,filled,bold", fillcolor="#d4edda"',
    "leaf": 'shape=ellipse, style=filled, fillcolor="#cfe2ff"',
    "const": 'shape=box, style="dashed", color="#888888", fontcolor="#555555"',
    "freed": 'shape=box, style="rounded,dashed", color="#aaaaaa", fontcolor="#888888"',
}


def dot_available() -> bool:
    """Whether Graphviz's ``dot`` program is installed (needed to render, not to draw).

    Returns
    -------
    bool
        True when ``dot`` is on the ``PATH``.
    """
    return shutil.which("dot") is not None


class Diagram:
    """A picture as Graphviz DOT text, renderable with the ``dot`` program.

    Parameters
    ----------
    source : str
        The DOT text.
    """

    def __init__(self, source: str) -> None:
        self.source = source

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        lines = self.source.count("\n")
        return f"<Diagram: {lines} lines of DOT; .source for the text, .render(path) to draw>"

    def pipe(self, format: str = "svg") -> bytes:
        """Render with ``dot`` and return the bytes.

        Parameters
        ----------
        format : str
            An output format of ``dot``: ``"svg"``, ``"png"``, ``"pdf"``...

        Returns
        -------
        bytes
            The rendered picture.

        Raises
        ------
        RuntimeError
            When ``dot`` is not installed or fails.
        """
        if format not in _FORMATS:
            raise ValueError(f"Diagram.pipe: format must be one of {_FORMATS}, got {format!r}")
        exe = shutil.which("dot")
        if exe is None:
            raise RuntimeError(
                "Diagram: rendering needs Graphviz's `dot` program (Debian/Ubuntu: "
                "apt-get install graphviz; macOS: brew install graphviz); the DOT text "
                "is in .source")
        proc = subprocess.run([exe, f"-T{format}"], input=self.source.encode(),
                              capture_output=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"Diagram: dot failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def render(self, path: str | Path) -> Path:
        """Write the picture to ``path``; the suffix picks the format.

        Parameters
        ----------
        path : str or Path
            Where to write. ``.svg``, ``.png``, ``.pdf``... render with ``dot``; ``.dot``
            and ``.gv`` write the DOT text (no ``dot`` needed).

        Returns
        -------
        Path
            ``path``.
        """
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if fmt in ("dot", "gv"):
            path.write_text(self.source)
        else:
            path.write_bytes(self.pipe(fmt))
        return path

    # Jupyter shows the SVG inline when `dot` exists, else the text.
    def _repr_svg_(self) -> str | None:
        if not dot_available():
            return None
        return self.pipe("svg").decode()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        bundle = {"text/plain": self.source}
        svg = self._repr_svg_()
        if svg is not None:
            bundle["image/svg+xml"] = svg
        return bundle


# -- DOT text ---------------------------------------------------------------------
def quote(text: str) -> str:
    """A DOT string literal (``\\n`` separates lines of a label)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def type_str(shape, dtype) -> str:
    """``float32[2,3]``, as the tape printer writes types."""
    return f"{dtype}[{','.join(str(s) for s in shape)}]"


def digraph(nodes: list[tuple[str, str, str]], edges: list[tuple[str, str, str]],
            title: str = "", clusters: dict[str, tuple[str, list[str]]] | None = None) -> str:
    """DOT text for ``nodes`` ``(id, label, style key or attrs)`` and ``edges``
    ``(from, to, attrs)``; ``clusters`` maps a cluster id to ``(label, node ids)``."""
    out = ["digraph tapegrad {",
           '  graph [rankdir=LR, fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.4'
           + (f", label={quote(title)}, labelloc=t" if title else "") + "];",
           '  node [fontname="Helvetica", fontsize=10];',
           '  edge [fontname="Helvetica", fontsize=9, color="#555555"];']
    in_cluster = set()
    for cid, (label, members) in (clusters or {}).items():
        out.append(f"  subgraph cluster_{cid} {{")
        out.append(f'    label={quote(label)}; style="rounded,filled"; fillcolor="#fff3cd"; '
                   'color="#e0a800";')
        for nid, nlabel, style in nodes:
            if nid in members:
                out.append(f"    {nid} [label={quote(nlabel)}, {_STYLE.get(style, style)}];")
                in_cluster.add(nid)
        out.append("  }")
    for nid, label, style in nodes:
        if nid not in in_cluster:
            out.append(f"  {nid} [label={quote(label)}, {_STYLE.get(style, style)}];")
    for a, b, attrs in edges:
        out.append(f"  {a} -> {b}" + (f" [{attrs}]" if attrs else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"
