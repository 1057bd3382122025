"""Local stand-ins for the services MediaNest talks to.

Each stand-in is a real HTTP server on 127.0.0.1 that answers in the shapes
recorded in ``tests/contracts``; the client under test talks to it over
HTTP exactly as it talks to the real service.
"""
