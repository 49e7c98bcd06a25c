"""`hotline asterisk render` writes the IAX2 trunk between the hotline's servers (iax_hotline.conf) from
the typed settings: each server's file names the others by their server names (transfers dial
IAX2/<server>/...), reaches them at their iax_host/iax_port, authenticates as itself with the shared
secret, and lets only the peer's address use its account. The secret is in the 0600 file only, never
printed; a trunk without a proper secret is refused with a clear message."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from app.ops.asterisk_cli import add_commands
from app.settings import AsteriskServer, Settings

SECRET = "iax-trunk-secret-0123456789abcdef"


def _settings(tmp_path: Path, secret: str = SECRET) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        iax_secret=secret,
        asterisk=[
            AsteriskServer(name="dali", ami_secret="ami-dali-secret", platforms=["dali"],
                           iax_host="10.20.0.11", iax_port=4570),
            AsteriskServer(name="province", ami_secret="ami-prov-secret", platforms=["province"],
                           iax_host="10.20.0.1"),
        ],
    )  # fmt: skip


def _run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["asterisk", "render", *argv])
    return int(args.fn(args, settings))


def _section(text: str, name: str) -> list[str]:
    body = text.split(f"[{name}]\n", 1)[1].split("\n[", 1)[0]
    return [ln for ln in body.splitlines() if ln and not ln.startswith(";")]


def test_each_server_gets_the_trunk_to_the_other(tmp_path, capsys):
    s = _settings(tmp_path)
    assert _run(s, "--out", str(tmp_path / "dali"), "--server", "dali", "--iax-bind", "10.20.0.11") == 0
    assert _run(s, "--out", str(tmp_path / "prov"), "--server", "province") == 0
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err

    dali = (tmp_path / "dali" / "iax_hotline.conf").read_text()
    assert _section(dali, "general")[:2] == ["bindport = 4570", "bindaddr = 10.20.0.11"]
    assert _section(dali, "province") == [
        "type = friend", "host = 10.20.0.1", "port = 4569", "username = dali", f"secret = {SECRET}",
        "auth = md5", "context = hotline-trunk-in", "deny = 0.0.0.0/0.0.0.0",
        "permit = 10.20.0.1/255.255.255.255", "qualify = yes", "trunk = no", "transfer = no",
    ]  # fmt: skip
    assert "[dali]" not in dali
    prov = (tmp_path / "prov" / "iax_hotline.conf").read_text()
    assert _section(prov, "general")[:2] == ["bindport = 4569", "bindaddr = 0.0.0.0"]
    peer = _section(prov, "dali")
    assert ("host = 10.20.0.11", "port = 4570", "username = province") == (peer[1], peer[2], peer[3])
    for out in ("dali", "prov"):
        conf = tmp_path / out / "iax_hotline.conf"
        assert conf.stat().st_mode & 0o777 == 0o600
        readme = (tmp_path / out / "README.txt").read_text()
        assert "#include hotline/iax_hotline.conf" in readme and SECRET not in readme
        # the calls it carries have their context in the same server's dialplan
        assert "[hotline-trunk-in]" in (tmp_path / out / "extensions_hotline.conf").read_text()


def test_no_trunk_without_iax_host_and_none_without_a_secret(tmp_path, capsys):
    s = _settings(tmp_path)
    s.asterisk[1].iax_host = None
    assert _run(s, "--out", str(tmp_path / "dali"), "--server", "dali") == 0
    assert "no other server has an iax_host" in capsys.readouterr().err
    assert "[general]" in (tmp_path / "dali" / "iax_hotline.conf").read_text()
    assert _run(s, "--out", str(tmp_path / "prov"), "--server", "province") == 0
    assert "has no iax_host" in capsys.readouterr().err
    assert not (tmp_path / "prov" / "iax_hotline.conf").exists()
    assert "iax_hotline.conf" not in (tmp_path / "prov" / "README.txt").read_text()

    short = _settings(tmp_path, secret="short")
    assert _run(short, "--out", str(tmp_path / "x"), "--server", "dali") == 2
    err = capsys.readouterr().err
    assert "iax_secret" in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("host", ["10.20.0.1", "province.hotline.internal"])
def test_permit_only_for_an_address(host):
    from asterisk_conf.production import IaxTrunkPeer, ProductionParams, iax

    text = iax(ProductionParams(server_name="dali", iax_port=4569, iax_secret=SECRET,
                                iax_peers=[IaxTrunkPeer("province", host)]))  # fmt: skip
    assert ("permit = 10.20.0.1/255.255.255.255" in text) == (host == "10.20.0.1")
