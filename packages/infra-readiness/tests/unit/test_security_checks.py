"""The security checks of issue 12: bandit findings, auth, transport, dependency audit, and secrets' look-alikes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from infra_models import CheckStatus
from infra_models.testing import in_ci
from infra_readiness.checks._parse import newer_python
from infra_readiness.checks.auth import auth_declared
from infra_readiness.checks.dependencies import OSV_URL_ENV, dependencies_audited
from infra_readiness.checks.insecure_code import insecure_code_absent
from infra_readiness.checks.security import no_hardcoded_credentials, tls_verification_on
from infra_readiness.checks.transport import transport_encrypted
from infra_readiness.context import NodeContext, NodeOptions


def node(tmp_path: Path, files: dict[str, str], *, options: NodeOptions | None = None) -> NodeContext:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return NodeContext(tmp_path, options=options)


def needs_newer_python() -> None:
    if newer_python() is None:
        message = "no python3.12+ interpreter found to parse 3.12 syntax"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


INSECURE = """import hashlib, pickle, yaml

def store(password, blob, text, expr):
    digest = hashlib.md5(password.encode()).hexdigest()
    obj = pickle.loads(blob)
    cfg = yaml.load(text, Loader=yaml.Loader)
    return eval(expr), digest, obj, cfg
"""


class TestBandit:
    def test_each_seeded_construct_is_reported_with_rule_id_and_line(self, tmp_path):
        outcome = insecure_code_absent(node(tmp_path, {"src/pkg/__init__.py": INSECURE}))
        assert outcome.status is CheckStatus.FAIL
        found = {(f.message.split()[0], f.line) for f in outcome.findings}
        assert {("B324", 4), ("B301", 5), ("B506", 6), ("B307", 7)} <= found
        assert all(f.file == "src/pkg/__init__.py" for f in outcome.findings)

    def test_safe_equivalents_pass(self, tmp_path):
        safe = (
            "import ast, hashlib, json, yaml\n"
            "def load(text, blob, expr):\n"
            "    return (yaml.safe_load(text), json.loads(blob), ast.literal_eval(expr),\n"
            "            hashlib.sha256(b'x').hexdigest(),\n"
            "            yaml.load(text, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader)))\n"
        )
        outcome = insecure_code_absent(node(tmp_path, {"src/pkg/__init__.py": safe}))
        assert outcome.status is CheckStatus.PASS, outcome.findings

    def test_tests_are_not_scanned_and_nosec_is_honoured(self, tmp_path):
        files = {
            "src/pkg/__init__.py": "import pickle\ndef f(b):\n    return pickle.loads(b)  # nosec B301 - own cache\n",
            "tests/test_pkg.py": "def test_x():\n    assert eval('1') == 1\n",
        }
        assert insecure_code_absent(node(tmp_path, files)).status is CheckStatus.PASS

    def test_ruff_noqa_for_the_same_rule_counts_as_reviewed_but_another_rule_does_not(self, tmp_path):
        reviewed = 'def q(cur, t):\n    cur.execute(f"SELECT * FROM {t}")  # noqa: S608 - t is a constant\n'
        assert insecure_code_absent(node(tmp_path / "a", {"src/pkg/db.py": reviewed})).status is CheckStatus.PASS
        other = 'def q(cur, t):\n    cur.execute(f"SELECT * FROM {t}")  # noqa: S101\n'
        outcome = insecure_code_absent(node(tmp_path / "b", {"src/pkg/db.py": other}))
        assert outcome.status is CheckStatus.FAIL
        assert outcome.findings[0].message.startswith("B608")

    def test_missing_bandit_is_an_error_naming_the_extra(self, tmp_path, monkeypatch):
        import importlib.util

        real = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bandit" else real(name, *a))
        outcome = insecure_code_absent(node(tmp_path, {"src/pkg/__init__.py": INSECURE}))
        assert outcome.status is CheckStatus.ERROR
        assert "install infra-readiness[security]" in outcome.message

    def test_file_in_312_syntax_is_scanned(self, tmp_path):
        needs_newer_python()
        source = "type Blob = bytes\ndef load[T](data: Blob) -> T:\n    import pickle\n    return pickle.loads(data)\n"
        outcome = insecure_code_absent(node(tmp_path, {"src/pkg/__init__.py": source}))
        assert ("B301", 4) in {(f.message.split()[0], f.line) for f in outcome.findings}


class TestSecrets:
    @pytest.mark.parametrize(
        "text",
        [
            'LICENSE_ID = "BSD-2-Clause-pkgconf-disclaimer"\n',
            'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n',  # pragma: allowlist secret
            'aws_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n',  # pragma: allowlist secret
            "import enum\nclass Kind(enum.StrEnum):\n"
            "    API_TOKEN = 'api-token-v2-issued'\n    SECRET = 'Zq8vT2mpL9xR4wKa'\n",
            'token_topic = "onex.evt.auth.token-issued.v1"\n',
            'password = "[MASKED]"\n',
            'api_key = "<your-api-key>"\n',
            '__all__ = ["ModelNoRawSqlite3CheckInput"]\n',
            '_SUPPRESSION_TOKEN: str = "api-key-env-ok:"\n',
            'context = {"key": "ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"}\n',  # pragma: allowlist secret
            'jwt_token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0'
            'IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"\n',  # pragma: allowlist secret
        ],
    )
    def test_benign_look_alikes_pass(self, tmp_path, text):
        outcome = no_hardcoded_credentials(node(tmp_path, {"src/pkg/__init__.py": text}))
        assert outcome.status is CheckStatus.PASS, outcome.findings

    def test_env_example_placeholders_pass(self, tmp_path):
        files = {".env.example": "DB_PASSWORD=change-me-please\nAPI_KEY=your-api-key-here\nSECRET=s3cr3t_Value_9\n"}
        assert no_hardcoded_credentials(node(tmp_path, files)).status is CheckStatus.PASS

    def test_real_key_in_env_example_still_fails(self, tmp_path):
        files = {".env.example": "AWS_ACCESS_KEY_ID=AKIAZ3MQ7TLXR5JPN2QW\n"}  # pragma: allowlist secret
        assert no_hardcoded_credentials(node(tmp_path, files)).status is CheckStatus.FAIL

    def test_real_password_in_312_file_fails(self, tmp_path):
        needs_newer_python()
        source = "type Port = int\nclass Db[T]:\n    password = 'Zq8#vT2m!pL9xR4w'\n"
        outcome = no_hardcoded_credentials(node(tmp_path, {"src/pkg/db.py": source}))
        assert outcome.status is CheckStatus.FAIL
        assert ("src/pkg/db.py", 3) in {(f.file, f.line) for f in outcome.findings}


class TestTlsImplementationOfOption:
    def test_library_honouring_verify_false_is_not_flagged(self, tmp_path):
        source = (
            "import ssl\n"
            "def create_ssl_context(verify=True):\n"
            "    ctx = ssl.create_default_context()\n"
            "    if not verify:\n"
            "        ctx.check_hostname = False\n"
            "        ctx.verify_mode = ssl.CERT_NONE\n"
            "    return ctx\n"
        )
        assert tls_verification_on(node(tmp_path, {"src/pkg/_config.py": source})).status is CheckStatus.PASS

    def test_config_model_spelling_out_its_none_level_is_not_flagged(self, tmp_path):
        source = (
            "class Validation:\n"
            "    def apply(self):\n"
            "        if self.level == 'none':\n"
            "            self.check_hostname = False\n"
        )
        assert tls_verification_on(node(tmp_path, {"src/pkg/level.py": source})).status is CheckStatus.PASS

    def test_switching_it_off_unconditionally_is_flagged(self, tmp_path):
        source = "import httpx\nclient = httpx.Client(verify=False)\n"
        assert tls_verification_on(node(tmp_path, {"src/pkg/c.py": source})).status is CheckStatus.FAIL


ROUTES = """from fastapi import APIRouter, Depends, FastAPI
app = FastAPI()

