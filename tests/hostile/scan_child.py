"""Run the `connectguard` command line in this process, as a user would:
`python scan_child.py [--exempt NETWORK] [--peak-file FILE] scan URL ...`.

`--exempt` is the test-only exemption from the address guard: the hostile suite's servers all
listen on 127.0.0.1, which the guard refuses, so that one network stands for the public
internet, in this child process only. `--peak-file` receives, as the process ends, its peak
resident memory (VmHWM) in KiB. The parent cannot read it from `wait4`: a child started by
vfork and exec inherits its parent's high-water mark.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path

from connectguard.cli import main
from connectguard.net.resolver import exempt_for_tests


def _write_peak(path: str) -> None:
    status = Path("/proc/self/status").read_text(encoding="ascii")
    peak = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
    Path(path).write_text(peak, encoding="ascii")


if __name__ == "__main__":
    args = sys.argv[1:]
    while args[:1] in (["--exempt"], ["--peak-file"]):
        if args[0] == "--exempt":
            exempt_for_tests(args[1])
        else:
            atexit.register(_write_peak, args[1])
        args = args[2:]
    sys.argv = ["connectguard", *args]
    main()
