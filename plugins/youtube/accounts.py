"""When a person's account is deleted, their downloaded files go with it."""

from __future__ import annotations

import logging
import shutil
from typing import Any

from medianest_youtube.downloads import cfg, user_dir
from medianest_youtube.models import UserFolder
from medianest_youtube.paths import inside
from sqlalchemy import delete

from medianest.plugins.db import db

log = logging.getLogger("medianest.youtube")


def on_user_deleted(event: dict[str, Any]) -> None:
    """``user.deleted``: remove the person's folder under the download root (their rows went with the account)."""
    conf = cfg()
    user_id = int(event["user_id"])
    folder = user_dir(user_id, conf)
    db.session.execute(delete(UserFolder).where(UserFolder.user_id == user_id))
    db.session.commit()
    if folder == conf.download_root or not inside(conf.download_root, folder) or not folder.exists():
        return
    shutil.rmtree(folder)
    log.info("removed the downloads of deleted user %s (%s)", user_id, folder)
