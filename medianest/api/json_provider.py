"""JSON answers encoded by orjson: every API answer is JSON, and encoding was a tenth of a list call.

Flask's provider encodes with the standard library (keys sorted); orjson does
the same work several times faster.  Types orjson does not take natively in
the same form (dates, dataclasses, decimals, UUIDs, ``__html__``) go through
Flask's own ``default``, so the output is what Flask would write, without the
key sorting.  Integers past 64 bits (a fuzzer's input echoed in a validation
error) fall back to the standard library, as does pretty-printing (debug).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import current_app
from flask.json.provider import DefaultJSONProvider
from flask.wrappers import Response

_COMPACT = (",", ":")
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dumpb(obj, **kwargs).decode()

    def dumpb(self, obj: Any, **kwargs: Any) -> bytes:
        """The encoded bytes; ``jsonify`` asks for compact separators, which is what orjson writes."""
        if kwargs.pop("separators", _COMPACT) != _COMPACT or kwargs:  # indent, ...: the standard library
            return super().dumps(obj, **kwargs).encode()
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except TypeError:
            return super().dumps(obj, separators=_COMPACT).encode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """What ``jsonify`` answers: its one argument, or its arguments as a list or dict (as Flask's)."""
        if args and kwargs:
            raise TypeError("jsonify() takes either arguments or keyword arguments, not both")
        obj = args[0] if len(args) == 1 else (args or kwargs or None)
        if (self.compact is None and current_app.debug) or self.compact is False:
            return super().response(obj)
        return current_app.response_class(self.dumpb(obj) + b"\n", mimetype=self.mimetype)
