"""The built-in plex plugin."""
