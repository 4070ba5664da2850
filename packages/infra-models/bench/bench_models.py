"""Benchmark: contract loading against the raw libraries it builds on.

Prints contracts per second for ``parse_contract`` (bounded libyaml parse, duplicate-key check, line-aware
validation) against ``yaml.safe_load`` + ``model_validate`` with PyYAML's pure-Python loader (what a hand-rolled
loader usually does) and with libyaml and no line tracking (the limit).

With ``--onex-root DIR`` (for example a checkout of omnibase_infra), it also reads every ``contract.yaml`` under DIR
with ``load_any_contract``, prints how many parse and how many have a recognised kind, and times
``parse_onex_contract`` over all of them beside a plain libyaml load of the same texts (the anchor), as a ratio.
It ends with the time taken to refuse the classic billion-laughs document.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from infra_models import (
    ContractError,
    NodeContract,
    OnexContract,
    load_any_contract,
    parse_any_contract,
    parse_contract,
    parse_onex_contract,
)

CONTRACT = (Path(__file__).resolve().parents[1] / "examples" / "contract.yaml").read_text()


def rate(fn: Callable[[], object], seconds: float, batch: int = 50) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (best of three rounds)."""
    best = 0.0
    for _ in range(3):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds / 3:
            for _ in range(batch):
                fn()
            n += batch
        best = max(best, n / elapsed)
    return best


def main() -> None:
    """Run the benchmark and print figures with ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    parser.add_argument("--onex-root", type=Path, help="a folder holding real ONEX contract.yaml files")
    args = parser.parse_args()
    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    ours = rate(lambda: parse_contract(CONTRACT), args.seconds)
    pure = rate(lambda: NodeContract.model_validate(yaml.load(CONTRACT, Loader=yaml.SafeLoader)), args.seconds)
    limit = rate(lambda: NodeContract.model_validate(yaml.load(CONTRACT, Loader=c_loader)), args.seconds)
    print(f"parse_contract (line-aware errors)      {ours:12,.0f} /s")
    print(f"safe_load (pure Python) + validate      {pure:12,.0f} /s   ours/that = {ours / pure:.2f}x")
    print(f"libyaml load + validate (the limit)     {limit:12,.0f} /s   ours/limit = {ours / limit:.2f}x")
    if args.onex_root is not None:
        onex(args.onex_root, args.seconds, c_loader)
    bomb = billion_laughs()
    start = time.perf_counter()
    try:
        parse_any_contract(bomb)
    except ContractError as exc:
        print(f"billion laughs ({len(bomb)} bytes) refused in {(time.perf_counter() - start) * 1e3:.1f} ms: {exc.code}")


def onex(root: Path, seconds: float, c_loader: type) -> None:
    """Acceptance over the real contracts under ``root`` and the time to parse them all."""
    files = sorted(root.rglob("contract.yaml"))
    if not files:
        print(f"no contract.yaml under {root}")
        return
    parsed = kind = 0
    failures: list[str] = []
    for file in files:
        try:
            contract = load_any_contract(file)
        except ContractError as exc:
            failures.append(exc.message)
            continue
        parsed += 1
        kind += isinstance(contract, OnexContract) and contract.kind is not None
    print(f"{root}: {parsed} of {len(files)} contract.yaml parse, kind recognised for {kind}")
    for message in failures[:10]:
        print(f"  refused: {message}")
    texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    onex_texts = [(name, text) for name, text in texts if "node_type" in text]

    def ours() -> None:
        for name, text in onex_texts:
            with contextlib.suppress(ContractError):
                parse_onex_contract(text, filename=name)

    def anchor() -> None:
        for _, text in onex_texts:
            yaml.load(text, Loader=c_loader)

    n = len(onex_texts)
    # Interleaved rounds, best of each: on a shared machine, load drifts between two back-to-back measurements.
    ours_rate = anchor_rate = 0.0
    for _ in range(5):
        ours_rate = max(ours_rate, rate(ours, seconds / 5, batch=1) * n)
        anchor_rate = max(anchor_rate, rate(anchor, seconds / 5, batch=1) * n)
    print(f"parse_onex_contract over {n} real contracts {ours_rate:10,.0f} /s")
    ratio = ours_rate / anchor_rate
    print(f"libyaml load of the same (anchor)        {anchor_rate:10,.0f} /s   ours/anchor = {ratio:.2f}x")


def billion_laughs() -> str:
    """The classic 9-level alias bomb: under a kilobyte, 9**9 strings once expanded."""
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\nname: *l8\nnode_type: EFFECT_GENERIC\n"


if __name__ == "__main__":
    main()
