"""Fixtures of the source-scan tests: OSV archives served from a loopback HTTP server, and a
data folder that `db update` filled from it. Builders live in `scanhelpers.py`."""

from __future__ import annotations

import functools
import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scanhelpers import ADVISORIES, QuietHandler, osv_archive, write


@pytest.fixture(scope="session")
def osv_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback HTTP server with `{ecosystem}/all.zip` for every ecosystem; yields its URL."""
    root = tmp_path_factory.mktemp("osv-mirror")
    for ecosystem, records in ADVISORIES.items():
        write(root, f"{ecosystem}/all.zip", osv_archive(records))
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def osv_data_dir(osv_mirror: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder filled by `db update` from the loopback mirror."""
    from connectguard.vulndb.update import update_osv

    data_dir = tmp_path_factory.mktemp("data")
    update_osv(osv_mirror, data_dir)
    return data_dir
