"""JavaScript lockfiles: npm's package-lock.json and npm-shrinkwrap.json (versions 1 to 3),
yarn.lock (classic v1 and berry), pnpm-lock.yaml (versions 5 to 9).

JSON and YAML are read with the standard parsers; yarn classic's own format is read here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed, unique

ECOSYSTEM = "npm"
_REGISTRY_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?$")
_YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def _load_json(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LockfileError(f"not valid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise LockfileError("the top level is not a JSON object")
    return document


def _load_yaml(data: bytes) -> dict[str, Any]:
    try:
        document = yaml.load(data.decode("utf-8"), Loader=_YAML_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LockfileError(f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(document, dict):
        raise LockfileError("the top level is not a mapping")
    return document


def _unalias(name: str, version: str) -> tuple[str, str]:
    """npm aliases (`"alias": "npm:real@1.2.3"`) name the real package in the version."""
    if version.startswith("npm:"):
        real, _, real_version = version[4:].rpartition("@")
        return real, real_version
    return name, version


def _dependency(name: str, version: str, file: str) -> Dependency | None:
    name, version = _unalias(name, version)
    if not name or not _REGISTRY_VERSION.match(version):
        return None
    return Dependency(ECOSYSTEM, name, version, file)


def parse_package_lock(data: bytes, file: str) -> Parsed:
    """package-lock.json or npm-shrinkwrap.json: `packages` (v2, v3) or `dependencies` (v1)."""
    document = _load_json(data)
    found: list[Dependency | None] = []
    packages = document.get("packages")
    if isinstance(packages, dict) and len(packages) > 1:
        for key, entry in packages.items():
            if "node_modules/" not in key or not isinstance(entry, dict) or entry.get("link"):
                continue
            name = entry.get("name") or key.rsplit("node_modules/", 1)[1]
            found.append(_dependency(str(name), str(entry.get("version", "")), file))
    else:
        found.extend(_v1_dependencies(document.get("dependencies"), file, depth=0))
    kept = [d for d in found if d is not None]
    return Parsed(unique(kept), len(found) - len(kept), "not from the npm registry")


def _v1_dependencies(tree: Any, file: str, depth: int) -> list[Dependency | None]:
    if not isinstance(tree, dict) or depth > 64:
        return []
    found: list[Dependency | None] = []
    for name, entry in tree.items():
        if not isinstance(entry, dict):
            continue
        found.append(_dependency(str(name), str(entry.get("version", "")), file))
        found.extend(_v1_dependencies(entry.get("dependencies"), file, depth + 1))
    return found


def parse_yarn_lock(data: bytes, file: str) -> Parsed:
    """yarn.lock: berry's YAML (it has `__metadata`) or classic's own format."""
    text = data.decode("utf-8", "replace")
    if re.search(r"^__metadata:", text, re.MULTILINE):
        return _parse_yarn_berry(data, file)
    return _parse_yarn_classic(text, file)


def _spec_name(spec: str) -> str:
    """`@scope/pkg@^1.0.0` -> `@scope/pkg`; `alias@npm:real@^1` -> `real`."""
    spec = spec.strip().strip('"')
    at = spec.find("@", 1)
    name, rest = (spec, "") if at == -1 else (spec[:at], spec[at + 1 :])
    if rest.startswith("npm:"):
        real = rest[4:]
        at = real.find("@", 1)
        return real[:at] if at > 0 else real
    return name


def _parse_yarn_classic(text: str, file: str) -> Parsed:
    found: list[Dependency | None] = []
    name: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if not line.rstrip().endswith(":"):
                raise LockfileError(f"line {number} is not a yarn.lock entry header")
            name = _spec_name(line.rstrip()[:-1].split(",")[0])
        elif name is not None and line.startswith("  version "):
            version = line.split(None, 1)[1].strip().strip('"')
            found.append(_dependency(name, version, file))
            name = None
    kept = [d for d in found if d is not None]
    return Parsed(unique(kept), len(found) - len(kept), "not from the npm registry")


def _parse_yarn_berry(data: bytes, file: str) -> Parsed:
    document = _load_yaml(data)
    found: list[Dependency | None] = []
    for key, entry in document.items():
        if key == "__metadata" or not isinstance(entry, dict):
            continue
        resolution = str(entry.get("resolution", ""))
        at = resolution.find("@", 1)
        name, protocol = resolution[:at], resolution[at + 1 :].split(":", 1)[0]
        if at == -1 or protocol not in {"npm", "patch"}:
            found.append(None)
            continue
        found.append(_dependency(name, str(entry.get("version", "")), file))
    kept = [d for d in found if d is not None]
    return Parsed(unique(kept), len(found) - len(kept), "workspace, link or git packages")


def parse_pnpm_lock(data: bytes, file: str) -> Parsed:
    """pnpm-lock.yaml: keys `/name/1.0.0` (v5), `/name@1.0.0` (v6) or `name@1.0.0` (v9)."""
    document = _load_yaml(data)
    packages = document.get("packages") or {}
    if not isinstance(packages, dict):
        raise LockfileError("`packages` is not a mapping")
    old_style = str(document.get("lockfileVersion", "")).startswith("5")
    found: list[Dependency | None] = []
    for key, entry in packages.items():
        name, version = _pnpm_key(str(key), old_style)
        if isinstance(entry, dict) and entry.get("name") and entry.get("version"):
            name, version = str(entry["name"]), str(entry["version"])
        found.append(_dependency(name, version, file))
    kept = [d for d in found if d is not None]
    return Parsed(unique(kept), len(found) - len(kept), "not from the npm registry")


def _pnpm_key(key: str, old_style: bool) -> tuple[str, str]:
    key = key.lstrip("/").split("(", 1)[0]
    if old_style:
        name, _, version = key.rpartition("/")
        return name, version.split("_", 1)[0]
    at = key.rfind("@")
    if at <= 0:
        return key, ""
    return key[:at], key[at + 1 :]
