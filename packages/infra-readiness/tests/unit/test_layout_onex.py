"""ONEX nodes rated where they live: a node folder inside a service package, its tests in the service's test tree.

Every tree here is written by the test (a small ONEX service in the real declarative layout), never copied.
"""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from infra_models import CheckStatus, NodeKind, ReadinessLevel
from infra_readiness import check_path, check_tree
from infra_readiness.api import find_nodes
from infra_readiness.context import NodeContext, NodeOptions, RunCache
from infra_readiness.runner import check_contexts

TODAY = date(2026, 11, 28)
SERVICE = "acme_svc"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def write_service(root: Path, *, dependencies: str = '"omnibase-core>=0.47,<0.48"') -> Path:
    """A service package: pyproject (depending on omnibase-core), README, CHANGELOG, src/<service>/nodes/."""
    write(
        root / "pyproject.toml",
        f"""
        [project]
        name = "acme-svc"
        version = "0.1.0"
        description = "Acme service: ONEX nodes."
        requires-python = ">=3.12"
        dependencies = [{dependencies}]
        """,
    )
    write(
        root / "README.md",
        """
        # acme-svc

        ONEX nodes of the Acme service.

        ## Installation

        pip install acme-svc

        ## Usage

        Run the nodes with the ONEX runtime.

        ## Configuration

        Settings come from the environment.
        """,
    )
    write(root / "CHANGELOG.md", "# Changelog\n\n## Unreleased\n\n- First nodes.\n")
    write(root / "src" / SERVICE / "__init__.py", '"""Acme service."""\n')
    write(root / "src" / SERVICE / "nodes" / "__init__.py", '"""Nodes."""\n')
    return root


_BASES = {
    NodeKind.EFFECT: ("node_effect", "NodeEffect"),
    NodeKind.COMPUTE: ("node_compute", "NodeCompute"),
    NodeKind.REDUCER: ("node_reducer", "NodeReducer"),
    NodeKind.ORCHESTRATOR: ("node_orchestrator", "NodeOrchestrator"),
}


def _pascal(folder: str) -> str:
    return "".join(part.capitalize() for part in folder.split("_"))


