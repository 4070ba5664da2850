"""`infra-security ratelimit` commands: try a policy against a simulated stream of requests."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Annotated

import typer

from infra_models.cli import CliError, OutputFormat

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help=__doc__)


class Algorithm(StrEnum):
    """Rate-limit algorithms."""

    gcra = "gcra"
    sliding_window = "sliding_window"


@app.command("try")
def try_cmd(  # noqa: PLR0917 - typer options
    limit: Annotated[int, typer.Option("--limit", help="Requests admitted per period.")],
    period: Annotated[float, typer.Option("--period", help="Period in seconds.")],
    burst: Annotated[int, typer.Option("--burst", help="Extra requests admitted at once.")] = 0,
    algorithm: Annotated[Algorithm, typer.Option("--algorithm", help="gcra or sliding_window.")] = Algorithm.gcra,
    requests: Annotated[int, typer.Option("--requests", help="How many requests to simulate.")] = 20,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between simulated requests.")] = 0.0,
    weight: Annotated[int, typer.Option("--weight", help="Units each request takes.")] = 1,
    fmt: Annotated[OutputFormat, typer.Option("-f", "--format", help="Output format.")] = OutputFormat.TEXT,
) -> None:
    """Run REQUESTS requests, INTERVAL seconds apart on a simulated clock, through the policy; print each decision."""
    from pydantic import ValidationError

    from infra_models.security import RateLimitPolicy
    from infra_security.errors import SecurityError
    from infra_security.ratelimit._limiter import RateLimiter
    from infra_security.ratelimit._memory import MemoryBackend

    if requests < 1 or requests > 100_000 or not 0 <= interval < math.inf:
        raise CliError("--requests must be 1..100000 and --interval a finite number >= 0")
    if not 0 < period < math.inf:
        raise CliError(f"--period must be a finite number of seconds > 0, got {period}")
    try:
        policy = RateLimitPolicy.model_validate(
            {
                "name": "try",
                "limit": limit,
                "period_seconds": period,
                "burst": burst,
                "algorithm": algorithm.value,
                "scope": "global",
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise CliError(f"`{field}`: {first['msg']} (got {first.get('input')!r})") from None
    now = [0.0]
    rows = []
    try:
        limiter = RateLimiter(default=policy, backend=MemoryBackend(clock=lambda: now[0]))
        for i in range(requests):
            now[0] = i * interval
            d = limiter.hit(weight=weight)
            rows.append(
                {
                    "t": round(now[0], 6),
                    "allowed": d.allowed,
                    "remaining": d.remaining,
                    "retry_after": round(d.retry_after, 6),
                    "reset_after": round(d.reset_after, 6),
                }
            )
    except SecurityError as exc:
        raise CliError(f"{exc.message}") from None
    admitted = sum(r["allowed"] for r in rows)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps({"policy": policy.model_dump(mode="json"), "admitted": admitted, "decisions": rows}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("t (s)", "allowed", "remaining", "retry after (s)", "reset after (s)")
    for r in rows:
        table.add_row(
            f"{r['t']:g}",
            "yes" if r["allowed"] else "[red]no[/red]",
            str(r["remaining"]),
            f"{r['retry_after']:.3f}",
            f"{r['reset_after']:.3f}",
        )
    console = Console()
    console.print(table)
    console.print(f"{admitted} of {requests} admitted ({algorithm.value}, {limit}/{period:g}s, burst {burst})")
