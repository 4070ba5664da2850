"""Run inside a fresh interpreter by :mod:`infra_readiness.importcheck`; imports only the standard library.

Protocol on stdin/stdout, one JSON object a line. First line: ``{"preload": [module, ...]}``; then one request a
line: ``{"paths": [...], "module": "name", "root": "...", "timeout": seconds}``. For each request the worker
forks a child that puts ``paths`` first on ``sys.path`` and imports ``module``; the answer line is
``{"ok": bool, "error": str, "file": str, "line": int, "timed_out": bool}``. A request may name a ``parent``
package (the ``nodes`` package of a service): it is imported once, in a child, before the first such request;
if it fails, each request under it gets that failure without a child of its own. Preloading the nodes' third-party
dependencies once makes each node's import cost only its own modules; the node's own modules are never
preloaded, so each child imports them fresh. Without ``os.fork`` a request is served in this same process,
which is then fresh only for the first one (the caller starts one worker per request there).
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
import traceback
from typing import Any

_MAX_ERROR = 2000


def _import(request: dict[str, Any]) -> dict[str, Any]:
    module = str(request["module"])
    root = os.path.realpath(str(request.get("root", "")))
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        del sys.modules[name]
    sys.path[:0] = [str(p) for p in request["paths"]]
    importlib.invalidate_caches()
    try:
        importlib.import_module(module)
    except BaseException as exc:  # a node's import may raise anything, SystemExit included
        answer: dict[str, Any] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]}
        if isinstance(exc, SyntaxError) and exc.filename:
            answer.update(file=exc.filename, line=exc.lineno or 1)
        else:
            inside = [
                f for f in traceback.extract_tb(exc.__traceback__) if os.path.realpath(f.filename).startswith(root)
            ]
            if inside:
                answer.update(file=inside[-1].filename, line=inside[-1].lineno or 1)
        return answer
    return {"ok": True}


def _serve_forked(request: dict[str, Any]) -> dict[str, Any]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: import, answer through the pipe, leave without running atexit hooks
        os.close(read_end)
        try:
            data = json.dumps(_import(request)).encode()
        except BaseException as exc:
            data = json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:_MAX_ERROR]}).encode()
        os.write(write_end, data)
        os._exit(0)
    os.close(write_end)
    chunks: list[bytes] = []
    timeout = float(request.get("timeout", 60))
    timed_out = False
    while True:
        ready, _, _ = select.select([read_end], [], [], timeout)
        if not ready:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return {"ok": False, "timed_out": True, "error": f"the import did not finish in {timeout:g} s"}
    try:
        answer: dict[str, Any] = json.loads(b"".join(chunks) or b"null")
    except ValueError:
        answer = {}
    if not isinstance(answer, dict) or "ok" not in answer:
        code = os.waitstatus_to_exitcode(status)
        return {"ok": False, "error": f"the interpreter died while importing (exit status {code})"}
    return answer


def main() -> None:
    """Serve import requests read from stdin until it closes."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # nothing a node prints may corrupt the answers
    os.dup2(quiet, 2)
    header = json.loads(sys.stdin.readline() or "{}")
    forking = hasattr(os, "fork") and sys.platform.startswith("linux")
    if forking:
        for name in header.get("preload", []):
            try:
                importlib.import_module(name)
            except BaseException:  # noqa: S112 - a dependency that fails here fails again in the child, reported
                continue
    parents: dict[str, dict[str, Any]] = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        parent = request.get("parent")
        if forking and isinstance(parent, str) and parent:
            if parent not in parents:
                parents[parent] = _serve_forked({**request, "module": parent})
            if not parents[parent].get("ok"):
                out.write(json.dumps(parents[parent]) + "\n")
                out.flush()
                continue
        answer = _serve_forked(request) if forking else _import(request)
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
