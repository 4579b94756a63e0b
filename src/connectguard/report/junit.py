"""The JUnit XML report of any `ScanResult`, for CI systems that show test results.

One test suite per scan, one test case per requirement: `fail` is a failure listing the failing
findings, `inconclusive` an error with its reason, `not_tested` and `not_applicable` are skipped
with their reason, `pass` passes. Warnings go to the case's system-out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connectguard.model import Finding, Level, RequirementResult, ScanResult, Verdict
from connectguard.requirements import BY_NUMBER

_CONTROL = {c: None for c in range(32) if chr(c) not in "\t\n\r"}


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters: drop them."""
    return text.translate(_CONTROL)


def _finding_text(finding: Finding) -> str:
    where = f"{finding.method} {finding.origin}{finding.path}".strip()
    lines = [f"[{finding.level.value}] {finding.summary}", f"  at {where}"]
    lines += [f"  {name}: {value}" for name, value in finding.facts]
    if finding.fix:
        lines.append(f"  fix: {finding.fix}")
    return "\n".join(lines)


def _case(suite: ET.Element, result: RequirementResult, classname: str) -> None:
    requirement = BY_NUMBER[result.requirement]
    case = ET.SubElement(
        suite,
        "testcase",
        name=f"{result.requirement}. {requirement.title}",
        classname=classname,
        time="0",
    )
    failures = [f for f in result.findings if f.level is Level.FAIL]
    if result.verdict is Verdict.FAIL:
        element = ET.SubElement(case, "failure", message=_clean(result.reason), type="fail")
        element.text = _clean("\n\n".join(_finding_text(f) for f in failures))
    elif result.verdict is Verdict.INCONCLUSIVE:
        ET.SubElement(case, "error", message=_clean(result.reason), type="inconclusive")
    elif result.verdict in (Verdict.NOT_TESTED, Verdict.NOT_APPLICABLE):
        ET.SubElement(case, "skipped", message=_clean(f"{result.verdict.value}: {result.reason}"))
    others = [f for f in result.findings if f.level is Level.WARNING]
    if others:
        out = ET.SubElement(case, "system-out")
        out.text = _clean("\n\n".join(_finding_text(f) for f in others))


def render_junit(result: ScanResult) -> str:
    counts = {v: 0 for v in Verdict}
    for requirement in result.requirements:
        counts[requirement.verdict] += 1
    root = ET.Element("testsuites", name="connectguard")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=_clean(f"connectguard {result.target}"),
        tests=str(len(result.requirements)),
        failures=str(counts[Verdict.FAIL]),
        errors=str(counts[Verdict.INCONCLUSIVE]),
        skipped=str(counts[Verdict.NOT_TESTED] + counts[Verdict.NOT_APPLICABLE]),
        timestamp=result.started_at,
    )
    classname = "connectguard." + ("source" if "://" not in result.target else "live")
    for requirement in result.requirements:
        _case(suite, requirement, classname)
    if result.notes:
        out = ET.SubElement(suite, "system-out")
        out.text = _clean("\n".join(result.notes))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, suite.get(key, "0"))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
