"""`api-check` with griffe: public API of `__all__` against the last release."""

from __future__ import annotations

import json

INIT = '''\
"""infra-gen."""

__all__ = [{names}]


def greet(name: str) -> str:
    """Say hello."""
    return name


def farewell(name: str, loud: bool = False) -> str:
    """Say goodbye."""
    return name
'''


def _api(run, repo, *args):
    code, out, err = run(repo, "api-check", *args, "--format", "json")
    return code, json.loads(out) if out else None, err


class TestApiCheck:
    def test_no_release_passes_and_says_so(self, repo, run):
        code, out, _ = run(repo, "api-check", "infra-gen")
        assert code == 0
        assert "no release yet" in out

    def test_removed_public_function_is_caught(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.1.0")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet"'))
        code, data, _ = _api(run, repo, "infra-gen")
        assert code == 1
        report = data[0]
        assert report["last_release"]["source"] == "tag infra-gen-v0.1.0"
        assert any("farewell" in b for b in report["breaking"])
        assert "need a minor bump" in report["problem"]
        # the bump the 0.x policy asks for makes it pass
        assert run(repo, "bump", "infra-gen", "minor")[0] == 0
        assert _api(run, repo, "infra-gen")[0] == 0

    def test_signature_break_and_additions(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v1.0.0")
        repo.write("packages/infra-gen/src/infra_gen/__about__.py", '__version__ = "1.1.0"\n')
        changed = INIT.format(names='"greet", "farewell", "hello"').replace("loud: bool = False", "loud: bool")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", changed + "\n\ndef hello() -> None:\n    pass\n")
        code, data, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert data[0]["added"] == ["hello"]
        assert any("loud" in b for b in data[0]["breaking"])
        assert "need a major bump" in data[0]["problem"]

    def test_compatible_change_passes(self, repo, run):
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet"'))
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.1.0")
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", INIT.format(names='"greet", "farewell"'))
        code, data, _ = _api(run, repo, "infra-gen")
        assert code == 0
        assert data[0]["breaking"] == []

    def test_all_needs_package_or_flag(self, repo, run):
        code, _, err = run(repo, "api-check")
        assert code == 2
        assert "name one PACKAGE or pass --all" in err

    def test_reexported_class_member_removal_is_caught(self, repo, run):
        init = '"""infra-gen."""\n\nfrom infra_gen.models import Thing\n\n__all__ = ["Thing"]\n'
        repo.write("packages/infra-gen/src/infra_gen/__init__.py", init)
        thing = "class Thing:\n    size: int = 1\n    name: str = ''\n"
        repo.write("packages/infra-gen/src/infra_gen/models.py", thing)
        repo.write("packages/infra-gen/src/infra_gen/other.py", "def helper() -> None:\n    pass\n")
        repo.commit("api")
        repo.git("tag", "infra-gen-v0.3.0")
        repo.write("packages/infra-gen/src/infra_gen/models.py", "class Thing:\n    size: int = 1\n")
        repo.write("packages/infra-gen/src/infra_gen/other.py", "")  # not in __all__: not public API
        code, data, _ = _api(run, repo, "infra-gen")
        assert code == 1
        assert data[0]["breaking"] == ["infra_gen.models.Thing.name: Public object was removed"]