def verify_token(): ...

@app.get("/health")
def health(): ...

@app.get("/orders/{oid}", dependencies=[Depends(verify_token)])
def read(oid: str): ...

@app.delete("/orders/{oid}")
def delete(oid: str): ...
"""


class TestAuth:
    def test_unauthenticated_delete_fails_at_its_line(self, tmp_path):
        outcome = auth_declared(node(tmp_path, {"src/pkg/api.py": ROUTES}))
        assert outcome.status is CheckStatus.FAIL
        assert [(f.line, f.message.split()[0]) for f in outcome.findings] == [(12, "DELETE")]

    def test_auth_declared_in_contract_passes(self, tmp_path):
        files = {
            "src/pkg/api.py": ROUTES,
            "contract.yaml": "name: pkg\nsecurity:\n  authentication:\n"
            "    required: true\n    methods: [bearer_token]\n",
        }
        assert auth_declared(node(tmp_path, files)).status is CheckStatus.PASS

    def test_flask_route_with_login_required_passes_and_parameter_dependency_counts(self, tmp_path):
        source = (
            "from flask import Flask\nfrom flask_login import login_required\napp = Flask(__name__)\n"
            "@app.route('/items/<i>', methods=['DELETE'])\n@login_required\ndef drop(i): ...\n"
            "from fastapi import APIRouter, Depends\nrouter = APIRouter()\n"
            "@router.post('/x')\ndef make(user=Depends(get_current_user)): ...\n"
        )
        assert auth_declared(node(tmp_path, {"src/pkg/api.py": source})).status is CheckStatus.PASS

    def test_no_handlers_is_a_skip(self, tmp_path):
        assert auth_declared(node(tmp_path, {"src/pkg/a.py": "def get(x): ...\n"})).status is CheckStatus.SKIP


class TestTransport:
    @pytest.mark.parametrize(
        ("source", "needle"),
        [
            ("from confluent_kafka import Producer\np = Producer({'bootstrap.servers': 'kafka.prod:9092'})\n", "Kafka"),
            ("c = {'bootstrap.servers': 'b:9092', 'security.protocol': 'PLAINTEXT'}\n", "PLAINTEXT"),
            ("DSN = 'postgresql://app@db.prod.internal:5432/orders'\n", "PostgreSQL"),
            ("import requests\nr = requests.get('http://api.partner.com/v1', timeout=3)\n", "plain HTTP"),
        ],
    )
    def test_plaintext_transport_fails(self, tmp_path, source, needle):
        outcome = transport_encrypted(node(tmp_path, {"src/pkg/io.py": source}))
        assert outcome.status is CheckStatus.FAIL
        assert needle in outcome.findings[0].message

    def test_tls_and_local_and_schema_urls_pass(self, tmp_path):
        source = (
            "c = {'bootstrap.servers': 'kafka.prod:9093', 'security.protocol': 'SASL_SSL'}\n"
            "DSN = 'postgresql://app@db.prod:5432/o?sslmode=verify-full'\n"
            "LOCAL = 'postgresql://app@localhost/o'\n"
            "SCHEMA = 'http://json-schema.org/draft-07/schema#'\n"
            "TARGET = f'postgres://contracts/{cid}'\nTABLE_URI = 'postgresql://event_ledger/rows'\n"
            "import httpx\nr = httpx.get('http://127.0.0.1:8080/health')\n"
        )
        assert transport_encrypted(node(tmp_path, {"src/pkg/io.py": source})).status is CheckStatus.PASS

    def test_sensitive_field_without_encryption_fails_and_with_it_passes(self, tmp_path):
        pyproject = '[project]\nname = "pkg"\n[tool.infra-readiness]\nsensitive-fields = ["card_number"]\n'
        plain = {"pyproject.toml": pyproject, "src/pkg/h.py": "def handle(e):\n    return e\n"}
        outcome = transport_encrypted(node(tmp_path / "a", plain))
        assert outcome.status is CheckStatus.FAIL
        assert "card_number" in outcome.findings[0].message
        sealed = {
            "pyproject.toml": pyproject,
            "src/pkg/h.py": "from infra_security import encrypt_payload\ndef handle(e, k):\n"
            "    return encrypt_payload(e, k)\n",
        }
        assert transport_encrypted(node(tmp_path / "b", sealed)).status is CheckStatus.PASS


class _OSV(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        vulns = []
        if query["package"]["name"] == "pyyaml" and query["version"] == "5.3":
            vulns = [
                {
                    "id": "PYSEC-2020-176",
                    "details": "arbitrary code execution in full_load",
                    "affected": [
                        {
                            "package": {"name": "pyyaml", "ecosystem": "PyPI"},
                            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.4"}]}],
                        }
                    ],
                }
            ]
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def osv_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _OSV)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()
    server.server_close()


class TestDependencyAudit:
    PYPROJECT = '[project]\nname = "pkg"\ndependencies = ["pyyaml==5.3", "packaging==24.1"]\n'

    def test_not_requested_is_a_skip_that_says_how(self, tmp_path):
        outcome = dependencies_audited(node(tmp_path, {"pyproject.toml": self.PYPROJECT}))
        assert outcome.status is CheckStatus.SKIP
        assert "--audit-deps" in outcome.message

    def test_unreachable_service_is_a_skip_with_the_reason(self, tmp_path, monkeypatch):
        with socket.socket() as probe:  # a port nobody listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        monkeypatch.setenv(OSV_URL_ENV, f"http://127.0.0.1:{port}/v1/query")
        files = {"pyproject.toml": self.PYPROJECT + "[tool.infra-readiness]\naudit-dependencies = true\n"}
        outcome = dependencies_audited(node(tmp_path, files))
        assert outcome.status is CheckStatus.SKIP
        assert "unreachable" in outcome.message and "nothing was audited" in outcome.message

    def test_known_vulnerability_fails_with_its_id(self, tmp_path, monkeypatch, osv_server):
        monkeypatch.setenv(OSV_URL_ENV, osv_server)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        files = {"pyproject.toml": self.PYPROJECT + "[tool.infra-readiness]\naudit-dependencies = true\n"}
        outcome = dependencies_audited(node(tmp_path / "n", files))
        assert outcome.status is CheckStatus.FAIL, outcome.message
        assert [f.message.split(":")[0] for f in outcome.findings] == ["pyyaml 5.3"]
        assert "PYSEC-2020-176" in outcome.findings[0].message


class _Broken(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Silent(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        threading.Event().wait(30)  # accepts the query, never answers

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def serve(request) -> Iterator[str]:
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/query"
    server.shutdown()
    server.server_close()


class TestDependencyAuditThroughPipAuditCli:
    """SEC-006 runs pip-audit's command line: offline, failing or silent services are a SKIP, never a pass."""

    FILES: ClassVar[dict[str, str]] = {
        "pyproject.toml": '[project]\nname = "pkg"\ndependencies = ["pyyaml==5.3", "packaging==24.1"]\n'
        "[tool.infra-readiness]\naudit-dependencies = true\n"
    }

    def test_offline_host_that_does_not_resolve_is_a_skip_with_the_reason(self, tmp_path, monkeypatch):
        monkeypatch.setenv(OSV_URL_ENV, "https://osv.invalid/v1/query")  # .invalid never resolves (RFC 2606)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        outcome = dependencies_audited(node(tmp_path / "n", self.FILES))
        assert outcome.status is CheckStatus.SKIP
        assert "unreachable" in outcome.message and "nothing was audited" in outcome.message
        assert "osv.invalid" in outcome.message  # the reason names where it looked

    @pytest.mark.parametrize("serve", [_Broken], indirect=True)
    def test_service_error_is_a_skip_not_a_pass(self, tmp_path, monkeypatch, serve):
        monkeypatch.setenv(OSV_URL_ENV, serve)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        outcome = dependencies_audited(node(tmp_path / "n", self.FILES))
        assert outcome.status is CheckStatus.SKIP, outcome.message
        assert "nothing was audited" in outcome.message

    @pytest.mark.parametrize("serve", [_Silent], indirect=True)
    def test_silent_service_is_a_skip_within_the_time_limit(self, tmp_path, monkeypatch, serve):
        import time

        from infra_readiness.checks import dependencies

        monkeypatch.setattr(dependencies, "_TIMEOUT", 1)
        monkeypatch.setattr(dependencies, "_RUN_BASE", 20)
        monkeypatch.setenv(OSV_URL_ENV, serve)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        started = time.monotonic()
        outcome = dependencies_audited(node(tmp_path / "n", self.FILES))
        assert outcome.status is CheckStatus.SKIP, outcome.message
        assert "nothing was audited" in outcome.message
        assert time.monotonic() - started < 22

    def test_clean_dependencies_pass_and_name_the_count(self, tmp_path, monkeypatch, osv_server):
        monkeypatch.setenv(OSV_URL_ENV, osv_server)
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        files = {"pyproject.toml": self.FILES["pyproject.toml"].replace("pyyaml==5.3", "pyyaml==6.0.2")}
        outcome = dependencies_audited(node(tmp_path / "n", files))
        assert outcome.status is CheckStatus.PASS, outcome.message
        assert "2 dependency(ies) clean" in outcome.message

    def test_uses_no_private_pip_audit_module(self):
        from infra_readiness.checks import dependencies

        source = Path(dependencies.__file__).read_text(encoding="utf-8")
        assert "pip_audit._" not in source and "from pip_audit" not in source


