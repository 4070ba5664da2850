"""One name tokenizer for every case a node needs: snake, Pascal, camel, kebab and CONSTANT.

A name is split into words once; every case is rendered from those words and parses back to the same words
(round trip). Acronyms stay upper case in Pascal (``HTTPClient``), known mixed-case words keep their shape
(``OAuth2Token``), and ordinary words are title-cased (``RedisAdapter`` stays ``RedisAdapter``).

Example:
    >>> name = parse_name("HTTPClient")
    >>> name.snake, name.pascal, name.camel, name.kebab, name.constant
    ('http_client', 'HTTPClient', 'httpClient', 'http-client', 'HTTP_CLIENT')
    >>> parse_name("oauth2_token").pascal
    'OAuth2Token'
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from infra_gen.errors import InvalidNameError

__all__ = ["ACRONYMS", "MAX_NAME_LENGTH", "NodeName", "parse_name", "split_words", "suggest_name"]

MAX_NAME_LENGTH = 48
"""Longest snake_case node name: it prefixes class, module and topic names, which have their own limits."""

ACRONYMS = frozenset(
    {
        "acl", "ai", "api", "aws", "cdc", "cli", "cpu", "crud", "csv", "db", "dlq", "dns", "etl", "gcp", "gpu",
        "grpc", "hmac", "html", "http", "https", "id", "io", "ip", "jwt", "json", "kms", "kv", "ldap", "llm",
        "mfa", "ml", "mq", "os", "pdf", "rbac", "rest", "rpc", "rsa", "s3", "sdk", "smtp", "sns", "sql", "sqs",
        "ssh", "ssl", "sso", "tcp", "tls", "ttl", "ui", "uri", "url", "uuid", "xml", "yaml",
    }
)  # fmt: skip
"""Words written all upper case in Pascal and CONSTANT case."""

_MIXED = {
    "oauth": "OAuth",
    "graphql": "GraphQL",
    "mysql": "MySQL",
    "postgresql": "PostgreSQL",
    "nosql": "NoSQL",
    "mongodb": "MongoDB",
    "dynamodb": "DynamoDB",
    "openbao": "OpenBao",
    "openapi": "OpenAPI",
    "ipv4": "IPv4",
    "ipv6": "IPv6",
}
"""Words with a fixed mixed-case spelling; matched as one word when written that way."""

_MIXED_RE = re.compile("|".join(sorted(_MIXED.values(), key=len, reverse=True)))
_ALLOWED = re.compile(r"^[A-Za-z0-9 _.\-]*$")
_SEPARATORS = re.compile(r"[ _.\-]+")
_PIECES = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_STDLIB = frozenset(sys.stdlib_module_names)
_RESERVED = frozenset(
    {
        "infra_models", "infra_gen", "infra_security", "infra_outbox", "infra_readiness", "test", "tests",
        # what generated nodes import: a node of the same name would shadow it
        "pydantic", "pydantic_core", "annotated_types", "typing_extensions", "yaml", "pytest", "hypothesis",
        "sqlalchemy", "hvac", "cryptography", "confluent_kafka", "typer", "rich", "jinja2",
        "omnibase_core", "omnibase_infra", "omnibase_spi",
    }
)  # fmt: skip
_TOOLS = frozenset(
    {
        # run by the interpreter at start-up when importable: a package of that name runs in every process
        "sitecustomize", "usercustomize",
        # packaging and environment tools: an installed node of that name would replace them
        "pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils", "wheel", "build", "installer",
        "packaging", "virtualenv", "venv", "pipx", "uv", "hatch", "hatchling", "poetry", "pdm", "flit", "flit_core",
        "twine", "tox", "nox", "conda", "certifi", "tomli", "pluggy", "_pytest", "py", "mypy", "ruff", "coverage",
        "black", "isort", "flake8", "pylint", "pre_commit", "cookiecutter", "copier", "merge3", "click",
    }
)  # fmt: skip
"""Distribution tools and start-up hooks: a node package of one of these names would shadow it once installed."""
_CONTROL_NAMES = {"\n": "a newline (\\n)", "\r": "a carriage return (\\r)", "\t": "a tab (\\t)", "\x00": "a NUL byte"}


@dataclass(frozen=True, slots=True)
class NodeName:
    """A validated node name: its words and every case rendered from them."""

    words: tuple[str, ...]

    @property
    def snake(self) -> str:
        """``vault_adapter``: module, package and contract name."""
        return "_".join(self.words)

    @property
    def pascal(self) -> str:
        """``VaultAdapter``: class names."""
        return _pascal(self.words)

    @property
    def camel(self) -> str:
        """``vaultAdapter``: JSON keys, where a language wants them."""
        first, *rest = self.words
        return first + _pascal(tuple(rest)) if rest else first

    @property
    def kebab(self) -> str:
        """``vault-adapter``: distribution and folder names, topics."""
        return "-".join(self.words)

    @property
    def constant(self) -> str:
        """``VAULT_ADAPTER``: constants and environment variables."""
        return "_".join(self.words).upper()

    def as_dict(self) -> dict[str, str]:
        """Every case by name, for templates and JSON output."""
        return {
            "snake": self.snake,
            "pascal": self.pascal,
            "camel": self.camel,
            "kebab": self.kebab,
            "constant": self.constant,
        }


def split_words(text: str) -> tuple[str, ...]:
    """Split ``text`` into lower-case words at separators, case changes and acronym boundaries.

    Digits stay with the word before them (``OAuth2Token`` → ``oauth2``, ``token``); an upper-case run made
    only of known acronyms is split into them (``HTTPAPIClient`` → ``http``, ``api``, ``client``).
    """
    words: list[str] = []
    for segment in _SEPARATORS.split(text):
        pos = 0
        for match in _MIXED_RE.finditer(segment):
            words.extend(_split_plain(segment[pos : match.start()], words))
            words.append(match.group().lower())
            pos = match.end()
        words.extend(_split_plain(segment[pos:], words))
    return tuple(words)


def _split_plain(text: str, before: list[str]) -> list[str]:
    out: list[str] = []
    for piece in _PIECES.findall(text):
        if piece.isdigit() and (out or before):
            if out:
                out[-1] += piece
            else:
                before[-1] += piece
            continue
        if piece.isupper() and len(piece) > 1:
            out.extend(_split_acronyms(piece.lower()))
        else:
            out.append(piece.lower())
    return out


@lru_cache(maxsize=512)
def _split_acronyms(run: str) -> tuple[str, ...]:
    """Split an upper-case run into known acronyms when it is made only of them (longest first), else keep it."""
    if run in ACRONYMS:
        return (run,)
    for cut in range(len(run) - 1, 0, -1):
        head = run[:cut]
        if head in ACRONYMS:
            rest = _split_acronyms(run[cut:])
            if all(part in ACRONYMS for part in rest):
                return (head, *rest)
    return (run,)


def _word_pascal(word: str, *, acronyms: bool) -> str:
    stem = word.rstrip("0123456789")
    digits = word[len(stem) :]
    if stem in _MIXED:
        return _MIXED[stem] + digits
    if acronyms and stem in ACRONYMS:
        return stem.upper() + digits
    return word[:1].upper() + word[1:]


def _pascal(words: tuple[str, ...]) -> str:
    # Acronyms upper case, unless that would glue two words into one that parses differently.
    rendered = [_word_pascal(w, acronyms=True) for w in words]
    if split_words("".join(rendered)) == words:
        return "".join(rendered)
    for i, word in enumerate(words):
        rendered[i] = _word_pascal(word, acronyms=False)
        if split_words("".join(rendered)) == words:
            break
    return "".join(rendered)


def parse_name(raw: str) -> NodeName:
    """Validate ``raw`` (any case) as a node name and return its words.

    Raises:
        InvalidNameError: the name is empty, too long, has a path separator, ``..``, non-ASCII or punctuation,
            starts with a digit, is a Python keyword, shadows a standard-library or infra module, or does not
            round-trip; the message says why and proposes a valid name.
    """
    problem = _problem(raw)
    if problem is not None:
        suggestion = suggest_name(raw)
        hint = (
            f"; try `{suggestion}`" if suggestion else "; use letters, digits and underscores, such as `vault_adapter`"
        )
        raise InvalidNameError(
            f"invalid node name {raw!r}: {problem}{hint}",
            code="gen.name.invalid",
            details={"name": raw, "reason": problem, "suggestion": suggestion},
        )
    return NodeName(split_words(raw.strip()))


def _control_problem(raw: str) -> str | None:
    """Name the first control character of ``raw`` (a newline would otherwise be stripped away or printed raw)."""
    for char in raw:
        if unicodedata.category(char) == "Cc":
            name = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
            return f"it contains {name}; a name is one line of letters, digits, `_`, `-`, `.` or spaces"
    return None


def _problem(raw: str) -> str | None:
    control = _control_problem(raw)
    if control is not None:
        return control
    text = raw.strip()
    if not text:
        return "it is empty"
    if "/" in text or "\\" in text:
        return "it contains a path separator"
    if ".." in text:
        return "it contains `..`"
    if not _ALLOWED.fullmatch(text):
        bad = sorted({c for c in text if not _ALLOWED.fullmatch(c)})
        return f"it contains {', '.join(repr(c) for c in bad)} (only ASCII letters, digits, `_`, `-`, `.` and spaces)"
    words = split_words(text)
    if not words:
        return "it has no letters"
    if words[0][0].isdigit():
        return "it starts with a digit, which no Python package or class name may"
    name = NodeName(words)
    if len(name.snake) > MAX_NAME_LENGTH:
        return f"it is {len(name.snake)} characters as snake_case, more than {MAX_NAME_LENGTH}"
    if keyword.iskeyword(name.snake) or keyword.issoftkeyword(name.snake):
        return f"`{name.snake}` is a Python keyword"
    if name.snake in _STDLIB:
        return f"`{name.snake}` would shadow the standard-library module of that name"
    if name.snake in _RESERVED:
        return f"`{name.snake}` is reserved (an infra package, a library generated nodes import, or a test folder)"
    if name.snake in _TOOLS:
        return f"`{name.snake}` would shadow the tool or start-up hook of that name once the node is installed"
    for form in (name.snake, name.pascal, name.camel, name.kebab, name.constant):
        if split_words(form) != words:
            return f"its words {list(words)} do not survive the {form!r} spelling (ambiguous letters or digits)"
    return None


def suggest_name(raw: str) -> str | None:
    """Propose a valid snake_case name close to ``raw``, or ``None`` when nothing usable is left."""
    text = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", " ", text)
    words = [w for w in split_words(text) if w]
    while words and words[0][0].isdigit():
        words[0] = words[0].lstrip("0123456789")
        if not words[0]:
            words.pop(0)
    if not words:
        return None
    snake = "_".join(words)
    reserved = snake in _STDLIB or snake in _RESERVED or snake in _TOOLS
    if keyword.iskeyword(snake) or keyword.issoftkeyword(snake) or reserved:
        words.append("node")
    while len("_".join(words)) > MAX_NAME_LENGTH and len(words) > 1:
        words.pop()
    for joined in ("_".join(words), "".join(words)):
        candidate = joined[:MAX_NAME_LENGTH].rstrip("_")
        if _problem(candidate) is None:
            return NodeName(split_words(candidate)).snake  # canonical: digits stay with the word before them
    return None
