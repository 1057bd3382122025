"""Commands that run on gevent are patched before anything imports the standard library's sockets."""

import pytest

from medianest.cli import gevent_wanted


@pytest.mark.parametrize(
    ("argv", "env", "wanted"),
    [
        (["medianest", "run"], {}, True),  # embedded: the web server is gevent's
        (["medianest", "run"], {"REDIS_URL": "redis://127.0.0.1:6379/0"}, False),
        (["medianest", "worker"], {}, False),  # prefork by default
        (["medianest", "worker", "--pool", "gevent"], {}, True),
        (["medianest", "worker", "--pool=gevent", "--concurrency", "20"], {}, True),
        (["medianest", "worker", "-P", "gevent"], {}, True),
        (["medianest", "worker", "--pool", "prefork"], {}, False),
        (["medianest", "beat"], {}, False),
        (["medianest"], {}, False),
    ],
)
def test_which_commands_run_on_gevent(monkeypatch, argv, env, wanted):
    monkeypatch.delenv("REDIS_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert gevent_wanted(argv) is wanted
