"""Users, password hashing (argon2) and signed session tokens. No commits here."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.schemas import UserCreate
from app.auth.scope import provincial_platform

_hasher = PasswordHasher()
# argon2 takes ~50-100 ms of CPU per hash: never on the event loop that also serves FastAGI and AMI.
# Two threads (argon2-cffi releases the GIL) bound how much CPU a burst of logins can take.
_hash_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


class AuthError(Exception):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, verify_password, password_hash, password)


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    existing = await session.scalar(select(User).where(User.username == data.username))
    if existing is not None:
        raise AuthError(f"用户 {data.username} 已存在")
    user = User(
        username=data.username,
        display_name=data.display_name or data.username,
        password_hash=await hash_password_async(data.password),
        role=data.role,
        platform=data.platform,
        unit_code=data.unit_code,
        sip_endpoint=data.sip_endpoint,
        must_change_password=data.must_change_password,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = await session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        await hash_password_async(password)  # same cost whether or not the user exists
        return None
    return user if await verify_password_async(user.password_hash, password) else None


async def set_password(user: User, password: str, *, must_change: bool) -> None:
    """A new password ends every session of the user."""
    user.password_hash = await hash_password_async(password)
    user.must_change_password = must_change
    end_sessions(user)


class TokenSigner:
    #: tokens verified already, remembered until they expire: the HMAC and base64 of a token cost a few
    #: per cent of a hot read, so a token is verified once and afterwards only its age is checked.
    #: Keyed by the whole token: a forged or altered one never matches. Revocation is the caller's check of
    #: the session version against the user, as before.
    CACHE_MAX = 10_000

    def __init__(self, secret: str, ttl_s: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="hotline-session")
        self.ttl_s = ttl_s
        self._verified: dict[str, tuple[int, int, float]] = {}

    def issue(self, user: User) -> str:
        return self._s.dumps({"uid": user.id, "v": user.session_version or 0})

    def read(self, token: str) -> tuple[int, int]:
        """(user id, session version) of a valid token; the caller checks the version against the user."""
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() <= hit[2]:
                return hit[0], hit[1]
            self._verified.pop(token, None)
        try:
            data, signed_at = self._s.loads(token, max_age=self.ttl_s, return_timestamp=True)
        except SignatureExpired as e:
            raise AuthError("会话已过期，请重新登录") from e
        except BadSignature as e:
            raise AuthError("会话凭据无效，请重新登录") from e
        try:
            uid, version = int(data["uid"]), int(data["v"])
        except (KeyError, TypeError, ValueError) as e:
            raise AuthError("会话凭据无效，请重新登录") from e
        if len(self._verified) >= self.CACHE_MAX:
            self._verified.clear()
        self._verified[token] = (uid, version, signed_at.timestamp() + self.ttl_s)
        return uid, version


def end_sessions(user: User) -> None:
    """Ends every session of this user (logout, password change, disabling): tokens issued under the
    old version are refused on their next request."""
    user.session_version = (user.session_version or 0) + 1


def sees_platform(user: User, platform: str | None) -> bool:
    """Province-level users and admins see every platform; others only their own."""
    if user.role is Role.admin or user.platform == provincial_platform():
        return True
    return platform == user.platform
