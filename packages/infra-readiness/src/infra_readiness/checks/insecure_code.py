"""SEC-003: insecure code found by bandit, run as a library on the node's own source (never its tests).

bandit (PyCQA) knows the insecure calls: ``pickle.loads``, ``yaml.load`` with an unsafe loader, ``eval``, MD5/SHA1
for security, shell injection, ``requests`` without a timeout, and about seventy more. Each finding keeps bandit's
rule id (``B301``) and line. bandit parses files itself with this interpreter's ``ast``; here it is handed the
trees the checks already parsed, so files in 3.12+ syntax are scanned too. A line bandit should not flag takes
bandit's own ``# nosec B301`` marker (with the rule id, and a reason beside it), or ruff's ``# noqa: S301``
(ruff's flake8-bandit rules carry bandit's numbers).
"""

from __future__ import annotations

import ast
import logging
import re
import threading
import tokenize
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from infra_models.enums import Severity
from infra_models.readiness import CheckCategory, CheckStatus, Finding, ReadinessLevel
from infra_readiness.checks._declared import MISSING, missing_extra, per_file, remember, remembered
from infra_readiness.context import NodeContext
from infra_readiness.plugin import Outcome, check

__all__ = ["CHECKS", "bandit_issues", "insecure_code_absent"]

#: bandit's ranks that fail the check; LOW severity or LOW confidence are left to the team's own bandit run.
_GATING = frozenset({"MEDIUM", "HIGH"})
#: Substrings of what bandit's medium- and high-severity rules look for: modules, calls, settings, SQL verbs. A file
#: that mentions none of them cannot raise a gating issue, so it is not parsed or handed to bandit: most files of a
#: large tree are skipped this way (on omnibase_core: the same gating issues as bandit on every file). Words of rules
#: that gate only with a second word are paired below (requests/httpx with ``verify``: B501; subprocess with
#: ``shell``: B602); the rest of those modules' rules (B113, B603, B604, B606, B607) never gate.
_BANDIT_WORDS = (
    "pickle", "marshal", "shelve", "dill", "eval(", "exec(", "Crypto", "algorithms.", "ECB", "os.system", "popen",
    "getoutput", "urllib.request", "urlopen", "urlretrieve", "URLopener", "HTTPSConnection", "mktemp", "tempnam",
    "tmpnam", "xml", "telnet", "ftplib", "ssl_version", "wrap_socket", "SSLv", "PROTOCOL_TLSv1", "TLSv1_METHOD",
    "TLSv1_1_METHOD", "_create_unverified_context", "generate_private_key", "METHOD_CRYPT", "METHOD_BLOWFISH",
    "paramiko", "jinja2", "mako", "mark_safe", "SafeString", "markupsafe", "autoescape", "chmod", "extractall",
    "pyghmi", "wsgiref", "snmp", "torch", "from_pretrained", "hf_hub", "huggingface", "RawSQL", ".extra(",
    "logging.config", "nosec",
    "/tmp", "/var/tmp", "/dev/shm", "0.0.0.0",  # noqa: S104, S108  # nosec B104, B108 - words searched for
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f",  # B613
)  # fmt: skip
#: Weak hash names (B303, B324), read case-insensitively as bandit does (``hashes.MD5``, ``hashlib.new("SHA1")``).
_HASH_WORDS = ("md5", "md4", "sha1")
_SETTINGS = re.compile(r"\b(?:shell|debug)\s*=\s*True")
#: The statement shapes of bandit's B608 (``select ... from``, ``update ... set``), on the lower-cased text.
_SELECT = re.compile(r"\bselect\s[^;]*?\bfrom\s")
_UPDATE = re.compile(r"\bupdate\s+[\w.\"`]+\s+set\s")
_YAML_LOAD = re.compile(r"\.load\(|\bload\b[^\n]*import|import[^\n]*\bload\b|unsafe_load|full_load")


def _file_names_gated_rule(node: NodeContext, path: Path) -> bool:
    return _names_gated_rule(node.text(path) or "")


def _names_gated_rule(text: str) -> bool:
    """True when ``text`` mentions something a gating bandit rule looks for (substring tests, done in C)."""
    if any(word in text for word in _BANDIT_WORDS):
        return True
    if ("requests" in text or "httpx" in text) and "verify" in text:  # B501 verify=False
        return True
    if "shell" in text and ("subprocess" in text or _SETTINGS.search(text) is not None):  # B602 shell=<not False>
        return True
    if "debug" in text and _SETTINGS.search(text) is not None:  # B201
        return True
    if "yaml" in text and _YAML_LOAD.search(text) is not None:
        return True
    lowered = text.lower()  # bandit's SQL rule (B608) reads strings case-insensitively
    return (
        any(word in lowered for word in _HASH_WORDS)
        or (("sha'" in lowered or 'sha"' in lowered) and "hashlib" in text)
        or ("select" in lowered and _SELECT.search(lowered) is not None)
        or "insert into" in lowered
        or ("update" in lowered and _UPDATE.search(lowered) is not None)
        or "delete from" in lowered
    )


