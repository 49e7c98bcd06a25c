"""Users, password hashing (argon2) and signed session tokens. No commits here."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Role, User
from app.auth.schemas import UserCreate

_hasher = PasswordHasher()


class AuthError(Exception):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    existing = await session.scalar(select(User).where(User.username == data.username))
    if existing is not None:
        raise AuthError(f"user {data.username!r} already exists")
    user = User(
        username=data.username,
        display_name=data.display_name or data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        platform=data.platform,
        unit_code=data.unit_code,
        sip_endpoint=data.sip_endpoint,
    )
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, username: str, password: str) -> User | None:
    user = await session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        hash_password(password)  # same cost whether or not the user exists
        return None
    return user if verify_password(user.password_hash, password) else None


class TokenSigner:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="hotline-session")
        self.ttl_s = ttl_s

    def issue(self, user: User) -> str:
        return self._s.dumps({"uid": user.id, "role": user.role.value})

    def read(self, token: str) -> int:
        try:
            data = self._s.loads(token, max_age=self.ttl_s)
        except SignatureExpired as e:
            raise AuthError("session expired") from e
        except BadSignature as e:
            raise AuthError("invalid session token") from e
        return int(data["uid"])


def sees_platform(user: User, platform: str | None) -> bool:
    """Province-level users and admins see every platform; others only their own."""
    if user.role is Role.admin or user.platform == "province":
        return True
    return platform == user.platform
