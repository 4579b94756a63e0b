"""The `connectguard scan-repo PATH` command: its options, and the report in the chosen format.

Exit codes as for `scan`: 0 all pass, 1 a requirement failed, 2 usage or input error, 3 scan
incomplete (a requirement inconclusive, for example OSV data missing, and none failed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from connectguard.errors import ConnectGuardError, InputError
from connectguard.model import ScanResult
from connectguard.report.console import render_console
from connectguard.report.json_report import exit_code, render_json
from connectguard.report.junit import render_junit
from connectguard.report.sarif import render_sarif
from connectguard.source.scan import DEFAULT_MAX_FILE_BYTES, RepoScanOptions, scan_repo

FORMATS = ("console", "json", "sarif", "junit")


def render(result: ScanResult, fmt: str) -> str:
    """The report of `result` in a file format: json, sarif or junit."""
    renderers = {"json": render_json, "sarif": render_sarif, "junit": render_junit}
    return renderers[fmt](result)


def emit(result: ScanResult, fmt: str, output: Path | None, verbose: int, quiet: bool) -> int:
    """Write the report (console: to the terminal, and JSON to `output` if given)."""
    from connectguard.cli import write_output

    if fmt == "console":
        if output is not None:
            write_output(output, render_json(result))
        if not quiet:
            console = Console()
            console.soft_wrap = not console.is_terminal
            render_console(result, console, verbose=verbose > 0)
    else:
        text = render(result, fmt)
        if output is not None:
            write_output(output, text)
        else:
            sys.stdout.write(text)
    return exit_code(result)


def scan_repo_command(
    path: Annotated[Path, typer.Argument(help="Folder of the app's source (a git work tree).")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="console, json, sarif or junit.")
    ] = "console",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report here (console: the JSON report)."),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="gitleaks-format TOML rule file, added to the built-ins."),
    ] = None,
    builtin_rules: Annotated[
        bool, typer.Option(help="Apply connectguard's own secret rules.")
    ] = True,
    allowlist: Annotated[
        Path | None,
        typer.Option(help="Allowlist file (default: .connectguard-allowlist in PATH, if any)."),
    ] = None,
    history: Annotated[bool, typer.Option(help="Also scan every commit of git history.")] = True,
    staged: Annotated[
        bool,
        typer.Option(help="Scan only what is staged for the next commit (for pre-commit)."),
    ] = False,
    dependencies: Annotated[
        bool, typer.Option(help="Check lockfiles against the local OSV copy.")
    ] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option(envvar="CONNECTGUARD_DATA_DIR", help="Where `db update` keeps OSV data."),
    ] = None,
    max_file_bytes: Annotated[
        int, typer.Option(help="Files above this size are skipped (and listed).")
    ] = DEFAULT_MAX_FILE_BYTES,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail.")] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the exit code and errors.")
    ] = False,
) -> None:
    """Scan an app's source tree and git history: secrets (7, 8), credential collection (10)
    and vulnerable dependencies (14)."""
    from connectguard.cli import _configure_logging, _fail, _LazyProgress, check_output

    _configure_logging(verbose, quiet)
    try:
        if fmt not in FORMATS:
            raise InputError(f"Unknown format {fmt!r}: use {', '.join(FORMATS)}.")
        check_output(output)
        if max_file_bytes < 1:
            raise InputError("--max-file-bytes must be at least 1.")
        for rule_file in rules or []:
            if not rule_file.is_file():
                raise InputError(f"The rule file {rule_file} does not exist.")
        options = RepoScanOptions(
            path=path,
            history=history,
            staged=staged,
            dependencies=dependencies,
            rule_files=tuple(rules or ()),
            builtin_rules=builtin_rules,
            allowlist=allowlist,
            data_dir=data_dir,
            max_file_bytes=max_file_bytes,
        )
        progress = _LazyProgress(enabled=not quiet)
        try:
            result = scan_repo(options, progress)
        finally:
            progress.stop()
        code = emit(result, fmt, output, verbose, quiet)
    except ConnectGuardError as error:
        raise _fail(error) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise typer.Exit(code)
