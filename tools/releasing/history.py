"""Where each release of a package is in git: its tag, else the commit that added its CHANGELOG heading."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from workspace import Package

from releasing import changelog
from releasing.errors import UsageError
from releasing.gitutil import commit_of, first_commit_adding, git, show_file, tags

__all__ = [
    "TAG_RE",
    "Release",
    "commit_for_version",
    "last_release",
    "lowest_claimed",
    "parse_tag",
    "previous_release",
    "release_of",
    "releases",
]

TAG_RE = re.compile(r"^(?P<dist>infra-[a-z][a-z0-9-]*?)-v(?P<version>\d[0-9A-Za-z.+]*)$")


@dataclass(frozen=True)
class Release:
    """A released version of a package and the commit it was released from."""

    version: str
    commit: str
    source: str  # "tag <name>", "changelog heading" or "__about__.py"

    def as_dict(self) -> dict[str, str]:
        """JSON-friendly form."""
        return {"version": self.version, "commit": self.commit, "source": self.source}


def parse_tag(tag: str) -> tuple[str, str]:
    """`infra-gen-v1.2.3` -> `("infra-gen", "1.2.3")`; anything else raises `UsageError`."""
    match = TAG_RE.match(tag.removeprefix("refs/tags/"))
    if match is None:
        raise UsageError(f"tag {tag!r} is not of the form <dist>-v<version>, e.g. infra-gen-v0.2.0")
    return match.group("dist"), match.group("version")


def _rel(pkg: Package, root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _heading_commit(root: Path, path: str, text: str, version: str) -> str | None:
    """The commit that added the release heading of `version` (the exact line as it stands now)."""
    for section in changelog.sections(text):
        if not section.is_unreleased and section.title == version:
            return first_commit_adding(root, text.splitlines()[section.start].rstrip(), path)
    return None


def releases(root: Path, pkg: Package) -> list[Release]:
    """Known releases, newest first: every tag `<dist>-v*` and every CHANGELOG release heading at HEAD.

    A tag wins over the heading of the same version (it names what was published); a heading alone counts,
    because a clone without tags (CI) must see the same releases as the maintainer's checkout.
    """
    found: dict[Version, Release] = {}
    for tag in tags(root, f"{pkg.dist}-v*"):
        try:
            dist, version = parse_tag(tag)
            parsed = Version(version)
        except (UsageError, InvalidVersion):
            continue
        if dist == pkg.dist:
            found[parsed] = Release(version, commit_of(root, tag), f"tag {tag}")
    path = _rel(pkg, root, pkg.changelog_path)
    text = show_file(root, "HEAD", path)
    for version in changelog.released_versions(text) if text else []:
        try:
            parsed = Version(version)
        except InvalidVersion:
            continue
        if parsed in found:
            continue
        commit = _heading_commit(root, path, text, version)
        if commit is not None:
            found[parsed] = Release(version, commit, "changelog heading")
    return [found[v] for v in sorted(found, reverse=True)]


def last_release(root: Path, pkg: Package) -> Release | None:
    """The newest release, or None when the package was never released."""
    known = releases(root, pkg)
    return known[0] if known else None


def release_of(known: list[Release], version: str) -> Release | None:
    """The release of exactly `version` among `known`, if it was released."""
    wanted = Version(version)
    return next((r for r in known if Version(r.version) == wanted), None)


def previous_release(known: list[Release], version: str) -> Release | None:
    """The newest release older than `version`: the one a bump to `version` started from."""
    wanted = Version(version)
    return next((r for r in known if Version(r.version) < wanted), None)


def commit_for_version(root: Path, pkg: Package, version: str) -> Release:
    """The commit of `version`: its tag, else its CHANGELOG heading, else the commit that set it in `__about__.py`."""
    for rel in releases(root, pkg):
        if Version(rel.version) == Version(version):
            return rel
    about = _rel(pkg, root, pkg.about_path)
    for quote in ('"', "'"):
        commit = first_commit_adding(root, f"__version__ = {quote}{version}{quote}", about)
        if commit is not None:
            return Release(version, commit, "__about__.py (unreleased)")
    raise UsageError(
        f"{pkg.dist} {version}: no tag {pkg.dist}-v{version}, no CHANGELOG heading and no commit of "
        f"{about} setting it; cannot find its source"
    )


def known_versions(root: Path, pkg: Package) -> list[Version]:
    """Released versions plus every version `__about__.py` ever held on this branch."""
    versions = {Version(r.version) for r in releases(root, pkg)}
    about = _rel(pkg, root, pkg.about_path)
    out = git(root, "log", "--format=%H", "--", about, check=False)
    for commit in out.splitlines():
        match = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", show_file(root, commit, about))
        if match:
            try:
                versions.add(Version(match.group(1)))
            except InvalidVersion:
                continue
    versions.add(Version(pkg.version))
    return sorted(versions)


def lowest_claimed(root: Path, dependent: Package, dependency: Package) -> str:
    """The lowest known version of `dependency` that `dependent`'s requirement admits."""
    req = dependent.requirement_on(dependency.dist)
    if req is None:
        raise UsageError(f"{dependent.dist} does not depend on {dependency.dist}")
    spec: SpecifierSet = req.specifier
    admitted = [v for v in known_versions(root, dependency) if spec.contains(v, prereleases=True)]
    if not admitted:
        raise UsageError(f"{dependent.dist} requires {req}, but no known {dependency.dist} version satisfies it")
    return str(admitted[0])
