"""One route, the whole page or just its fragment: htmx-flask's ``request.htmx`` decides.

A fragment is answered 200 whatever ``status`` says, because htmx swaps only
2xx answers: the fragment carries its own message.  Every answer varies on
``HX-Request``, so a cache never serves one for the other.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, render_template
from flask.wrappers import Response
from htmx_flask import request


def page_or_fragment(
    page: str, fragment: str | None = None, status: int = 200, *, fragment_html: str | None = None, **context: Any
) -> Response:
    """``fragment`` (a template, or ``fragment_html`` already rendered) for htmx, else ``page``.

    With one template for both, the template is told which is wanted (``fragment``).
    """
    wanted = bool(request.htmx)
    if wanted and fragment_html is not None:
        body = fragment_html
    elif fragment is None:
        body = render_template(page, fragment=wanted, **context)
    else:
        body = render_template(fragment if wanted else page, **context)
    response = make_response(body, 200 if wanted else status)
    response.vary.add("HX-Request")
    return response
