"""Go modules: `go.mod` (required versions, with `replace` directives applied) and, when no
`go.mod` sits beside it, `go.sum` (the highest version of each module whose code it hashes)."""

from __future__ import annotations

from univers.versions import GolangVersion, InvalidVersion

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed, unique

ECOSYSTEM = "Go"


def _words(line: str) -> list[str]:
    return line.split("//", 1)[0].split()


def parse_go_mod(data: bytes, file: str) -> Parsed:
    requires: dict[str, str] = {}
    replaces: dict[str, tuple[str, str]] = {}
    block = ""
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        words = _words(raw)
        if not words:
            continue
        if words[-1] == "(" and len(words) == 2:
            block = words[0]
            continue
        if words == [")"]:
            block = ""
            continue
        directive = block or words[0]
        arguments = words if block else words[1:]
        if directive == "require":
            if len(arguments) != 2:
                raise LockfileError(f"line {number} is not `require MODULE VERSION`")
            requires[arguments[0]] = arguments[1]
        elif directive == "replace" and "=>" in arguments:
            _replace(arguments, replaces)
    found: list[Dependency] = []
    skipped = 0
    for module, version in requires.items():
        module, version = replaces.get(module, (module, version))
        if not version:
            skipped += 1
            continue
        found.append(Dependency(ECOSYSTEM, module, version.lstrip("v"), file))
    return Parsed(unique(found), skipped, "replaced by a local folder")


def _replace(arguments: list[str], replaces: dict[str, tuple[str, str]]) -> None:
    arrow = arguments.index("=>")
    old, new = arguments[:arrow], arguments[arrow + 1 :]
    if not old:
        return
    # A replacement without a version is a local folder: nothing to look up.
    replaces[old[0]] = (new[0], new[1]) if len(new) == 2 else (old[0], "")


def parse_go_sum(data: bytes, file: str) -> Parsed:
    best: dict[str, tuple[GolangVersion, str]] = {}
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        words = raw.split()
        if not words:
            continue
        if len(words) != 3:
            raise LockfileError(f"line {number} is not `MODULE VERSION HASH`")
        module, version = words[0], words[1]
        if version.endswith("/go.mod"):
            continue
        try:
            parsed = GolangVersion(version)
        except (InvalidVersion, ValueError):
            continue
        if module not in best or best[module][0] < parsed:
            best[module] = (parsed, version)
    found = [Dependency(ECOSYSTEM, m, v.lstrip("v"), file) for m, (_, v) in best.items()]
    return Parsed(unique(found))
