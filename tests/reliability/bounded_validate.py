"""Run ``reconciler validate`` on several spec directories, each in its own process with
its address space capped, and report each one's exit status, output, time and peak
memory as JSON lines. Usage: python bounded_validate.py NOW LIMIT_BYTES DIR...

The reconciler is imported once, then forked per directory (this process starts no
thread), so each measurement is of validating, not of starting Python; ``wait4`` gives
the child's own peak resident memory.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time

from reconciler.cli import cli


def main(now: str, limit: int, directories: list[str]) -> None:
    for directory in directories:
        with tempfile.TemporaryFile() as output:
            started = time.monotonic()
            pid = os.fork()
            if pid == 0:  # the child: capped, its output to the file
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                os.dup2(output.fileno(), 1)
                os.dup2(output.fileno(), 2)
                code = 70
                try:
                    cli.main(["validate", "--now", now, directory], prog_name="reconciler")
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            _, status, usage = os.wait4(pid, 0)
            took = time.monotonic() - started
            output.seek(0)
            text = output.read().decode("utf-8", errors="replace")
        report = {
            "directory": directory,
            "code": os.waitstatus_to_exitcode(status),
            "output": text,
            "seconds": took,
            "peak_mb": usage.ru_maxrss / 1024,
        }
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
