"""A writer process for the crash test: appends as fast as it can and reports each durable append.

Run as ``python -m tests.trail.writer RUN_ID THREADS``, with ASSAY_* variables naming the
database. Each line on standard output, ``<leaf index> <object id>``, is printed only after the
append that carries it was committed: the parent may rely on every printed line.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading

from assay.platform.record import Change
from assay.platform.runtime import build_runtime
from assay.settings import Settings
from assay.trail import appender


def main() -> None:
    """Append until killed."""
    run_id, threads = sys.argv[1], int(sys.argv[2])
    runtime = build_runtime(Settings())
    out = threading.Lock()

    def write(worker: int) -> None:
        number = 0
        while True:
            object_id = f"{run_id}-{worker}-{number}"
            change = Change(
                at=dt.datetime.now(dt.UTC),
                actor="crash-test",
                action="crash.write",
                object_type="item",
                object_id=object_id,
                before=None,
                after={"n": number},
            )
            index = appender.appender(runtime).append(change)
            with out:
                sys.stdout.write(f"{index} {object_id}\n")
                sys.stdout.flush()
            number += 1

    for worker in range(threads):
        threading.Thread(target=write, args=(worker,), daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
