"""The processes `hotline run --workers N` starts get the parent's var directory: they read the AMI
and FastAGI secrets the parent generated there (never on their command line), whatever their working
directory. A worker that made up its own var directory had no AMI secret and failed to log in every
2 s (seen running a checkout through another checkout's virtualenv)."""

from __future__ import annotations

from app.cluster import child_env
from app.settings import AsteriskServer, Settings, ensure_secret


def test_children_read_the_secrets_where_the_parent_wrote_them(tmp_path, monkeypatch):
    var = tmp_path / "parent" / "var"
    var.mkdir(parents=True)
    secret = ensure_secret(var, "ami_secret_main")
    parent = Settings(var_dir=var, asterisk=[AsteriskServer(name="main")])
    assert parent.asterisk[0].ami_secret == secret
    env = child_env(parent)
    assert secret not in env["HOTLINE_ASTERISK"]  # not in the child's environment or command line
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for key, value in env.items():
        if key.startswith("HOTLINE_"):
            monkeypatch.setenv(key, value)
    child = Settings()
    assert child.var_dir.resolve() == var.resolve() and child.asterisk[0].ami_secret == secret
