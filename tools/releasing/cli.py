"""Command line of `python tools/release.py` (argparse: stdlib only, so CI can run it before any env exists)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workspace import ROOT, Workspace, WorkspaceError, discover

from releasing.errors import FindingsError, UsageError

__all__ = ["main"]


def _default_base(root: Path) -> str:
    """`$INFRA_BASE_REF`, else `origin/main`, else `main`, else HEAD (nothing to compare: said on stderr)."""
    from releasing.gitutil import git

    explicit = os.environ.get("INFRA_BASE_REF")
    if explicit:
        return explicit
    for ref in ("origin/main", "main"):
        if git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False).strip():
            return ref
    print("note: neither origin/main nor main exists; comparing with HEAD (pass --base)", file=sys.stderr)
    return "HEAD"


def _emit(data: object, fmt: str, text: str) -> None:
    print(json.dumps(data, indent=2) if fmt == "json" else text)


def cmd_affected(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.affected import select, to_github
    from releasing.gitutil import changed_files

    changed = [] if args.all else changed_files(ws.root, args.base or _default_base(ws.root))
    result = select(ws, changed, run_all=args.all)
    if args.format == "github":
        print(to_github(result, ws))
    elif args.format == "json":
        print(json.dumps(result.as_dict(ws), indent=2))
    else:
        lines = [f"{d}  ({'; '.join(result.reasons.get(d, []))})" for d in result.packages]
        print("\n".join(lines) if lines else "no package affected")
    return 0


def cmd_pending(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.pending import pending

    states = pending(ws, args.packages or None)
    lines = []
    for s in states:
        last = f"{s.last.version} ({s.last.source})" if s.last else "never released"
        mark = "PENDING" if s.is_pending else "up to date"
        lines.append(
            f"{s.dist:<18} {s.version:<8} last: {last:<34} {s.commits} commit(s) since, "
            f"{s.unreleased_entries} unreleased entr{'y' if s.unreleased_entries == 1 else 'ies'}  {mark}"
        )
    _emit([s.as_dict() for s in states], args.format, "\n".join(lines))
    return 0


def cmd_bump(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.bump import bump

    done = bump(ws.root, ws.get(args.package), args.segment, args.date, dry_run=args.dry_run)
    note = " (dry run: nothing written)" if args.dry_run else ""
    print(f"{done.dist}: {done.old} -> {done.new} ({done.date}){note}")
    if done.note:
        print(f"note: {done.note}")
    if not args.dry_run:
        print(f"next: commit, then `git tag {done.dist}-v{done.new} && git push origin {done.dist}-v{done.new}`")
    return 0


def cmd_notes(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.bump import release_notes

    sys.stdout.write(release_notes(ws.get(args.package), args.version))
    return 0


def cmd_check_tag(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.history import parse_tag

    dist, version = parse_tag(args.tag)
    pkg = ws.get(dist)
    if pkg.version != version:
        raise FindingsError(
            f"tag {args.tag} says {version}, but {pkg.about_path.relative_to(ws.root)} says {pkg.version}"
        )
    data = {"package": pkg.dist, "version": version, "path": pkg.path.relative_to(ws.root).as_posix()}
    if args.format == "github":
        print("\n".join(f"{k}={v}" for k, v in data.items()))
    else:
        _emit(data, args.format, f"{pkg.dist} {version}: tag matches __about__.py")
    return 0


def cmd_changelog_check(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.changelog_check import check_changelogs

    problems, checked = check_changelogs(ws, args.base or _default_base(ws.root))
    if problems:
        raise FindingsError("changelog check failed", problems)
    print(f"changelog ok ({', '.join(checked) if checked else 'no src/ changes'})")
    return 0


def _targets(ws: Workspace, args: argparse.Namespace) -> list[str]:
    if args.all == bool(args.package):
        raise UsageError("name one PACKAGE or pass --all")
    return ws.order() if args.all else [ws.get(args.package).dist]


def cmd_api_check(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.api import check_api, diff_against

    if args.against:
        comps = [(d, diff_against(ws, ws.get(d), args.against)) for d in _targets(ws, args)]
        text = []
        for dist, diff in comps:
            text.append(
                f"{dist}: {args.against} ({diff.since.version}) -> the working tree: {len(diff.breaking)} breaking, "
                f"{len(diff.added)} added" + (f", would need a {diff.needs} bump" if diff.needs else "")
            )
            text += [f"  breaking: {b}" for b in diff.breaking] + [f"  added: {a}" for a in diff.added]
        _emit([{"package": d, **c.as_dict()} for d, c in comps], args.format, "\n".join(text))
        return 0

    cache: dict[str, Any] = {}
    reports = [check_api(ws, ws.get(d), cache) for d in _targets(ws, args)]
    lines = []
    for r in reports:
        bound = r.lower_bound
        if bound is not None and not bound.missing:
            lines.append(f"{r.dist}: its lowest infra-models {bound.version} exports every name it imports")
        if r.last is None:
            lines.append(f"{r.dist}: no release yet (no tag, no released CHANGELOG heading): nothing to compare")
            lines += [f"  FAIL: {p}" for p in r.problems]
            continue
        status = "OK" if r.ok else "FAIL"
        lines.append(f"{r.dist} {r.version}: {status} (last release {r.last.version}, {r.last.source})")
        for comp, title in ((r.checked, "version check"), (r.pending, "pending")):
            if comp is None:
                continue
            lines.append(
                f"  {title}: {comp.since.version} -> {comp.until}: {len(comp.breaking)} breaking, "
                f"{len(comp.added)} added" + (f", needs a {comp.needs} bump" if comp.needs else "")
            )
            lines += [f"    breaking: {b}" for b in comp.breaking]
        lines += [f"  declared: {d}" for d in r.declared]
        lines += [f"  FAIL: {p}" for p in r.problems]
        lines += [f"  note: {n}" for n in r.notes]
    _emit([r.as_dict() for r in reports], args.format, "\n".join(lines))
    return 0 if all(r.ok for r in reports) else 1


def _interpreters(ws: Workspace, names: list[str], versions: list[str]) -> tuple[list[str], list[Any]]:
    """The interpreters of `--python` found, and failed outcomes for those missing under CI.

    Outside CI a missing interpreter is skipped with a note on stderr; in CI it fails the run (one failed outcome
    per package), so a CI machine without the Python the classifiers promise cannot pass quietly.
    """
    from releasing.interpreters import find_python, parse_version, running_in_ci
    from releasing.verify import SHARED, Outcome, Step

    found: list[str] = []
    missing: list[Outcome] = []
    for version in dict.fromkeys(parse_version(v) for v in versions):
        python = find_python(version)
        if python is not None:
            found.append(python)
            continue
        why = f"no Python {version} found (python{version} on PATH, pyenv's versions, `uv python find`)"
        if not running_in_ci():
            print(f"note: {why}: skipped outside CI (CI=true fails instead)", file=sys.stderr)
            continue
        step = Step(f"find Python {version}", False, 0.0, f"{why}; CI is set, so a missing interpreter fails")
        models = ws.get(SHARED).version
        missing += [Outcome(dist, models, [step], python=version) for dist in names]
    return found, missing


def cmd_verify_install(ws: Workspace, args: argparse.Namespace) -> int:
    from releasing.verify import Outcome, Verifier

    names = _targets(ws, args)
    pythons, outcomes = _interpreters(ws, names, args.python) if args.python else ([sys.executable], [])
    start = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix="verify-install-")

    def log(message: str) -> None:
        if args.format != "json":
            print(message, flush=True)

    def one(dist: str, verifier: Verifier) -> Outcome:
        on = f" on Python {verifier.python_version()}" if args.python else ""
        verifier.log(f"{dist}{on}{' (lowest infra-models)' if args.lowest else ''}:")
        return verifier.verify(ws.get(dist), lowest=args.lowest, integration=args.integration)

    try:
        verifier = Verifier(ws, Path(tmp), log, args.wheel_dir)
        runs = [(dist, verifier.with_python(python)) for python in pythons for dist in names]
        if args.jobs <= 1 or len(runs) == 1:
            outcomes += [one(dist, twin) for dist, twin in runs]
        else:
            outcomes += _parallel(ws, runs, one, args.jobs, log)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    total = time.perf_counter() - start
    if args.keep:
        print(f"kept the venvs and wheels in {tmp}", file=sys.stderr)
    if args.format == "json":
        print(json.dumps({"seconds": round(total, 1), "results": [o.as_dict() for o in outcomes]}, indent=2))
    else:
        for o in outcomes:
            status = "ok" if o.ok else "FAILED"
            on = f" on Python {o.python}" if args.python else ""
            print(f"{o.dist}: {status} with infra-models {o.models_version}{on} in {o.seconds:.1f}s")
            for step in o.steps:
                if not step.ok:
                    print(f"  {step.name}:\n" + "\n".join(f"    {ln}" for ln in step.detail.splitlines()))
            if o.hint:
                print(f"  hint: {o.hint}")
        print(f"verify-install: {len(outcomes)} package(s) in {total:.1f}s")
    return 0 if all(o.ok for o in outcomes) else 1


def _test_weight(ws: Workspace, dist: str) -> int:
    """Bytes of the package's test sources: a cheap forecast of how long its tests run."""
    tests = ws.get(dist).path / "tests"
    return sum(p.stat().st_size for p in tests.rglob("*.py")) if tests.is_dir() else 0


