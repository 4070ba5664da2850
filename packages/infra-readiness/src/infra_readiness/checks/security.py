"""Security checks: no hard-coded credentials (patterns, entropy and context), TLS verification never switched off.

The other security checks live beside this module (``insecure_code``: bandit; ``auth``; ``transport``;
``dependencies``: pip-audit) and are registered through this module's ``CHECKS``.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
from collections import Counter
from functools import partial
from pathlib import Path

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, CheckStatus, Finding, ReadinessLevel
from infra_readiness.checks._ast import call_name, docstrings, literal_false, string_constants, walk
from infra_readiness.checks._declared import per_file
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Check, Outcome, check

__all__ = ["CHECKS", "no_hardcoded_credentials", "shannon_entropy", "tls_verification_on"]

_ALLOW = "pragma: allowlist secret"
#: Formats of real tokens; these are reported anywhere, tests included.
_TOKEN_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("a Stripe live key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{24,}\b")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("a Vault token", re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{24,}\b")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
)
#: Literal parts every token format contains: a substring test (fast, in C) before the regular expressions.
_TOKEN_MARKERS = (
    "PRIVATE KEY", "AKIA", "ASIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "_live_", "AIza",
    "hvs.", "hvb.", "hvr.", "eyJ",
)  # fmt: skip
_ANY_TOKEN = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in _TOKEN_PATTERNS))
_URL_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^/\s@'\"]+)@[^\s'\"]+", re.IGNORECASE)
_SECRET_NAME = re.compile(
    r"(?i)(pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)"
)
_NOT_SECRET_NAME = re.compile(
    r"(?i)(_?(name|names|field|fields|env|var|variable|path|file|url|uri|type|header|prefix|suffix|length|len|"
    r"id|ids|key_id|pattern|regex|format|mode|kind|source|policy|ttl|seconds|expiry|expires|count|min|max|"
    r"endpoint|class|label|hint|prompt|placeholder|description|required|enabled)$)"
)
_CONFIG_LINE = re.compile(
    r"""(?im)^\s*(?:export\s+)?["']?([\w.-]*?(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[\w.-]*)["']?\s*[:=]\s*["']?([^"'\s#,}]+)"""
)
_CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".env", ".properties", ".json"})
_TEXT_SUFFIXES = _CONFIG_SUFFIXES | {".py", ".md", ".rst", ".txt", ".sh", ".sql", ".j2", ".tpl", ".pem", ".key"}
#: Passwords that only ever appear in examples, such as ``postgresql://user:pw@host/db``.
_PLACEHOLDER_PASSWORDS = frozenset({"pw", "pass", "password", "passwd", "pwd", "secret", "user", "username", "xxx"})
#: A Python file is parsed for SEC-001 only when its text has a credential-like name assigned, a long quoted blob
#: or a URL password; substring tests (in C) come before the regular expressions.
_SECRET_ASSIGNED = re.compile(  # matched against the lower-cased text
    r"(?:pass(?:word|wd|phrase)|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)\w*[\"']?"
    r"[ \t]*(?::[^=\n]*)?[:=][^\n]*[\"']"
)
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "credential")
_QUOTED_BLOB = re.compile(r"[\"'](?=[A-Za-z+/=_-]*\d)[A-Za-z0-9+/=_-]{24,}[\"']")
#: ... and for SEC-002 only when it mentions a verification setting (compared in lower case).
_TLS_WORDS = (
    "verify", "cert_none", "check_hostname", "unverified", "disable_warnings", "sslmode", "ssl.", "insecure",
    "httpsverify", "tls_reject",
)  # fmt: skip


def _may_hold_secret(text: str) -> bool:
    """A Python file worth parsing for SEC-001."""
    lowered = text.lower()
    return (
        (any(word in lowered for word in _SECRET_WORDS) and _SECRET_ASSIGNED.search(lowered) is not None)
        or _QUOTED_BLOB.search(text) is not None
        or ("://" in text and "@" in text and _URL_PASSWORD.search(text) is not None)
    )


