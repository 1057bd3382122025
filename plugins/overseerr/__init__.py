"""The built-in overseerr plugin."""
