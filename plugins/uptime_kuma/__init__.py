"""The built-in uptime_kuma plugin."""
