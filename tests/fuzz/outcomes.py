"""Outcome classes for the fuzz tests: every malformed input must end in a named project error.

`Tally.check(label, fn)` runs `fn` under a time limit and records one of:

* ``named``    -- it raised a `ModelsError` subclass (the toolkit's own error, message naming the thing);
* ``refused``  -- the caller declared the input acceptable-but-harmless and `fn` returned (see `accept_ok`);
* ``foreign``  -- any other exception (a dependency traceback leaking through);
* ``accepted`` -- it returned although the input is malformed (a silent acceptance);
* ``hang``     -- it ran past the time limit.

Tests assert that only ``named`` (and declared ``refused``) occur, and print the counts per area so a
closing note can quote them (``pytest tests/fuzz -s``).
"""

from __future__ import annotations

import signal
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from models.errors import ModelsError


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: Any) -> None:
    raise _Hang


@dataclass
class Tally:
    area: str
    seconds: int = 20
    counts: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def check(self, label: str, fn: Callable[[], Any], *, accept_ok: bool = False) -> str:
        """Run `fn` on one malformed input; `accept_ok` marks inputs whose correct outcome is a harmless refusal."""
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(self.seconds)
        try:
            fn()
            outcome = "refused" if accept_ok else "accepted"
        except _Hang:
            outcome = "hang"
        except ModelsError:
            outcome = "named"
        except Exception as e:  # noqa: BLE001 -- classifying is the point
            outcome = "foreign"
            label = f"{label}: {type(e).__name__}: {e}\n{''.join(traceback.format_exception(e)[-3:])}"
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        self.counts[outcome] += 1
        if outcome not in ("named", "refused"):
            self.failures.append(f"[{outcome}] {label}")
        return outcome

    def report(self) -> str:
        total = sum(self.counts.values())
        return (f"fuzz[{self.area}]: {total} malformed inputs, {self.counts['named']} named errors, "
                f"{self.counts['refused']} correct refusals, {self.counts['accepted']} silent acceptances, "
                f"{self.counts['foreign']} foreign errors, {self.counts['hang']} hangs")

    def assert_clean(self) -> None:
        print(self.report())
        assert not self.failures, self.report() + "\n" + "\n".join(self.failures[:20])
