from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

UnitKind = Literal["department", "utility"]


class UnitCreate(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=128)
    kind: UnitKind = "department"
    platform: str = Field(min_length=1, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    active: bool = True


class UnitUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    kind: UnitKind | None = None
    platform: str | None = Field(default=None, min_length=1, max_length=32)
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_null_for_required(cls, data: Any) -> Any:
        """Leaving a field out keeps it; null is only meaningful for the phone."""
        if isinstance(data, dict):
            nulls = [k for k in ("name", "kind", "platform", "active") if k in data and data[k] is None]
            if nulls:
                raise ValueError(f"{', '.join(nulls)} cannot be null (leave the field out to keep it)")
        return data


class UnitOut(BaseModel):
    code: str
    name: str
    kind: str
    platform: str
    phone: str | None
    active: bool

    model_config = {"from_attributes": True}
