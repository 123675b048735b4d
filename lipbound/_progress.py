"""Progress of long commands: a rich bar on a terminal; off a terminal (a log, CI) one line per
step on standard error and a heartbeat line every so often while a step runs, so that a log always
shows what is running and that it is alive."""

from __future__ import annotations

import sys
import threading
import time


class Steps:
    """``with Steps(total, "lipbound bound") as steps: steps.start(name); ...; steps.done(name, text)``.

    Off a terminal, ``start`` prints ``<prefix>: [k/total] name ...``, ``done`` prints
    ``<prefix>: [k/total] name: text``, and while a step runs a line ``... name still running (N s)``
    follows every ``heartbeat`` seconds; :meth:`say` prints a free line. On a terminal a transient
    rich progress bar shows the same."""

    def __init__(self, total: int, prefix: str, heartbeat: float = 30.0) -> None:
        self.total, self.prefix, self.heartbeat = total, prefix, heartbeat
        self.tty = sys.stderr.isatty()
        self.k, self.current, self.t0 = 0, "", time.perf_counter()
        self._stop = threading.Event()

    def say(self, text: str) -> None:
        """A line on standard error (off a terminal only: on one, the bar shows the state)."""
        if not self.tty:
            print(f"{self.prefix}: {text}", file=sys.stderr, flush=True)

    def __enter__(self) -> Steps:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.bar.__enter__()
            self.task = self.bar.add_task(self.prefix, total=self.total)
        else:
            threading.Thread(target=self._beat, daemon=True, name="lipbound-heartbeat").start()
        return self

    def __exit__(self, *exc) -> bool:
        self._stop.set()
        if self.tty:
            self.bar.__exit__(*exc)
        return False

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat):
            if self.current:
                self.say(f"  ... {self.current} still running ({time.perf_counter() - self.t0:.0f} s)")

    def start(self, name: str) -> None:
        """A step begins."""
        self.k += 1
        self.current, self.t0 = name, time.perf_counter()
        if self.tty:
            self.bar.update(self.task, description=name)
        self.say(f"[{self.k}/{self.total}] {name} ...")

    def done(self, name: str, text: str) -> None:
        """The step ended; ``text`` says how."""
        self.current = ""
        if self.tty:
            self.bar.advance(self.task)
        self.say(f"[{self.k}/{self.total}] {name}: {text}")
