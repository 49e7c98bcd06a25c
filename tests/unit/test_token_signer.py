"""Session tokens: verified once, then remembered until they expire — never longer, never for a forgery."""

from __future__ import annotations

import time_machine

from app.auth.models import Role, User
from app.auth.service import AuthError, TokenSigner


def user(uid: int = 7, version: int = 2) -> User:
    return User(id=uid, username="a", password_hash="x", role=Role.agent, session_version=version)


def refused(signer: TokenSigner, token: str) -> str:
    try:
        signer.read(token)
    except AuthError as e:
        return str(e)
    raise AssertionError("the token was accepted")


def test_a_remembered_token_still_expires_on_time() -> None:
    with time_machine.travel("2026-12-03 08:00:00+00:00", tick=False) as t:
        signer = TokenSigner("secret-1", ttl_s=3600)
        token = signer.issue(user())
        assert signer.read(token) == (7, 2)
        t.shift(3590)
        assert signer.read(token) == (7, 2)  # answered from memory
        t.shift(20)
        assert refused(signer, token) == "会话已过期，请重新登录"
        assert refused(signer, token) == "会话已过期，请重新登录"  # and stays refused


def test_an_altered_token_is_refused_though_the_original_is_remembered() -> None:
    signer = TokenSigner("secret-1", ttl_s=3600)
    token = signer.issue(user())
    assert signer.read(token) == (7, 2)
    i = len(token) - 3
    forged = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    assert refused(signer, forged) == "会话凭据无效，请重新登录"
    other = TokenSigner("secret-2", ttl_s=3600)  # another deployment's secret
    assert refused(other, token) == "会话凭据无效，请重新登录"
    assert signer.read(token) == (7, 2)


def test_the_memory_is_bounded() -> None:
    signer = TokenSigner("secret-1", ttl_s=3600)
    signer.CACHE_MAX = 5
    tokens = [signer.issue(user(uid=i)) for i in range(12)]
    assert [signer.read(t)[0] for t in tokens] == list(range(12))
    assert len(signer._verified) <= 5
