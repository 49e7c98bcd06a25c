"""Which platform's users see every platform: the platform config's provincial platform (kind
"province"), not a literal. The composition root (``Runtime.build``) calls :func:`use_config`; a
process that never built a runtime (a CLI command, a test of a pure function) gets the shipped config's."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callflow import HotlineConfig

_provincial: str | None = None


def use_config(config: HotlineConfig) -> None:
    global _provincial
    _provincial = config.province_platform.code


def provincial_platform() -> str:
    """The provincial platform's code."""
    if _provincial is None:
        from callflow import load_config

        use_config(load_config())
    assert _provincial is not None
    return _provincial
