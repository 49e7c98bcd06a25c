from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, computed_field

from app.auth.models import Role
from app.auth.scope import provincial_platform

PASSWORD_MIN = 8


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    platform: str
    unit_code: str | None
    sip_endpoint: str | None
    active: bool = True
    must_change_password: bool = False

    model_config = {"from_attributes": True}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def provincial(self) -> bool:
        """Works for the provincial platform (sees every platform): the pages ask this, not a code."""
        return self.platform == provincial_platform()


class UserAdminOut(UserOut):
    created_at: datetime
    skills: str | None = None  # agents' skills with levels, "market:5,yi:3" (callflow.skills)


class LoginOut(BaseModel):
    token: str
    user: UserOut


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=PASSWORD_MIN, max_length=256)
    role: Role
    display_name: str = Field(default="", max_length=128)
    platform: str = Field(default_factory=provincial_platform, min_length=1, max_length=32)
    unit_code: str | None = Field(default=None, min_length=1, max_length=64)
    sip_endpoint: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    must_change_password: bool = False


class AdminUserCreate(UserCreate):
    """Through the API the platform is always explicit (the provincial platform = every platform, supervisors and
    administrators only), and the user chooses a new password at first login unless told otherwise."""

    platform: str = Field(min_length=1, max_length=32)
    must_change_password: bool = True


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=PASSWORD_MIN, max_length=256)


class PasswordReset(BaseModel):
    password: str = Field(min_length=PASSWORD_MIN, max_length=256)
    must_change_password: bool = True
