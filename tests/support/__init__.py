"""Helpers the tests share: databases, servers, signed-in clients."""
