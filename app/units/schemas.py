from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

UnitKind = Literal["department", "utility"]


class UnitCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=128)
    kind: UnitKind = "department"
    platform: str = Field(min_length=1, max_length=32)
    phone: str | None = None
    active: bool = True


class UnitUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    kind: UnitKind | None = None
    platform: str | None = None
    phone: str | None = None
    active: bool | None = None


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    platform: str
    phone: str | None
    active: bool

    model_config = {"from_attributes": True}
