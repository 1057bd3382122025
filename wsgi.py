from medianest.wsgi import app, celery  # noqa: F401  (a source checkout's shim for ``wsgi:app``)
