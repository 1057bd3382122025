"""JSON answers encoded by orjson: every API answer is JSON, and encoding was a tenth of a list call.

Flask's provider encodes with the standard library (keys sorted); orjson does
the same work several times faster.  Types orjson does not take natively in
the same form (dates, dataclasses, decimals, UUIDs, ``__html__``) go through
Flask's own ``default``, so the output is what Flask would write, without the
key sorting.  Integers past 64 bits (a fuzzer's input echoed in a validation
error) fall back to the standard library.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:  # options only the standard library knows (indent, ...)
            return super().dumps(obj, **kwargs)
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
        except TypeError:
            return super().dumps(obj)
