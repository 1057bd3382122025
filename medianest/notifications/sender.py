"""Send one notification with Apprise, in a process of its own: ``python -m medianest.notifications.sender``.

The parent (:mod:`medianest.notifications.delivery`) starts it with its
``HTTP_PROXY``/``HTTPS_PROXY`` pointing at an egress proxy, so every
connection Apprise makes passes the egress guard.  Apprise's services call
``requests`` themselves, which reads the proxy from the environment; setting
it in the parent would send every other call of that process through the
guard too.  Reads ``{"url", "title", "body", "level"}`` as JSON on stdin;
exits 0 when Apprise delivered, 1 with the reason on stdout when it did not.
"""

from __future__ import annotations

import json
import logging
import sys

import apprise

TYPES = {"info": "info", "success": "success", "warning": "warning", "error": "failure"}


def main() -> int:
    message = json.load(sys.stdin)
    channel = apprise.Apprise()
    if not channel.add(message["url"]):
        print("Apprise does not understand this URL.")
        return 1
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured:
        delivered = channel.notify(
            body=message["body"], title=message.get("title") or "", notify_type=TYPES.get(message.get("level"), "info")
        )
    if delivered:
        return 0
    lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
    print(" ".join(lines[-2:])[:500] or "The service did not accept the notification.")
    return 1


if __name__ == "__main__":
    sys.exit(main())
