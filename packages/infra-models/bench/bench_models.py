"""Benchmark: contract loading against the raw libraries it builds on.

Prints contracts per second for ``parse_contract`` (libyaml parse, duplicate-key check, line-aware validation)
against ``yaml.safe_load`` + ``model_validate`` with PyYAML's pure-Python loader (what a hand-rolled loader
usually does) and with libyaml and no line tracking (the limit).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from infra_models import NodeContract, parse_contract

CONTRACT = (Path(__file__).resolve().parents[1] / "examples" / "contract.yaml").read_text()


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (best of three rounds)."""
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            for _ in range(50):
                fn()
            n += 50
        best = max(best, n / elapsed)
    return best


def main() -> None:
    """Run the benchmark and print figures with ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    args = parser.parse_args()
    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    ours = rate(lambda: parse_contract(CONTRACT), args.seconds)
    pure = rate(lambda: NodeContract.model_validate(yaml.load(CONTRACT, Loader=yaml.SafeLoader)), args.seconds)
    limit = rate(lambda: NodeContract.model_validate(yaml.load(CONTRACT, Loader=c_loader)), args.seconds)
    print(f"parse_contract (line-aware errors)      {ours:12,.0f} /s")
    print(f"safe_load (pure Python) + validate      {pure:12,.0f} /s   ours/that = {ours / pure:.2f}x")
    print(f"libyaml load + validate (the limit)     {limit:12,.0f} /s   ours/limit = {ours / limit:.2f}x")


if __name__ == "__main__":
    main()
