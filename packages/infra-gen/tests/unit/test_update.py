"""check and update: template changes merged three ways, user edits kept, conflicts marked in place."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra_gen.errors import NotGeneratedError
from infra_gen.generator import BUILTIN_TEMPLATES, NodeGenerator
from infra_gen.update import check_node, merge_text, update_node

HANDLER = "compute/{{cookiecutter.project_dir}}/src/{{cookiecutter.package_name}}/handler.py.jinja"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A private copy of the built-in templates that a test may change (a 'newer' template)."""
    copy = tmp_path / "templates"
    shutil.copytree(BUILTIN_TEMPLATES, copy)
    return copy


@pytest.fixture
def node(tmp_path: Path, templates: Path) -> Path:
    result = NodeGenerator(tmp_path / "out", template_dir=templates).generate_node("compute", "order_totals")
    return result.project_dir


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


class TestCheck:
    def test_up_to_date_then_behind(self, node: Path, templates: Path) -> None:
        assert check_node(node, template_dir=templates).up_to_date
        edit(templates / HANDLER, "Edit this.", "Edit this; keep it pure.")
        report = check_node(node, template_dir=templates)
        assert not report.up_to_date
        assert report.template_changes == ("src/order_totals/handler.py",)

    def test_reports_local_edits(self, node: Path, templates: Path) -> None:
        (node / "README.md").write_text("mine\n")
        report = check_node(node, template_dir=templates)
        assert report.up_to_date and report.local_edits == ("README.md",)

    def test_not_generated(self, tmp_path: Path) -> None:
        with pytest.raises(NotGeneratedError, match=r"no \.infra-gen\.json"):
            check_node(tmp_path)


