"""A free-text place → the prefecture it names (web forms, e-mail, Open311 addresses)."""

from __future__ import annotations

import pytest

from callflow import load_config, resolve_place


@pytest.mark.parametrize(
    ("place", "code"),
    [
        ("昆明市五华区翠湖南路", "kunming"),
        ("云南省大理白族自治州大理市古城", "dali"),
        ("曲靖", "qujing"),
        ("北京市朝阳区", None),  # no prefecture of this province
        ("从昆明到大理的高速", None),  # two prefectures: not guessed
        ("", None),
        (None, None),
        ("昆" * 10_000, None),
    ],
)
def test_resolve_place(place, code):
    assert resolve_place(place, load_config()) == code
