"""The built-in youtube plugin."""
