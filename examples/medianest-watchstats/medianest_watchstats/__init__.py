"""Watch statistics: an example MediaNest plugin (the hooks are in ``plugin.py``)."""
