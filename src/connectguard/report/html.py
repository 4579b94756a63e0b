"""The HTML report of one app: a single self-contained file to share (Jinja2).

It shows the latest scan's verdict per requirement with the evidence of each failing finding,
a chart of open findings over the app's recorded scans, and a chart of upcoming fix deadlines.
The charts are inline SVG drawn here; the page loads nothing from anywhere (its
Content-Security-Policy forbids it), so it opens the same from a mail, a ticket or a disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from connectguard import __version__
from connectguard.model import Level, Verdict
from connectguard.report.json_report import exit_code
from connectguard.requirements import BY_NUMBER
from connectguard.store.lifecycle import Status
from connectguard.store.queries import AppReport, FindingRecord, HistoryPoint

MAX_DEADLINE_BARS = 25
MAX_EVIDENCE_SHOWN = 6
CHART_WIDTH = 720


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Tick:
    at: float
    label: str
    anchor: str = "middle"


@dataclass(frozen=True)
class HistoryChart:
    """Open and overdue findings after each recorded scan, as SVG coordinates."""

    width: int
    height: int
    left: int
    top: int
    bottom: int
    right: int
    open_points: tuple[Point, ...]
    overdue_points: tuple[Point, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]

    @property
    def open_line(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.open_points)

    @property
    def overdue_line(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.overdue_points)


@dataclass(frozen=True)
class Bar:
    label: str
    detail: str
    x: float
    width: float
    y: float
    days: int
    css: str


@dataclass(frozen=True)
class DeadlineChart:
    """One bar per unfixed finding: right of the axis days left, left of it days overdue."""

    width: int
    height: int
    axis: float
    row: int
    label_width: int
    bars: tuple[Bar, ...]
    hidden: int


def render_html(report: AppReport) -> str:
    environment = Environment(
        loader=PackageLoader("connectguard.report", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(**report_context(report))


def report_context(report: AppReport) -> dict[str, object]:
    result = report.result
    verdict_counts = {v.value: 0 for v in Verdict}
    for verdict in result.verdicts.values():
        verdict_counts[verdict.value] += 1
    unfixed = report.unfixed()
    return {
        "report": report,
        "result": result,
        "requirements": [
            {
                "number": r.requirement,
                "current": BY_NUMBER[r.requirement].current,
                "title": BY_NUMBER[r.requirement].title,
                "verdict": r.verdict.value,
                "reason": r.reason,
                "notes": r.notes,
                "failures": [f for f in r.findings if f.level is Level.FAIL],
                "others": [f for f in r.findings if f.level is not Level.FAIL],
            }
            for r in result.requirements
        ],
        "verdict_counts": verdict_counts,
        "status_counts": {s.value: report.count(s) for s in Status},
        "unfixed": unfixed,
        "overdue_count": len(report.overdue()),
        "exit_code": exit_code(result),
        "history_chart": history_chart(report.history),
        "deadline_chart": deadline_chart(unfixed, report.at),
        "days_left": lambda f: f.days_left(report.at),
        "status_of": lambda f: f.status_at(report.at).value,
        "max_evidence": MAX_EVIDENCE_SHOWN,
        "version": __version__,
        "date": _date,
    }


def _date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def history_chart(history: tuple[HistoryPoint, ...]) -> HistoryChart:
    width, height, left, right, top, bottom = CHART_WIDTH, 240, 48, 16, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max([p.open_findings for p in history] + [1])
    step = _nice_step(highest)
    ceiling = step * -(-highest // step)

    times = [p.scan_time.timestamp() for p in history]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)
    span = last - first

    def x_of(t: float) -> float:
        return left + (plot_w / 2 if span == 0 else (t - first) / span * plot_w)

    def y_of(n: int) -> float:
        return top + plot_h - n / ceiling * plot_h

    open_points, overdue_points = [], []
    for point, t in zip(history, times, strict=True):
        when = point.scan_time.date().isoformat()
        open_points.append(
            Point(x_of(t), y_of(point.open_findings), f"{when}: {point.open_findings} open")
        )
        overdue_points.append(
            Point(
                x_of(t), y_of(point.overdue_findings), f"{when}: {point.overdue_findings} overdue"
            )
        )
    y_ticks = tuple(Tick(y_of(n), str(n)) for n in range(0, ceiling + 1, step))
    x_ticks = _x_ticks(history, times, x_of)
    return HistoryChart(
        width,
        height,
        left,
        top,
        top + plot_h,
        left + plot_w,
        tuple(open_points),
        tuple(overdue_points),
        y_ticks,
        x_ticks,
    )


def _x_ticks(
    history: tuple[HistoryPoint, ...], times: list[float], x_of: Callable[[float], float]
) -> tuple[Tick, ...]:
    if not history:
        return ()
    last = len(history) - 1
    chosen = sorted({0, len(history) // 2, last})
    return tuple(
        Tick(
            x_of(times[i]),
            history[i].scan_time.date().isoformat(),
            "middle" if last == 0 or 0 < i < last else ("start" if i == 0 else "end"),
        )
        for i in chosen
    )


def _nice_step(highest: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if highest / step <= 6:
            return step
    return -(-highest // 6)


def deadline_chart(unfixed: list[FindingRecord], at: dt.datetime) -> DeadlineChart:
    ordered = sorted(unfixed, key=lambda f: (f.due_on, f.fingerprint))
    shown = ordered[:MAX_DEADLINE_BARS]
    days = [f.days_left(at) or 0 for f in shown]
    late = max([-d for d in days if d < 0] + [0])
    ahead = max([d for d in days if d >= 0] + [1])
    label_width, row, width = 250, 24, CHART_WIDTH
    plot = width - label_width - 60
    scale = plot / (late + ahead) if late + ahead else 1.0
    axis = label_width + late * scale
    bars = []
    for index, (finding, left) in enumerate(zip(shown, days, strict=True)):
        length = max(abs(left) * scale, 2.0)
        bars.append(
            Bar(
                label=f"{finding.fingerprint} · req {finding.requirement}",
                detail=f"{finding.severity.value}, due {finding.due_on}: {finding.summary}",
                x=axis - length if left < 0 else axis,
                width=length,
                y=index * row + 8,
                days=left,
                css="overdue" if left < 0 else finding.severity.value,
            )
        )
    height = max(len(bars), 1) * row + 32
    return DeadlineChart(
        width, height, axis, row, label_width, tuple(bars), len(ordered) - len(shown)
    )
