"""VaultAdapterEffect honours its contract: timeouts, retries with backoff, circuit breaker, outbox events."""

from __future__ import annotations

import asyncio
import sys
import threading
import types
from typing import Any

import pytest

from vault_adapter.contract import load_node_contract
from vault_adapter.models import VaultAdapterConfig, VaultAdapterInput
from vault_adapter.node import EVENT_TYPE, VaultAdapterEffect
from vault_adapter.ports import TransientError
from vault_adapter.resilience import CircuitBreaker, CircuitOpenError, backoff_delay


class FakeClient:
    def __init__(self, failures: int = 0, hang: bool = False) -> None:
        self.failures = failures
        self.hang = hang
        self.calls: list[tuple[str, str, float]] = []

    async def send(self, request: VaultAdapterInput, *, credential: str, timeout: float) -> dict[str, str]:
        self.calls.append((request.resource, credential, timeout))
        if self.hang:
            await asyncio.sleep(3600)
        if len(self.calls) <= self.failures:
            raise TransientError("try again")
        return {"value": "v-" + request.resource}


class FakeCredentials:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    async def get_credential(self, name: str, service: str) -> str:
        self.asked.append((name, service))
        return "s3cr3t"


class FakeOutbox:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def enqueue(
        self,
        conn_or_session: Any,
        *,
        topic: str,
        payload: Any,
        key: str | None = None,
        event_type: str,
    ) -> Any:
        self.events.append(
            {"session": conn_or_session, "topic": topic, "payload": payload, "key": key, "type": event_type}
        )
        return len(self.events)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


REQUEST = VaultAdapterInput(operation="read", resource="app/db")


def make_node(client: FakeClient, **kwargs: Any) -> tuple[VaultAdapterEffect, FakeOutbox, list[float]]:
    outbox, delays = FakeOutbox(), []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    node = VaultAdapterEffect(client, FakeCredentials(), outbox, sleep=sleep, rand=lambda: 1.0, **kwargs)
    return node, outbox, delays


def test_success_emits_one_event_in_the_callers_session() -> None:
    node, outbox, _ = make_node(FakeClient())
    output = asyncio.run(node.execute(REQUEST, session="tx-1"))
    assert output.status == "ok"
    assert output.data == {"value": "v-app/db"}
    assert output.attempts == 1
    assert outbox.events == [
        {
            "session": "tx-1",
            "topic": VaultAdapterConfig().event_topic,
            "payload": output.model_dump(mode="json"),
            "key": "app/db",
            "type": EVENT_TYPE,
        }
    ]


def test_credential_comes_from_the_credential_source() -> None:
    client = FakeClient()
    node, _, _ = make_node(client)
    asyncio.run(node.execute(REQUEST, session=None))
    assert client.calls[0][1] == "s3cr3t"
    assert node._credentials.asked == [  # type: ignore[attr-defined]
        (VaultAdapterConfig().credential_name, VaultAdapterConfig().service_name)
    ]


def test_policies_come_from_the_contract() -> None:
    contract = load_node_contract()
    node, _, _ = make_node(FakeClient())
    assert node.timeouts == contract.timeouts
    assert node.retry_policy == contract.retry_policy
    assert contract.external_systems


def test_transient_failures_are_retried_with_exponential_backoff() -> None:
    policy = load_node_contract().retry_policy
    assert policy is not None
    client = FakeClient(failures=policy.max_attempts - 1)
    node, outbox, delays = make_node(client)
    output = asyncio.run(node.execute(REQUEST, session=None))
    assert output.attempts == policy.max_attempts
    assert delays == [backoff_delay(policy, n, rand=lambda: 1.0) for n in range(1, policy.max_attempts)]
    assert delays == sorted(delays)
    assert len(outbox.events) == 1


def test_gives_up_after_max_attempts_and_emits_nothing() -> None:
    policy = load_node_contract().retry_policy
    assert policy is not None
    client = FakeClient(failures=10_000)
    node, outbox, _ = make_node(client)
    with pytest.raises(TransientError):
        asyncio.run(node.execute(REQUEST, session=None))
    assert len(client.calls) == policy.max_attempts
    assert outbox.events == []


