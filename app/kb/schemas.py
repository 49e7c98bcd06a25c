from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.bounds import Code

Status = Literal["draft", "published", "retired"]


class ArticleIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=50000)
    keywords: str = Field(default="", max_length=500)
    category_code: str | None = Field(default=None, min_length=1, max_length=16)
    scope: str = Field(
        default="", max_length=32, description="'province' (全省) or a platform code; default: your platform"
    )
    owner_unit: Code | None = Field(default=None, description="owning unit; units always own their own")
    review_due: date | None = None
    status: Status = "draft"
    note: str | None = Field(default=None, max_length=500, description="what changed (kept in the history)")


class ArticleUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, min_length=1, max_length=50000)
    keywords: str | None = Field(default=None, max_length=500)
    category_code: str | None = Field(default=None, min_length=1, max_length=16)
    owner_unit: Code | None = None
    review_due: date | None = None
    status: Status | None = None
    note: str | None = Field(default=None, max_length=500)


class ArticleOut(BaseModel):
    id: int
    title: str
    body: str
    keywords: str
    category_code: str | None
    category_name: str | None = None
    scope: str
    scope_name: str = ""
    owner_unit: str | None
    owner_name: str = ""
    status: str
    status_label: str = ""
    version: int
    review_due: date | None
    review_overdue: bool = False
    cited: int
    updated_at: datetime
    updated_by: str
    can_edit: bool = False
    origin: str | None = None  # the peer whose article this is a read-only copy of


class ArticleBrief(BaseModel):
    id: int
    title: str
    snippet: str
    category_code: str | None
    category_name: str | None = None
    scope: str
    status: str
    score: float | None = None
    origin: str | None = None


class SearchOut(BaseModel):
    query: str
    terms: list[str]
    items: list[ArticleBrief]


class VersionOut(BaseModel):
    version: int
    title: str
    body: str
    keywords: str
    category_code: str | None
    status: str
    edited_by: str
    edited_at: datetime
    note: str | None

    model_config = {"from_attributes": True}


class ImportIn(BaseModel):
    format: Literal["csv", "markdown"]
    content: str = Field(min_length=1, max_length=5_000_000)
    status: Status = "draft"


class ImportOut(BaseModel):
    created: int
    ids: list[int]
    errors: list[str]


class PublicArticle(BaseModel):
    """What the public sees of a published article: no owner, no review date, no editor, no drafts."""

    id: int
    title: str
    body: str
    category_name: str | None
    scope_name: str
    updated_at: datetime
