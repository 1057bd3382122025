"""A plugin that claims a blueprint name another plugin already has: refused at start."""

from flask import Blueprint

from medianest.access import public
from medianest.plugins import hookimpl

bp = Blueprint("cardtest", __name__)


@bp.get("/clashtest/")
@public
def page():
    """Never served: the name is taken."""
    return "clash"


@hookimpl
def register_blueprints(app):
    return [bp]


@hookimpl
def published_events():
    return ["cardtest.tick"]
