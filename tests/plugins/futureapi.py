"""A plugin made for a plugin API this MediaNest does not have: it is refused at start."""

from medianest.plugins import NavItem, hookimpl

PLUGIN_API = ">=2,<3"


@hookimpl
def nav_items(user):
    return [NavItem("From the future", "/future")]