#: Rules whose concern another check owns (hard-coded passwords: SEC-001, which knows placeholders and enums).
_OWNED_ELSEWHERE = frozenset({"B105", "B106", "B107"})


#: bandit's low-severity rules, and the ones another check owns, are not run at all (they never gate here, and the
#: hard-coded-password rules look at every string comparison: most of bandit's time on a large tree).
_NOT_RUN = frozenset(
    {"B101", "B105", "B106", "B107", "B110", "B112", "B113", "B311", "B403", "B404", "B405", "B406", "B407", "B603",
     "B604", "B606", "B607"}
)  # fmt: skip
_PROFILE = {"include": set(), "exclude": set(_NOT_RUN)}


def bandit_issues(trees: dict[Path, ast.Module]) -> list[Any]:
    """bandit's issues for the given parsed files (paths must exist: bandit reads them for ``nosec`` markers)."""
    with warnings.catch_warnings():  # stevedore, loading bandit's plugins, warns about its own deprecated argument
        warnings.simplefilter("ignore")
        from bandit.core import config as b_config  # type: ignore[import-untyped]
        from bandit.core import manager as b_manager
        from bandit.core import node_visitor as b_node_visitor

    class _TreeVisitor(b_node_visitor.BanditNodeVisitor):  # type: ignore[misc]
        tree: ast.Module

        def process(self, data: bytes) -> Any:
            self.generic_visit(self.tree)  # the tree parsed once for every check, 3.12+ syntax included
            self.context = {"file_data": self.fdata, "filename": self.fname, "lineno": 0, "linerange": [0, 1]}
            self.context["col_offset"] = 0
            self.update_scores(self.tester.run_tests(self.context, "File"))
            return self.scores

    class _TreeManager(b_manager.BanditManager):  # type: ignore[misc]
        def _parse_file(self, fname: str, fdata: Any, new_files_list: list[str]) -> None:
            # As bandit's own, without counting lines of code (a report metric) and tokenizing only files that
            # carry a `nosec` marker at all: the tree is already parsed, so nothing else reads the file here.
            data = fdata.read()
            self.metrics.begin(fname)
            nosec_lines: dict[int, Any] = {}
            if b"nosec" in data:
                fdata.seek(0)
                try:
                    for kind, value, (line, _), _, _ in tokenize.tokenize(fdata.readline):
                        if kind == tokenize.COMMENT:
                            nosec_lines[line] = b_manager._parse_nosec_comment(value)
                except tokenize.TokenError:
                    pass
            score = self._execute_ast_visitor(fname, fdata, data, nosec_lines)
            self.scores.append(score)
            self.metrics.count_issues([score])

        def _execute_ast_visitor(self, fname: str, fdata: Any, data: bytes, nosec_lines: Any) -> Any:
            visitor = _TreeVisitor(fname, fdata, self.b_ma, self.b_ts, self.debug, nosec_lines, self.metrics)
            visitor.tree = trees[Path(fname)]
            score = visitor.process(data)
            self.results.extend(visitor.tester.results)
            return score

    log = logging.getLogger("bandit")
    level = log.level
    log.setLevel(logging.CRITICAL)  # bandit logs every file it reads; the findings are what matter here
    try:
        manager = _TreeManager(b_config.BanditConfig(), "file", quiet=True, profile=_PROFILE)
        manager.files_list = sorted(str(path) for path in trees)
        manager.run_tests()
        return list(manager.get_issue_list())
    finally:
        log.setLevel(level)


@dataclass(frozen=True)
class _Issue:
    test_id: str
    test: str
    text: str
    severity: str
    confidence: str
    lineno: int
    fname: str


_BANDIT_LOCK = threading.Lock()


def _issues(node: NodeContext, paths: list[Path]) -> tuple[list[_Issue], dict[Path, ast.Module]]:
    """bandit's issues for ``paths``: files already scanned in this process (by another node) are not rescanned."""
    found: list[_Issue] = []
    todo: dict[Path, ast.Module] = {}
    scanned: dict[Path, ast.Module] = {}
    for path in paths:
        known = remembered("bandit", path)
        if known is not MISSING:
            found += known
            scanned[path] = _PARSED
            continue
        tree = node.tree(path)
        if tree is not None:
            todo[path] = tree
    if todo:
        with _BANDIT_LOCK:  # bandit's manager keeps global state: one scan at a time
            raw = bandit_issues(todo)
        by_file: dict[Path, list[_Issue]] = {path: [] for path in todo}
        for issue in raw:
            item = _Issue(
                str(issue.test_id), str(issue.test), str(issue.text), str(issue.severity), str(issue.confidence),
                issue.lineno if isinstance(issue.lineno, int) else 0, str(issue.fname),
            )  # fmt: skip
            by_file.setdefault(Path(issue.fname), []).append(item)
        for path, items in by_file.items():
            remember("bandit", path, items)
            found += items
        scanned.update(todo)
    return found, scanned


