"""The files each corpus case writes over its sample node (``{pkg}`` is the case's package name)."""

from __future__ import annotations

__all__ = ["FILES", "REPLACE"]

_ROUTES_HEADER = (
    "from fastapi import APIRouter, Depends, FastAPI\n\napp = FastAPI()\nrouter = APIRouter()\n\n\n"
    'def verify_token() -> None:\n    """Reject requests without a valid bearer token."""\n\n\n'
    '@app.get("/health")\ndef health_route() -> dict[str, str]:\n    """Liveness."""\n    return {"status": "ok"}\n\n\n'
)

FILES: dict[str, dict[str, str]] = {
    # -- security: seeded -------------------------------------------------------------------------------------
    "sec_md5_password": {
        "src/{pkg}/store.py": '"""Password storage."""\n\nimport hashlib\n\n\ndef digest(password: str) -> str:\n'
        '    """The stored form of a password."""\n    return hashlib.md5(password.encode()).hexdigest()\n'
    },
    "sec_pickle": {
        "src/{pkg}/codec.py": '"""Message codec."""\n\nimport pickle\n\n\ndef decode(blob: bytes) -> object:\n'
        '    """The message in ``blob``."""\n    return pickle.loads(blob)\n'
    },
    "sec_yaml_load": {
        "src/{pkg}/config.py": '"""Settings."""\n\nimport yaml\n\n\ndef settings(text: str) -> object:\n'
        '    """The settings in ``text``."""\n    return yaml.load(text, Loader=yaml.Loader)\n'
    },
    "sec_eval": {
        "src/{pkg}/calc.py": '"""Formulas."""\n\n\ndef apply(formula: str) -> object:\n'
        '    """The value of ``formula``."""\n    return eval(formula)\n'
    },
    "sec_shell": {
        "src/{pkg}/ops.py": '"""Operations."""\n\nimport subprocess\n\n\ndef archive(name: str) -> None:\n'
        '    """Archive a folder."""\n    subprocess.run(f"tar czf {name}.tgz {name}", shell=True, check=True)\n'
    },
    "sec_delete_unauthenticated": {
        "src/{pkg}/api.py": _ROUTES_HEADER + '@app.delete("/orders/{oid}")\ndef delete_order(oid: str) -> None:\n'
        '    """Delete an order."""\n'
    },
    "sec_aiohttp_delete_unauthenticated": {
        "src/{pkg}/api.py": '"""HTTP routes (aiohttp route table)."""\n\nfrom aiohttp import web\n\n\n'
        'async def delete_order(request: web.Request) -> web.Response:\n    """Delete an order."""\n'
        "    return web.Response()\n\n\n"
        'async def health(request: web.Request) -> web.Response:\n    """Liveness."""\n    return web.Response()\n\n\n'
        "app = web.Application()\n"
        'app.add_routes([web.get("/health", health)])\n'
        'app.router.add_route("DELETE", "/orders/{oid}", delete_order)\n'
    },
    "sec_password_312": {
        "src/{pkg}/db.py": '"""Database access (3.12 syntax)."""\n\ntype Row = dict[str, object]\n\n\n'
        "class Pool[T]:\n"
        '    """A connection pool."""\n\n    password = "Zq8#vT2m!pL9xR4w"\n'
    },
    "sec_key_in_build_package": {
        "src/{pkg}/build/__init__.py": '"""Build steps."""\n\n'
        'DEPLOY_TOKEN = "ghp_8Zq4vT2mpL9xR4wKa7bN3cD5eF1gH6iJ0kLm"\n',  # pragma: allowlist secret
    },
    "sec_aws_key_in_config": {
        "config/app.yaml": "aws:\n  region: eu-west-1\n"
        "  access_key_id: AKIAZ3MQ7TLXR5JPN2QW\n"  # pragma: allowlist secret
    },
    "sec_verify_false": {
        "src/{pkg}/client.py": '"""Upstream client."""\n\nimport requests\n\n\ndef fetch(url: str) -> bytes:\n'
        '    """The body at ``url``."""\n    return requests.get(url, verify=False, timeout=5).content\n'
    },
    "sec_kafka_plaintext": {
        "src/{pkg}/events.py": '"""Event publishing."""\n\nfrom confluent_kafka import Producer\n\n\n'
        'def producer() -> Producer:\n    """A producer for the event bus."""\n'
        '    return Producer({"bootstrap.servers": "kafka-1.prod.internal:9092", "acks": "all"})\n'
    },
    "sec_postgres_without_tls": {
        "src/{pkg}/db.py": '"""Database."""\n\nDSN = "postgresql://orders@db.prod.internal:5432/orders"\n'
    },
    "sec_sensitive_unencrypted": {
        "pyproject.toml.append": '\n[tool.infra-readiness]\nsensitive-fields = ["card_number"]\n'
    },
    # -- security: benign look-alikes ---------------------------------------------------------------------------
    "ok_secret_look_alikes": {
        "src/{pkg}/names.py": '"""Names that look like secrets and are not."""\n\nimport enum\n\n'
        'LICENSE = "BSD-2-Clause-pkgconf-disclaimer"\nEXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n'
        'TOKEN_TOPIC = "onex.evt.auth.token-issued.v1"\nSHOWN_PASSWORD = "[MASKED]"\n\n\n'
        'class Kind(enum.StrEnum):\n    """Credential kinds."""\n\n    API_TOKEN = "api-token-v2"\n'
        '    CLIENT_SECRET = "ClientSecretBasic"\n',
        ".env.example": "DATABASE_PASSWORD=change-me\nAPI_KEY=your-api-key-here\nVAULT_TOKEN=<vault-token>\n",
    },
    "ok_routes_with_auth": {
        "src/{pkg}/api.py": _ROUTES_HEADER
        + '@app.delete("/orders/{oid}", dependencies=[Depends(verify_token)])\ndef delete_order(oid: str) -> None:\n'
        '    """Delete an order."""\n'
    },
    "ok_aiohttp_auth_middleware": {
        "src/{pkg}/api.py": '"""HTTP routes (aiohttp), every one behind the token middleware."""\n\n'
        "from aiohttp import web\n\n\n"
        "@web.middleware\nasync def token_auth(request: web.Request, handler: object) -> web.Response:\n"
        '    """Reject requests without a valid bearer token."""\n    return await handler(request)\n\n\n'
        'async def delete_order(request: web.Request) -> web.Response:\n    """Delete an order."""\n'
        "    return web.Response()\n\n\n"
        "app = web.Application(middlewares=[token_auth])\n"
        'app.add_routes([web.delete("/orders/{oid}", delete_order)])\n'
        "requests_seen = web.get  # a look-alike: not a call\n"
    },
    "ok_auth_in_contract": {
        "src/{pkg}/api.py": _ROUTES_HEADER + '@router.post("/orders")\ndef create(order: dict) -> None:\n'
        '    """Create an order."""\n',
        "contract.yaml.append": "security:\n  authentication:\n    required: true\n    methods: [bearer_token]\n",
    },
    "ok_tls_everywhere": {
        "src/{pkg}/transport.py": '"""Clients, all on TLS; and a TLS option implemented the way httpx does."""\n\n'
        "import ssl\n\n"
        'KAFKA = {"bootstrap.servers": "kafka.prod:9093", "security.protocol": "SASL_SSL"}\n'
        'DSN = "postgresql://orders@db.prod:5432/orders?sslmode=verify-full"\n'
        'SCHEMA = "http://json-schema.org/draft-07/schema#"\n\n\n'
        "def context(verify: bool = True) -> ssl.SSLContext:\n"
        '    """An SSL context honouring the caller\'s choice."""\n'
        "    ctx = ssl.create_default_context()\n    if not verify:\n        ctx.check_hostname = False\n"
        "        ctx.verify_mode = ssl.CERT_NONE\n    return ctx\n"
    },
    "ok_safe_equivalents": {
        "src/{pkg}/safe.py": '"""The safe forms of the insecure calls."""\n\nimport ast\nimport hashlib\nimport json\n'
        "import subprocess\n\nimport yaml\n\n\ndef load(text: str, blob: bytes, expr: str, name: str) -> object:\n"
        '    """Each input read safely."""\n    subprocess.run(["tar", "czf", f"{name}.tgz", name], check=True)\n'
        "    return (yaml.safe_load(text), json.loads(blob), ast.literal_eval(expr), "
        "hashlib.sha256(blob).hexdigest())\n"
    },
    "ok_sensitive_encrypted": {
        "pyproject.toml.append": '\n[tool.infra-readiness]\nsensitive-fields = ["card_number"]\n',
        "src/{pkg}/seal.py": '"""Card numbers are sealed before they leave the node."""\n\n'
        "from infra_security import encrypt_payload\n\n\ndef seal(event: dict, keyring: object) -> object:\n"
        '    """The event with its sensitive fields encrypted."""\n    return encrypt_payload(event, keyring)\n',
    },
    # -- testing ---------------------------------------------------------------------------------------------
    "tst_assert_true": {
        "tests/test_{pkg}.py": "from {pkg} import *  # noqa: F403\n\n\ndef test_it_works():\n    assert True\n"
    },
    "tst_no_assertions": {
        "tests/test_{pkg}.py": "import asyncio\n\nfrom {pkg} import health\n\n\ndef test_runs():\n    health()\n"
    },
    "tst_no_integration_tests": {},
    "ok_integration_by_marker": {
        "tests/test_db_roundtrip.py": "import pytest\n\nfrom {pkg} import health\n\n\n@pytest.mark.integration\n"
        'def test_roundtrip():\n    assert health()["status"] == "ok"\n'
    },
    "tst_no_tests": {},
    # -- documentation ---------------------------------------------------------------------------------------
    "doc_usage_tbd": {
        "README.md": "# doc_usage_tbd\n\nA sample node.\n\n## Installation\n\npip install doc-usage-tbd\n\n"
        "## Usage\n\nTBD.\n"
    },
    "doc_usage_does_not_parse": {
        "README.md": "# doc_usage_does_not_parse\n\nA sample node.\n\n## Installation\n\n"
        "```bash\npip install x\n```\n\n## Usage\n\n"
        "```python\nfrom doc_usage_does_not_parse import (\n    handle\n```\n"
    },
    "doc_changelog_without_versions": {"CHANGELOG.md": "# Changes\n\n## Notes\n\n- Things changed.\n"},
    "ok_version_heading_and_rst": {
        "CHANGELOG.md": "# Changelog\n\n## Version 2.3.0\n\n- Faster.\n",
        "README.md": "ok_version_heading_and_rst\n==========================\n\nA sample node.\n\n"
        "Installation\n------------\n\n``pip install ok-version``\n\nUsage\n-----\n\n"
        "```pycon\n>>> from ok_version_heading_and_rst import OkVersionHeadingAndRst\n>>> OkVersionHeadingAndRst()\n"
        "```\n\n```python\ntype Pair = tuple[int, int]\n```\n",
    },
    "doc_undocumented_api": {
        "src/{pkg}/api.py": '"""Public helpers."""\n\n\ndef add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n'
        "    return a - b\n\n\nclass Ledger:\n    def post(self, entry):\n        return entry\n\n"
        "    def total(self):\n        return 0\n\n\ndef mul(a, b):\n    return a * b\n"
    },
    "doc_no_readme": {},
    # -- performance -----------------------------------------------------------------------------------------
    "perf_empty_benchmark": {
        "bench/bench_{pkg}.py": '"""Benchmark of the node."""\n\n\ndef main():\n    pass\n\n\n'
        'if __name__ == "__main__":\n    main()\n'
    },
    "perf_test_named_benchmark": {
        "tests/test_benchmark_names.py": "def test_benchmark_names_are_not_benchmarks():\n    assert 'benchmark('\n"
    },
    "ok_performance_suite": {
        "tests/performance/test_throughput.py": "import time\n\nfrom {pkg} import OkPerformanceSuite\n\n\n"
        "def test_thousand_events_under_a_second():\n    start = time.perf_counter()\n"
        "    node = OkPerformanceSuite()\n    for i in range(1000):\n        node.handle({}, ('a', i))\n"
        "    assert time.perf_counter() - start < 1.0\n"
    },
    "perf_no_budgets": {},
    "perf_over_budget": {
        "bench/bench_{pkg}.py": '"""Benchmark that measures a slow path."""\n\nimport json\nimport time\n\n\n'
        "def main():\n    samples = []\n    for _ in range(5):\n        start = time.perf_counter()\n"
        "        time.sleep(0.06)\n        samples.append((time.perf_counter() - start) * 1000)\n"
        '    print(json.dumps({"benchmark": "handle", "samples": len(samples), "p99_ms": max(samples)}))\n\n\n'
        'if __name__ == "__main__":\n    main()\n'
    },
    "perf_no_result_line": {
        "bench/bench_{pkg}.py": '"""Benchmark that prints prose."""\n\nimport time\n\n\ndef main():\n'
        "    start = time.perf_counter()\n    sum(range(10000))\n"
        '    print(f"done in {time.perf_counter() - start:.4f} s")\n\n\nif __name__ == "__main__":\n    main()\n'
    },
    "ok_onex_thresholds": {
        "contract.yaml.append": "performance:\n  thresholds:\n    handle_ms:\n      default: 50.0\n"
        '      env_var: "ONEX_PERF_THRESHOLD_HANDLE_MS"\n',
    },
    # -- observability ---------------------------------------------------------------------------------------
    "obs_print": {
        "src/{pkg}/audit.py": '"""Audit trail."""\n\n\ndef record(event: dict) -> None:\n'
        '    """Record an event."""\n    print("event", event)\n'
    },
    "obs_no_metrics": {
        "src/{pkg}/_counters.py": '"""Counters kept in memory, exported nowhere."""\n\n\nclass CollectorRegistry:\n'
        '    """A stand-in registry."""\n\n\nclass Counter:\n    """A stand-in counter."""\n\n'
        "    def __init__(self, *args: object, **kwargs: object) -> None:\n        self.value = 0\n\n"
        '    def inc(self, n: int = 1) -> None:\n        """Add ``n``."""\n        self.value += n\n\n\n'
        'def generate_latest(registry: object) -> bytes:\n    """Nothing to export."""\n    return b""\n'
    },
    "obs_no_health": {},
    "obs_no_tracing": {},
    "ok_trace_headers": {
        "src/{pkg}/publish.py": '"""Publish events with the caller\'s trace context in the Kafka headers."""\n\n\n'
        "def publish(producer: object, topic: str, value: bytes, traceparent: str) -> None:\n"
        '    """Send ``value`` carrying the W3C trace context."""\n'
        '    producer.produce(topic, value, headers=[("traceparent", traceparent.encode())])\n'
    },
    "ok_compute_clean": {},
    "ok_effect_clean": {},
}

_NO_SPAN = [
    ("src/{pkg}/__init__.py", "    from opentelemetry import trace", "    import contextvars as trace"),
    (
        "src/{pkg}/__init__.py",
        "return trace.get_tracer(__name__).start_as_current_span(name) if trace else contextlib.nullcontext()",
        "return contextlib.nullcontext()",
    ),
]
_NO_BUDGETS = [("pyproject.toml", "[tool.infra-readiness.budgets]\np99-ms = 50\npeak-memory-mb = 512\n", "")]

#: ``(file, old, new)`` edits of the sample node's own files; each ``old`` must be found.
REPLACE: dict[str, list[tuple[str, str, str]]] = {
    "obs_no_metrics": [("src/{pkg}/__init__.py", "from prometheus_client import", "from ._counters import")],
    "obs_no_health": [("src/{pkg}/__init__.py", "def health() -> dict[str, str]:", "def state() -> dict[str, str]:")],
    "obs_no_tracing": _NO_SPAN,
    "ok_trace_headers": _NO_SPAN,
    "perf_no_budgets": _NO_BUDGETS,
    "ok_onex_thresholds": _NO_BUDGETS,
}
