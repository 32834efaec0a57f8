"""Side-by-side timing: two callables run alternately, so background load hits both alike."""

from __future__ import annotations

import time
from collections.abc import Callable


def interleaved(a: Callable[[], object], b: Callable[[], object], repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of each run of `a` and of `b`, alternated after one warm-up each."""
    a(), b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, sink in ((a, ta), (b, tb)):
            start = time.perf_counter()
            fn()
            sink.append(time.perf_counter() - start)
    return ta, tb
