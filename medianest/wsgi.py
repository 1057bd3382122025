"""The WSGI application gunicorn serves: ``gunicorn --config python:medianest.gunicorn_conf medianest.wsgi:app``.

``celery`` is the Celery app bound to it (``celery -A medianest.wsgi ...``).
"""

from medianest import create_app

app = create_app()
celery = app.extensions["celery"]
