"""``GET /api/v1/uptime/monitors``: the monitors the card shows, from the last good answer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from medianest.plugins.access import login_required
from medianest.plugins.api import api_route, ok

bp = Blueprint("uptime_kuma", __name__, template_folder="templates")

BAR_WIDTH = 4
BAR_GAP = 2
BAR_HEIGHT = 18


def beat_bars(beats: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of the heartbeat strip (inline SVG drawn server-side): one bar per beat, oldest left."""
    bars = [
        {"x": i * (BAR_WIDTH + BAR_GAP), "status": beat["status"], "title": f"{beat['time'] or '?'}: {beat['status']}"}
        for i, beat in enumerate(beats)
    ]
    width = max(1, len(bars) * (BAR_WIDTH + BAR_GAP) - BAR_GAP)
    return {"bars": bars, "width": width, "height": BAR_HEIGHT, "bar_width": BAR_WIDTH}


@bp.get("/api/v1/uptime/monitors")
@api_route(summary="Uptime Kuma monitors with 24 h uptime and last beats (never a live call)", tags=["uptime"])
@login_required
def monitors():
    """The monitors of the configured status page, by group, as last read by the health check.

    ``status`` is Uptime Kuma's own status (online/offline/...); ``stale`` is
    true while the monitors shown are an older answer (Uptime Kuma not
    answering), with ``age_seconds`` and ``stored_at``.  Each monitor has
    ``status`` (up/down/pending/maintenance/unknown), ``uptime_24h`` (percent),
    ``ping`` (ms), ``message`` and ``beats`` (oldest first, times in UTC).
    """
    from medianest_uptime_kuma.plugin import current

    data = current()
    data.pop("service", None)
    return ok(data)