def write_node(
    service: Path,
    name: str,
    kind: NodeKind,
    *,
    tests: str | None = "folder",
    class_body: str = '    """Declarative: behaviour comes from contract.yaml."""\n\n'
    "    def __init__(self, container):\n        super().__init__(container)\n",
    node_py: bool = True,
    handler_module: str | None = None,
    contract: str | None = None,
) -> Path:
    """One node ``node_<name>_<kind>`` in the real declarative layout; ``tests`` says where its tests live."""
    folder = f"node_{name}_{kind.value.lower()}"
    node = service / "src" / SERVICE / "nodes" / folder
    module = f"{SERVICE}.nodes.{folder}"
    handler = handler_module or f"{module}.handlers.handler_{name}"
    timeouts = "io_operations:\n  - operation: fetch\n    timeout_ms: 5000\n" if kind is NodeKind.EFFECT else ""
    write(
        node / "contract.yaml",
        contract
        or f"""
name: "{folder}"
contract_name: "{folder}"
node_type: "{kind.value}_GENERIC"
contract_version:
  major: 1
  minor: 0
  patch: 0
node_version: "1.0.0"
description: "{name} {kind.value.lower()} node."
input_model:
  name: "Model{_pascal(name)}Input"
  module: "{module}.models.model_{name}"
output_model:
  name: "Model{_pascal(name)}Output"
  module: "{module}.models.model_{name}"
event_bus:
  subscribe_topics: ["onex.cmd.acme-svc.{name}.v1"]
  publish_topics: ["onex.evt.acme-svc.{name}.v1"]
handler_routing:
  routing_strategy: "operation_match"
  handlers:
    - operation: "{name}.run"
      handler:
        name: "Handler{_pascal(name)}"
        module: "{handler}"
error_handling:
  retry_policy:
    max_retries: 3
{timeouts}capabilities: [{{name: "{name}"}}]
""",
    )
    write(node / "__init__.py", f'"""{folder}."""\n')
    module_name, base = _BASES[kind]
    if node_py:
        write(
            node / "node.py",
            f'"""Node{_pascal(name)}: declarative."""\n\nfrom __future__ import annotations\n\n'
            f"from omnibase_core.nodes.{module_name} import {base}\n\n\n"
            f"class Node{_pascal(name)}{kind.value.capitalize()}({base}):\n{class_body}",
        )
    write(node / "handlers" / "__init__.py", '"""Handlers."""\n')
    write(
        node / "handlers" / f"handler_{name}.py",
        f'''
        """Handler{_pascal(name)}: does the node's work."""

        from __future__ import annotations

        import asyncio
        import logging

        logger = logging.getLogger(__name__)


        class Handler{_pascal(name)}:
            """Runs `{name}.run`."""

            async def handle(self, payload: dict[str, object]) -> dict[str, object]:
                """Answer the payload, bounded in time."""
                logger.info("handling %s", payload)
                return await asyncio.wait_for(self._answer(payload), timeout=5)

            async def _answer(self, payload: dict[str, object]) -> dict[str, object]:
                return {{"ok": True, **payload}}
        ''',
    )
    write(node / "models" / "__init__.py", '"""Models."""\n')
    write(
        node / "models" / f"model_{name}.py",
        f'''
        """Models of {name}."""


        class Model{_pascal(name)}Input:
            """Input."""


        class Model{_pascal(name)}Output:
            """Output."""
        ''',
    )
    body = f'''
        """Tests of {folder}."""

        from {module}.handlers.handler_{name} import Handler{_pascal(name)}


        def test_handler_answers():
            assert Handler{_pascal(name)}.__name__ == "Handler{_pascal(name)}"
        '''
    target = {
        "folder": service / "tests" / "unit" / "nodes" / folder / f"test_handler_{name}.py",
        "integration": service / "tests" / "integration" / "nodes" / folder / "test_flow.py",
        "file": service / "tests" / "unit" / "nodes" / f"test_{folder}.py",
        "import": service / "tests" / "unit" / f"test_{name}_behaviour.py",
        "own": node / "tests" / "test_own.py",
    }
    if tests is not None:
        write(target[tests], body)
    return node


def _status(report, check_id):
    return next(r for r in report.checks if r.check_id == check_id)


