"""`connectguard scan-repo PATH`: gather source evidence, judge it, and return a `ScanResult`
with requirements 7, 8, 10 and 14 judged and the others `not_tested` (not part of a source
scan).

Steps: list the working tree's files (git's view when PATH is in a repository, a walk
otherwise); scan each for secrets, for credential collection (10) and, when it is a lockfile or
manifest, for dependencies; then scan what every commit of history added; then look the
dependencies up in the local OSV copy. Nothing read from the tree can stop the scan: a file that
cannot be read, a broken lockfile or a refusing git becomes a note or a warning.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from connectguard.errors import InputError
from connectguard.model import Level, ScanResult
from connectguard.requirements import NUMBERS
from connectguard.settings import default_data_dir
from connectguard.source import lockfiles
from connectguard.source.allowlist import Allowlist, load_allowlist
from connectguard.source.credentials import (
    find_credential_collection,
    is_code_file,
    line_starts,
)
from connectguard.source.evidence import (
    CredentialSighting,
    DependencyCheck,
    SecretSighting,
    SourceEvidence,
)
from connectguard.source.files import TreeFile, TreeTally, read_tree_file, walk_paths
from connectguard.source.history import (
    GitError,
    HistoryTally,
    Repository,
    commit_count,
    history_additions,
    open_repository,
    work_tree_files,
)
from connectguard.source.judge import SOURCE_REQUIREMENTS, judge_source
from connectguard.source.lockfiles import Dependency, LockfileError
from connectguard.source.rules import Allow, Rule, builtin_rules, load_rule_file
from connectguard.source.secrets import SecretDetector, SecretHit
from connectguard.verdicts import combine
from connectguard.vulndb.osv import OsvDatabase, OsvDataError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_SIGHTINGS = 20_000
NOT_IN_SOURCE_SCAN = "not part of a source scan"
DUBIOUS_OWNERSHIP = "dubious ownership"


@dataclass(frozen=True)
class RepoScanOptions:
    """Everything one `scan-repo` needs; `path` is the folder to scan."""

    path: Path
    history: bool = True
    staged: bool = False
    dependencies: bool = True
    rule_files: tuple[Path, ...] = ()
    builtin_rules: bool = True
    allowlist: Path | None = None
    data_dir: Path | None = None
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


def scan_repo(options: RepoScanOptions, progress: Progress = _no_progress) -> ScanResult:
    started = dt.datetime.now(dt.UTC)
    root = options.path
    if not root.is_dir():
        raise InputError(f"{root} is not a folder.", hint="Give the folder of the app's source.")
    allowlist = load_allowlist(options.allowlist, root)
    detector = SecretDetector(*_rules(options, allowlist))
    gatherer = _Gatherer(options, root, detector, allowlist, progress)
    evidence = gatherer.run()
    judgements = judge_source(evidence)
    reasons = {n: NOT_IN_SOURCE_SCAN for n in NUMBERS if n not in SOURCE_REQUIREMENTS}
    reasons.update(gatherer.not_tested)
    return ScanResult(
        target=str(root),
        started_at=started.isoformat(timespec="seconds"),
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        app_key=None,
        app_name=root.resolve().name,
        base_url=None,
        requirements=combine(judgements, reasons),
        notes=evidence.notes,
    )


def _rules(options: RepoScanOptions, allowlist: Allowlist) -> tuple[list[Rule], Allow]:
    rules = list(builtin_rules()) if options.builtin_rules else []
    allows = [allowlist.as_rule_allow()]
    for path in options.rule_files:
        extra, allow = load_rule_file(path)
        rules.extend(extra)
        allows.append(allow)
    rules = [r for r in rules if r.id not in allowlist.rules]
    if not rules:
        raise InputError("No secret rules are left to apply.", hint="Drop --no-builtin-rules.")
    merged = Allow(
        regexes=tuple(r for a in allows for r in a.regexes),
        paths=tuple(p for a in allows for p in a.paths),
        stopwords=tuple(w for a in allows for w in a.stopwords),
        commits=frozenset(c for a in allows for c in a.commits),
    )
    return rules, merged


@dataclass
class _Gatherer:
    options: RepoScanOptions
    root: Path
    detector: SecretDetector
    allowlist: Allowlist
    progress: Progress
    tally: TreeTally = field(default_factory=TreeTally)
    history_tally: HistoryTally = field(default_factory=HistoryTally)
    secrets: list[SecretSighting] = field(default_factory=list)
    credentials: list[CredentialSighting] = field(default_factory=list)
    dependencies: list[tuple[Dependency, int]] = field(default_factory=list)
    dependency_files: list[str] = field(default_factory=list)
    broken: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_tested: dict[str, str] = field(default_factory=dict)
    secrets_undecided: list[str] = field(default_factory=list)
    damaged_ecosystems: list[str] = field(default_factory=list)
    sightings_lost: int = 0
    _kept: set[tuple[str, str, str, str]] = field(default_factory=set)
    _weak: list[int] = field(default_factory=list)
    _failing: Counter[str] = field(default_factory=Counter)
    code_files: int = 0

    def run(self) -> SourceEvidence:
        repo = self._repository()
        if self.options.staged:
            if repo is None:
                raise InputError(f"--staged needs a git repository; {self.root} is not one.")
            self._scan_history(repo, staged=True)
        else:
            self._scan_tree(repo)
            if repo is not None and self.options.history:
                self._scan_history(repo, staged=False)
        checks, without_data = self._look_up_dependencies()
        self.notes[:0] = self.tally.notes(self.options.max_file_bytes)
        self._history_notes()
        if self.sightings_lost:
            lost = (
                f"{self.sightings_lost} secret sighting(s) beyond the first {MAX_SIGHTINGS:,} "
                "were not recorded"
            )
            self.notes.append(lost + " (failing ones replace warnings)")
            self.secrets_undecided.append(lost + ": some secrets may not be reported")
        return SourceEvidence(
            root=str(self.root),
            files_scanned=self.tally.scanned,
            commits_scanned=self.history_tally.commits,
            history_scanned=repo is not None and self.options.history and not self.options.staged,
            staged_only=self.options.staged,
            secrets=tuple(self.secrets),
            secrets_undecided=tuple(self.secrets_undecided),
            code_files=self.code_files,
            credentials=tuple(self.credentials),
            dependency_files=tuple(self.dependency_files),
            dependencies=checks,
            broken_lockfiles=tuple(self.broken),
            ecosystems_without_data=without_data,
            ecosystems_damaged=tuple(self.damaged_ecosystems),
            dependencies_checked="14" not in self.not_tested,
            fixture_candidates_ignored=self.detector.fixture_candidates_ignored,
            suppressed=self.allowlist.fingerprints,
            notes=tuple(self.notes),
        )

    def _repository(self) -> Repository | None:
        try:
            repo = open_repository(self.root)
        except GitError as exc:
            if DUBIOUS_OWNERSHIP in str(exc):
                self._refused(exc)
                return None
            self.notes.append(
                f"{self.root} is not a git repository ({exc}): the working tree was scanned, "
                "no history"
            )
            return None
        if not self.options.history and not self.options.staged:
            self.notes.append("git history was not scanned (--no-history)")
        return repo

    def _refused(self, exc: GitError) -> None:
        """git will not read a repository another user owns: the scan must not lower that guard
        on an untrusted repository, so it says how to proceed instead."""
        quoted = str(exc).rsplit("'", 2)
        where = quoted[1] if len(quoted) == 3 else str(self.root.resolve())
        trust = f"if you trust it, run `git config --global --add safe.directory {where}`"
        if self.options.staged:
            raise InputError(
                f"git refuses to read {where}: it is owned by another user.",
                hint=f"I{trust[1:]} and commit again.",
            )
        if self.options.history:
            self.secrets_undecided.append(
                f"git refuses to read {where} (it is owned by another user), so its history was "
                f"not scanned: {trust} and scan again, or scan the working tree alone with "
                "--no-history"
            )
        self.notes.append(
            f"git refuses to read {where} (dubious ownership): the working tree was walked, "
            "no history"
        )

    # The working tree

    def _scan_tree(self, repo: Repository | None) -> None:
        if repo is not None:
            try:
                paths = work_tree_files(repo)
                base = repo.top
            except GitError as exc:
                self.notes.append(f"git could not list the files ({exc}): walked the folder")
                paths, base = list(walk_paths(self.root, self.tally)), self.root
        else:
            paths, base = list(walk_paths(self.root, self.tally)), self.root
        all_paths = set(paths)
        for number, path in enumerate(paths, start=1):
            if self.allowlist.skips_path(path):
                self.tally.allowlisted += 1
                continue
            tree_file = read_tree_file(base, path, self.options.max_file_bytes, self.tally)
            if tree_file is not None:
                self._scan_file(tree_file, all_paths)
            if number % 200 == 0 or number == len(paths):
                self.progress("files", number, len(paths))

    def _scan_file(self, tree_file: TreeFile, all_paths: set[str]) -> None:
        path, data = tree_file.path, tree_file.data
        for hit in self.detector.scan(data, path):
            self._sight(hit, path, data.count(b"\n", 0, hit.offset) + 1, "", "")
        if is_code_file(path):
            self.code_files += 1
            for found in find_credential_collection(data, path):
                self.credentials.append(
                    CredentialSighting(
                        found.check, found.level, path, found.line, found.summary, found.fix
                    )
                )
        if self.options.dependencies and lockfiles.parser_for(path) is not None:
            if path.endswith("go.sum") and not lockfiles.go_sum_needed(path, all_paths):
                return
            self._parse_lockfile(path, data)

    def _parse_lockfile(self, path: str, data: bytes) -> None:
        try:
            parsed = lockfiles.parse(path, data)
        except LockfileError as exc:
            log.warning("could not read the lockfile %s: %s", path, exc)
            self.broken.append((path, str(exc)))
            return
        except Exception as exc:  # a parser bug must not end the scan
            log.warning("could not read the lockfile %s: %r", path, exc)
            self.broken.append((path, f"unexpected content ({type(exc).__name__})"))
            return
        self.dependency_files.append(path)
        text = data.decode("utf-8", "replace")
        for dependency in parsed.dependencies:
            self.dependencies.append((dependency, _line_of(text, dependency.name)))
        if parsed.skipped:
            self.notes.append(
                f"{path}: {parsed.skipped} entr(ies) not checked ({parsed.skipped_reason})"
            )

    # History

    def _scan_history(self, repo: Repository, staged: bool) -> None:
        total = 0 if staged else commit_count(repo)
        try:
            for additions in history_additions(
                repo, self.options.max_file_bytes, self.history_tally, staged=staged
            ):
                if self.allowlist.skips_path(additions.path) or self.allowlist.skips_commit(
                    additions.commit
                ):
                    continue
                data = bytes(additions.data)
                if staged:
                    self.tally.scanned += 1
                for hit in self.detector.scan(data, additions.path, additions.commit):
                    line = additions.line_of(hit.offset)
                    self._sight(hit, additions.path, line, additions.commit, additions.date)
                if staged and is_code_file(additions.path):
                    self.code_files += 1
                    self._staged_credentials(additions.path, data, additions.line_of)
                if total:
                    self.progress("commits", self.history_tally.commits, total)
        except GitError as exc:
            what = "the staged change" if staged else "git history"
            self.notes.append(f"{what} could not be read ({exc})")
            self.secrets_undecided.append(f"{what} could not be read to the end ({exc})")
            return
        # git log leaves out commits that add nothing (pure deletions): count them as read.
        self.history_tally.commits = max(self.history_tally.commits, total)
        if staged:
            self.not_tested["14"] = "dependencies are not checked with --staged"

    def _staged_credentials(self, path: str, data: bytes, line_of: Callable[[int], int]) -> None:
        offsets = line_starts(data)
        for found in find_credential_collection(data, path):
            line = line_of(offsets[min(found.line - 1, len(offsets) - 1)])
            self.credentials.append(
                CredentialSighting(found.check, found.level, path, line, found.summary, found.fix)
            )

    def _history_notes(self) -> None:
        if self.history_tally.binary:
            self.notes.append(
                f"{self.history_tally.binary} binary file version(s) in history skipped"
            )
        if self.history_tally.truncated:
            shown = ", ".join(self.history_tally.truncated[:5])
            self.notes.append(
                f"{len(self.history_tally.truncated)} file version(s) in history scanned only up "
                f"to the size cap: {shown}"
            )

    def _sight(self, hit: SecretHit, path: str, line: int, commit: str, date: str) -> None:
        rule = hit.rule
        log.info("%s in %s:%d %s (%s)", rule.id, path, line, commit[:12], hit.masked)
        key = (rule.requirement, rule.id, path, hit.secret_hash)
        slot = len(self.secrets)
        if slot >= MAX_SIGHTINGS:
            # The bound keeps memory flat. Another sighting of a secret already kept loses only
            # a commit from its facts. A new one is lost unless it fails: then it replaces a
            # warning, or, when it is the first failure of its requirement, a failure of the
            # other (all kept ones are then failures of the other requirement).
            if key in self._kept:
                return
            self.sightings_lost += 1
            if hit.level is not Level.FAIL:
                return
            if self._weak:
                slot = self._weak.pop()
            elif not self._failing[rule.requirement]:
                slot = len(self.secrets) - 1
                self._failing[self.secrets[slot].requirement] -= 1
            else:
                return
        self._kept.add(key)
        if hit.level is Level.FAIL:
            self._failing[rule.requirement] += 1
        else:
            self._weak.append(slot)
        sighting = SecretSighting(
            rule=rule.id,
            requirement=rule.requirement,
            description=hit.description,
            level=hit.level,
            fix=rule.fix,
            secret_hash=hit.secret_hash,
            masked=hit.masked,
            path=path,
            line=line,
            commit=commit,
            date=date,
            in_fixture=hit.in_fixture,
        )
        if slot == len(self.secrets):
            self.secrets.append(sighting)
        else:
            self.secrets[slot] = sighting

    # Dependencies

    def _look_up_dependencies(self) -> tuple[tuple[DependencyCheck, ...], tuple[str, ...]]:
        if not self.options.dependencies:
            self.not_tested.setdefault("14", "dependencies were not checked (--no-dependencies)")
            return (), ()
        if "14" in self.not_tested or not self.dependencies:
            return (), ()
        database = OsvDatabase(self.options.data_dir or default_data_dir())
        checks: list[DependencyCheck] = []
        missing: set[str] = set()
        try:
            for number, (dependency, line) in enumerate(self.dependencies, start=1):
                ecosystem = dependency.ecosystem
                if ecosystem in missing or ecosystem in self.damaged_ecosystems:
                    continue
                if database.damaged(ecosystem):
                    self.damaged_ecosystems.append(ecosystem)
                    continue
                if not database.has(ecosystem):
                    missing.add(ecosystem)
                    continue
                try:
                    found = database.advisories_for(ecosystem, dependency.name, dependency.version)
                except OsvDataError:
                    self.damaged_ecosystems.append(ecosystem)
                    continue
                checks.append(DependencyCheck(dependency, found.advisories, line, found.unreadable))
                self.progress("dependencies", number, len(self.dependencies))
        finally:
            database.close()
        return tuple(checks), tuple(sorted(missing))


def _line_of(text: str, name: str) -> int:
    """The first line naming the package: where a report points for it."""
    position = text.find(name)
    return text.count("\n", 0, position) + 1 if position >= 0 else 0
