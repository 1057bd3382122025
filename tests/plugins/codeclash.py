"""A plugin that declares a core error code with another status: refused."""

from medianest.plugins import ErrorCode, hookimpl


@hookimpl
def error_codes():
    return [ErrorCode("NOT_FOUND", 200, "not found, but fine")]
