"""Each built-in check on small nodes: what it finds, where, and what it leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra_models import CheckStatus
from infra_readiness.checks.contract import compute_is_pure, effect_timeouts_retries, io_module
from infra_readiness.checks.docs import changelog_present, headings, readme_sections
from infra_readiness.checks.package import requirement_bounds
from infra_readiness.checks.security import no_hardcoded_credentials, shannon_entropy, tls_verification_on
from infra_readiness.context import NodeContext

EFFECT = """name: fetcher
kind: EFFECT
version: 0.1.0
input_model: {name: FetcherInput}
output_model: {name: FetcherOutput}
external_systems: [{name: api, kind: http}]
timeouts: {}
retry_policy: {}
"""


def node(tmp_path: Path, files: dict[str, str], contract: str | None = None) -> NodeContext:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if contract is not None:
        (tmp_path / "contract.yaml").write_text(contract)
    return NodeContext(tmp_path)


def places(outcome) -> set[tuple[str | None, int | None]]:
    return {(f.file, f.line) for f in outcome.findings}


class TestCredentials:
    @pytest.mark.parametrize(
        "line",
        [
            'PASSWORD = "hunter2-is-long"',
            'connect(password="S3cr3t!pass")',
            'settings = {"api_key": "k-93jd8a7sd6f"}',
            'KEY = "AKIAZ3MQ7TLXR5JPN2QW"',  # pragma: allowlist secret
            'BLOB = "q8Zr4Lm2Vx9Tn3Wb7Yc5Ud1Ke6Pf0Gh2JsXa"',
            'URL = "postgresql://app:Pr0dPa55@db/app"',
            'def login(user, token="tok_8f7a6s5d4f3g"): ...',
        ],
    )
    def test_found_in_code(self, tmp_path, line):
        outcome = no_hardcoded_credentials(node(tmp_path, {"src/pkg/__init__.py": line + "\n"}))
        assert outcome.status is CheckStatus.FAIL
        assert ("src/pkg/__init__.py", 1) in places(outcome)

    @pytest.mark.parametrize(
        "line",
        [
            'PASSWORD_ENV = "DB_PASSWORD"',
            'TOKEN = "token"',
            'token_type = "bearer"',
            'password = os.environ["DB_PASSWORD"]',
            'SECRET = "${VAULT_SECRET}"',
            'api_key: str = ""',
            'URL = "postgresql://user:pw@host/db"',
            'PASSWORD = "hunter2-is-long"  # pragma: allowlist secret',
            'CREDENTIAL_ACCESS = "credential_access"',
            'B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"',
        ],
    )
    def test_left_alone(self, tmp_path, line):
        outcome = no_hardcoded_credentials(node(tmp_path, {"src/pkg/__init__.py": line + "\n"}))
        assert outcome.status is CheckStatus.PASS, outcome.findings

    def test_tests_hold_fake_passwords_but_not_real_tokens(self, tmp_path):
        ctx = node(
            tmp_path,
            {
                "tests/test_a.py": 'PASSWORD = "fake-test-pass-1"\n',
                "tests/test_b.py": 'KEY = "ghp_' + "a" * 36 + '"\n',
            },
        )
        assert places(no_hardcoded_credentials(ctx)) == {("tests/test_b.py", 1)}

    def test_config_files_and_env_files(self, tmp_path):
        ctx = node(
            tmp_path, {"config/app.yaml": "db:\n  password: Sup3rS3cret9\n", ".env": "API_TOKEN=abc123def456ghi\n"}
        )
        assert places(no_hardcoded_credentials(ctx)) == {("config/app.yaml", 2), (".env", 1)}

    def test_private_key_in_docs(self, tmp_path):
        import base64
        import random

        body = base64.b64encode(random.Random(7).randbytes(180)).decode()
        pem = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        ctx = node(tmp_path, {"README.md": "# x\n\n" + pem + "\n-----END RSA PRIVATE KEY-----\n"})
        assert places(no_hardcoded_credentials(ctx)) == {("README.md", 3)}

    @pytest.mark.parametrize(
        "text",
        [
            "-----BEGIN RSA PRIVATE KEY-----\n",  # a header alone, as in a scanner's docs
            "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG...\n",  # a truncated fake
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234567890abcdefghijklmnopqrstuvwxyz\n-----END",
        ],
    )
    def test_key_headers_without_a_key_pass(self, tmp_path, text):
        ctx = node(tmp_path, {"tests/test_scan.py": "CODE = " + repr(text) + "\n", "docs/scan.md": text})
        assert no_hardcoded_credentials(ctx).status is CheckStatus.PASS

    def test_entropy(self):
        assert shannon_entropy("aaaa") == 0
        assert shannon_entropy("q8Zr4Lm2Vx9Tn3Wb7Yc5Ud1Ke6Pf0Gh2JsXa") > 4.3
        assert shannon_entropy("configuration_value") < 3.8

    @given(st.text(max_size=200))
    def test_scanner_never_raises(self, text):
        from infra_readiness.checks.security import _scan_text

        _scan_text(text, tokens_only=False, config=True)


class TestTls:
    @pytest.mark.parametrize(
        ("name", "text", "line"),
        [
            ("src/p.py", "import requests\nrequests.get(url, verify=False, timeout=3)\n", 2),
            ("src/p.py", "import ssl\nctx = ssl.create_default_context()\nctx.verify_mode = ssl.CERT_NONE\n", 3),
            ("src/p.py", "ctx.check_hostname = False\n", 1),
            ("src/p.py", "import ssl\nctx = ssl._create_unverified_context()\n", 2),
            ("src/p.py", 'DSN = "postgresql://db/app?sslmode=disable"\n', 1),
            ("src/p.py", 'conf = {"enable.ssl.certificate.verification": False}\n', 1),
            ("deploy/values.yaml", "kafka:\n  enable.ssl.certificate.verification: false\n", 2),
            ("settings.toml", "[http]\nverify = false\n", 2),
            (".env", "PYTHONHTTPSVERIFY=0\n", 1),
        ],
    )
    def test_switched_off(self, tmp_path, name, text, line):
        outcome = tls_verification_on(node(tmp_path, {name: text}))
        assert outcome.status is CheckStatus.FAIL
        assert (name, line) in places(outcome)

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            ("src/p.py", 'raise ValueError("verify=false is not allowed in production")\n'),
            ("src/p.py", 'DSN = "postgresql://db/app?sslmode=verify-full"\n'),
            ("src/p.py", "requests.get(url, verify=ca_path, timeout=3)\n"),
            ("src/p.py", "ctx.check_hostname = False  # readiness: allow-insecure-tls (dev profile)\n"),
            ("tests/test_p.py", "requests.get(url, verify=False)\n"),
        ],
    )
    def test_left_alone(self, tmp_path, name, text):
        assert tls_verification_on(node(tmp_path, {name: text})).status is CheckStatus.PASS


class TestDependencies:
    @pytest.mark.parametrize(
        ("requirement", "problem"),
        [
            ("pydantic>=2.6,<3", None),
            ("pydantic~=2.6", None),
            ("pydantic==2.6.1", None),
            ("pydantic", "has no lower and no upper bound"),
            ("pydantic>=2", "has no upper bound"),
            ("pydantic<3", "has no lower bound"),
            ("pkg @ https://example.invalid/pkg.whl", "direct URL"),
            ("not a requirement!", "not a valid requirement"),
        ],
    )
    def test_bounds(self, requirement, problem):
        found = requirement_bounds(requirement)
        assert (found is None) if problem is None else (problem in str(found))

    def test_own_extras_need_no_bounds(self):
        assert requirement_bounds("infra-outbox[postgres]", "infra-outbox") is None


class TestNodeKinds:
    def test_effect_needs_timeouts_and_retries_in_code(self, tmp_path):
        ctx = node(
            tmp_path, {"src/fetcher/__init__.py": "import requests\n\ndef go(u):\n    return requests.get(u)\n"}, EFFECT
        )
        outcome = effect_timeouts_retries(ctx)
        messages = [f.message for f in outcome.findings]
        assert outcome.status is CheckStatus.FAIL
        assert ("src/fetcher/__init__.py", 4) in places(outcome)
        assert any("never passes a timeout" in m for m in messages)
        assert any("never retries" in m for m in messages)

    def test_effect_with_tenacity_and_timeouts_passes(self, tmp_path):
        code = "import httpx\nimport tenacity\n\ndef go(u):\n    return httpx.get(u, timeout=5)\n"
        assert (
            effect_timeouts_retries(node(tmp_path, {"src/fetcher/__init__.py": code}, EFFECT)).status
            is CheckStatus.PASS
        )

    @pytest.mark.parametrize(
        ("module", "io"),
        [
            ("urllib.parse", None),
            ("urllib.request", "urllib.request"),
            ("http", None),
            ("http.client", "http.client"),
            ("requests.adapters", "requests"),
            ("json", None),
            ("sqlalchemy.orm", "sqlalchemy"),
        ],
    )
    def test_io_modules(self, module, io):
        assert io_module(module) == io

    def test_compute_import_lines(self, tmp_path):
        code = "from __future__ import annotations\nimport json\nfrom urllib import request\nimport socket\n"
        ctx = node(tmp_path, {"src/calc/__init__.py": code}, EFFECT.replace("EFFECT", "COMPUTE"))
        assert places(compute_is_pure(ctx)) == {("src/calc/__init__.py", 3), ("src/calc/__init__.py", 4)}


class TestDocs:
    def test_headings_markdown_and_rst_not_code_blocks(self):
        text = "# Title\n\n```\n# not a heading\n```\n\nInstall\n=======\n\n## Usage\n"
        assert headings(text) == [(1, "Title"), (7, "Install"), (10, "Usage")]

    def test_effect_needs_configuration(self, tmp_path):
        readme = "# f\n\n## Installation\n\n`pip install f`\n\n## Usage\n\n```python\nimport f\n```\n"
        ctx = node(tmp_path, {"README.md": readme}, EFFECT)
        outcome = readme_sections(ctx)
        assert outcome.status is CheckStatus.FAIL
        assert [f.message for f in outcome.findings] == ["no `Configuration` section"]

    @pytest.mark.parametrize(
        ("readme", "message"),
        [
            ("# f\n\n## Installation\n\npip install f\n\n## Usage\n\nTBD.\n", "`Usage` section has no content"),
            ("# f\n\n## Installation\n\nTODO\n\n## Usage\n\n```python\nimport f\n```\n", "`Installation`"),
            ("# f\n\n## Install\n\npip install f\n\n## Usage\n\nCall it.\n", "no code example"),
            ("# f\n\n## Install\n\npip install f\n\n## Usage\n\n```python\ndef broken(:\n```\n", "does not parse"),
        ],
    )
    def test_sections_need_content_and_a_parsing_example(self, tmp_path, readme, message):
        outcome = readme_sections(node(tmp_path, {"README.md": readme}))
        assert outcome.status is CheckStatus.FAIL
        assert message in outcome.findings[0].message

    def test_usage_with_doctest_312_syntax_and_shell_blocks_passes(self, tmp_path):
        readme = (
            "# f\n\nInstallation\n============\n\n```bash\n$ pip install f\n```\n\n## Usage\n\n"
            "```pycon\n>>> from f import run\n>>> run(1)\n2\n```\n\n```python\ntype Pair = tuple[int, int]\n```\n"
        )
        outcome = readme_sections(node(tmp_path, {"README.md": readme}))
        assert outcome.status is CheckStatus.PASS, outcome.findings

    @pytest.mark.parametrize("heading", ["## Version 2.3.0", "## 2.3.0 (2026-01-02)", "## [1.0.0] - 2026-01-01",
                                         "## v0.4", "## Release 1.2.0", "## Unreleased"])  # fmt: skip
    def test_changelog_version_headings(self, tmp_path, heading):
        ctx = node(tmp_path, {"CHANGELOG.md": f"# Changelog\n\n{heading}\n\n- a change\n"})
        assert changelog_present(ctx).status is CheckStatus.PASS

    def test_changelog_without_versions_fails(self, tmp_path):
        ctx = node(tmp_path, {"CHANGELOG.md": "# Changelog\n\n## Notes\n\n- a change\n"})
        assert changelog_present(ctx).status is CheckStatus.FAIL
