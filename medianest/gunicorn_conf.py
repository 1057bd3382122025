"""gunicorn settings for the web process (production mode).

Socket.IO needs every request of one client on the same process, so each
gunicorn runs ONE gevent worker; scale with several instances behind the
proxy, sharing the Redis message queue.  simple-websocket serves WebSocket
under plain ``-k gevent`` (gevent-websocket is deliberately not installed).
"""

import os

worker_class = "gevent"
workers = 1
worker_connections = int(os.environ.get("MEDIANEST_WORKER_CONNECTIONS", "1000"))
bind = os.environ.get("MEDIANEST_BIND", "0.0.0.0:5000")
timeout = 60
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("MEDIANEST_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
errorlog = "-"


def post_fork(server, worker):
    # psycopg2 blocks the whole gevent worker unless it yields to the hub.
    from psycogreen.gevent import patch_psycopg

    patch_psycopg()