class TestNodeFolderInsideAService:
    def test_package_facts_come_from_the_enclosing_project(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "vault_reader", NodeKind.EFFECT)
        report = check_path(node, today=TODAY)
        assert report.kind is NodeKind.EFFECT
        assert report.name == "node_vault_reader_effect"
        for check_id in ("CON-001", "PKG-001", "PKG-003", "DOC-001", "DOC-003"):
            assert _status(report, check_id).status is CheckStatus.PASS, (check_id, _status(report, check_id).message)
        assert "enclosing project" in _status(report, "PKG-001").message

    def test_tests_found_in_each_onex_layout(self, tmp_path):
        service = write_service(tmp_path / "svc")
        nodes = {
            layout: write_node(service, f"n_{layout}", NodeKind.COMPUTE, tests=layout)
            for layout in ("folder", "integration", "file", "import", "own")
        }
        bare = write_node(service, "n_bare", NodeKind.COMPUTE, tests=None)
        cache = RunCache()
        for layout, node in nodes.items():
            found = NodeContext(node, cache=cache).test_files
            assert len(found) == 1, (layout, found)
        assert NodeContext(bare, cache=cache).test_files == []

    def test_tests_of_a_sibling_node_are_not_taken(self, tmp_path):
        service = write_service(tmp_path / "svc")
        write_node(service, "alpha", NodeKind.COMPUTE, tests="folder")
        beta = write_node(service, "alpha_two", NodeKind.COMPUTE, tests=None)  # a name that starts like alpha's
        assert NodeContext(beta).test_files == []

    def test_import_uses_the_dotted_module_and_a_missing_declared_dependency_is_not_judged(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "vault_reader", NodeKind.EFFECT)
        (service / "src" / SERVICE / "__init__.py").write_text("import omnibase_core\n")  # not installed here
        result = _status(check_path(node, today=TODAY), "PKG-002")
        assert result.status is CheckStatus.SKIP
        assert "acme_svc.nodes.node_vault_reader_effect" in result.message
        assert "omnibase_core" in result.message and "--python" in result.message

    def test_an_undeclared_missing_module_fails_the_import(self, tmp_path):
        service = write_service(tmp_path / "svc", dependencies="")
        node = write_node(service, "vault_reader", NodeKind.EFFECT)
        (service / "src" / SERVICE / "__init__.py").write_text("import omnibase_core\n")
        result = _status(check_path(node, today=TODAY), "PKG-002")
        assert result.status is CheckStatus.FAIL
        assert "No module named 'omnibase_core'" in result.message

    def test_the_nodes_own_import_error_is_located_in_its_file(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "vault_reader", NodeKind.EFFECT)
        (node / "__init__.py").write_text("x = 1 / 0\n")
        result = _status(check_path(node, today=TODAY), "PKG-002")
        assert result.status is CheckStatus.FAIL
        assert result.findings[0].file == "__init__.py" and result.findings[0].line == 1

    def test_nodes_of_one_service_are_imported_each_when_their_package_imports(self, tmp_path):
        service = write_service(tmp_path / "svc")
        broken = write_node(service, "broken", NodeKind.COMPUTE)
        fine = write_node(service, "fine", NodeKind.COMPUTE)
        (broken / "__init__.py").write_text("raise RuntimeError('broken on purpose')\n")
        reports = {Path(r.path).name: r for r in check_tree(service / "src" / SERVICE / "nodes", recursive=True)}
        assert _status(reports[broken.name], "PKG-002").status is CheckStatus.FAIL
        assert "broken on purpose" in _status(reports[broken.name], "PKG-002").message
        assert _status(reports[fine.name], "PKG-002").status is CheckStatus.PASS

    def test_when_the_services_package_fails_every_node_reports_that_failure(self, tmp_path):
        service = write_service(tmp_path / "svc", dependencies="")
        for name in ("a", "b", "c"):
            write_node(service, name, NodeKind.COMPUTE)
        runs = tmp_path / "runs"
        (service / "src" / SERVICE / "nodes" / "__init__.py").write_text(
            f"open({str(runs)!r}, 'a').write('.')\nimport not_installed_anywhere\n"
        )
        reports = check_tree(service / "src" / SERVICE / "nodes", recursive=True)
        results = [_status(r, "PKG-002") for r in reports]
        assert [r.status for r in results] == [CheckStatus.FAIL] * 3
        assert all("not_installed_anywhere" in r.message for r in results)
        assert all(r.findings[0].file == "../__init__.py" and r.findings[0].line == 2 for r in results)
        assert runs.read_text() == "."  # the nodes package ran once, not once per node

    def test_project_findings_point_at_project_files(self, tmp_path):
        service = write_service(tmp_path / "svc", dependencies='"omnibase-core"')
        node = write_node(service, "vault_reader", NodeKind.EFFECT)
        result = _status(check_path(node, today=TODAY), "PKG-003")
        assert result.status is CheckStatus.FAIL
        assert result.findings[0].file == "../../../../pyproject.toml"


