"""``python -m tapegrad``: a short tour; ``python -m tapegrad bench``: the benchmarks."""

from __future__ import annotations

import sys

USAGE = """\
usage: python -m tapegrad [tour | bench [OPTIONS] | -h]

commands:
  tour    (the default) the tutorial's example recorded and differentiated, a compiled
          gradient with its IR and generated Python, and a quick timing; a few seconds
  bench   gradient times next to hand-written NumPy, PyTorch, JAX and HIPS autograd
          (`python -m tapegrad bench --help` lists its options)
"""


def main(argv: list[str] | None = None) -> int:
    """Run the command named by ``argv`` (default: ``sys.argv[1:]``).

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments after ``python -m tapegrad``: nothing or ``tour``
        for the tour, ``bench ...`` for the benchmarks, ``-h``/``--help`` for usage.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for an unknown command.
    """
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "bench":
        from ._bench_cli import main as bench_main

        return bench_main(argv[1:])
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    if argv and argv != ["tour"]:
        print(USAGE + f"python -m tapegrad: unknown argument {argv[0]!r}", file=sys.stderr)
        return 2
    from ._tour import tour

    tour()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
