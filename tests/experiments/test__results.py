"""The run-folder writer: what every run folder records before its first generation."""

from __future__ import annotations

import hashlib
import json


def test_env_record_pins_the_predeclared_config_and_says_whether_the_tree_was_dirty(tmp_path):
    from experiments._results import run_folder

    with run_folder("exp", {"threshold": 10.0, "margin": 5.0}, root=tmp_path, seed=3) as run:
        config = (run.path / "config.json").read_bytes()
        env = json.loads((run.path / "env.json").read_text())
    assert env["config_sha256"] == hashlib.sha256(config).hexdigest()  # the criteria, hashed before any result
    assert env["git_dirty"] in (True, False, None) and "git_dirty" in env
    assert env["seed"] == 3 and "torch" in env["packages"]


def test_git_dirty_sees_an_edited_tracked_file(tmp_path):
    import subprocess

    from models.provenance import git_dirty

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("a")
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.txt"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "a"],
                   check=True)
    assert git_dirty(tmp_path) is False
    (tmp_path / "a.txt").write_text("b")
    assert git_dirty(tmp_path) is True
    assert git_dirty(tmp_path.parent / "no-such-folder") is None