class TestDiscovery:
    def test_recursive_from_the_project_root_lists_the_package_then_its_nodes(self, tmp_path):
        service = write_service(tmp_path / "svc")
        write_node(service, "a", NodeKind.EFFECT)
        write_node(service, "b", NodeKind.REDUCER)
        # Not nodes: a template and a test fixture that happen to hold a contract.yaml.
        write(service / "src" / SERVICE / "templates" / "{{cookiecutter.name}}" / "contract.yaml", "name: x\n")
        write(service / "tests" / "fixtures" / "node_x" / "contract.yaml", "name: x\nkind: EFFECT\n")
        roots = [p.relative_to(service).as_posix() for p, _ in find_nodes(service, recursive=True)]
        assert roots == [".", "src/acme_svc/nodes/node_a_effect", "src/acme_svc/nodes/node_b_reducer"]

    def test_a_stand_alone_package_rates_the_same_at_its_contract_folder(self, tmp_path):
        from infra_readiness.testing import write_node as write_standalone

        root = write_standalone(tmp_path, "price_calc", NodeKind.COMPUTE)
        nested = root / "src" / "price_calc"
        (nested / "contract.yaml").write_bytes((root / "contract.yaml").read_bytes())
        (root / "contract.yaml").unlink()
        at_root = check_path(root, today=TODAY)
        at_contract = check_path(nested, today=TODAY)
        assert at_contract.level is at_root.level
        assert [(r.check_id, r.status) for r in at_contract.checks] == [(r.check_id, r.status) for r in at_root.checks]


def _infra_gen():
    try:
        from infra_gen.generator import NodeGenerator
    except ImportError:
        import importlib.util
        import os

        if os.environ.get("CI") == "true" and importlib.util.find_spec("infra_outbox") is not None:
            pytest.fail("infra-gen is not installed: the generated ONEX node readiness test cannot run in CI")
        pytest.skip("infra-gen is not installed")
    return NodeGenerator


class TestGeneratedNodes:
    @pytest.mark.parametrize("kind", list(NodeKind))
    def test_an_onex_node_generated_into_a_service_reaches_staging_at_its_folder(self, tmp_path, kind):
        service = write_service(tmp_path / "svc")
        result = _infra_gen()(output_dir=service / "src" / SERVICE / "nodes").generate_node(
            kind, f"{kind.value.lower()}_job"
        )
        folder = Path(result.project_dir)
        assert (folder / "contract.yaml").is_file() and (folder / "node.py").is_file(), folder
        report = check_path(folder, today=TODAY)
        assert report.kind is kind
        assert report.level >= ReadinessLevel.STAGING, (report.blockers, report.issues)
        for check_id in ("ONX-001", "ONX-002", "ONX-003", "TST-001"):
            assert _status(report, check_id).status is CheckStatus.PASS, _status(report, check_id).message

    def test_a_stand_alone_generated_node_rates_the_same_at_its_contract_folder(self, tmp_path):
        result = _infra_gen()(output_dir=tmp_path).generate_node(
            NodeKind.EFFECT, "vault_reader", external_system="vault"
        )
        root = Path(result.project_dir)
        contract_folder = next(root.glob("src/*/contract.yaml")).parent
        at_root, at_folder = check_path(root, today=TODAY), check_path(contract_folder, today=TODAY)
        assert at_folder.level is at_root.level >= ReadinessLevel.STAGING
        assert at_folder.blockers == at_root.blockers


class TestAcceptanceShape:
    """The issue's "Done when", on a small service written here: kinds, contracts, tests, levels."""

    def test_recursive_over_the_nodes_folder(self, tmp_path):
        service = write_service(tmp_path / "svc")
        layouts = ["folder", "folder", "integration", "file", "import", "own", "folder", None, None, "folder"]
        kinds = list(NodeKind) * 3
        with_tests = set()
        for index, layout in enumerate(layouts):
            node = write_node(service, f"job{index}", kinds[index], tests=layout)
            if layout is not None:
                with_tests.add(node.name)
        reports = check_tree(service / "src" / SERVICE / "nodes", recursive=True, today=TODAY)
        assert len(reports) == len(layouts)
        assert all(r.kind is not None for r in reports)  # kind recognised: 100 %
        assert all(_status(r, "CON-001").status is CheckStatus.PASS for r in reports)  # contracts: 100 %
        found = {Path(r.path).name for r in reports if _status(r, "TST-001").status is CheckStatus.PASS}
        assert found == with_tests  # tests found for every node that has them, none invented
        assert sum(r.level is ReadinessLevel.NOT_READY for r in reports) == 0


