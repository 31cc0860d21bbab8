"""``python -m tapegrad``: a short tour (``python -m tapegrad bench`` runs the benchmarks)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "bench":
        from ._bench_cli import main as bench_main

        return bench_main(argv[1:])
    from ._tour import tour

    tour()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