def test_request_timeout_is_enforced() -> None:
    contract = load_node_contract()
    assert contract.timeouts is not None
    fast = contract.model_copy(update={"timeouts": contract.timeouts.model_copy(update={"request_seconds": 0.01})})
    client = FakeClient(hang=True)
    node, _, _ = make_node(client, contract=fast)
    with pytest.raises(TimeoutError):
        asyncio.run(node.execute(REQUEST, session=None))
    assert client.calls and all(call[2] == 0.01 for call in client.calls)


def test_circuit_opens_after_the_threshold_and_recovers_after_the_reset_timeout() -> None:
    contract = load_node_contract()
    breaker = contract.circuit_breaker
    assert breaker is not None
    clock = FakeClock()
    once = contract.model_copy(update={"retry_policy": contract.retry_policy.model_copy(update={"max_attempts": 1})})  # type: ignore[union-attr]
    client = FakeClient(failures=breaker.failure_threshold)
    node, _, _ = make_node(client, contract=once, clock=clock)
    for _ in range(breaker.failure_threshold):
        with pytest.raises(TransientError):
            asyncio.run(node.execute(REQUEST, session=None))
    with pytest.raises(CircuitOpenError):
        asyncio.run(node.execute(REQUEST, session=None))
    assert len(client.calls) == breaker.failure_threshold  # refused without calling
    assert node.health() == {"status": "degraded", "circuit": "open"}
    clock.now += breaker.reset_timeout_seconds
    assert asyncio.run(node.execute(REQUEST, session=None)).status == "ok"
    assert node.breaker.state == "closed"
    assert node.health() == {"status": "ok", "circuit": "closed"}


def test_half_open_circuit_lets_exactly_one_concurrent_trial_call_through() -> None:
    contract = load_node_contract()
    policy = contract.circuit_breaker
    assert policy is not None
    clock = FakeClock()
    breaker = CircuitBreaker(policy, clock=clock)
    for _ in range(policy.failure_threshold):
        breaker.before_call()
        breaker.record_failure()
    clock.now += policy.reset_timeout_seconds
    assert breaker.state == "half_open"
    callers = 16
    start = threading.Barrier(callers)
    admitted: list[bool] = []
    refused: list[CircuitOpenError] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait()
        try:
            trial = breaker.before_call()
        except CircuitOpenError as exc:
            with lock:
                refused.append(exc)
        else:
            with lock:
                admitted.append(trial)

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert admitted == [True] and len(refused) == callers - 1
    breaker.record_success()
    assert breaker.state == "closed" and breaker.before_call() is False


def test_a_trial_call_that_fails_otherwise_frees_the_trial() -> None:
    contract = load_node_contract()
    policy = contract.circuit_breaker
    assert policy is not None
    clock = FakeClock()
    breaker = CircuitBreaker(policy, clock=clock)
    for _ in range(policy.failure_threshold):
        breaker.record_failure()
    clock.now += policy.reset_timeout_seconds
    assert breaker.before_call() is True
    breaker.release_trial()
    assert breaker.before_call() is True  # the next caller gets the trial


def test_wiring_uses_credential_manager_and_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    made: dict[str, Any] = {}

    class CredentialManager:
        def __init__(self, *, vault_url: str) -> None:
            made["vault_url"] = vault_url

    class Outbox:
        pass

    monkeypatch.setitem(sys.modules, "infra_security", types.SimpleNamespace(CredentialManager=CredentialManager))
    monkeypatch.setitem(sys.modules, "infra_outbox", types.SimpleNamespace(Outbox=Outbox))
    from vault_adapter.wiring import build_node

    node = build_node(FakeClient(), config=VaultAdapterConfig(vault_url="https://vault.test"))
    assert made == {"vault_url": "https://vault.test"}
    assert isinstance(node._outbox, Outbox)


def test_wiring_takes_the_credentials_given(monkeypatch: pytest.MonkeyPatch) -> None:
    class Outbox:
        pass

    monkeypatch.setitem(sys.modules, "infra_security", None)  # importing it would fail: it must not be needed
    monkeypatch.setitem(sys.modules, "infra_outbox", types.SimpleNamespace(Outbox=Outbox))
    from vault_adapter.wiring import build_node

    credentials = FakeCredentials()
    node = build_node(FakeClient(), credentials=credentials)
    assert node._credentials is credentials
