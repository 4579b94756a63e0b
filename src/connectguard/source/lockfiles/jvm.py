"""JVM manifests and locks: Maven `pom.xml` (declared versions, `${property}` references
resolved from the same file) and Gradle dependency lockfiles.

XML is read with defusedxml, which refuses entity expansion and external entities.
"""

from __future__ import annotations

import re
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from connectguard.source.lockfiles.base import Dependency, LockfileError, Parsed, unique

ECOSYSTEM = "Maven"
_PROPERTY = re.compile(r"\$\{([^}]+)\}")
_DEPENDENCY_PATHS = (
    "dependencies/dependency",
    "dependencyManagement/dependencies/dependency",
    "profiles/profile/dependencies/dependency",
    "profiles/profile/dependencyManagement/dependencies/dependency",
)


def _strip_namespaces(element: Any) -> None:
    for node in element.iter():
        if isinstance(node.tag, str) and "}" in node.tag:
            node.tag = node.tag.split("}", 1)[1]


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _properties(project: Any) -> dict[str, str]:
    values: dict[str, str] = {}
    for prefix, node in (("project.parent.", project.find("parent")), ("project.", project)):
        if node is None:
            continue
        for key in ("groupId", "artifactId", "version"):
            if _text(node, key):
                values[prefix + key] = _text(node, key)
    values.setdefault("project.version", values.get("project.parent.version", ""))
    values.setdefault("project.groupId", values.get("project.parent.groupId", ""))
    values["pom.version"] = values["project.version"]
    properties = project.find("properties")
    for node in properties if properties is not None else []:
        if isinstance(node.tag, str):
            values[node.tag] = (node.text or "").strip()
    return values


def _resolve(value: str, properties: dict[str, str]) -> str:
    for _ in range(10):
        if "${" not in value:
            break
        value = _PROPERTY.sub(lambda m: properties.get(m.group(1), m.group(0)), value)
    return value


def parse_pom(data: bytes, file: str) -> Parsed:
    try:
        project = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise LockfileError(f"not valid XML ({exc})") from None
    _strip_namespaces(project)
    if project.tag != "project":
        raise LockfileError("the root element is not <project>")
    properties = _properties(project)
    found: list[Dependency] = []
    skipped = 0
    for path in _DEPENDENCY_PATHS:
        for node in project.findall(path):
            group = _resolve(_text(node, "groupId"), properties)
            artifact = _resolve(_text(node, "artifactId"), properties)
            version = _resolve(_text(node, "version"), properties)
            if not group or not artifact or not version or "${" in version or version[0] in "[(":
                skipped += 1
                continue
            found.append(Dependency(ECOSYSTEM, f"{group}:{artifact}", version, file))
    return Parsed(unique(found), skipped, "without a version in this file, or a version range")


def parse_gradle_lockfile(data: bytes, file: str) -> Parsed:
    """Lines `group:artifact:version=configurations`; `empty=` and comments are skipped."""
    found: list[Dependency] = []
    for number, raw in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("empty="):
            continue
        coordinates = line.split("=", 1)[0]
        parts = coordinates.split(":")
        if len(parts) != 3 or not all(parts):
            raise LockfileError(f"line {number} is not group:artifact:version=configurations")
        group, artifact, version = parts
        found.append(Dependency(ECOSYSTEM, f"{group}:{artifact}", version, file))
    return Parsed(unique(found))
