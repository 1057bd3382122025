"""Events, for plugins: publish on the bus, notify a person.

A plugin declares the events it publishes (``published_events``) and
subscribes with ``event_subscriptions``; ``publish(name, payload)`` hands the
event to the subscribers and to the browsers that may see it.
"""

from medianest.events import Event, EventPayload, notify, publish

__all__ = ["Event", "EventPayload", "notify", "publish"]