def _parallel(
    ws: Workspace,
    runs: list[tuple[str, Any]],
    one: Callable[[str, Any], Any],
    jobs: int,
    log: Callable[[str], None],
) -> list[Any]:
    """Verify each (package, verifier) on `jobs` threads; each one's progress is printed in one block when it ends.

    The heaviest test suites start first (longest-processing-time order), so the last one to start is short and
    the threads finish together; outcomes are returned in the order of `runs`.
    """
    from concurrent.futures import ThreadPoolExecutor

    def run(item: tuple[str, Any]) -> Any:
        dist, verifier = item
        lines: list[str] = []
        outcome = one(dist, verifier.with_log(lines.append))
        log("\n".join(lines))
        return outcome

    weights = {dist: _test_weight(ws, dist) for dist in dict.fromkeys(d for d, _ in runs)}
    order = sorted(range(len(runs)), key=lambda i: -weights[runs[i][0]])
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {i: pool.submit(run, runs[i]) for i in order}
        return [futures[i].result() for i in range(len(runs))]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="release.py",
        description="Independent releases of the infra packages (see docs/releasing.md).",
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[Workspace, argparse.Namespace], int], text: str) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.set_defaults(func=func)
        return cmd

    def fmt(cmd: argparse.ArgumentParser, *extra: str) -> None:
        cmd.add_argument("--format", choices=["text", "json", *extra], default="text", help="output format")

    base_help = "git ref to compare with (its merge-base with HEAD); default $INFRA_BASE_REF, origin/main, main"
    cmd = add("affected", cmd_affected, "packages changed since --base plus every package depending on them")
    cmd.add_argument("--base", help=base_help)
    cmd.add_argument("--all", action="store_true", help="select every package (manual runs, `ci:all` label)")
    fmt(cmd, "github")
    cmd = add("pending", cmd_pending, "packages with changes since their last release (tag, else CHANGELOG)")
    cmd.add_argument("packages", nargs="*", metavar="PACKAGE", help="limit to these packages")
    fmt(cmd)
    cmd = add("bump", cmd_bump, "new version in __about__.py; CHANGELOG Unreleased becomes its release section")
    cmd.add_argument("package", metavar="PACKAGE")
    cmd.add_argument(
        "segment",
        choices=["major", "minor", "patch", "current"],
        metavar="SEGMENT",
        help="major|minor|patch from the last release; `current` releases the version already in __about__.py",
    )
    cmd.add_argument("--date", help="release date YYYY-MM-DD (default: today, UTC)")
    cmd.add_argument("--dry-run", action="store_true", help="print the new version, write nothing")
    cmd = add("release-notes", cmd_notes, "print the CHANGELOG section of a release (default: current version)")
    cmd.add_argument("package", metavar="PACKAGE")
    cmd.add_argument("--version", help="the release to print (default: the version in __about__.py)")
    cmd = add("check-tag", cmd_check_tag, "check a release tag <dist>-v<version> against __about__.py")
    cmd.add_argument("tag", metavar="TAG")
    fmt(cmd, "github")
    cmd = add("verify-install", cmd_verify_install, "build the wheels, install alone in a fresh venv, run the tests")
    cmd.add_argument("package", nargs="?", metavar="PACKAGE")
    cmd.add_argument("--all", action="store_true", help="every package (infra-models is built once)")
    cmd.add_argument("--lowest", action="store_true", help="with the lowest infra-models version it claims")
    cmd.add_argument("--integration", action="store_true", help="also run tests/integration (needs services)")
    cmd.add_argument("--jobs", type=int, default=1, metavar="N", help="verify N packages at a time (default 1)")
    cmd.add_argument("--keep", action="store_true", help="keep the venvs, wheels and test copies (for debugging)")
    cmd.add_argument("--wheel-dir", type=Path, help="use the wheels already built in this folder (release artifacts)")
    cmd.add_argument(
        "--python",
        action="append",
        metavar="X.Y",
        help="make the venvs from Python X.Y (repeat for several; default: this interpreter); a missing one is "
        "skipped with a note, or fails when CI is set",
    )
    fmt(cmd)
    cmd = add(
        "api-check",
        cmd_api_check,
        "compare the public API (__all__, JSON Schemas) with the last release; require the bump it needs",
    )
    cmd.add_argument("package", nargs="?", metavar="PACKAGE")
    cmd.add_argument("--all", action="store_true", help="every package")
    cmd.add_argument(
        "--against",
        metavar="REF",
        help="only list the changes since this git ref (a base branch, a commit); no policy, exit 0",
    )
    fmt(cmd)
    cmd = add("changelog-check", cmd_changelog_check, "a change under a package's src/ needs a CHANGELOG entry")
    cmd.add_argument("--base", help=base_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit 0 ok, 1 findings, 2 bad input."""
    args = _parser().parse_args(argv)
    try:
        ws = discover(args.root)
        func: Callable[[Workspace, argparse.Namespace], int] = args.func
        return func(ws, args)
    except (UsageError, WorkspaceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except FindingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