def _may_switch_tls_off(text: str) -> bool:
    """A file worth parsing for SEC-002."""
    lowered = text.lower()
    return any(word in lowered for word in _TLS_WORDS)


_BASE64 = re.compile(r"^[A-Za-z0-9+/=_-]+$")


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``; random 32-character base64 is about 4.5 to 5, English words 2.5 to 3.5."""
    if not text:
        return 0.0
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


_PLACEHOLDER_WORDS = re.compile(
    r"(?i)(example|sample|placeholder|changeme|change_me|change-me|replace|your[_-]|masked|redacted|dummy|fake|"
    r"not[_-]?a[_-]?secret|todo|fixme|xxxx|\*\*\*)"
)
#: Keys that vendors publish in their documentation (AWS, Stripe, ...): never real.
_DOCUMENTED_EXAMPLES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
        "AKIAI44QH8DHBEXAMPLE",
    }
)
#: An identifier written with separators: SPDX ids, topic names, setting keys (every segment letters or digits).
_IDENTIFIER = re.compile(r"^[A-Za-z]+(?:[-_.:/][A-Za-z]+|[-_.:/]?[0-9]+)*$")
_TOPIC = re.compile(r"^[a-z0-9_-]+(?:\.[a-z0-9_-]+){2,}$")


def _placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    stripped = value.strip()
    return (
        not lowered
        or lowered.startswith(("$", "{", "<", "%", "!", "env:", "vault:", "secret:", "file:", "${", "os.environ"))
        or (stripped[:1], stripped[-1:]) in {("[", "]"), ("<", ">"), ("(", ")")}
        or set(lowered) <= {"*", "x", ".", "-", "_", "#"}
        or lowered in {"none", "null", "~", "true", "false", "redacted", "changeit_in_prod", "example", "dummy"}
        or stripped in _DOCUMENTED_EXAMPLES
        or _JWT_EXAMPLE_SIGNATURE in stripped
        or _PLACEHOLDER_WORDS.search(value) is not None
    )


def _identifier(value: str) -> bool:
    """An SPDX id, a topic name, a dotted setting: separators between letter-only or digit-only segments."""
    separators = sum(value.count(c) for c in "-_.:/")
    return (_IDENTIFIER.match(value) is not None and separators >= 2) or _TOPIC.match(value) is not None


def _real_password(value: str) -> bool:
    return not _placeholder(value) and value.lower() not in _PLACEHOLDER_PASSWORDS


def _looks_secret(value: str, name: str = "") -> bool:
    """A literal bound to a credential-like name: long enough and not a plain word or an env-var name."""
    if _placeholder(value) or len(value) < 8 or " " in value:
        return False
    if re.fullmatch(r"[A-Z][A-Z0-9_]+", value):  # an environment variable name, such as VAULT_TOKEN
        return False
    if re.fullmatch(r"[a-z]+(?:[_.:-][a-z]+)*[:=.]?", value):  # words: a setting name, a marker, an enum value
        return False
    if name and value.lower().replace("-", "_") == name.lower():  # an enum member: TOKEN = "token"
        return False
    if _TOPIC.match(value):  # a topic or a dotted setting name, such as onex.evt.token-issued.v1
        return False
    return not value.startswith(("/", "./", "http://", "https://"))


_CAMEL = re.compile(r"^[A-Za-z][a-z0-9]*(?:[A-Z][a-z0-9]+)+$")


def _camel_words(value: str) -> bool:
    """A CamelCase name such as ``ModelNoRawSqlite3CheckInput``: its parts are mostly pronounceable words."""
    if not _CAMEL.match(value):
        return False
    parts = re.findall(r"[A-Z]?[a-z0-9]+", value)
    return len(parts) >= 3 and sum(bool(re.search(r"[aeiouy]", p.lower())) for p in parts) >= 0.7 * len(parts)


def _random_blob(value: str) -> bool:
    """A long, base64-like literal with the entropy of random bytes (a key pasted into code)."""
    return (
        len(value) >= 24
        and not _camel_words(value)
        and " " not in value
        and not _identifier(value)
        and not _placeholder(value)
        and _BASE64.match(value) is not None
        and any(c.isdigit() for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and shannon_entropy(value) >= 4.3
        and not _has_run(value, 5)
    )


def _real_token(token: str) -> bool:
    """A token-format match that is not a documented example or an alphabet (``ghp_abcdefghijkl...``)."""
    return not _PLACEHOLDER_WORDS.search(token) and not _has_run(token, 6) and _JWT_EXAMPLE_SIGNATURE not in token


_PEM_BODY = re.compile(r"[A-Za-z0-9+/=]{16,}")
#: jwt.io's example token (signed with the documented key `your-256-bit-secret`).
_JWT_EXAMPLE_SIGNATURE = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


def _key_body(lines: list[str], number: int, line: str) -> bool:
    """A private-key header followed by a key's worth of base64, not ``MIIE...`` or an alphabet."""
    after = line.split("-----", 2)[-1].replace("\\n", "\n")
    snippet = "\n".join([after, *lines[number : number + 30]]).split("-----END", 1)[0]
    if "..." in snippet or "\u2026" in snippet:
        return False
    body = "".join(_PEM_BODY.findall(snippet))
    return len(body) >= 120 and not _has_run(body, 6)