def test_prefilter_keeps_every_gating_bandit_issue_on_real_code(real_sources):
    # bandit on every file of the installed infra packages and the libraries beside them (conftest.REAL_CODE) against
    # bandit on the files the prefilter lets through: the gating issues must be the same.
    import ast

    from infra_readiness.checks import insecure_code

    trees = {}
    for path in real_sources:
        try:
            trees[path] = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            continue

    def gating(issues: list) -> set:
        return {
            (i.fname, i.lineno, i.test_id)
            for i in issues
            if i.severity in ("MEDIUM", "HIGH") and i.confidence in ("MEDIUM", "HIGH")
        }

    everything = gating(insecure_code.bandit_issues(trees))
    kept = {p: t for p, t in trees.items() if insecure_code._names_gated_rule(p.read_text(encoding="utf-8"))}
    assert len(kept) < len(trees)
    assert gating(insecure_code.bandit_issues(kept)) == everything
    assert everything  # real code has gating findings (reviewed, waived or marked), so the comparison is not empty


_GATED_SNIPPETS = {
    "B613 bidi": 'access = "user\u202e \u2066# admin\u2069 \u2066"\n',
    "B505 key size": (
        "from cryptography.hazmat.primitives.asymmetric import rsa\n\nkey = rsa.generate_private_key(65537, 1024)\n"
    ),
    "B303 upper-case hash": "from cryptography.hazmat.primitives import hashes\n\ndigest = hashes.Hash(hashes.MD5())\n",
    "B324 hashlib.new": 'import hashlib\n\ndigest = hashlib.new("SHA1", b"x")\n',
    "B323 unverified": "import ssl\n\ncontext = ssl._create_unverified_context()\n",
    "B501 verify": 'import requests\n\nrequests.get("https://x", verify=False, timeout=5)\n',
    "B602 shell": "import subprocess\n\nsubprocess.run(command, shell=flag)\n",
    "B605 getoutput": "import subprocess\n\nsubprocess.getoutput(command)\n",
}
_UNGATED_SNIPPETS = {
    "B113 no timeout": 'import requests\n\nrequests.get("https://x")\n',
    "B603 no shell": 'import subprocess\n\nsubprocess.run(["ls", path], check=True)\n',
    "B606 spawn": 'import os\n\nos.spawnv(os.P_WAIT, "/bin/ls", ["ls"])\n',
}


