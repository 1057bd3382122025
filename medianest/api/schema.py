"""Base classes for request and response schemas (pydantic)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from medianest.api.converters import ID_MAX

# A row id in a query or body: a number past the database's integer can't name a row.
RowId = Annotated[int, Field(ge=1, le=ID_MAX)]


class Schema(BaseModel):
    """A request schema: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PageQuery(Schema):
    """``?page=&per_page=`` — the paging every list route takes."""

    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=25, ge=1, le=100)


class CursorQuery(PageQuery):
    """Paging for lists ordered newest first by id: ``?page=`` or, faster for deep pages, ``?before=``."""

    before: RowId | None = Field(
        default=None,
        description="Keyset paging: the items older than this id. Pass the previous page's "
        "`meta.pagination.next_before`; unlike a deep `page` it costs the same at any depth.",
    )

    @model_validator(mode="after")
    def _one_way_of_paging(self) -> CursorQuery:
        if self.before is not None and self.page != 1:
            raise ValueError("use either page or before, not both")
        return self


class Envelope(BaseModel):
    """Documentation only: the shape every success answer has."""

    success: bool = True
    meta: dict = Field(default_factory=dict)