def _has_run(value: str, length: int) -> bool:
    """True when ``value`` holds ``length`` consecutive ascending characters (an alphabet such as ``ABCDE``)."""
    run = 1
    for before, after in itertools.pairwise(value):
        run = run + 1 if ord(after) == ord(before) + 1 else 1
        if run >= length:
            return True
    return False


def _scan_python(tree: ast.Module, lines: list[str]) -> list[tuple[int, str]]:
    hits: list[tuple[int, str]] = []
    docs = docstrings(tree)

    def consider(name: str, value: ast.expr) -> None:
        if (
            isinstance(value, ast.Constant)
            and isinstance(value.value, str)
            and _SECRET_NAME.search(name)
            and not _NOT_SECRET_NAME.search(name)
            and _looks_secret(value.value, name)
        ):
            hits.append((value.lineno, f"`{name}` is set to a literal credential"))

    enum_values = _enum_member_values(tree)
    for node in walk(tree):
        if isinstance(node, ast.Assign) and id(node.value) in enum_values:
            continue
        if isinstance(node, ast.Assign):
            for target in node.targets:
                name = (
                    target.id
                    if isinstance(target, ast.Name)
                    else target.attr
                    if isinstance(target, ast.Attribute)
                    else ""
                )
                consider(name, node.value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
            name = (
                target.id if isinstance(target, ast.Name) else target.attr if isinstance(target, ast.Attribute) else ""
            )
            consider(name, node.value)
        elif isinstance(node, ast.keyword) and node.arg:
            consider(node.arg, node.value)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    consider(key.value, value)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args.args[len(node.args.args) - len(node.args.defaults) :]
            for arg, default in zip(args, node.args.defaults, strict=True):
                consider(arg.arg, default)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if _random_blob(node.value):
                hits.append((node.lineno, "a high-entropy literal that looks like a key"))
            match = _URL_PASSWORD.search(node.value)
            if match and _real_password(match.group(1)):
                hits.append((node.lineno, "a URL with a password in it"))
    return [(line, message) for line, message in hits if not _allowed(lines, line)]


def _enum_member_values(tree: ast.Module) -> set[int]:
    """``id()`` of the values of enum members (``class Kind(StrEnum): TOKEN = "token"``): names, not secrets."""
    found: set[int] = set()
    for node in walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else "").endswith(
                ("Enum", "Flag")
            )
            for base in node.bases
        ):
            found |= {id(item.value) for item in node.body if isinstance(item, ast.Assign)}
    return found


def _allowed(lines: list[str], line: int) -> bool:
    return 1 <= line <= len(lines) and _ALLOW in lines[line - 1]


