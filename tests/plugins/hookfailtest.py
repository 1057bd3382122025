"""A plugin whose hooks raise: it is disabled, the rest of the app keeps working."""

from medianest.plugins import hookimpl


@hookimpl
def dashboard_cards(user):
    raise RuntimeError("hookfailtest: dashboard_cards exploded")


@hookimpl
def nav_items(user):
    return []
