"""``api_route``: one schema per route validates the request and feeds the OpenAPI document.

Use it under Flask's route decorator and above an access rule::

    @bp.post("/downloads")
    @api_route(body=NewDownload, response=DownloadOut, summary="Queue a download")
    @login_required
    def create_download(body: NewDownload): ...

The view receives ``body`` and/or ``query`` as validated pydantic models.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import request
from pydantic import BaseModel, ValidationError

from medianest.access import enforce_declared_access
from medianest.json_answers import ApiError


@dataclass
class RouteDoc:
    """What the OpenAPI document says about one view."""

    summary: str = ""
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | Any | None = None
    response_status: int = 200
    paginated: bool = False
    tags: list[str] = field(default_factory=list)
    errors: tuple[int, ...] = ()
    raw_response: str | tuple[str, ...] | None = None  # non-JSON media types, e.g. "text/plain", "video/*"
    partial_content: bool = False  # also answers 206 to a Range header


def field_errors(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors(include_url=False, include_context=False, include_input=False):
        errors.append(
            {"field": ".".join(str(p) for p in err["loc"]) or where, "message": err["msg"], "type": err["type"]}
        )
    return errors


def parse_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON (Content-Type: application/json).")
    raw = request.get_data(cache=True)
    try:
        payload = json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError("INVALID_JSON", f"The body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ApiError("VALIDATION_ERROR", "The body must be a JSON object.")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(
            "VALIDATION_ERROR", "The body did not pass validation.", details={"fields": field_errors(exc, "body")}
        ) from None


def parse_query(model: type[BaseModel]) -> BaseModel:
    values: dict[str, Any] = {}
    for key in request.args:
        items = request.args.getlist(key)
        values[key] = items if len(items) > 1 else items[0]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ApiError(
            "VALIDATION_ERROR",
            "The query string did not pass validation.",
            details={"fields": field_errors(exc, "query")},
        ) from None


def api_route(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    paginated: bool = False,
    summary: str = "",
    tags: list[str] | None = None,
    errors: tuple[int, ...] = (),
    raw_response: str | tuple[str, ...] | None = None,
    partial_content: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        doc = RouteDoc(
            summary=summary or (view.__doc__ or "").strip().split("\n")[0],
            description=(view.__doc__ or "").strip(),
            body=body,
            query=query,
            response=response,
            response_status=status,
            paginated=paginated,
            tags=tags or [],
            errors=errors,
            raw_response=raw_response,
            partial_content=partial_content,
        )

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:

            denied = enforce_declared_access(view)  # who may call comes before what they sent
            if denied is not None:
                return denied
            if query is not None:
                kwargs["query"] = parse_query(query)  # routes without a query schema ignore stray parameters
            if body is not None:
                kwargs["body"] = parse_body(body)
            return view(*args, **kwargs)

        wrapper.medianest_api_doc = doc  # type: ignore[attr-defined]
        return wrapper

    return decorate
