"""``app = create_app()`` for gunicorn (``gunicorn -c python:medianest.gunicorn_conf wsgi:app``)."""

from medianest import create_app

app = create_app()
celery = app.extensions["celery"]
