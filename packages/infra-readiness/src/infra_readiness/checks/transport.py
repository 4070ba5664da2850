"""SEC-005: data in transit is encrypted, and fields the contract marks sensitive are encrypted in the payload.

Transport, read from the syntax tree of the node's source:

* Kafka clients (confluent-kafka ``Producer``/``Consumer``/``AdminClient`` config dicts, aiokafka and
  kafka-python keywords) that set ``security.protocol`` to ``PLAINTEXT``/``SASL_PLAINTEXT``, or a literal config
  with ``bootstrap.servers`` and no ``security.protocol`` at all;
* PostgreSQL DSNs (``postgresql://...``) for a host other than localhost without ``sslmode=verify-full`` or
  ``verify-ca`` (SEC-002 already rejects the modes that do not verify);
* HTTP clients (requests, httpx, aiohttp, urllib) called with an ``http://`` URL for a host other than localhost.

Payload: when the contract (``security.sensitive_fields``, or ``sensitive: true`` on a model field) or
``sensitive-fields`` in ``[tool.infra-readiness]`` names fields, the code must encrypt: infra-security's
``encrypt_payload``/``PayloadEncryption``, or ``cryptography``'s AEADs or Fernet.
"""

from __future__ import annotations

import ast
import re
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, Finding, ReadinessLevel
from infra_readiness.checks._ast import call_name, docstrings, imports, walk
from infra_readiness.checks._declared import contract_data, lookup, mentioning, per_file
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "sensitive_fields", "transport_encrypted"]

_LOCAL = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", ""})  # noqa: S104  # nosec B104 - host names compared, not a bind
_KAFKA_CLIENTS = frozenset({"Producer", "Consumer", "AdminClient", "SerializingProducer", "DeserializingConsumer"})
_KAFKA_KW_CLIENTS = frozenset({"AIOKafkaProducer", "AIOKafkaConsumer", "KafkaProducer", "KafkaConsumer"})
_PLAINTEXT = frozenset({"PLAINTEXT", "SASL_PLAINTEXT"})
_HTTP_CALLS = re.compile(
    r"^(requests|httpx|session|client|http|aiohttp|urllib\.request)\.(get|post|put|patch|delete|head|request|urlopen|"
    r"stream)$|^(urlopen|AsyncClient|Client|ClientSession)$",
    re.IGNORECASE,
)
_URL_KEYWORDS = frozenset({"url", "base_url", "endpoint"})
_PG_DSN = re.compile(r"^postgres(?:ql)?(?:\+\w+)?://", re.IGNORECASE)
_ENCRYPTION = re.compile(r"(?i)(encrypt|aesgcm|chacha20poly1305|fernet|seal|PayloadEncryption)")
#: Only files that mention a broker, a DSN or a plain URL are parsed for transport settings.
#: Words (of the lower-cased text) a file needs before it is parsed: substring tests, far cheaper than one regex.
_TRANSPORT_WORDS = ("bootstrap", "security.protocol", "security_protocol", "postgres", "http://", "kafka")
_ENCRYPTION_TEXT = re.compile(r"infra_security|cryptography|nacl|tink")
_ENCRYPTION_MODULES = frozenset({"infra_security", "cryptography", "nacl", "tink"})


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _server_address(url: str) -> bool:
    """A DSN that names a server: user info, a port, or a dotted host name (not ``postgres://table/id``)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return "@" in parts.netloc or port is not None or "." in host


def _kafka_config(node: ast.Dict) -> list[str]:
    keys = {k.value: v for k, v in zip(node.keys, node.values, strict=True) if isinstance(k, ast.Constant)}
    protocol = keys.get("security.protocol")
    if isinstance(protocol, ast.Constant) and str(protocol.value).upper() in _PLAINTEXT:
        return [f"Kafka security.protocol={protocol.value!s} sends data unencrypted: use SSL or SASL_SSL"]
    servers = keys.get("bootstrap.servers")
    if protocol is None and isinstance(servers, ast.Constant):
        hosts = [h.strip().rsplit(":", 1)[0] for h in str(servers.value).split(",")]
        if any(h not in _LOCAL for h in hosts):
            return ["Kafka client config without security.protocol (PLAINTEXT by default): set SSL or SASL_SSL"]
    return []


def _transport_hits(tree: ast.Module) -> list[tuple[int, str]]:
    hits: list[tuple[int, str]] = []
    docs = docstrings(tree)
    # Parts of f-strings are templates (``f"postgres://contracts/{id}"`` names a table in an intent, not a server).
    formatted = {id(part) for node in walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    for node in walk(tree):
        if isinstance(node, ast.Dict) and any(
            isinstance(k, ast.Constant) and k.value in {"bootstrap.servers", "security.protocol"} for k in node.keys
        ):
            hits += [(node.lineno, message) for message in _kafka_config(node)]
        elif isinstance(node, ast.Call):
            name = call_name(node)
            short = name.rsplit(".", 1)[-1]
            if short in _KAFKA_KW_CLIENTS:
                for keyword in node.keywords:
                    value = keyword.value
                    if (
                        keyword.arg == "security_protocol"
                        and isinstance(value, ast.Constant)
                        and str(value.value).upper() in _PLAINTEXT
                    ):
                        hits.append((node.lineno, f"{short} security_protocol={value.value!s}: use SSL or SASL_SSL"))
            if _HTTP_CALLS.match(name) or _HTTP_CALLS.match(short):
                urls = [*node.args[:1], *(k.value for k in node.keywords if k.arg in _URL_KEYWORDS)]
                for arg in urls:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        url = arg.value
                        if url.lower().startswith("http://") and _host(url) not in _LOCAL:
                            hits.append((node.lineno, f"plain HTTP to {_host(url)}: use https://"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs | formatted:
            text = node.value
            if _PG_DSN.match(text) and _host(text) not in _LOCAL and "{" not in text and _server_address(text):
                mode = re.search(r"sslmode=([\w-]+)", text)
                if mode is None:
                    hits.append((node.lineno, f"PostgreSQL DSN for {_host(text)} without sslmode=verify-full"))
    return hits


def _file_hits(node: NodeContext, path: Path) -> list[tuple[int, str]]:
    """One file's plaintext transport places, parsed only when its text names a transport (remembered per file)."""
    lowered = (node.text(path) or "").lower()
    if not any(word in lowered for word in _TRANSPORT_WORDS):
        return []
    tree = node.tree(path)
    return [] if tree is None else _transport_hits(tree)


