"""The command line: `connectguard scan URL`, `connectguard demo`, `connectguard schema`,
`connectguard scan-repo PATH` (source/commands.py), `connectguard db update` (vulndb/commands.py).

The CLI edge turns every `ConnectGuardError` into one sentence on stderr and an exit code:
0 all pass, 1 a requirement failed, 2 usage or input error, 3 scan incomplete.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import jwt
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectguard import __version__
from connectguard.errors import ConnectGuardError, InputError
from connectguard.model import ScanResult
from connectguard.net.resolver import parse_nameserver
from connectguard.probes.domains import DEFAULT_RDAP
from connectguard.probes.takeover import load_table
from connectguard.report.console import render_console
from connectguard.report.json_report import exit_code, render_json, report_schema
from connectguard.settings import Credentials, Limits, ScanOptions
from connectguard.source.commands import scan_repo_command
from connectguard.store.commands import Recorder, apps_command, findings_app, prepare_recorder
from connectguard.store.suppressions import load_config
from connectguard.vulndb.commands import db_app

app = typer.Typer(
    name="connectguard",
    help="Check an Atlassian Connect app against the Marketplace security requirements.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("connectguard")
app.add_typer(findings_app, name="findings")
app.command("apps")(apps_command)
app.command("scan-repo")(scan_repo_command)
app.add_typer(db_app, name="db")


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


def check_user_jwt(token: str, now: float | None = None) -> str:
    """The user token as given, after checking its shape and expiry (never echoing it)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.InvalidTokenError:
        raise InputError("The --user-jwt value is not a JWT (three base64url parts).") from None
    exp = claims.get("exp")
    if isinstance(exp, int | float) and exp < (now if now is not None else time.time()):
        raise InputError(
            "The --user-jwt token has expired; copy a fresh one from the test site.",
            hint="Connect tokens live about three minutes; --user-account lets the scanner "
            "sign its own with the test installation's secret.",
        )
    return token


FORMATS = ("console", "json")
PROXY_SCHEMES = ("http", "https")


def _is_http_url(url: str, schemes: tuple[str, ...] = ("http", "https")) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return False
    return parts.scheme.lower() in schemes and bool(host)


def _check_target(url: str) -> None:
    if not _is_http_url(url):
        raise InputError(
            f"{url!r} is not an http(s) URL.",
            hint="Give the URL of the app's descriptor, e.g. "
            "https://app.example.com/atlassian-connect.json.",
        )


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InputError(f"Unknown format {fmt!r}: use {' or '.join(FORMATS)}.")


def _check_proxy(proxy: str) -> None:
    # The value is not echoed: a proxy URL may carry a password.
    if not _is_http_url(proxy, PROXY_SCHEMES):
        raise InputError(
            "--proxy must be an http:// or https:// URL with a host, "
            "such as http://proxy.example.com:3128."
        )


def _check_ca_file(ca_file: Path) -> None:
    """The CA file must load as PEM certificates now, not make requirement 3 inconclusive later."""
    if not ca_file.is_file():
        raise InputError(f"The CA file {ca_file} does not exist.")
    try:
        ssl.create_default_context().load_verify_locations(cafile=str(ca_file))
    except (ssl.SSLError, OSError, ValueError):
        raise InputError(
            f"The CA file {ca_file} holds no PEM certificates.",
            hint="Give certificates in PEM form (-----BEGIN CERTIFICATE-----); convert a DER "
            "file with `openssl x509 -inform der -in FILE -out FILE.pem`.",
        ) from None


def check_output(path: Path | None) -> None:
    """Refuse an --output file that could not be written, before any scan runs."""
    if path is None:
        return
    if path.is_dir():
        raise InputError(f"The output path {path} is a folder; give a file name (-o FILE).")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"The folder of the output file {path} does not exist.")
    writable = os.access(folder, os.W_OK | os.X_OK)
    if not writable or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"The output file {path} cannot be written (permission denied).")


