"""The command line: `connectguard scan URL`, `connectguard demo`, `connectguard schema`.

The CLI edge turns every `ConnectGuardError` into one sentence on stderr and an exit code:
0 all pass, 1 a requirement failed, 2 usage or input error, 3 scan incomplete.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectguard import __version__
from connectguard.errors import ConnectGuardError, InputError
from connectguard.model import ScanResult
from connectguard.net.resolver import parse_nameserver
from connectguard.report.console import render_console
from connectguard.report.json_report import exit_code, render_json, report_schema
from connectguard.settings import Credentials, Limits, ScanOptions

app = typer.Typer(
    name="connectguard",
    help="Check an Atlassian Connect app against the Marketplace security requirements.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)
log = logging.getLogger("connectguard")


def _version(value: bool) -> None:
    if value:
        print(f"connectguard {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Check an Atlassian Connect app against the Marketplace security requirements."""


class _LazyProgress:
    """A progress bar on stderr that appears only once a scan has run for a second."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and stderr.is_terminal
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.progress is None:
            if time.monotonic() - self.started < 1.0:
                return
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr,
                transient=True,
            )
            self.progress.start()
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=max(total, 1))
        self.progress.update(self.tasks[phase], completed=done, total=max(total, 1))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose >= 2:
        level = logging.DEBUG
    elif verbose == 1:
        level = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)


def _credentials(
    client_key: str | None, shared_secret: str | None, credentials_file: Path | None
) -> Credentials | None:
    if credentials_file is not None:
        try:
            data = json.loads(credentials_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(
                f"Could not read the credentials file {credentials_file}: {exc}."
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"The credentials file {credentials_file} is not a JSON object.")
        client_key = client_key or data.get("clientKey")
        shared_secret = shared_secret or data.get("sharedSecret")
    if client_key is None and shared_secret is None:
        return None
    if not client_key or not shared_secret:
        raise InputError(
            "Credentials need both a clientKey and a sharedSecret.",
            hint="Give --client-key and --shared-secret (or CONNECTGUARD_CLIENT_KEY and "
            "CONNECTGUARD_SHARED_SECRET), copied from a test installation.",
        )
    if (
        not isinstance(client_key, str)
        or any(c.isspace() for c in client_key)
        or len(client_key) > 256
    ):
        raise InputError("The clientKey must be one word of at most 256 characters.")
    if (
        not isinstance(shared_secret, str)
        or len(shared_secret) < 16
        or any(c.isspace() for c in shared_secret)
    ):
        raise InputError(
            "The sharedSecret must be at least 16 characters with no spaces; "
            "copy it whole from the test installation's install payload."
        )
    return Credentials(client_key=client_key, shared_secret=shared_secret)


def _check_target(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InputError(
            f"{url!r} is not an http(s) URL.",
            hint="Give the URL of the app's descriptor, e.g. "
            "https://app.example.com/atlassian-connect.json.",
        )


def _emit(result: ScanResult, fmt: str, output: Path | None, verbose: int, quiet: bool) -> int:
    if fmt == "json":
        text = render_json(result)
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    else:
        if output is not None:
            output.write_text(render_json(result), encoding="utf-8")
        if not quiet:
            render_console(result, Console(), verbose=verbose > 0)
    return exit_code(result)


def _fail(error: ConnectGuardError) -> typer.Exit:
    stderr.print(f"[bold red]error:[/] {error.message}", highlight=False)
    if error.hint:
        stderr.print(f"[dim]hint: {error.hint}[/]", highlight=False)
    return typer.Exit(error.exit_code)


@app.command()
def scan(
    url: Annotated[str, typer.Argument(help="URL of the app's atlassian-connect.json.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="console or json.")] = "console",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the JSON report here.")
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option(help="Extra CA certificates (PEM) to trust.")
    ] = None,
    nameserver: Annotated[
        str | None, typer.Option(help="DNS server HOST:PORT used for every lookup.")
    ] = None,
    proxy: Annotated[str | None, typer.Option(help="HTTP proxy URL for every request.")] = None,
    client_key: Annotated[
        str | None,
        typer.Option(envvar="CONNECTGUARD_CLIENT_KEY", help="Test installation clientKey."),
    ] = None,
    shared_secret: Annotated[
        str | None,
        typer.Option(
            envvar="CONNECTGUARD_SHARED_SECRET",
            help="Test installation sharedSecret.",
            show_default=False,
        ),
    ] = None,
    credentials_file: Annotated[
        Path | None,
        typer.Option(help="JSON file with clientKey and sharedSecret (an install payload works)."),
    ] = None,
    user_account: Annotated[
        str | None, typer.Option(help="Account id of a non-admin user of the test site.")
    ] = None,
    admin_account: Annotated[
        str | None, typer.Option(help="Account id of an admin of the test site.")
    ] = None,
    block_private: Annotated[
        bool, typer.Option(help="Refuse private, loopback and metadata addresses.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = Limits.request_timeout,
    deadline: Annotated[
        float, typer.Option(help="Seconds for the whole scan.")
    ] = Limits.scan_deadline,
    max_endpoints: Annotated[
        int, typer.Option(help="Most endpoints probed per scan.")
    ] = Limits.max_endpoints,
    max_body_bytes: Annotated[
        int, typer.Option(help="Most bytes read of one response body.")
    ] = Limits.max_body_bytes,
    max_descriptor_bytes: Annotated[
        int, typer.Option(help="Most bytes read of the descriptor.")
    ] = Limits.max_descriptor_bytes,
    concurrency: Annotated[
        int, typer.Option(help="Requests in flight at once.")
    ] = Limits.concurrency,
    per_origin: Annotated[
        int, typer.Option(help="Requests in flight at once per origin.")
    ] = Limits.per_origin_concurrency,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail.")] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the exit code and errors.")
    ] = False,
) -> None:
    """Scan the live app whose descriptor is at URL and report a verdict per requirement."""
    _configure_logging(verbose, quiet)
    try:
        _check_target(url)
        if fmt not in {"console", "json"}:
            raise InputError(f"Unknown format {fmt!r}: use console or json.")
        for name, value in (("--timeout", timeout), ("--deadline", deadline)):
            if value <= 0:
                raise InputError(f"{name} must be a positive number of seconds.")
        for name, number in (
            ("--max-endpoints", max_endpoints),
            ("--concurrency", concurrency),
            ("--per-origin", per_origin),
            ("--max-body-bytes", max_body_bytes),
            ("--max-descriptor-bytes", max_descriptor_bytes),
        ):
            if number < 1:
                raise InputError(f"{name} must be at least 1.")
        if ca_file is not None and not ca_file.is_file():
            raise InputError(f"The CA file {ca_file} does not exist.")
        try:
            resolved_nameserver = parse_nameserver(nameserver) if nameserver else None
        except ValueError as exc:
            raise InputError(f"Bad --nameserver: {exc}.") from None
        options = ScanOptions(
            target=url,
            ca_file=str(ca_file) if ca_file else None,
            nameserver=resolved_nameserver,
            proxy=proxy,
            credentials=_credentials(client_key, shared_secret, credentials_file),
            user_account=user_account,
            admin_account=admin_account,
            allow_private=not block_private,
            limits=Limits(
                request_timeout=timeout,
                scan_deadline=deadline,
                max_endpoints=max_endpoints,
                max_body_bytes=max_body_bytes,
                max_descriptor_bytes=max_descriptor_bytes,
                concurrency=concurrency,
                per_origin_concurrency=per_origin,
            ),
        )
        code = _run_and_emit(options, fmt, output, verbose, quiet)
    except ConnectGuardError as error:
        raise _fail(error) from None
    raise typer.Exit(code)


def _run_and_emit(
    options: ScanOptions, fmt: str, output: Path | None, verbose: int, quiet: bool
) -> int:
    from connectguard.scan import run_scan

    progress = _LazyProgress(enabled=not quiet)
    try:
        result = run_scan(options, progress)
    except KeyboardInterrupt:
        stderr.print("[bold red]error:[/] the scan was interrupted.")
        raise typer.Exit(130) from None
    finally:
        progress.stop()
    return _emit(result, fmt, output, verbose, quiet)


@app.command()
def demo(
    fmt: Annotated[str, typer.Option("--format", "-f", help="console or json.")] = "console",
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail.")] = 0,
) -> None:
    """Serve a bundled sample Connect app with deliberate faults on 127.0.0.1 and scan it."""
    from connectguard.demo import run_demo

    _configure_logging(verbose, False)
    try:
        code = run_demo(lambda options: _run_and_emit(options, fmt, None, verbose, False))
    except ConnectGuardError as error:
        raise _fail(error) from None
    raise typer.Exit(code)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the JSON report."""
    sys.stdout.write(report_schema())


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()