@pytest.mark.parametrize("label", sorted(_GATED_SNIPPETS))
def test_prefilter_lets_through_what_bandit_gates_on(tmp_path, label):
    # Each snippet raises a gating bandit issue; the prefilter must let its file through, or SEC-003 never sees it.
    import ast

    from infra_readiness.checks import insecure_code

    source = _GATED_SNIPPETS[label]
    path = tmp_path / "mod.py"
    path.write_text(source, encoding="utf-8")
    issues = insecure_code.bandit_issues({path: ast.parse(source)})
    gating = [i.test_id for i in issues if i.severity in ("MEDIUM", "HIGH") and i.confidence in ("MEDIUM", "HIGH")]
    assert gating and gating[0] == label.split()[0], gating
    assert insecure_code._names_gated_rule(source)


@pytest.mark.parametrize("label", sorted(_UNGATED_SNIPPETS))
def test_prefilter_skips_modules_whose_rules_never_gate(tmp_path, label):
    # requests without a timeout (B113, low confidence) and shell-less subprocess calls (low severity) never gate:
    # such a file is not handed to bandit, and bandit itself reports nothing gating on it.
    import ast

    from infra_readiness.checks import insecure_code

    source = _UNGATED_SNIPPETS[label]
    path = tmp_path / "mod.py"
    path.write_text(source, encoding="utf-8")
    issues = insecure_code.bandit_issues({path: ast.parse(source)})
    assert not [i for i in issues if i.severity in ("MEDIUM", "HIGH") and i.confidence in ("MEDIUM", "HIGH")]
    assert not insecure_code._names_gated_rule(source)