class TestReadOnce:
    def test_each_python_file_is_parsed_at_most_once_per_run(self, tmp_path):
        service = write_service(tmp_path / "svc")
        for index in range(6):
            write_node(service, f"job{index}", NodeKind.EFFECT, tests="import")
        cache = RunCache()
        options = NodeOptions(today=TODAY)
        contexts = [NodeContext(p, options=options, cache=cache) for p, _ in find_nodes(service, recursive=True)]
        check_contexts(contexts)
        python_files = list(service.rglob("*.py"))
        assert 0 < cache.files.parses <= len(python_files)
        assert len(cache._projects) == 1  # one set of project facts for the seven contexts


class TestDeclarativeChecks:
    """ONX-001..003, each tried with the shapes that should fail and the real shapes that should pass."""

    def _rate(self, tmp_path, **kwargs):
        service = write_service(tmp_path / "svc")
        kind = kwargs.pop("kind", NodeKind.EFFECT)
        return service, check_path(write_node(service, "job", kind, **kwargs), today=TODAY)

    def test_a_bare_class_and_a_super_only_init_pass(self, tmp_path):
        for index, body in enumerate(
            ('    """Only a docstring."""\n', "    pass\n", '    """Doc."""\n\n    KIND = "x"\n')
        ):
            _, report = self._rate(tmp_path / str(index), class_body=body)
            assert _status(report, "ONX-001").status is CheckStatus.PASS, body

    def test_a_subscripted_archetype_passes(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.REDUCER)
        text = (node / "node.py").read_text().replace("(NodeReducer)", '(NodeReducer["ModelS", "ModelS"])')
        (node / "node.py").write_text(text)
        assert _status(check_path(node, today=TODAY), "ONX-001").status is CheckStatus.PASS

    def test_a_method_in_the_node_class_is_logic(self, tmp_path):
        body = '    """Doc."""\n\n    def compute(self, x):\n        return x * 2\n'
        _, report = self._rate(tmp_path, class_body=body)
        result = _status(report, "ONX-001")
        assert result.status is CheckStatus.FAIL
        assert [(f.file, f.line) for f in result.findings] == [("node.py", 11)]
        assert "method `compute`" in result.findings[0].message

    def test_an_init_that_does_more_than_call_super_is_logic(self, tmp_path):
        body = "    def __init__(self, container):\n        super().__init__(container)\n        self.cache = {}\n"
        result = _status(self._rate(tmp_path, class_body=body)[1], "ONX-001")
        assert result.status is CheckStatus.FAIL and "__init__" in result.findings[0].message

    def test_a_computed_super_argument_is_logic(self, tmp_path):
        body = "    def __init__(self, container):\n        super().__init__(build(container))\n"
        assert _status(self._rate(tmp_path, class_body=body)[1], "ONX-001").status is CheckStatus.FAIL

    def test_the_wrong_archetype_for_the_node_type_fails(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.EFFECT)
        text = (
            (node / "node.py").read_text().replace("node_effect import NodeEffect", "node_compute import NodeCompute")
        )
        (node / "node.py").write_text(text.replace("(NodeEffect)", "(NodeCompute)"))
        result = _status(check_path(node, today=TODAY), "ONX-001")
        assert result.status is CheckStatus.FAIL and "EFFECT_GENERIC" in result.findings[0].message

    def test_no_node_py_fails(self, tmp_path):
        result = _status(self._rate(tmp_path, node_py=False)[1], "ONX-001")
        assert result.status is CheckStatus.FAIL and "node.py" in result.message

    def test_a_handler_module_that_does_not_exist_fails_naming_it(self, tmp_path):
        missing = f"{SERVICE}.nodes.node_job_effect.handlers.handler_gone"
        result = _status(self._rate(tmp_path, handler_module=missing)[1], "ONX-002")
        assert result.status is CheckStatus.FAIL
        assert missing in result.findings[0].message and "does not exist" in result.findings[0].message

    def test_a_handler_module_without_the_class_fails_naming_both(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.EFFECT)
        handler = node / "handlers" / "handler_job.py"
        handler.write_text(handler.read_text().replace("class HandlerJob:", "class HandlerJobOld:"))
        result = _status(check_path(node, today=TODAY), "ONX-002")
        assert result.status is CheckStatus.FAIL
        assert result.findings[0].file == "handlers/handler_job.py" and "`HandlerJob`" in result.findings[0].message

    def test_a_handler_in_another_distribution_is_listed_not_failed(self, tmp_path):
        result = _status(self._rate(tmp_path, handler_module="omnibase_core.handlers.handler_http")[1], "ONX-002")
        assert result.status is CheckStatus.PASS and "omnibase_core.handlers.handler_http" in result.message

    def test_a_reexported_handler_class_resolves(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.EFFECT, handler_module=f"{SERVICE}.nodes.node_job_effect.handlers")
        (node / "handlers" / "__init__.py").write_text("from .handler_job import HandlerJob as HandlerJob\n")
        assert _status(check_path(node, today=TODAY), "ONX-002").status is CheckStatus.PASS

    def test_handlers_are_read_never_imported(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.EFFECT)
        marker = tmp_path / "imported"
        handler = node / "handlers" / "handler_job.py"
        handler.write_text(handler.read_text() + f"\nopen({str(marker)!r}, 'w').close()\n")
        (service / "src" / SERVICE / "__init__.py").write_text("import omnibase_core\n")  # PKG-002 stops early
        assert _status(check_path(node, today=TODAY), "ONX-002").status is CheckStatus.PASS
        assert not marker.exists()

    def test_an_unknown_default_handler_fails(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.EFFECT)
        contract = node / "contract.yaml"
        contract.write_text(
            contract.read_text().replace("handler_routing:\n", 'handler_routing:\n  default_handler: "ghost"\n')
        )
        result = _status(check_path(node, today=TODAY), "ONX-002")
        assert result.status is CheckStatus.FAIL and "`ghost`" in result.findings[-1].message

    def test_a_relative_default_handler_resolves_in_the_node_folder(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.COMPUTE)
        contract = node / "contract.yaml"
        text = contract.read_text().replace(
            "handler_routing:\n", 'handler_routing:\n  default_handler: "handlers.handler_job:HandlerJob"\n'
        )
        contract.write_text(text)
        result = _status(check_path(node, today=TODAY), "ONX-002")
        assert result.status is CheckStatus.PASS, result.findings

    def test_a_missing_model_module_fails(self, tmp_path):
        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.COMPUTE)
        (node / "models" / "model_job.py").unlink()
        result = _status(check_path(node, today=TODAY), "ONX-003")
        assert result.status is CheckStatus.FAIL
        assert [f.message.split(":")[0] for f in result.findings] == ["input_model", "output_model"]

    def test_not_applicable_to_an_infra_format_contract(self, tmp_path):
        from infra_readiness.testing import write_node as write_standalone

        report = check_path(write_standalone(tmp_path, "price_calc", NodeKind.COMPUTE), today=TODAY)
        for check_id in ("ONX-001", "ONX-002", "ONX-003"):
            assert _status(report, check_id).status is CheckStatus.SKIP


class TestEarlyImport:
    def test_the_import_started_early_is_the_one_the_run_asks_for(self, tmp_path):
        from infra_readiness.early import import_request
        from infra_readiness.runner import _request

        service = write_service(tmp_path / "svc")
        node = write_node(service, "job", NodeKind.EFFECT).resolve()
        early = import_request(node)
        assert early is not None and early == _request(NodeContext(node))
        assert (early.module, early.parent) == (f"{SERVICE}.nodes.node_job_effect", f"{SERVICE}.nodes")