def sensitive_fields(node: NodeContext) -> list[str]:
    """Fields the contract or ``[tool.infra-readiness]`` marks sensitive."""
    data = contract_data(node)
    names: list[str] = []
    declared = lookup(data, "security", "sensitive_fields")
    if isinstance(declared, list):
        names += [str(n) for n in declared]
    for model in ("input_model", "output_model"):
        fields = lookup(data, model, "fields")
        if isinstance(fields, list):
            names += [str(f.get("name")) for f in fields if isinstance(f, dict) and f.get("sensitive") is True]
    configured = node.readiness_table.get("sensitive-fields")
    if isinstance(configured, list):
        names += [str(n) for n in configured]
    return sorted(set(names))


def _encrypts(node: NodeContext) -> str | None:
    for path, tree in node.python_trees(mentioning(node, node.source_files, _ENCRYPTION_TEXT)):
        module = next((i.module for i in imports(tree) if i.top in _ENCRYPTION_MODULES), None)
        if module and any(
            isinstance(sub, ast.Call) and _ENCRYPTION.search(call_name(sub) or "-") for sub in walk(tree)
        ):
            return f"{module} in {node.rel(path)}"
    return None


@check(
    id="SEC-005",
    title="Data in transit and sensitive fields are encrypted",
    category=CheckCategory.SECURITY,
    gates=ReadinessLevel.PRODUCTION,
    severity=Severity.HIGH,
    remediation=(
        "Use TLS everywhere: Kafka security.protocol=SSL or SASL_SSL, PostgreSQL sslmode=verify-full, https:// "
        "URLs. Encrypt the fields the contract marks sensitive with infra-security's encrypt_payload."
    ),
)
def transport_encrypted(node: NodeContext) -> Outcome:
    """Kafka, PostgreSQL and HTTP clients use TLS; sensitive contract fields are encrypted in the payload."""
    findings: list[Finding] = []
    for path in node.source_files:
        hits = per_file("SEC-005", path, partial(_file_hits, node, path))
        findings += [
            Finding(message=message, severity=Severity.HIGH, file=node.rel(path), line=line)
            for line, message in sorted(set(hits))
        ]
    sensitive = sensitive_fields(node)
    encrypted = _encrypts(node) if sensitive else None
    if sensitive and encrypted is None:
        findings.append(
            Finding(
                message=f"sensitive field(s) {', '.join(sensitive)} are never encrypted (no encrypt_payload, "
                "AESGCM or Fernet call in the code)",
                severity=Severity.HIGH,
            )
        )
    if findings:
        return Outcome.failed(f"{len(findings)} unencrypted transport or payload place(s)", findings)
    extra = f"; sensitive fields encrypted with {encrypted}" if encrypted else ""
    return Outcome.passed(f"no plaintext transport found{extra}")


CHECKS = (transport_encrypted,)
