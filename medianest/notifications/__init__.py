"""Notifications: each person's inbox, the bell, and the channels they also go out through.

A notification is the ``notification`` event (``medianest.events.notify``):
the inbox keeps it (:mod:`.inbox`), the open pages show it as a toast and
raise the bell's count, and :mod:`.delivery` sends it to the person's
Apprise channels that take its kind.  Plugins produce them through
``medianest.plugins.notify``.
"""
