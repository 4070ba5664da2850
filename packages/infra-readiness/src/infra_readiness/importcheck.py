"""Import each node's package in a fresh interpreter, many nodes sharing one warm worker.

One worker process preloads the third-party modules the nodes import, then forks a child per node; the child
imports the node's package fresh (its modules were never loaded in the worker) and reports the first error with
its file and line. Checking 50 nodes thus costs one interpreter start, not 50. Where ``fork`` is not available
each node gets its own interpreter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "PARALLEL_MIN_NODES",
    "ImportProbe",
    "ImportRequest",
    "ImportResult",
    "forget_prestarted",
    "parallel_jobs",
    "prestart",
    "take_prestarted",
    "top_level_imports",
]

_FORKING = hasattr(os, "fork") and sys.platform.startswith("linux")
#: From this many nodes a run is split among forked processes (when there are several CPUs).
PARALLEL_MIN_NODES = 16


def parallel_jobs(count: int, requested: int | None = None) -> int:
    """How many processes check ``count`` nodes: ``requested``, else ``INFRA_READINESS_JOBS``, else one.

    Opt-in: on a machine whose CPUs are busy the split costs more than it saves. Always one below
    :data:`PARALLEL_MIN_NODES` nodes or where ``fork`` is not available; at most one process per 8 nodes, and 8.
    """
    if not _FORKING or count < PARALLEL_MIN_NODES:
        return 1
    wanted = requested
    if wanted is None:
        text = os.environ.get("INFRA_READINESS_JOBS", "").strip()
        wanted = int(text) if text.isdigit() else 1
    return max(1, min(wanted, count // (PARALLEL_MIN_NODES // 2), 8))


_TOP_IMPORT = re.compile(r"^(?:from|import)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def top_level_imports(source: str) -> set[str]:
    """Top-level packages imported by unindented ``import``/``from`` lines: what to preload, found without parsing.

    A hint for the warm worker only (an import it misses is simply imported in the child), so a regex is enough.
    """
    return set(_TOP_IMPORT.findall(source)) - {"__future__"}


@dataclass(frozen=True)
class ImportRequest:
    """Import ``module`` with ``paths`` first on ``sys.path``; ``root`` locates errors inside the node.

    ``parent`` (the package holding a service's nodes, such as ``svc.nodes``) is imported once per worker before
    its nodes: when it fails, every node under it fails the same way, answered without importing each node.
    """

    module: str
    paths: tuple[str, ...]
    root: str
    parent: str | None = None


@dataclass(frozen=True)
class ImportResult:
    """The outcome of one import: ok, or the error with the file and line inside the node where it has one."""

    ok: bool
    error: str = ""
    file: str | None = None
    line: int | None = None
    timed_out: bool = False
    crashed: bool = False


def _worker_source() -> str:
    return resources.files("infra_readiness").joinpath("_import_worker.py").read_text(encoding="utf-8")


class ImportProbe:
    """Imports submitted packages in fresh interpreters, in the background; results come back as futures."""

    def __init__(self, *, python: str | None = None, timeout: float = 60.0) -> None:
        self.python = python or sys.executable
        self.timeout = timeout
        self._futures: list[tuple[ImportRequest, Future[ImportResult]]] = []
        self._thread: threading.Thread | None = None

    def submit_all(self, requests: Sequence[ImportRequest], preload: Sequence[str] = ()) -> list[Future[ImportResult]]:
        """Start importing every request; returns one future per request, in order."""
        futures: list[Future[ImportResult]] = [Future() for _ in requests]
        if not requests:
            return futures
        pairs = list(zip(requests, futures, strict=True))
        target = self._serve_forking if _FORKING else self._serve_spawning
        self._thread = threading.Thread(target=target, args=(pairs, list(preload)), daemon=True)
        self._thread.start()
        return futures

    def _command(self) -> list[str]:
        return [self.python, "-P", "-c", _worker_source()]

    def _serve_forking(self, pairs: list[tuple[ImportRequest, Future[ImportResult]]], preload: list[str]) -> None:
        lines = [json.dumps({"preload": preload})]
        lines += [json.dumps({**_as_dict(r), "timeout": self.timeout}) for r, _ in pairs]
        answers = self._run_worker("\n".join(lines) + "\n", len(pairs), self.timeout * len(pairs) + 60)
        for (_, future), answer in zip(pairs, answers, strict=True):
            future.set_result(answer)

    def _serve_spawning(self, pairs: list[tuple[ImportRequest, Future[ImportResult]]], preload: list[str]) -> None:
        del preload  # each interpreter imports one node: nothing to share

        def one(pair: tuple[ImportRequest, Future[ImportResult]]) -> None:
            request, future = pair
            text = json.dumps({"preload": []}) + "\n" + json.dumps({**_as_dict(request), "timeout": self.timeout})
            future.set_result(self._run_worker(text + "\n", 1, self.timeout + 30)[0])

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            list(pool.map(one, pairs))

    def _run_worker(self, stdin: str, count: int, timeout: float) -> list[ImportResult]:
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONSTARTUP"}}
        try:
            proc = subprocess.run(
                self._command(),
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
                cwd=Path.cwd(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return [
                ImportResult(ok=False, error=f"the import worker did not finish in {timeout:g} s", timed_out=True)
            ] * count
        except OSError as exc:
            return [ImportResult(ok=False, error=f"cannot start {self.python}: {exc.strerror}", crashed=True)] * count
        answers = [_parse(line) for line in proc.stdout.splitlines() if line.strip()]
        if len(answers) < count:
            died = ImportResult(
                ok=False, error=f"the import worker stopped early (exit status {proc.returncode})", crashed=True
            )
            answers += [died] * (count - len(answers))
        return answers[:count]


def _as_dict(request: ImportRequest) -> dict[str, object]:
    data: dict[str, object] = {"module": request.module, "paths": list(request.paths), "root": request.root}
    if request.parent:
        data["parent"] = request.parent
    return data


def _parse(line: str) -> ImportResult:
    try:
        data = json.loads(line)
    except ValueError:
        return ImportResult(ok=False, error="unreadable answer from the import worker", crashed=True)
    line_no = data.get("line")
    return ImportResult(
        ok=bool(data.get("ok")),
        error=str(data.get("error", "")),
        file=data.get("file"),
        line=line_no if isinstance(line_no, int) and line_no >= 1 else None,
        timed_out=bool(data.get("timed_out")),
        crashed="interpreter died" in str(data.get("error", "")),
    )


_PRESTARTED: dict[ImportRequest, Future[ImportResult]] = {}


def prestart(requests: Sequence[ImportRequest], preload: Sequence[str] = ()) -> None:
    """Start ``requests`` now; the runner picks the futures up with :func:`take_prestarted`."""
    for request, future in zip(requests, ImportProbe().submit_all(requests, preload), strict=True):
        _PRESTARTED[request] = future


def take_prestarted(request: ImportRequest) -> Future[ImportResult] | None:
    """The future of an import started early for exactly ``request``, or ``None``."""
    return _PRESTARTED.pop(request, None)


def forget_prestarted() -> None:
    """Drop the imports started early (in a forked child, whose parent alone has the threads that finish them)."""
    _PRESTARTED.clear()
