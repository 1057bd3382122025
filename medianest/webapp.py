"""Installable on a phone: the web app manifest, the service worker and the page it shows offline.

The worker is served from ``/sw.js`` so that its scope is the whole site.
It keeps the offline page and the look of the site (style sheet, icons) in
its cache; a page that cannot be fetched because the network is gone gets
the offline page instead of the browser's error.  Everything else, the API
and live updates included, goes to the network as before: nothing personal
is cached.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for

from medianest.access import public

bp = Blueprint("webapp", __name__)

# Bump when the offline page or what it needs changes: the worker then replaces its cache.
CACHE_VERSION = "medianest-offline-1"


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest: name, icons, colours, and start at the dashboard full-screen."""
    icons = [
        {"src": url_for("static", filename=f"icons/icon-{n}.png"), "sizes": f"{n}x{n}", "type": "image/png"}
        for n in (192, 512)
    ] + [
        {
            "src": url_for("static", filename=f"icons/maskable-{n}.png"),
            "sizes": f"{n}x{n}",
            "type": "image/png",
            "purpose": "maskable",
        }
        for n in (192, 512)
    ]
    body = {
        "id": "/",
        "name": "MediaNest",
        "short_name": "MediaNest",
        "description": "Your household's Plex: requests, downloads, services and notifications.",
        "start_url": url_for("dashboard.index"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#0f1115",
        "theme_color": "#181b22",
        "icons": icons,
    }
    response = current_app.response_class(current_app.json.dumps(body), mimetype="application/manifest+json")
    response.cache_control.max_age = 3600
    return response


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker (from the site's root, so its scope is the whole site)."""
    body = render_template(
        "webapp/sw.js",
        cache=CACHE_VERSION,
        offline=url_for("webapp.offline"),
        precache=[
            url_for("webapp.offline"),
            url_for("static", filename="css/app.css"),
            url_for("static", filename="favicon.svg"),
            url_for("static", filename="icons/icon-192.png"),
        ],
    )
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # browsers check for a new worker on each visit
    return response


@bp.get("/offline")
@public
def offline():
    """What the installed app shows when the network is gone."""
    return render_template("webapp/offline.html")
