"""Thin wrappers over the git commands the release tools need."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from releasing.errors import UsageError

__all__ = [
    "changed_files",
    "commit_of",
    "extract",
    "first_commit_adding",
    "git",
    "merge_base",
    "show_file",
    "tags",
]


def git(root: Path, *args: str, check: bool = True) -> str:
    """Run `git args` in `root` and return stdout; a failure raises `UsageError` with git's message."""
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def commit_of(root: Path, ref: str) -> str:
    """The commit id `ref` points at; raises `UsageError` naming the ref when it does not exist."""
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise UsageError(f"git ref {ref!r} not found (fetch it, e.g. `git fetch origin main`, or pass --base)")
    return proc.stdout.strip()


def merge_base(root: Path, base: str) -> str:
    """The common ancestor of `base` and HEAD (the point a branch started from)."""
    commit = commit_of(root, base)
    out = git(root, "merge-base", commit, "HEAD", check=False).strip()
    return out or commit


def changed_files(root: Path, base: str) -> list[str]:
    """Files changed since the merge-base with `base`: commits, uncommitted edits and new untracked files."""
    start = merge_base(root, base)
    tracked = git(root, "diff", "--name-only", "--no-renames", start, "--").splitlines()
    untracked = git(root, "ls-files", "--others", "--exclude-standard").splitlines()
    return sorted({p for p in tracked + untracked if p})


def tags(root: Path, pattern: str) -> list[str]:
    """Tags matching a glob such as `infra-gen-v*`."""
    return [t for t in git(root, "tag", "--list", pattern).splitlines() if t]


def first_commit_adding(root: Path, needle: str, path: str) -> str | None:
    """The oldest commit that added `needle` to `path` (git's pickaxe), or None."""
    out = git(root, "log", "--format=%H", "--reverse", f"-S{needle}", "--", path, check=False)
    for line in out.splitlines():
        commit = line.strip()
        if commit and needle in show_file(root, commit, path):
            return commit
    return None


def show_file(root: Path, commit: str, path: str) -> str:
    """The text of `path` at `commit` ("" when it does not exist there)."""
    proc = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def extract(root: Path, commit: str, path: str, dest: Path) -> Path:
    """Write the tree of `path` at `commit` under `dest` (via `git archive`) and return `dest / path`."""
    proc = subprocess.run(["git", "archive", "--format=tar", commit, path], cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        raise UsageError(f"git archive {commit[:12]} {path} failed: {proc.stderr.decode().strip()}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest / path
