"""Every Python code block in the READMEs and guides runs as written (issue 15, item 3).

A small collector: the ```python blocks of one document run in order, in one namespace, in a fresh temporary
folder, so a guide may build on its earlier blocks. The files a document's example names (a contract, a keyset)
are laid out first by its entry in SETUP, which is the only help an example gets. A document whose blocks are
fragments of a deployment is listed in NOT_YET_RUN with the reason: its blocks must still parse, and the test
skips with that reason; remove it from there to run it.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from infra_models.testing import service_setting

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
EXAMPLE_ONEX_CONTRACT = ROOT / "packages" / "infra-models" / "examples" / "onex" / "contract.yaml"


def documents() -> list[Path]:
    found = [
        ROOT / "README.md",
        *sorted((ROOT / "packages").glob("*/README.md")),
        *sorted((ROOT / "docs").rglob("*.md")),
    ]
    return [p for p in found if FENCE.search(p.read_text(encoding="utf-8"))]


def blocks(doc: Path) -> list[tuple[int, str]]:
    text = doc.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in FENCE.finditer(text)]


Setup = Callable[[Path, pytest.MonkeyPatch], dict[str, object]]


def onex_contract_at(relative: str) -> Setup:
    def setup(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(EXAMPLE_ONEX_CONTRACT, target)
        return {"path": target}

    return setup


def keyset_named(name: str) -> Setup:
    """A keyset file with one primary key, where INFRA_SECURITY_KEYSET_FILE points (as the guide tells users)."""

    def setup(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
        from infra_security import Keyring

        path = folder / "keyset.json"
        Keyring.generate(name).save(path)
        monkeypatch.setenv("INFRA_SECURITY_KEYSET_FILE", str(path))
        return {}

    return setup


def security_guide(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A keyset, an audit directory of its own, and the test OpenBao as VAULT_ADDR/VAULT_TOKEN (as a user sets them)."""
    keyset_named("encryption_key_1")(folder, monkeypatch)
    monkeypatch.setenv("INFRA_AUDIT_DIR", str(folder / "audit"))
    monkeypatch.delenv("INFRA_AUDIT_KEYS_FILE", raising=False)
    # The launcher's OpenBao (fails in CI, skips elsewhere when it is not running).
    monkeypatch.setenv("VAULT_ADDR", service_setting("INFRA_TEST_VAULT_ADDR"))
    monkeypatch.setenv("VAULT_TOKEN", service_setting("INFRA_TEST_VAULT_TOKEN"))
    return {}