class TestUpdate:
    def test_template_change_on_different_lines_merges_cleanly(self, node: Path, templates: Path) -> None:
        handler = node / "src/order_totals/handler.py"
        edit(handler, "    values = (item.strip()", "    # user: strip first\n    values = (item.strip()")
        edit(templates / HANDLER, "Edit this.", "Edit this; keep it pure.")
        result = update_node(node, template_dir=templates)
        text = handler.read_text()
        assert result.outcomes["src/order_totals/handler.py"] == "merged"
        assert "# user: strip first" in text and "keep it pure" in text
        assert "<<<<<<<" not in text
        assert check_node(node, template_dir=templates).up_to_date

    def test_same_line_conflict_keeps_both_sides_in_place(self, node: Path, templates: Path) -> None:
        handler = node / "src/order_totals/handler.py"
        edit(handler, "Edit this.", "Edit this, says the user.")
        edit(templates / HANDLER, "Edit this.", "Edit this, says the template.")
        result = update_node(node, template_dir=templates)
        text = handler.read_text()
        assert result.conflicts == ["src/order_totals/handler.py"]
        assert "<<<<<<< yours" in text and ">>>>>>> template" in text and "||||||| base" in text
        assert "says the user" in text and "says the template" in text
        assert text.count("def transform") == 1

    def test_untouched_files_take_the_template_and_edited_ones_are_kept(self, node: Path, templates: Path) -> None:
        (node / "README.md").write_text("my readme\n")
        readme = templates / "_common/{{cookiecutter.project_dir}}/README.md.jinja"
        edit(readme, "## Development", "## Hacking")
        edit(templates / HANDLER, "Edit this.", "Edit this; keep it pure.")
        result = update_node(node, template_dir=templates)
        readme_text = (node / "README.md").read_text()
        assert result.outcomes["README.md"] == "conflict"  # the user rewrote the whole file
        assert "my readme" in readme_text and "## Usage" in readme_text
        assert result.outcomes["src/order_totals/handler.py"] == "theirs"
        assert "keep it pure" in (node / "src/order_totals/handler.py").read_text()

    def test_new_and_removed_template_files(self, node: Path, templates: Path) -> None:
        top = templates / "_common/{{cookiecutter.project_dir}}"
        (top / "NOTICE.md.jinja").write_text("# {{ cookiecutter.dist_name }}\n")
        (top / ".gitignore").unlink()
        result = update_node(node, template_dir=templates)
        assert (node / "NOTICE.md").read_text() == "# order-totals\n"
        assert not (node / ".gitignore").exists()
        assert result.outcomes["NOTICE.md"] == "added" and result.outcomes[".gitignore"] == "removed"

    def test_dry_run_writes_nothing(self, node: Path, templates: Path) -> None:
        edit(templates / HANDLER, "Edit this.", "Edit this; keep it pure.")
        before = {p: p.read_bytes() for p in node.rglob("*") if p.is_file()}
        result = update_node(node, template_dir=templates, dry_run=True)
        assert {p: p.read_bytes() for p in node.rglob("*") if p.is_file()} == before
        assert "src/order_totals/handler.py" in {f.path for f in result.plan.writes}

    def test_crlf_checkout_merges_without_whole_file_conflict(self, node: Path, templates: Path) -> None:
        handler = node / "src/order_totals/handler.py"
        text = handler.read_text().replace("    values = (item.strip()", "    # mine\n    values = (item.strip()")
        handler.write_bytes(text.replace("\n", "\r\n").encode())
        edit(templates / HANDLER, "Edit this.", "Edit this; keep it pure.")
        result = update_node(node, template_dir=templates)
        merged = handler.read_bytes()
        assert result.outcomes["src/order_totals/handler.py"] == "merged"
        assert b"# mine\r\n" in merged and b"keep it pure" in merged
        assert b"\n" not in merged.replace(b"\r\n", b"")

    def test_binary_conflict_keeps_yours_and_puts_the_template_beside_it(self, tmp_path: Path, templates: Path) -> None:
        top = templates / "_common/{{cookiecutter.project_dir}}"
        (top / "logo.png").write_bytes(b"\x89PNG\x00v1")
        node = NodeGenerator(tmp_path / "o2", template_dir=templates).generate_node("compute", "order_totals")
        logo = node.project_dir / "logo.png"
        logo.write_bytes(b"\x89PNG\x00mine")
        (top / "logo.png").write_bytes(b"\x89PNG\x00v2")
        result = update_node(node.project_dir, template_dir=templates)
        assert logo.read_bytes() == b"\x89PNG\x00mine"
        assert (node.project_dir / "logo.png.infra-gen-new").read_bytes() == b"\x89PNG\x00v2"
        assert result.conflicts == ["logo.png"]


class TestContractChanges:
    def test_a_step_added_to_the_contract_reaches_the_handler_and_keeps_edits(self, tmp_path: Path) -> None:
        from infra_models import load_contract

        node = NodeGenerator(tmp_path).generate_node("orchestrator", "order_saga").project_dir
        handler = node / "src/order_saga/handler.py"
        edit(handler, '"""Do the work."""', '"""Do the work: charge the card."""')
        contract_file = node / "src/order_saga/contract.yaml"
        edit(contract_file, "- name: confirm", "- name: notify\n  timeout_seconds: 3.0\n- name: confirm")
        result = update_node(node, contract=load_contract(contract_file))
        text = handler.read_text()
        assert result.conflicts == []
        assert "async def step_notify" in text and "async def compensate_notify" in text
        assert "charge the card" in text
        assert text.index("step_execute") < text.index("step_notify") < text.index("step_confirm")

    def test_contract_of_another_node_is_refused(self, node: Path) -> None:
        from infra_gen.answers import build_contract
        from infra_gen.errors import InvalidAnswerError

        with pytest.raises(InvalidAnswerError, match="holds `order_totals`"):
            update_node(node, contract=build_contract("compute", "other_node"))


class TestMergeText:
    def test_missing_final_newline_still_gets_markers_on_their_own_lines(self) -> None:
        merged, conflicted = merge_text("a\nb", "a\nB", "a\nC")
        assert conflicted
        assert merged == "a\n<<<<<<< yours\nB\n||||||| base\nb\n=======\nC\n>>>>>>> template\n"
