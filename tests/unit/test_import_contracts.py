"""The dependency contracts are code (pyproject.toml [tool.importlinter], run by `make lint` in CI):
the tree keeps them, and a new upward import — an edge reaching back into app, the cycle the
contracts exist to prevent — breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("callflow", "ivr", "agi_handlers", "recordings", "asterisk_conf", "app")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(root)}  # the copy, ahead of the editable install
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def copy_tree(dst: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.wav", "*.html", "*.js", "*.css", "holidays")
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, dst / pkg, ignore=ignore)
    shutil.copy(REPO / "pyproject.toml", dst / "pyproject.toml")
    return dst


def test_the_tree_keeps_every_contract():
    res = lint_imports(REPO)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_an_edge_importing_app_breaks_the_contracts(tmp_path):
    root = copy_tree(tmp_path)
    worker = root / "recordings" / "worker.py"
    worker.write_text(worker.read_text(encoding="utf-8") + "\nfrom app.voicemail import service  # noqa\n")
    res = lint_imports(root)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout and "recordings.worker -> app.voicemail" in res.stdout, res.stdout


def test_a_cycle_between_app_domains_breaks_the_contracts(tmp_path):
    root = copy_tree(tmp_path)
    svc = root / "app" / "callbacks" / "service.py"
    svc.write_text(svc.read_text(encoding="utf-8") + "\nfrom app.stats import service as _stats  # noqa\n")
    res = lint_imports(root)
    assert res.returncode != 0
    assert "app.callbacks.service -> app.stats.service" in res.stdout, res.stdout
