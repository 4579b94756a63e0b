"""Source evidence -> judgements of requirements 7, 8, 10 and 14. Pure: no I/O, no clock.

Secrets: one finding per secret per file, however many commits carry it, naming where it is
now (the working tree line) and where it entered history (the earliest commit and its date).
Dependencies: one finding per vulnerable package version per file; high or critical (CVSS 7.0
and up) fails requirement 14, lower is reported as a warning.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from connectguard.model import Finding, Judgement, JudgementBuilder, Level, Severity
from connectguard.source.evidence import (
    CredentialSighting,
    DependencyCheck,
    SecretSighting,
    SourceEvidence,
)
from connectguard.vulndb.osv import SEVERITY_ORDER, VERSION_CLASSES, Advisory

SOURCE_REQUIREMENTS = ("7", "8", "10", "14")


def judge_source(evidence: SourceEvidence) -> list[Judgement]:
    judgements = judge_secrets(evidence)
    judgements.append(judge_credentials(evidence))
    judgements.append(judge_dependencies(evidence))
    return judgements


# Secrets (7 and 8)


def judge_secrets(evidence: SourceEvidence) -> list[Judgement]:
    builders = {n: JudgementBuilder(n) for n in ("7", "8")}
    if not evidence.secrets_checked:
        return [b.build() for b in builders.values()]
    groups: dict[tuple[str, str, str, str], list[SecretSighting]] = defaultdict(list)
    for sighting in evidence.secrets:
        key = (sighting.requirement, sighting.rule, sighting.path, sighting.secret_hash)
        groups[key].append(sighting)
    suppressed = 0
    for sightings in groups.values():
        finding = _secret_finding(sightings)
        if finding.fingerprint in evidence.suppressed:
            suppressed += 1
            continue
        builders[finding.requirement].add(finding)
    looked_at = evidence.files_scanned + evidence.commits_scanned
    for builder in builders.values():
        builder.count(looked_at)
        for reason in evidence.secrets_undecided:
            builder.undecide(reason)
        _scope_notes(builder, evidence, suppressed)
    return [b.build() for b in builders.values()]


def _scope_notes(builder: JudgementBuilder, evidence: SourceEvidence, suppressed: int) -> None:
    scope = f"{evidence.files_scanned} file(s) of the working tree"
    if evidence.staged_only:
        scope = f"the lines staged for commit in {evidence.files_scanned} file(s)"
    elif evidence.history_scanned:
        scope += f" and {evidence.commits_scanned} commit(s) of git history"
    builder.note(f"secrets looked for in {scope}")
    if evidence.fixture_candidates_ignored:
        builder.note(
            f"{evidence.fixture_candidates_ignored} candidate value(s) in test fixtures that "
            "are secrets only by their name were not reported"
        )
    if suppressed:
        builder.note(f"{suppressed} finding(s) suppressed by the allowlist")


def _when(sighting: SecretSighting) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(sighting.date)
    except ValueError:
        return dt.datetime.max.replace(tzinfo=dt.UTC)


def _secret_finding(sightings: list[SecretSighting]) -> Finding:
    tree = [s for s in sightings if not s.commit]
    staged = [s for s in sightings if s.commit == "staged"]
    history = sorted((s for s in sightings if s.commit and s.commit != "staged"), key=_when)
    first = (tree or staged or history)[0]
    level = min((s.level for s in sightings), key=_level_rank)
    what = first.description[0].upper() + first.description[1:]
    if tree:
        summary = f"{what} is committed in {first.path}"
    elif staged:
        summary = f"{what} is staged for commit in {first.path}"
    else:
        summary = f"{what} was committed in {first.path} and is still in git history"
    if first.in_fixture:
        summary += " (a test fixture: make sure it is not a real credential)"
    facts = [("rule", first.rule), ("secret", first.masked), ("line", str(first.line))]
    if history:
        origin = history[0]
        facts += [("commit", origin.commit), ("date", origin.date)]
        facts.append(("in working tree", "yes" if tree else "no (removed, still in history)"))
        if len(history) > 1:
            facts.append(("commits adding it", str(len({s.commit for s in history}))))
    return Finding(
        requirement=first.requirement,
        check="secret-in-source",
        level=level,
        summary=summary,
        fix=first.fix,
        severity=Severity.HIGH if level is Level.FAIL else Severity.MEDIUM,
        path=first.path,
        detail=f"{first.rule}:{first.secret_hash}",
        facts=tuple(facts),
    )


def _level_rank(level: Level) -> int:
    return [Level.FAIL, Level.WARNING, Level.ADVICE, Level.INFO].index(level)


# Credentials in code (10)


def judge_credentials(evidence: SourceEvidence) -> Judgement:
    builder = JudgementBuilder("10")
    if not evidence.credentials_checked:
        return builder.build()
    grouped: dict[tuple[str, str], list[CredentialSighting]] = defaultdict(list)
    for sighting in evidence.credentials:
        grouped[(sighting.path, sighting.check)].append(sighting)
    for (path, check), sightings in grouped.items():
        first = min(sightings, key=lambda s: s.line)
        lines = ", ".join(str(s.line) for s in sorted(sightings, key=lambda s: s.line)[:10])
        finding = Finding(
            requirement="10",
            check=f"code-{check}",
            level=first.level,
            summary=first.summary,
            fix=first.fix,
            severity=Severity.HIGH if first.level is Level.FAIL else Severity.LOW,
            path=path,
            detail=check,
            facts=(("line", str(first.line)), ("lines", lines)),
        )
        if finding.fingerprint not in evidence.suppressed:
            builder.add(finding)
    builder.count(evidence.code_files)
    builder.note(
        f"{evidence.code_files} code and template file(s) looked at for Atlassian credential "
        "collection"
    )
    return builder.build()


# Dependencies (14)


def judge_dependencies(evidence: SourceEvidence) -> Judgement:
    builder = JudgementBuilder("14")
    if not evidence.dependencies_checked:
        return builder.build()
    for path, reason in evidence.broken_lockfiles:
        builder.add(
            Finding(
                requirement="14",
                check="lockfile-unreadable",
                level=Level.WARNING,
                summary=f"{path} could not be read: {reason}",
                fix="Regenerate the lockfile with its package manager.",
                severity=Severity.NONE,
                path=path,
                detail="unreadable",
            )
        )
        builder.undecide(f"{path} could not be read")
    for ecosystem in evidence.ecosystems_without_data:
        builder.undecide(f"no local OSV data for {ecosystem}: run `connectguard db update`")
    for ecosystem in evidence.ecosystems_damaged:
        builder.undecide(f"the OSV data for {ecosystem} is damaged: run `connectguard db update`")
    judged = 0
    unread: dict[str, list[str]] = defaultdict(list)
    for check in evidence.dependencies:
        if check.dependency.ecosystem in evidence.ecosystems_without_data:
            continue
        if check.unreadable:
            unread[check.dependency.ecosystem].append(
                f"{check.dependency.name} {check.dependency.version}"
            )
        else:
            judged += 1
        if check.advisories:
            finding = _dependency_finding(check)
            if finding.fingerprint not in evidence.suppressed:
                builder.add(finding)
    for ecosystem, packages in unread.items():
        more = f" and {len(packages) - 3} more" if len(packages) > 3 else ""
        builder.undecide(
            f"advisories the OSV data for {ecosystem} lists for {', '.join(packages[:3])}{more} "
            "could not be read: run `connectguard db update`"
        )
    builder.count(judged)
    if evidence.dependency_files:
        builder.note(
            f"{judged} dependency version(s) from {len(evidence.dependency_files)} lockfile(s) "
            "and manifest(s) checked against the local OSV copy"
        )
    else:
        builder.note("no lockfile or manifest was found in the source tree")
    return builder.build()


def worst(advisories: Iterable[Advisory]) -> Advisory:
    return max(
        advisories, key=lambda a: (SEVERITY_ORDER.index(a.rating.severity), a.rating.score or 0)
    )


def first_fixed(ecosystem: str, advisories: Iterable[Advisory]) -> str | None:
    """The lowest version that fixes every advisory; None when one has no fix."""
    fixes = [a.fixed for a in advisories]
    if not fixes or any(f is None for f in fixes):
        return None
    version_class = VERSION_CLASSES[ecosystem]
    return max((f for f in fixes if f is not None), key=lambda f: version_class(f))


def _dependency_finding(check: DependencyCheck) -> Finding:
    dependency, advisories = check.dependency, check.advisories
    top = worst(advisories)
    severity = top.rating.severity
    fails = severity in (Severity.HIGH, Severity.CRITICAL)
    fixed = first_fixed(dependency.ecosystem, advisories)
    ids = ", ".join(
        a.id + (f" ({', '.join(a.aliases[:3])})" if a.aliases else "") for a in advisories
    )
    score = f", CVSS {top.rating.score:.1f}" if top.rating.score is not None else ""
    word = severity.value if severity is not Severity.NONE else "unknown severity"
    plural = "ies" if len(advisories) != 1 else "y"
    facts = [
        ("ecosystem", dependency.ecosystem),
        ("package", dependency.name),
        ("version", dependency.version),
        ("advisories", ids),
        ("first fixed version", fixed or "none known for every advisory"),
        ("worst", f"{top.id}: {top.summary}" if top.summary else top.id),
    ]
    if top.rating.vector:
        facts.append(("cvss vector", top.rating.vector))
    if check.line:
        facts.append(("line", str(check.line)))
    return Finding(
        requirement="14",
        check="vulnerable-dependency",
        level=Level.FAIL if fails else Level.WARNING,
        summary=f"{dependency.name} {dependency.version} ({dependency.ecosystem}) has "
        f"{len(advisories)} known vulnerabilit{plural}, worst {word}{score}",
        fix=f"Upgrade {dependency.name} to {fixed} or later."
        if fixed
        else f"Upgrade or replace {dependency.name}: not every advisory names a fixed version.",
        severity=severity,
        path=dependency.file,
        detail=f"{dependency.ecosystem}:{dependency.name}@{dependency.version}",
        facts=tuple(facts),
    )
