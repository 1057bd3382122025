"""The host calls hooks as pluggy documents (order, tryfirst/trylast, wrappers, firstresult); faults stay apart."""

from __future__ import annotations

import pluggy
import pytest

from medianest.plugins import hookimpl, hookspec
from medianest.plugins.host import PluginHost


class FirstResultSpecs:
    """A test-only hook: pluggy stops at the first answer that is not None."""

    @hookspec(firstresult=True)
    def pick_title(self, media_id: int) -> str | None:
        """The first plugin that knows the title answers."""


class Plain:
    def __init__(self, label: str) -> None:
        self.label = label

    @hookimpl
    def published_events(self):
        return [self.label]


class First:
    @hookimpl(tryfirst=True)
    def published_events(self):
        return ["first"]


class Last:
    @hookimpl(trylast=True)
    def published_events(self):
        return ["last"]


class Raising:
    @hookimpl
    def published_events(self):
        raise RuntimeError("raising plugin exploded")

    @hookimpl
    def pick_title(self, media_id):
        raise RuntimeError("no titles here")


def _host(*plugins: tuple[str, object]) -> PluginHost:
    host = PluginHost()
    host.add_hookspecs(FirstResultSpecs)
    for name, plugin in plugins:
        host.register(plugin, name=name)
    host.started()
    return host


def test_last_registered_runs_first_and_tryfirst_trylast_move_it():
    host = _host(("last", Last()), ("a", Plain("a")), ("first", First()), ("b", Plain("b")))
    assert [item for _, item in host.collect("published_events")] == ["first", "b", "a", "last"]
    # Each item is paired with the plugin that returned it.
    assert host.collect("published_events") == [("first", "first"), ("b", "b"), ("a", "a"), ("last", "last")]
    # The same order as pluggy's own call of the same hook.
    assert [r[0] for r in host.pm.hook.published_events()] == ["first", "b", "a", "last"]


def test_a_wrapper_sees_the_result_and_may_change_it():
    seen = []

    class Wrapper:
        @hookimpl(wrapper=True)
        def published_events(self):
            result = yield
            seen.append([list(r) for r in result])
            return [*result, ["wrapper.added"]]

    host = _host(("a", Plain("a")), ("wrap", Wrapper()), ("b", Plain("b")))
    assert host.collect("published_events") == [("b", "b"), ("a", "a"), ("wrap", "wrapper.added")]
    assert seen == [[["b"], ["a"]]]


def test_an_old_style_hookwrapper_sees_the_result():
    seen = []

    class OldWrapper:
        @hookimpl(hookwrapper=True)
        def published_events(self):
            outcome = yield
            seen.append(outcome.get_result())

    host = _host(("a", Plain("a")), ("old", OldWrapper()))
    assert host.collect("published_events") == [("a", "a")]
    assert seen == [[["a"]]]


def test_firstresult_stops_at_the_first_answer():
    calls = []

    class Knows:
        def __init__(self, title):
            self.title = title

        @hookimpl
        def pick_title(self, media_id):
            calls.append(self.title)
            return self.title

    class DoesNotKnow:
        @hookimpl
        def pick_title(self, media_id):
            calls.append(None)
            return None

    host = _host(("older", Knows("Older")), ("newer", Knows("Newer")), ("unknown", DoesNotKnow()))
    assert host.call("pick_title", media_id=1) == [("newer", "Newer")]
    assert calls == [None, "Newer"]  # the last registered first; "older" never runs


def test_a_raising_plugin_is_isolated_marked_failed_and_the_others_answer(caplog):
    host = _host(("a", Plain("a")), ("boom", Raising()), ("b", Plain("b")))
    assert host.collect("published_events") == [("b", "b"), ("a", "a")]
    info = host.plugins["boom"]
    assert info.state == "failed"
    assert info.error == "published_events raised RuntimeError: raising plugin exploded"
    assert "plugin boom disabled: published_events raised RuntimeError" in caplog.text
    # From then on it is left out of every call, as pluggy's subset caller does.
    assert host.collect("published_events") == [("b", "b"), ("a", "a")]
    # firstresult: the next plugin still answers after one raised.

    class Knows:
        @hookimpl
        def pick_title(self, media_id):
            return "Known"

    host2 = _host(("knows", Knows()), ("boom", Raising()))
    assert host2.call("pick_title", media_id=3) == [("knows", "Known")]
    assert host2.plugins["boom"].state == "failed"


def test_a_wrapper_that_raises_steps_aside():
    class BrokenWrapper:
        @hookimpl(wrapper=True)
        def published_events(self):
            result = yield
            raise ValueError(f"cannot handle {len(result)} results")

    host = _host(("a", Plain("a")), ("broken", BrokenWrapper()))
    assert host.collect("published_events") == [("a", "a")]
    assert host.plugins["broken"].error == "published_events raised ValueError: cannot handle 1 results"


def test_a_raising_wrapper_does_not_reach_the_wrappers_around_it():
    class Outer:
        @hookimpl(wrapper=True, tryfirst=True)
        def published_events(self):
            try:
                return (yield)
            except KeyError:
                return [["outer.recovered"]]

    class Inner:
        @hookimpl(wrapper=True)
        def published_events(self):
            yield
            raise KeyError("deliberate")  # a wrapper may raise to signal an error: that is pluggy's contract

    host = _host(("a", Plain("a")), ("inner", Inner()), ("outer", Outer()))
    # Inner's raise is its own fault: it steps aside, and Outer sees the plain result.
    assert host.collect("published_events") == [("a", "a")]
    assert host.plugins["inner"].state == "failed"
    assert host.plugins["outer"].state == "enabled"


def test_disabled_plugins_are_left_out_and_installed_calls_reach_them():
    host = _host(("a", Plain("a")), ("b", Plain("b")))
    host.set_enabled("a", False)
    assert host.collect("published_events") == [("b", "b")]
    assert host.collect_installed("published_events") == [("b", "b"), ("a", "a")]
    host.set_enabled("a", True)
    assert host.collect("published_events") == [("b", "b"), ("a", "a")]


def test_names_claimed_at_start_go_to_the_plugin_loaded_first():
    host = _host(("a", Plain("same")), ("b", Plain("same")))
    assert host.in_load_order(host.collect("published_events")) == [("a", "same"), ("b", "same")]


def test_a_hook_that_raises_during_start_up_refuses_the_plugin_in_this_process_only():
    host = PluginHost()
    host.register(Plain("a"), name="a")
    host.register(Raising(), name="boom")
    assert host.collect_installed("published_events") == [("a", "a")]
    assert host.plugins["boom"].load_error.startswith("published_events raised RuntimeError")
    assert host.plugins["boom"].fault is None  # not a fault to keep: the next start tries again
    host.started()
    host.set_enabled("boom", True)
    assert host.collect("published_events") == [("a", "a")]  # enabling does not undo a refusal


def test_guarded_implementations_keep_their_names_and_arguments():
    host = _host(("a", Plain("a")))
    (impl,) = host.pm.hook.published_events.get_hookimpls()
    assert impl.plugin_name == "a"
    assert impl.function.__name__ == "published_events"
    assert impl.argnames == ()
    with pytest.raises(pluggy.PluginValidationError):
        host.pm.register(type("Bad", (), {"published_events": hookimpl(lambda self, nonsense: None)})(), name="bad")
