"""The production files in deploy/: systemd accepts every unit (systemd-analyze verify, with the
install prefix pointed at this checkout's virtualenv), and the example configuration file loads into
the typed settings with what the guide says it sets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

DEPLOY = REPO / "deploy"


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").iterdir()))
def test_systemd_unit_verifies(unit: str, tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is missing: run scripts/install-system-deps.sh"
    text = (DEPLOY / "systemd" / unit).read_text().replace("/opt/hotline", str(REPO))
    path = tmp_path / unit
    path.write_text(text)
    if unit.endswith(".timer"):  # a timer is verified with the service it starts
        svc = unit.replace(".timer", ".service")
        (tmp_path / svc).write_text((DEPLOY / "systemd" / svc).read_text().replace("/opt/hotline", str(REPO)))
    target = path if "@" not in unit else path.with_name(unit.replace("@", "@1"))
    if target != path:
        path.rename(target)
    res = subprocess.run(
        [tool, "verify", "--man=no", str(target)], capture_output=True, text=True, timeout=60
    )
    problems = [ln for ln in (res.stdout + res.stderr).splitlines() if target.name.split("@")[0] in ln]
    assert res.returncode == 0 and not problems, res.stdout + res.stderr


def test_example_config_loads_into_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.settings import Settings

    for key in [k for k in __import__("os").environ if k.startswith("HOTLINE_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("HOTLINE_CONFIG_FILE", str(DEPLOY / "hotline.yaml.example"))
    s = Settings()
    assert s.database_url.startswith("postgresql+asyncpg://")
    assert s.log_format == "json" and s.metrics_token.startswith("CHANGE-ME")
    assert s.asterisk[0].ami_secret == "CHANGE-ME-ami-secret"
    assert [t.mode for t in s.carrier_trunks] == ["registration", "ip"]
    assert s.carrier_trunks[0].outbound and s.carrier_trunks[1].match == ["198.51.100.20", "198.51.100.0/28"]
    assert s.recordings_dir == Path("/var/lib/hotline/recordings")


def test_the_runner_gives_fastagi_the_units_priority() -> None:
    """`hotline run --workers N` starts the FastAGI processes with the production unit's Nice=."""
    from app.cluster import AGI_NICE

    unit = (DEPLOY / "systemd" / "hotline-agi@.service").read_text()
    assert f"Nice={AGI_NICE}\n" in unit