def write_output(path: Path, text: str) -> None:
    """Write a report to `path`; a failure is one sentence, not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"Could not write {path}: {exc.strerror or exc}.") from None


def _emit(result: ScanResult, fmt: str, output: Path | None, verbose: int, quiet: bool) -> int:
    """The report on stdout in `fmt`, and the JSON report in `output` too when given."""
    text = render_json(result) if fmt == "json" or output is not None else ""
    if output is not None:
        write_output(output, text)
    if fmt == "json":
        sys.stdout.write(text)
    elif not quiet:
        console = Console()
        console.soft_wrap = not console.is_terminal
        render_console(result, console, verbose=verbose > 0)
    return exit_code(result)


def _fail(error: ConnectGuardError) -> typer.Exit:
    """Print the error's one sentence (and hint) on stderr; the exit its code calls for.

    The message may quote what the user typed or the app served (`x[/]y.json`): it is printed
    as text, never read as rich markup."""
    stderr.print(f"[bold red]error:[/] {escape(error.message)}", highlight=False)
    if error.hint:
        stderr.print(f"[dim]hint: {escape(error.hint)}[/]", highlight=False)
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
    user_jwt: Annotated[
        str | None,
        typer.Option(
            help="A non-admin user's JWT from the test site (instead of --user-account).",
            envvar="CONNECTGUARD_USER_JWT",
            show_default=False,
        ),
    ] = None,
    api_route: Annotated[
        list[str] | None,
        typer.Option(help="A route of the app's own API, called with context tokens (repeatable)."),
    ] = None,
    probe_install: Annotated[
        bool,
        typer.Option(
            help="If the app accepts a forged install, use that tenant for the "
            "authenticated probes (it is uninstalled at the end)."
        ),
    ] = False,
    block_private: Annotated[
        bool, typer.Option(help="Refuse private, loopback and metadata addresses.")
    ] = False,
    rdap: Annotated[
        bool, typer.Option(help="Look up each domain's registration expiry over RDAP.")
    ] = False,
    rdap_url: Annotated[str, typer.Option(help="RDAP service asked with --rdap.")] = DEFAULT_RDAP,
    takeover_table: Annotated[
        Path | None,
        typer.Option(help="Extra takeover fingerprints (JSON), added to the built-in table."),
    ] = None,
    plain_http_port: Annotated[
        int, typer.Option(help="Port on which app hosts must redirect plain HTTP to HTTPS.")
    ] = 80,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = Limits.request_timeout,
    connect_timeout: Annotated[
        float, typer.Option(help="Seconds to connect (TCP and TLS handshake).")
    ] = Limits.connect_timeout,
    read_timeout: Annotated[
        float, typer.Option(help="Seconds of silence tolerated while reading an answer.")
    ] = Limits.read_timeout,
    deadline: Annotated[
        float, typer.Option(help="Seconds for the whole scan.")
    ] = Limits.scan_deadline,
    max_endpoints: Annotated[
        int, typer.Option(help="Most endpoints probed per scan.")
    ] = Limits.max_endpoints,
    max_body_bytes: Annotated[
        int, typer.Option(help="Most bytes read of one response body.")
    ] = Limits.max_body_bytes,
    max_scan_body_bytes: Annotated[
        int, typer.Option(help="Most bytes of response bodies kept per scan (then 16 KiB each).")
    ] = Limits.max_scan_body_bytes,
    max_descriptor_bytes: Annotated[
        int, typer.Option(help="Most bytes read of the descriptor.")
    ] = Limits.max_descriptor_bytes,
    max_header_bytes: Annotated[
        int, typer.Option(help="Most bytes of the status line or of one response header.")
    ] = Limits.max_header_bytes,
    max_headers: Annotated[
        int, typer.Option(help="Most header lines of one response.")
    ] = Limits.max_headers,
    max_redirects: Annotated[
        int, typer.Option(help="Most redirects followed from one request.")
    ] = Limits.max_redirects,
    max_origins: Annotated[
        int, typer.Option(help="Most origins and hosts given TLS and DNS probes per scan.")
    ] = Limits.max_origins,
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
    store: Annotated[
        bool, typer.Option("--store", help="Record the scan in the findings store (judges 15).")
    ] = False,
    store_url: Annotated[
        str | None,
        typer.Option(help="Findings store: SQLite file or postgresql:// URL (implies --store)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="connectguard.toml: suppressions, CVSS overrides (default ./ if any)."),
    ] = None,
    scan_date: Annotated[
        str | None, typer.Option(hidden=True, help="Record the scan as made at this date.")
    ] = None,
) -> None:
    """Scan the live app whose descriptor is at URL and report a verdict per requirement."""
    _configure_logging(verbose, quiet)
    try:
        _check_target(url)
        _check_format(fmt)
        check_output(output)
        for name, value in (
            ("--timeout", timeout),
            ("--deadline", deadline),
            ("--connect-timeout", connect_timeout),
            ("--read-timeout", read_timeout),
        ):
            if value <= 0:
                raise InputError(f"{name} must be a positive number of seconds.")
        for name, number in (
            ("--max-endpoints", max_endpoints),
            ("--concurrency", concurrency),
            ("--per-origin", per_origin),
            ("--max-body-bytes", max_body_bytes),
            ("--max-scan-body-bytes", max_scan_body_bytes),
            ("--max-descriptor-bytes", max_descriptor_bytes),
            ("--max-header-bytes", max_header_bytes),
            ("--max-headers", max_headers),
            ("--max-origins", max_origins),
        ):
            if number < 1:
                raise InputError(f"{name} must be at least 1.")
        if max_redirects < 0:
            raise InputError("--max-redirects must be 0 or more.")
        if ca_file is not None:
            _check_ca_file(ca_file)
        if proxy is not None:
            _check_proxy(proxy)
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
            user_jwt=check_user_jwt(user_jwt) if user_jwt else None,
            api_routes=tuple(api_route or ()),
            probe_install=probe_install,
            allow_private=not block_private,
            **_transport_options(rdap, rdap_url, takeover_table, plain_http_port),
            limits=Limits(
                request_timeout=timeout,
                scan_deadline=deadline,
                max_endpoints=max_endpoints,
                max_body_bytes=max_body_bytes,
                max_scan_body_bytes=max_scan_body_bytes,
                max_descriptor_bytes=max_descriptor_bytes,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                max_header_bytes=max_header_bytes,
                max_headers=max_headers,
                max_redirects=max_redirects,
                max_origins=max_origins,
                concurrency=concurrency,
                per_origin_concurrency=per_origin,
            ),
        )
        recorder = _recorder(store or bool(store_url), store_url, config, scan_date, quiet)
        code = _run_and_emit(options, fmt, output, verbose, quiet, recorder)
    except ConnectGuardError as error:
        raise _fail(error) from None
    raise typer.Exit(code)


def _recorder(
    store: bool, store_url: str | None, config: Path | None, scan_date: str | None, quiet: bool
) -> Recorder | None:
    """Read connectguard.toml always, so its mistakes are reported, and prepare the store."""
    settings = load_config(config)
    if store:
        return prepare_recorder(store_url, settings, scan_date)
    if (settings.cvss or settings.suppressions) and not quiet:
        stderr.print(
            f"note: the suppressions and CVSS overrides of {settings.source} apply only to "
            "recorded scans (--store); this scan was not recorded.",
            highlight=False,
        )
    return None


def _transport_options(
    rdap: bool, rdap_url: str, takeover_table: Path | None, plain_http_port: int
) -> dict[str, Any]:
    """The TLS, DNS and domain options, checked: a bad table file is an input error."""
    if not _is_http_url(rdap_url):
        raise InputError(
            f"--rdap-url {rdap_url!r} is not an http(s) URL.",
            hint=f"Give the base URL of an RDAP service, such as {DEFAULT_RDAP}.",
        )
    if not 0 < plain_http_port < 65536:
        raise InputError("--plain-http-port must be a port number from 1 to 65535.")
    if takeover_table is not None:
        load_table(str(takeover_table))
    return {
        "rdap_url": rdap_url if rdap else None,
        "takeover_table": str(takeover_table) if takeover_table else None,
        "plain_http_port": plain_http_port,
    }


def _run_and_emit(
    options: ScanOptions,
    fmt: str,
    output: Path | None,
    verbose: int,
    quiet: bool,
    record: Callable[[ScanResult], ScanResult] | None = None,
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
    if record is not None:
        result = record(result)
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
        _check_format(fmt)
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
