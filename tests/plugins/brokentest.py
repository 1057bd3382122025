"""A plugin that raises while it is imported: the app must keep serving without it."""

raise ImportError("brokentest cannot find its imaginary dependency")