def _scan_text(text: str, *, tokens_only: bool, config: bool) -> list[tuple[int, str]]:
    # One pass over the whole text first: most files hold nothing, and then no line is looked at.
    tokens = any(marker in text for marker in _TOKEN_MARKERS) and _ANY_TOKEN.search(text) is not None
    urls = not tokens_only and "://" in text and "@" in text and _URL_PASSWORD.search(text) is not None
    if not tokens and not urls and (tokens_only or not config):
        return []
    hits: list[tuple[int, str]] = []
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if _ALLOW in line:
            continue
        if tokens:
            hits += [
                (number, f"contains {label}")
                for label, pattern in _TOKEN_PATTERNS
                if any(_real_token(m.group(0)) for m in pattern.finditer(line))
                and (label != "a private key" or _key_body(lines, number, line))
            ]
        if tokens_only:
            continue
        match = _URL_PASSWORD.search(line) if urls else None
        if match and _real_password(match.group(1)):
            hits.append((number, "a URL with a password in it"))
        if config:
            for name, value in _CONFIG_LINE.findall(line):
                if not _NOT_SECRET_NAME.search(name) and _looks_secret(value, name):
                    hits.append((number, f"`{name}` is set to a literal credential"))
    return hits


@check(
    id="SEC-001",
    title="No hard-coded credentials",
    category=CheckCategory.SECURITY,
    gates=ReadinessLevel.DEVELOPMENT,
    severity=Severity.CRITICAL,
    remediation=(
        "Remove the secret, rotate it, and read it at run time (environment, a secrets file, or Vault through "
        "infra-security's CredentialManager). A false positive can be marked `# pragma: allowlist secret`."
    ),
)
def no_hardcoded_credentials(node: NodeContext) -> Outcome:
    """No password, token or key is written into the node's files.

    Token formats (private keys, cloud and VCS tokens, JWTs) are looked for in every text file, tests included.
    In code and configuration, literals bound to credential-like names and random-looking base64 blobs are
    reported; tests and documentation are only searched for token formats, since they hold fake ones by design.
    """
    findings: list[Finding] = []
    for path in node.files:
        if path.suffix not in _TEXT_SUFFIXES and not path.name.startswith(".env"):
            continue
        in_tests = node.in_tests(path)
        docs = path.suffix in {".md", ".rst", ".txt"}
        # Python code is read through its syntax tree (docstrings and comments hold examples, not secrets).
        tokens_only = in_tests or docs or path.suffix == ".py" or _example_file(path)
        hits = per_file(
            f"SEC-001:{tokens_only}:{in_tests}",
            path,
            partial(_file_hits, node, path, tokens_only=tokens_only, in_tests=in_tests),
        )
        for line, message in sorted(set(hits)):
            findings.append(Finding(message=message, severity=Severity.CRITICAL, file=node.rel(path), line=line))
    unscanned = _unscanned(node, _TEXT_SUFFIXES)
    if findings:
        return Outcome.failed(f"{len(findings)} possible hard-coded credential(s)", [*findings, *unscanned])
    return Outcome(
        CheckStatus.PASS,
        f"no credentials found in {len(node.files)} file(s)" + (f"; {len(unscanned)} not scanned" if unscanned else ""),
        tuple(unscanned),
    )


def _file_hits(node: NodeContext, path: Path, *, tokens_only: bool, in_tests: bool) -> list[tuple[int, str]]:
    text = node.text(path)  # read here, not before the memo: a file seen by an earlier node is not read again
    if text is None:
        return []
    hits = _scan_text(text, tokens_only=tokens_only, config=_is_config(path))
    if path.suffix == ".py" and not in_tests and _may_hold_secret(text):
        tree = node.tree(path)
        if tree is not None:
            hits += _scan_python(tree, text.splitlines())
    return hits


def _example_file(path: Path) -> bool:
    """``.env.example``, ``settings.sample.yaml``: templates whose values are placeholders by design."""
    return any(part in {"example", "sample", "template", "dist", "tmpl"} for part in path.name.lower().split(".")[1:])


def _is_config(path: Path) -> bool:
    return path.suffix in _CONFIG_SUFFIXES or path.name.startswith(".env")


def _unscanned(node: NodeContext, suffixes: frozenset[str]) -> list[Finding]:
    return [
        Finding(message=f"not scanned: {problem.reason}", severity=Severity.INFO, file=node.rel(problem.path))
        for problem in node.problems
        if problem.path.suffix in suffixes or problem.path.name.startswith(".env") or problem.path == node.root
    ]