def security_readme(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The secret the README reads (KV v2 secret/my_service, field api_key) and the CA file its TLS line names."""
    import hvac
    import trustme

    security_guide(folder, monkeypatch)
    client = hvac.Client(url=service_setting("INFRA_TEST_VAULT_ADDR"), token=service_setting("INFRA_TEST_VAULT_TOKEN"))
    client.secrets.kv.v2.create_or_update_secret(path="my_service", secret={"api_key": "k-123"}, mount_point="secret")
    trustme.CA().cert_pem.write_to_path(str(folder / "ca.pem"))
    return {}


def security_access_guide(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The launcher's services as a deployment's, read from the environment by the guide.

    VAULT_ADDR/VAULT_TOKEN and secret/my_service (as for the README); AppRole enabled with a role `orders`
    (VAULT_ROLE_ID, VAULT_SECRET_ID) allowed to read `database/creds/orders`, which the database secrets engine
    issues as roles on the launcher's PostgreSQL (PGHOST, PGPORT, PGDATABASE); REDIS_URL, REDIS_CLUSTER_URL; the
    TLS example's files (ECDSA, as its modern profile needs). Mounts and roles are created when missing.
    """
    from urllib.parse import urlsplit

    import hvac
    import trustme

    security_readme(folder, monkeypatch)
    root = hvac.Client(url=service_setting("INFRA_TEST_VAULT_ADDR"), token=service_setting("INFRA_TEST_VAULT_TOKEN"))
    for mounted, enable, kind in (
        (root.sys.list_auth_methods, root.sys.enable_auth_method, "approle"),
        (root.sys.list_mounted_secrets_engines, root.sys.enable_secrets_engine, "database"),
    ):
        if f"{kind}/" not in mounted()["data"]:
            with contextlib.suppress(hvac.exceptions.InvalidRequest):  # enabled meanwhile by a concurrent run
                enable(kind)
    pg = urlsplit(service_setting("INFRA_TEST_POSTGRES_URL"))
    root.write(
        "database/config/orders",
        plugin_name="postgresql-database-plugin",
        connection_url=f"postgresql://{{{{username}}}}:{{{{password}}}}@{pg.hostname}:{pg.port}{pg.path}?sslmode=disable",
        username=pg.username or "infra",
        password=pg.password or "unused-trust-auth",
        allowed_roles=["orders"],
    )
    creation = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
    root.write("database/roles/orders", db_name="orders", creation_statements=creation, default_ttl="5m", max_ttl="1h")
    readable = ("database/creds/orders", "secret/data/my_service")
    reads = [f'path "{path}" {{ capabilities = ["read"] }}' for path in readable]
    root.sys.create_or_update_policy("orders", "\n".join(reads))
    root.auth.approle.create_or_update_approle("orders", token_policies=["orders"], token_ttl="5m", token_max_ttl="1h")
    monkeypatch.setenv("VAULT_ROLE_ID", root.auth.approle.read_role_id("orders")["data"]["role_id"])
    monkeypatch.setenv("VAULT_SECRET_ID", root.auth.approle.generate_secret_id("orders")["data"]["secret_id"])
    for name, value in (("PGHOST", pg.hostname), ("PGPORT", str(pg.port)), ("PGDATABASE", pg.path.lstrip("/"))):
        monkeypatch.setenv(name, value or "")
    monkeypatch.setenv("REDIS_URL", service_setting("INFRA_TEST_REDIS_URL"))
    monkeypatch.setenv("REDIS_CLUSTER_URL", service_setting("INFRA_TEST_REDIS_CLUSTER_URL"))
    ca, clients_ca = trustme.CA(key_type=trustme.KeyType.ECDSA), trustme.CA(key_type=trustme.KeyType.ECDSA)
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    clients_ca.cert_pem.write_to_path(str(folder / "clients-ca.pem"))
    server = ca.issue_cert("orders.internal")
    server.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    server.private_key_pem.write_to_path(str(folder / "key.pem"))
    return {}


def outbox_readme(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """A SQLite file (DATABASE_URL, ASYNC_DATABASE_URL) and the launcher's Kafka (KAFKA_BOOTSTRAP)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'app.db'}")
    monkeypatch.setenv("ASYNC_DATABASE_URL", f"sqlite+aiosqlite:///{folder / 'app.db'}")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", service_setting("INFRA_TEST_KAFKA_BOOTSTRAP"))
    return {}


def readiness_node(folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The node the infra-readiness README rates: a complete EFFECT node at path/to/node."""
    from infra_readiness.testing import write_node

    (folder / "path" / "to").mkdir(parents=True)
    write_node(folder / "path" / "to", "node", "EFFECT")
    return {}


SETUP: dict[str, Setup] = {
    "packages/infra-models/README.md": onex_contract_at("src/my_service/nodes/node_ledger_append_effect/contract.yaml"),
    "docs/infra-models.md": onex_contract_at("contract.yaml"),
    "docs/infra-security.md": security_guide,
    "packages/infra-security/README.md": security_readme,
    "docs/infra-security-access.md": security_access_guide,
    "packages/infra-outbox/README.md": outbox_readme,
    "docs/infra-outbox.md": outbox_readme,
    "packages/infra-readiness/README.md": readiness_node,
    # The guide rates an ONEX node folder inside a service's source tree.
    "docs/infra-readiness.md": onex_contract_at("src/my_service/nodes/node_vault_reader_effect/contract.yaml"),
}

# Documents of packages whose engineers were still rewriting them when this collector landed (issue 15 phase 2).
NOT_YET_RUN: dict[str, str] = {}


def test_the_collector_finds_the_blocks():
    names = {p.relative_to(ROOT).as_posix() for p in documents()}
    assert {"packages/infra-models/README.md", "docs/infra-models.md"} <= names
    assert all((ROOT / name).is_file() for name in NOT_YET_RUN)  # no stale name hides a document
    assert len(blocks(ROOT / "docs" / "infra-models.md")) >= 3


def run_document(doc: Path, name: str, folder: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    """Run the document's blocks in order in one namespace; the first failure names the document and line."""
    namespace: dict[str, object] = {"__name__": f"doc_{folder.name}"}
    setup = SETUP.get(name)
    if setup is not None:
        assert monkeypatch is not None
        namespace.update(setup(folder, monkeypatch))
    for line, code in blocks(doc):
        try:
            compiled = compile(code, f"{name}:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if compiled.co_flags & inspect.CO_COROUTINE:  # a block with top-level `await`, as in a notebook
                asyncio.run(eval(compiled, namespace))
            else:
                exec(compiled, namespace)
        except Exception as exc:
            raise AssertionError(f"{name}, the block at line {line} fails: {type(exc).__name__}: {exc}") from exc


def test_a_failing_block_fails_naming_its_line(tmp_path: Path) -> None:
    doc = tmp_path / "guide.md"
    doc.write_text("# g\n\n```python\nx = 1\n```\n\ntext\n\n```python\nassert x == 2, 'x is 1'\n```\n")
    with pytest.raises(AssertionError, match=re.escape("guide.md, the block at line 9 fails: AssertionError: x is 1")):
        run_document(doc, "guide.md", tmp_path)


@pytest.mark.parametrize("doc", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_blocks_run(doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = doc.relative_to(ROOT).as_posix()
    if name in NOT_YET_RUN:
        for line, code in blocks(doc):
            ast.parse(code, filename=f"{name}:{line}")  # a fragment that is not even Python fails here
        pytest.skip(f"{name}: blocks parse but are not run: {NOT_YET_RUN[name]}")
    monkeypatch.chdir(tmp_path)
    run_document(doc, name, tmp_path, monkeypatch)
