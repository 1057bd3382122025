"""A Socket.IO client that signs in like a browser and records what it receives (medianest.testing's)."""

from medianest.testing.sockets import RecordingClient

__all__ = ["RecordingClient"]
