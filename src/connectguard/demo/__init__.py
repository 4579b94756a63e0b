"""`connectguard demo`: serve a bundled sample app with deliberate faults and scan it.

The sample app is a labelled case in the fixture format (`demo-app.json`), served over real TLS
on 127.0.0.1 by the same fixture server the test suite uses, with its own CA and DNS server.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from rich.console import Console

from connectguard.errors import ConnectGuardError
from connectguard.settings import ScanOptions

DEMO_CASE = "demo-app.json"


def run_demo(scan_and_report: Callable[[ScanOptions], int]) -> int:
    """Serve the demo app, hand the scan options to `scan_and_report`, return its exit code."""
    from connectguard.fixture import CaseError, load_case, serve_case
    from connectguard.fixture.options import scan_options

    console = Console(stderr=True)
    try:
        case = load_case(Path(str(files("connectguard.demo") / DEMO_CASE)))
        with serve_case(case) as served:
            console.print(
                f"[bold]demo:[/] serving the sample app at {served.base} "
                "(TLS with a throw-away CA, DNS on loopback); scanning it now\n"
            )
            return scan_and_report(scan_options(served))
    except CaseError as exc:
        raise ConnectGuardError(f"The demo app could not be served: {exc}") from None