_AIOHTTP_HEAD = (
    "from aiohttp import web\n\n\nasync def delete_order(request):\n    return web.Response()\n\n\n"
    "async def health(request):\n    return web.Response()\n\n\n"
)


class TestAiohttpRouteTables:
    """SEC-004 finds routes registered by calls (aiohttp route tables, add_route), not only by decorators."""

    @pytest.mark.parametrize(
        "registration",
        [
            "app = web.Application()\n"
            'app.add_routes([web.get("/health", health), web.delete("/orders/{oid}", delete_order)])\n',
            'app = web.Application()\napp.add_routes([web.route("DELETE", "/orders/{oid}", delete_order)])\n',
            'app = web.Application()\napp.router.add_route("DELETE", "/orders/{oid}", delete_order)\n',
            'app = web.Application()\napp.router.add_delete("/orders/{oid}", delete_order)\n',
            'app = Starlette()\napp.add_route("/orders/{oid}", delete_order, methods=["DELETE"])\n',
        ],
        ids=["web.delete", "web.route", "router.add_route", "router.add_delete", "starlette.add_route"],
    )
    def test_unauthenticated_delete_fails_naming_method_path_and_handler(self, tmp_path, registration):
        outcome = auth_declared(node(tmp_path, {"src/pkg/api.py": _AIOHTTP_HEAD + registration}))
        assert outcome.status is CheckStatus.FAIL, outcome.message
        [finding] = outcome.findings  # /health is open by design and not reported
        assert finding.message.startswith("DELETE /orders/{oid} (`delete_order`)")
        assert finding.file == "src/pkg/api.py" and finding.line is not None

    def test_auth_middleware_on_the_application_covers_its_table(self, tmp_path):
        code = _AIOHTTP_HEAD + (
            "async def auth_middleware(app, handler):\n    return handler\n\n\n"
            "app = web.Application(middlewares=[auth_middleware])\n"
            'app.router.add_route("DELETE", "/orders/{oid}", delete_order)\n'
        )
        outcome = auth_declared(node(tmp_path, {"src/pkg/api.py": code}))
        assert outcome.status is CheckStatus.PASS, outcome.findings

    def test_auth_decorated_handler_passes(self, tmp_path):
        code = (
            "from aiohttp import web\nfrom aiohttp_security import login_required\n\n\n"
            "@login_required\nasync def delete_order(request):\n    return web.Response()\n\n\n"
            'app = web.Application()\napp.add_routes([web.delete("/orders/{oid}", delete_order)])\n'
        )
        outcome = auth_declared(node(tmp_path, {"src/pkg/api.py": code}))
        assert outcome.status is CheckStatus.PASS, outcome.findings

    def test_http_client_calls_are_not_routes(self, tmp_path):
        code = (
            "import requests\n\n\ndef purge(session, url):\n"
            '    requests.delete("https://api.example.com/orders/1", timeout=5)\n'
            "    session.get(url, params)\n    client.add_route_metric(url, 1)\n"
        )
        outcome = auth_declared(node(tmp_path, {"src/pkg/client.py": code}))
        assert outcome.status is CheckStatus.SKIP, outcome.message