_ALLOW_TLS = "readiness: allow-insecure-tls"
_TLS_KEYWORDS = frozenset({"verify", "verify_ssl", "ssl_verify", "verify_certs", "check_hostname", "validate_certs"})
_TLS_TEXT = (
    (
        re.compile(r"sslmode\s*[=:]\s*[\"']?(disable|allow|prefer|require)\b", re.IGNORECASE),
        "PostgreSQL sslmode={0} does not verify the server",
    ),
    (
        re.compile(r"enable\.ssl\.certificate\.verification[\"']?\s*[:=]\s*[\"']?(false|0)", re.IGNORECASE),
        "Kafka certificate verification is off",
    ),
    (
        re.compile(r"ssl\.endpoint\.identification\.algorithm[\"']?\s*[:=]\s*[\"']?none\b", re.IGNORECASE),
        "Kafka hostname verification is off",
    ),
    (re.compile(r"\bPYTHONHTTPSVERIFY\s*=\s*[\"']?0"), "PYTHONHTTPSVERIFY set to 0 switches HTTPS verification off"),
    (
        re.compile(r"\bNODE_TLS_REJECT_UNAUTHORIZED\s*=\s*[\"']?0"),
        "NODE_TLS_REJECT_UNAUTHORIZED set to 0 switches TLS verification off",
    ),
    (
        re.compile(r"insecure[_-]?skip[_-]?verify\s*[:=]\s*true", re.IGNORECASE),
        "insecureSkipVerify switches TLS verification off",
    ),
)
#: Only in configuration files: in Python, keywords and attributes are read from the syntax tree instead.
_TLS_CONFIG_ONLY = (
    (
        re.compile(r"^\s*(?:tls[_-]?)?verify(?:[_-]?ssl)?\s*[:=]\s*(false|no|off)\b", re.IGNORECASE),
        "verification set to {0}",
    ),
)


#: ``if self.level == "none":``: a configuration model spelling out what its insecure mode means.
_INSECURE_MODES = frozenset({"none", "insecure", "disabled", "disable", "off", "no_verify", "noverify", "dev"})
_OPTION_NAMES = frozenset({*_TLS_KEYWORDS, "insecure", "verify_mode", "tls_verify", "ssl"})


def _honoured_options(tree: ast.Module) -> set[int]:
    """``id()`` of nodes inside ``if not verify:`` branches: a library honouring its caller's choice (httpx)."""
    inside: set[int] = set()
    for node in walk(tree):
        if isinstance(node, ast.If | ast.IfExp):
            names = {
                sub.id if isinstance(sub, ast.Name) else sub.attr
                for sub in ast.walk(node.test)
                if isinstance(sub, ast.Name | ast.Attribute)
            }
            modes = {
                str(sub.value).lower()
                for sub in ast.walk(node.test)
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str)
            }
            if names & _OPTION_NAMES or modes & _INSECURE_MODES:
                branches = [node.body, node.orelse] if isinstance(node, ast.IfExp) else [*node.body, *node.orelse]
                for branch in branches:
                    for part in branch if isinstance(branch, list) else [branch]:
                        inside |= {id(sub) for sub in ast.walk(part)}
    return inside


def _tls_python(tree: ast.Module) -> list[tuple[int, str]]:
    hits: list[tuple[int, str]] = []
    honoured = _honoured_options(tree)
    for node in walk(tree):
        if id(node) in honoured:
            continue
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg in _TLS_KEYWORDS and literal_false(keyword.value):
                    hits.append((node.lineno, f"`{keyword.arg}=False` switches certificate checks off"))
            name = call_name(node)
            if name.endswith("_create_unverified_context"):
                hits.append((node.lineno, "an unverified SSL context"))
            elif name.endswith("disable_warnings"):
                hits.append((node.lineno, "`disable_warnings()` hides unverified-HTTPS warnings"))
        elif isinstance(node, ast.Attribute) and node.attr == "CERT_NONE":
            hits.append((node.lineno, "`ssl.CERT_NONE` accepts any certificate"))
        elif isinstance(node, ast.Name) and node.id == "CERT_NONE":
            hits.append((node.lineno, "`CERT_NONE` accepts any certificate"))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Attribute)
                    and target.attr in {"check_hostname", "verify"}
                    and literal_false(node.value)
                ):
                    hits.append((node.lineno, f"`.{target.attr} = False` switches certificate checks off"))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value in {"enable.ssl.certificate.verification", "verify", "verify_ssl", "ssl_verify"}
                    and literal_false(value)
                ):
                    hits.append((node.lineno, f"`{key.value}` set to false switches certificate checks off"))
    return hits


