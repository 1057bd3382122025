"""A plugin with a misspelt hook name: ``check_pending`` makes it an error, not a silent no-op."""

from medianest.plugins import hookimpl


@hookimpl
def dashbord_cards(user):  # the typo is the point
    return []
