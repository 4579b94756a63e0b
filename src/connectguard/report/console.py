"""The console report: one block per requirement, failures with their evidence and fix."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.text import Text

from connectguard.model import Finding, Level, RequirementResult, ScanResult, Verdict
from connectguard.report.json_report import exit_code
from connectguard.requirements import BY_NUMBER
from connectguard.store.deadlines import REQUIREMENT as DEADLINES
from connectguard.store.lifecycle import tracking_fingerprint

STYLES = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
    Verdict.NOT_TESTED: "dim",
    Verdict.NOT_APPLICABLE: "dim",
}
INDENT = " " * 3
DETAIL = " " * 5
LEVEL_STYLES = {Level.FAIL: "red", Level.WARNING: "yellow", Level.ADVICE: "cyan", Level.INFO: "dim"}


def escape(text: str) -> str:
    """Text from the app, safe to print: markup escaped, and control characters written as
    escapes, so that a descriptor or an answer cannot drive the user's terminal (`\x1b]0;`)."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return escape_markup(shown)


def render_console(result: ScanResult, console: Console, verbose: bool = False) -> None:
    if result.base_url is None and "://" not in result.target:
        console.print(f"[bold]connectguard[/] source scan of [bold]{escape(result.target)}[/]\n")
    else:
        console.print(
            f"[bold]connectguard[/] scan of [bold]{escape(result.app_name or '?')}[/] "
            f"({escape(result.app_key or '?')}) at {escape(result.target)}"
        )
        console.print(f"baseUrl {escape(result.base_url or '?')}, {result.exchanges} requests\n")
    for requirement in result.requirements:
        _requirement(requirement, console, verbose, result)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    _summary(result, console)


def _requirement(
    result: RequirementResult, console: Console, verbose: bool, scan: ScanResult
) -> None:
    info = BY_NUMBER[result.requirement]
    line = Text()
    line.append(f"{result.requirement:>2} ", style="bold")
    line.append(f"{result.verdict.value.upper():<15}", style=STYLES[result.verdict])
    line.append(f"{info.title} ")
    line.append(f"(now {info.current})", style="dim")
    console.print(line)
    if result.verdict is not Verdict.PASS or verbose:
        console.print(f"{INDENT}[dim]{escape(result.reason)}[/]")
    shown = [f for f in result.findings if verbose or f.level in (Level.FAIL, Level.WARNING)]
    for finding in shown:
        _finding(finding, console, verbose)
        if finding.level is Level.FAIL and finding.requirement != DEADLINES:
            # The fingerprint `findings show` and connectguard.toml take: the app's own origin
            # as a placeholder, so it stays the same on a new host or port.
            console.print(f"{DETAIL}[dim]fingerprint: {tracking_fingerprint(finding, scan)}[/]")
    hidden = len(result.findings) - len(shown)
    if hidden:
        console.print(f"{INDENT}[dim]+{hidden} advice/info finding(s); -v shows them[/]")
    if verbose:
        for note in result.notes:
            console.print(f"{INDENT}[dim]note: {escape(note)}[/]")


def _finding(finding: Finding, console: Console, verbose: bool) -> None:
    style = LEVEL_STYLES[finding.level]
    console.print(f"{INDENT}[{style}]{finding.level.value}:[/] {escape(finding.summary)}")
    if not finding.evidence:
        where = f"{finding.method} {finding.origin}{finding.path}".strip()
        console.print(f"{DETAIL}[dim]at {escape(where)}[/]")
    if finding.fix:
        console.print(f"{DETAIL}[dim]fix: {escape(finding.fix)}[/]")
    for name, value in finding.facts:
        console.print(f"{DETAIL}[dim]{escape(name)}: {escape(value)}[/]")
    evidence = finding.evidence if verbose else finding.evidence[:2]
    for exchange in evidence:
        answer = exchange.error or f"{exchange.status}"
        console.print(
            f"{DETAIL}[dim]sent {exchange.method} {escape(exchange.url)} "
            f"(token: {exchange.token}) -> {escape(answer)}[/]"
        )


def _summary(result: ScanResult, console: Console) -> None:
    counts: dict[Verdict, int] = {}
    for verdict in result.verdicts.values():
        counts[verdict] = counts.get(verdict, 0) + 1
    parts = [f"[{STYLES[v]}]{counts[v]} {v.value}[/]" for v in Verdict if counts.get(v)]
    console.print("\n" + ", ".join(parts) + f"  (exit code {exit_code(result)})")
