"""All settings are typed settings: the rule files come from Settings (HOTLINE_CASE_RULES /
HOTLINE_SURVEY_RULES keep working as its environment names), and no module of app/ reads a
HOTLINE_* variable from the environment except app/settings.py."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from app.cases.rules import rules_of as case_rules_of
from app.settings import Settings
from app.surveys.rules import rules_of as survey_rules_of

ROOT = Path(__file__).resolve().parents[2]


class _Runtime:
    """The part of app.runtime.Runtime the rule loaders use: settings and the typed slots."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._slots: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self._slots.get(key)

    def put(self, key: Any, value: Any) -> None:
        self._slots[key] = value


def _runtime(settings: Settings) -> _Runtime:
    return _Runtime(settings)


def test_rule_files_are_settings_fields(tmp_path, monkeypatch) -> None:
    cases = tmp_path / "my_cases.yaml"
    cases.write_text("max_extensions: 3\n", encoding="utf-8")
    surveys = tmp_path / "my_surveys.yaml"
    surveys.write_text("max_attempts: 5\n", encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CASE_RULES", str(cases))
    monkeypatch.setenv("HOTLINE_SURVEY_RULES", str(surveys))
    settings = Settings(var_dir=tmp_path / "var")
    assert (settings.case_rules, settings.survey_rules) == (cases, surveys)
    assert case_rules_of(_runtime(settings)).max_extensions == 3
    assert survey_rules_of(_runtime(settings)).max_attempts == 5
    # without them: <var_dir>/case_rules.yaml, else the defaults
    monkeypatch.delenv("HOTLINE_CASE_RULES")
    assert case_rules_of(_runtime(Settings(var_dir=tmp_path / "var"))).max_extensions == 1


def _env_reads(tree: ast.AST) -> list[int]:
    """Lines that read one variable: os.environ.get(...), os.environ[...], os.getenv(...)."""
    out = []
    for n in ast.walk(tree):
        target = n.func if isinstance(n, ast.Call) else n.value if isinstance(n, ast.Subscript) else None
        src = ast.unparse(target) if target is not None else ""
        if src in ("os.environ.get", "os.getenv", "os.environ", "environ.get"):
            out.append(n.lineno)
    return out


def test_no_environment_reads_outside_settings() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "app").rglob("*.py"))
        if path.name != "settings.py"
        for line in _env_reads(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert bad == [], f"read these through app.settings.Settings instead: {bad}"
    assert _env_reads(ast.parse("import os\nos.environ.get('HOTLINE_X')\nos.environ['Y']\n")) == [2, 3]