def _tls_line(line: str, *, config: bool = False) -> list[str]:
    found = []
    for pattern, message in _TLS_TEXT + (_TLS_CONFIG_ONLY if config else ()):
        match = pattern.search(line)
        if match:
            found.append(message.format(*(g or "" for g in match.groups())))
    return found


def _tls_text(text: str) -> list[tuple[int, str]]:
    return [
        (number, message)
        for number, line in enumerate(text.splitlines(), start=1)
        if _ALLOW_TLS not in line
        for message in _tls_line(line, config=True)
    ]


def _tls_strings(tree: ast.Module) -> list[tuple[int, str]]:
    """Settings written inside Python string literals, such as a DSN with ``sslmode=disable``."""
    docs = docstrings(tree)
    return [
        (constant.lineno, message)
        for constant in string_constants(tree)
        if id(constant) not in docs
        for message in _tls_line(str(constant.value))
    ]


def _tls_file_hits(node: NodeContext, path: Path) -> list[tuple[int, str]]:
    text = node.text(path)
    if text is None:
        return []
    if path.suffix != ".py":
        return _tls_text(text)
    if not _may_switch_tls_off(text):
        return []
    tree = node.tree(path)
    lines = text.splitlines()
    hits = [] if tree is None else _tls_python(tree) + _tls_strings(tree)
    return [(n, m) for n, m in hits if not (1 <= n <= len(lines) and _ALLOW_TLS in lines[n - 1])]


@check(
    id="SEC-002",
    title="TLS verification is never switched off",
    category=CheckCategory.SECURITY,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    remediation=(
        "Keep certificate and hostname checks on: drop verify=False / CERT_NONE / check_hostname=False, use "
        "sslmode=verify-full for PostgreSQL, and pass the CA bundle instead (infra-security's TLS policy does this)."
    ),
)
def tls_verification_on(node: NodeContext) -> Outcome:
    """The node's code and configuration never turn certificate or hostname verification off.

    Looks for ``verify=False``, ``ssl.CERT_NONE``, ``check_hostname = False``, unverified contexts, Kafka's
    ``enable.ssl.certificate.verification=false``, PostgreSQL ``sslmode`` below ``verify-ca`` and similar
    settings; tests are not searched. A deliberate line can be marked ``readiness: allow-insecure-tls``.
    """
    findings: list[Finding] = []
    for path in node.files:
        if node.in_tests(path) or (path.suffix not in _CONFIG_SUFFIXES | {".py"} and not path.name.startswith(".env")):
            continue
        hits = per_file("SEC-002", path, partial(_tls_file_hits, node, path))
        for line, message in sorted(set(hits)):
            findings.append(Finding(message=message, severity=Severity.HIGH, file=node.rel(path), line=line))
    if findings:
        return Outcome.failed(f"{len(findings)} place(s) where TLS verification is off", findings)
    return Outcome.passed("no TLS verification switched off")


def _all_checks() -> tuple[Check, ...]:
    from infra_readiness.checks import auth, dependencies, insecure_code, transport

    return (
        no_hardcoded_credentials,
        tls_verification_on,
        *insecure_code.CHECKS,
        *auth.CHECKS,
        *transport.CHECKS,
        *dependencies.CHECKS,
    )


#: Every security check: this entry point's own two and those of the sibling modules (one entry point, one room).
CHECKS = _all_checks()
