"""Check a large tree of nodes in several forked processes: each child rates a contiguous share of the nodes.

The children are forked before any check runs, so each starts its own import worker and its own file cache (a
service's nodes stay together in one share and keep sharing their project facts). Each report comes back as one
JSON line and is rebuilt as the same :class:`~infra_models.readiness.ReadinessReport`. A child that dies leaves
its unanswered nodes to the parent, which checks them itself: a crash costs time, never a report.
"""

from __future__ import annotations

import json
import os
import selectors
from collections.abc import Callable, Sequence
from datetime import datetime

from infra_models.readiness import ReadinessReport
from infra_readiness import importcheck
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Check

__all__ = ["check_forked"]

Progress = Callable[[ReadinessReport], None]
Serial = Callable[[Sequence[NodeContext], Sequence[Check], datetime, Progress | None], list[ReadinessReport]]


def _shares(count: int, workers: int) -> list[range]:
    size, extra = divmod(count, workers)
    bounds, start = [], 0
    for index in range(workers):
        end = start + size + (1 if index < extra else 0)
        bounds.append(range(start, end))
        start = end
    return [b for b in bounds if len(b)]


def _child(
    nodes: Sequence[NodeContext], share: range, checks: Sequence[Check], *, stamp: datetime, serial: Serial, fd: int
) -> None:
    importcheck.forget_prestarted()  # their threads live in the parent only
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        position = iter(share)

        def send(report: ReadinessReport) -> None:
            line = {"index": next(position), "report": report.model_dump(mode="json")}
            out.write(json.dumps(line) + "\n")
            out.flush()

        serial([nodes[i] for i in share], checks, stamp, send)


def check_forked(
    nodes: Sequence[NodeContext],
    checks: Sequence[Check],
    *,
    stamp: datetime,
    workers: int,
    progress: Progress | None,
    serial: Serial,
) -> list[ReadinessReport]:
    """Rate ``nodes`` in ``workers`` forked processes; reports in the order of ``nodes``."""
    reports: dict[int, ReadinessReport] = {}
    children: list[int] = []
    selector = selectors.DefaultSelector()
    for share in _shares(len(nodes), workers):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: rate its share, answer through the pipe, leave without the parent's exit hooks
            os.close(read_end)
            status = 0
            try:
                _child(nodes, share, checks, stamp=stamp, serial=serial, fd=write_end)
            except BaseException:
                status = 1
            os._exit(status)
        os.close(write_end)
        children.append(pid)
        selector.register(os.fdopen(read_end, "r", encoding="utf-8"), selectors.EVENT_READ)
    while selector.get_map():
        for key, _ in selector.select():
            stream = key.fileobj
            line = stream.readline()  # type: ignore[union-attr]
            if not line:
                selector.unregister(stream)
                stream.close()  # type: ignore[union-attr]
                continue
            try:
                data = json.loads(line)
                report = ReadinessReport.model_validate(data["report"])
            except (ValueError, KeyError):
                continue  # a broken line: that node is checked again below
            reports[int(data["index"])] = report
            if progress is not None:
                progress(report)
    for pid in children:
        os.waitpid(pid, 0)
    missing = [i for i in range(len(nodes)) if i not in reports]
    if missing:
        for index, report in zip(missing, serial([nodes[i] for i in missing], checks, stamp, progress), strict=True):
            reports[index] = report
    return [reports[i] for i in range(len(nodes))]
