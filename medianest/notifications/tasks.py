"""Background work of the notifications: the daily purge."""

from __future__ import annotations

from celery import shared_task

from medianest.notifications import inbox


@shared_task(name="medianest.purge_notifications", ignore_result=True)
def purge_notifications() -> None:
    inbox.purge()
