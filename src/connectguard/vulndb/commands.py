"""The `connectguard db` commands: `db update` refreshes the local vulnerability data (OSV
archives per ecosystem and, where that module is installed, the client-side library data)."""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console

from connectguard.errors import ConnectGuardError, InputError
from connectguard.net.http import redact_url
from connectguard.settings import default_data_dir
from connectguard.vulndb.osv import ECOSYSTEMS
from connectguard.vulndb.update import DEFAULT_OSV_URL, update_osv

db_app = typer.Typer(
    help="Manage the local vulnerability data that scans use.", no_args_is_help=True
)
RETIRE_MODULE = "connectguard.vulndb.retire"


@db_app.command("update")
def update_command(
    osv_url: Annotated[
        str,
        typer.Option(
            "--osv-url",
            "--base-url",
            envvar="CONNECTGUARD_OSV_URL",
            help="Base URL of the OSV archives ({base}/{ecosystem}/all.zip).",
        ),
    ] = DEFAULT_OSV_URL,
    ecosystem: Annotated[
        list[str] | None,
        typer.Option("--ecosystem", "-e", help=f"Only these ({', '.join(ECOSYSTEMS)})."),
    ] = None,
    retire: Annotated[
        bool, typer.Option(help="Also update the client-side library data, where installed.")
    ] = True,
    retire_url: Annotated[
        str | None,
        typer.Option(envvar="CONNECTGUARD_RETIRE_URL", help="Base URL of the client-side data."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="CONNECTGUARD_DATA_DIR", help="Where the data is kept."),
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option(help="Extra CA certificates (PEM) to trust.")
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    """Download the OSV archives (resumable, checked) and index them for `scan-repo`."""
    from connectguard.cli import _configure_logging, _fail, _LazyProgress

    _configure_logging(verbose, quiet)
    console = Console(stderr=True, quiet=quiet)
    folder = data_dir or default_data_dir()
    progress = _LazyProgress(enabled=not quiet)
    try:
        if ca_file is not None and not ca_file.is_file():
            raise InputError(f"The CA file {ca_file} does not exist.")
        wanted = tuple(ecosystem) if ecosystem else ECOSYSTEMS
        unknown = [e for e in wanted if e not in ECOSYSTEMS]
        if unknown:
            raise InputError(
                f"Unknown ecosystem {unknown[0]!r}: use one of {', '.join(ECOSYSTEMS)}."
            )
        if urlsplit(osv_url).scheme not in {"http", "https"} or not urlsplit(osv_url).netloc:
            raise InputError(f"The OSV URL {redact_url(osv_url)} is not an http(s) URL.")
        _usable_folder(folder)
        ca = str(ca_file) if ca_file else None
        try:
            results = update_osv(osv_url, folder, progress, wanted, ca)
        finally:
            progress.stop()
        for result in results:
            state = "updated" if result.changed else "up to date"
            console.print(f"OSV {result.ecosystem}: {state}, {result.advisories} advisories")
        # The OSV data is in place whatever happens next: say so before the second download.
        if retire:
            try:
                retire_path = _update_retire(retire_url, folder, progress)
            finally:
                progress.stop()
            if retire_path is not None:
                console.print(f"client-side library data: {retire_path}")
    except ConnectGuardError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    console.print(f"data folder: {folder}")


def _usable_folder(folder: Path) -> None:
    """Create the data folder if need be; refuse one that cannot hold the data."""
    if folder.exists() and not folder.is_dir():
        raise InputError(f"The data folder {folder} is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"The data folder {folder} cannot be used: {reason}.") from None
    if not os.access(folder, os.W_OK):
        raise InputError(f"The data folder {folder} is not writable.")


def _update_retire(url: str | None, folder: Path, progress: Any) -> Path | None:
    """Runs the client-side library update when that module is part of this installation."""
    if importlib.util.find_spec(RETIRE_MODULE) is None:
        return None
    module = importlib.import_module(RETIRE_MODULE)
    base_url = url or next(
        (getattr(module, n) for n in ("DEFAULT_UPDATE_URL", "DEFAULT_URL") if hasattr(module, n)),
        None,
    )
    if not base_url:
        raise InputError("Give --retire-url: the client-side data has no default location.")
    path: Path = module.update(base_url, folder, progress)
    return path
