"""Plans: dry runs write nothing, apply writes exactly the plan, all or nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from infra_gen.errors import ConflictError, StalePlanError, UnsafePathError, WriteError
from infra_gen.generator import NodeGenerator
from infra_gen.plan import Action, apply_plan, build_plan
from infra_gen.render import RenderedFile


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else b"<dir>") for p in sorted(root.rglob("*"))}


class TestDryRun:
    @pytest.mark.parametrize("kind", ["effect", "compute", "reducer", "orchestrator"])
    def test_dry_run_writes_nothing_and_apply_writes_exactly_the_plan(self, tmp_path: Path, kind: str) -> None:
        generator = NodeGenerator(tmp_path)
        before = snapshot(tmp_path)
        result = generator.generate_node(kind, "demo_node", dry_run=True)
        assert snapshot(tmp_path) == before == {}
        assert {f.action for f in result.plan.files} == {Action.CREATE}
        applied = generator.apply(result.plan)
        files = {p: c for p, c in snapshot(tmp_path).items() if c != b"<dir>"}
        assert files == {f.path: f.content for f in result.plan.files}
        assert sorted(applied.written) == sorted(files)

    def test_second_run_is_identical(self, tmp_path: Path) -> None:
        generator = NodeGenerator(tmp_path)
        generator.generate_node("compute", "demo_node")
        again = generator.generate_node("compute", "demo_node")
        assert {f.action for f in again.plan.files} == {Action.IDENTICAL}
        assert again.written == []


class TestConflicts:
    def test_abort_by_default_and_nothing_written(self, tmp_path: Path) -> None:
        NodeGenerator(tmp_path).generate_node("compute", "demo_node")
        readme = tmp_path / "demo-node" / "README.md"
        readme.write_text("mine\n")
        before = snapshot(tmp_path)
        plan = NodeGenerator(tmp_path).plan_node("compute", "demo_node", business_description="other")
        assert readme.relative_to(tmp_path).as_posix() in {f.path for f in plan.conflicts}
        with pytest.raises(ConflictError, match="nothing was written"):
            apply_plan(plan)
        assert snapshot(tmp_path) == before

    def test_skip_and_overwrite(self, tmp_path: Path) -> None:
        NodeGenerator(tmp_path).generate_node("compute", "demo_node")
        readme = tmp_path / "demo-node" / "README.md"
        readme.write_text("mine\n")
        NodeGenerator(tmp_path, on_conflict="skip").generate_node("compute", "demo_node")
        assert readme.read_text() == "mine\n"
        result = NodeGenerator(tmp_path, on_conflict="overwrite").generate_node("compute", "demo_node")
        planned = {f.path: f for f in result.plan.files}["demo-node/README.md"]
        assert planned.action is Action.OVERWRITE
        assert planned.diff is not None and "-mine" in planned.diff
        assert readme.read_text().startswith("# demo-node")


class TestAtomicity:
    def test_failure_midway_leaves_nothing_behind(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        existing = tmp_path / "keep.txt"
        existing.write_text("old\n")
        files = [RenderedFile(f"new/dir/f{i}.txt", b"x") for i in range(5)] + [RenderedFile("keep.txt", b"new\n")]
        plan = build_plan(tmp_path, files, on_conflict="overwrite")
        before = snapshot(tmp_path)
        real_replace, calls = os.replace, []

        def flaky(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            calls.append(dst)
            if len(calls) == 4:
                raise OSError("disk full")
            real_replace(src, dst)

        monkeypatch.setattr(os, "replace", flaky)
        with pytest.raises(WriteError, match="disk full"):
            apply_plan(plan)
        monkeypatch.setattr(os, "replace", real_replace)
        assert snapshot(tmp_path) == before

    def test_stale_plan_is_refused(self, tmp_path: Path) -> None:
        plan = build_plan(tmp_path, [RenderedFile("a.txt", b"1")])
        (tmp_path / "a.txt").write_text("someone else")
        with pytest.raises(StalePlanError):
            apply_plan(plan)
        assert (tmp_path / "a.txt").read_text() == "someone else"


class TestUnsafePaths:
    @pytest.mark.parametrize("path", ["../escape.txt", "/etc/x", "a/../../b", "a\\b"])
    def test_refused(self, tmp_path: Path, path: str) -> None:
        with pytest.raises(UnsafePathError):
            build_plan(tmp_path, [RenderedFile(path, b"x")])

    def test_symlink_leading_out_is_refused(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        outside.mkdir()
        root = tmp_path / "root"
        root.mkdir()
        (root / "link").symlink_to(outside)
        with pytest.raises(UnsafePathError, match="symlink"):
            build_plan(root, [RenderedFile("link/x.txt", b"x")])


def test_output_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from infra_gen.cli import app

    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(app, ["node", "compute", "order_totals", "-o", str(blocker)])
    assert result.exit_code == 2, result.output
    assert "nothing was written" in result.output or "not a" in result.output
    assert blocker.read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