#: Stands for "parsed earlier" in the scanned map (the tree itself is not needed again).
_PARSED = ast.Module(body=[], type_ignores=[])


def _safe_yaml_loader(tree: ast.Module | None, line: int) -> bool:
    """bandit's B506 cannot read ``Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)``: safe loaders only."""
    if tree is None:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno == line:
            for keyword in node.keywords:
                if keyword.arg == "Loader":
                    names = {
                        str(sub.value)
                        if isinstance(sub, ast.Constant)
                        else sub.id
                        if isinstance(sub, ast.Name)
                        else sub.attr
                        for sub in ast.walk(keyword.value)
                        if isinstance(sub, ast.Constant | ast.Name | ast.Attribute)
                    }
                    loaders = {n for n in names if n.endswith("Loader")}
                    return bool(loaders) and all(n.endswith(("SafeLoader", "BaseLoader")) for n in loaders)
    return False


def _reviewed_by_ruff(text: str, line: int, test_id: str) -> bool:
    """A ``# noqa: S608`` on the line: ruff's flake8-bandit rule S608 is bandit's B608, already reviewed there."""
    lines = text.splitlines()
    if not (1 <= line <= len(lines)) or "noqa" not in lines[line - 1]:
        return False
    codes = re.search(r"noqa:\s*([A-Z0-9, ]+)", lines[line - 1])
    return codes is not None and f"S{test_id[1:]}" in {c.strip() for c in codes.group(1).split(",")}


@check(
    id="SEC-003",
    title="No insecure code (bandit)",
    category=CheckCategory.SECURITY,
    gates=ReadinessLevel.STAGING,
    severity=Severity.HIGH,
    remediation=(
        "Fix each bandit finding: yaml.safe_load, json instead of pickle, ast.literal_eval instead of eval, "
        "hashlib.sha256 (or a password hash such as argon2/bcrypt), subprocess without shell=True, timeouts on "
        "requests. A reviewed line takes `# nosec B301` with a reason."
    ),
)
def insecure_code_absent(node: NodeContext) -> Outcome:
    """bandit finds no medium- or high-severity issue (at medium or high confidence) in the node's source."""
    missing = missing_extra("bandit", "security")
    if missing:
        return Outcome.errored(missing)
    candidates = [
        path
        for path in node.source_files
        if per_file("bandit-words", path, partial(_file_names_gated_rule, node, path))
    ]
    issues, trees = _issues(node, candidates)
    findings: list[Finding] = []
    low = 0
    for issue in issues:
        if (
            issue.test_id in _OWNED_ELSEWHERE
            or (issue.test_id == "B506" and _safe_yaml_loader(node.tree(Path(issue.fname)), issue.lineno))
            or _reviewed_by_ruff(node.text(Path(issue.fname)) or "", issue.lineno, issue.test_id)
        ):
            continue
        if issue.severity not in _GATING or issue.confidence not in _GATING:
            low += 1
            continue
        findings.append(
            Finding(
                message=f"{issue.test_id} {issue.test}: {issue.text}",
                severity=Severity.HIGH if issue.severity == "HIGH" else Severity.MEDIUM,
                file=node.rel(Path(issue.fname)),
                line=issue.lineno if isinstance(issue.lineno, int) and issue.lineno >= 1 else None,
            )
        )
    unparsed = [
        Finding(message="not scanned: not valid Python", severity=Severity.INFO, file=node.rel(path))
        for path in node.source_files
        if path not in trees
        and per_file("bandit-words", path, partial(_file_names_gated_rule, node, path))
        and node.text(path) is not None
    ]
    noted = f"; {low} low-severity or low-confidence note(s) not gating" if low else ""
    if findings:
        return Outcome.failed(f"bandit: {len(findings)} insecure construct(s){noted}", [*findings, *unparsed])
    scanned = f"{len(trees)} of {len(node.source_files)} file(s) (the others name nothing bandit gates on)"
    return Outcome(CheckStatus.PASS, f"bandit: no issue in {scanned}{noted}", tuple(unparsed))


CHECKS = (insecure_code_absent,)
