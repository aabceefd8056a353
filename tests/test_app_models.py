"""AppTest tests of models per person, the teacher key and damaged models on the Models page (issues 8 and 9)."""

from __future__ import annotations

import json

import pytest

from model.registry import Registry
from model.train import save_result
from tests.drawings import live_state
from tests.test_app import run_page, texts

KEY = "correct-horse-7"


def button(app, key: str):
    return next(item for item in app.button if item.key == key)


def everything(app) -> str:
    """Every text the page shows, including errors, captions and widget labels."""
    labels = [item.label for item in [*app.button, *app.text_input, *app.selectbox]]
    return texts(app) + "\n".join(labels) + "\n".join(str(item.value) for item in app.get("dataframe"))


def test_saving_and_using_a_model_in_one_session_leaves_the_others_and_the_default(registry: Registry,
                                                                                  tiny_training) -> None:
    save_result(tiny_training, "alices-fruit", registry, saved_by="Alice", owner="session-a")
    alice = run_page("pages/6_Models.py", {"session_id": "session-a"})
    button(alice, "use_alices-fruit").click().run()
    assert not alice.exception
    assert alice.session_state["model_name"] == "alices-fruit" and alice.sidebar.selectbox[0].value == "alices-fruit"
    assert registry.active_name() == "quickdraw18", "using a model in one session leaves the default alone"

    bob = run_page("app.py", {"session_id": "session-b"})
    assert "Model in use: quickdraw18" in [item.value for item in bob.subheader]
    models = run_page("pages/6_Models.py", {"session_id": "session-b"})
    assert "Saved by Alice" in texts(models) and "in this session" not in texts(models)
    table = models.get("dataframe")[0].value
    assert list(table["Model"]) == ["mnist", "quickdraw18", "alices-fruit"]
    row = table[table["Model"] == "alices-fruit"].iloc[0]
    assert (row["Saved by"], row["Classes"], row["Parameters"]) == ("Alice", 3, tiny_training.card.parameters)
    assert set(table.columns) >= {"Test top-1", "Training time (s)", "Date"}


def test_making_a_model_the_default_changes_new_sessions(registry: Registry) -> None:
    app = run_page("pages/6_Models.py")
    assert not [item for item in app.text_input if item.label.startswith("Teacher key")], "no key, no box"
    button(app, "activate_mnist").click().run()
    assert registry.active_name() == "mnist" and not app.exception
    fresh = run_page("app.py")
    assert "Model in use: mnist" in [item.value for item in fresh.subheader]


def teacher_box(app):
    return next(item for item in app.text_input if item.label.startswith("Teacher key"))


def test_with_a_teacher_key_the_default_changes_only_with_the_right_key(registry: Registry,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOODLE_TEACHER_KEY", KEY)
    app = run_page("pages/6_Models.py")
    button(app, "activate_mnist").click().run()
    assert registry.active_name() == "quickdraw18" and "only the teacher can make a model the default" in texts(app)
    teacher_box(app).set_value("guess-1234").run()
    assert "That is not the teacher key" in texts(app)
    button(app, "activate_mnist").click().run()
    assert registry.active_name() == "quickdraw18" and not app.exception
    assert KEY not in everything(app), "the key never appears in the page"
    teacher_box(app).set_value(KEY).run()
    button(app, "activate_mnist").click().run()
    assert registry.active_name() == "mnist" and not app.exception
    assert not teacher_box(app).value, "the key is forgotten once the action is done"
    assert KEY not in everything(app)


def test_the_teacher_key_can_come_from_streamlit_secrets(registry: Registry, monkeypatch) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.test_app import REPOSITORY, TIMEOUT

    monkeypatch.delenv("DOODLE_TEACHER_KEY", raising=False)
    app = AppTest.from_file(str(REPOSITORY / "pages/6_Models.py"), default_timeout=TIMEOUT)
    app.secrets["DOODLE_TEACHER_KEY"] = KEY
    app.run()
    button(app, "activate_mnist").click().run()
    assert registry.active_name() == "quickdraw18"
    teacher_box(app).set_value(KEY).run()
    button(app, "activate_mnist").click().run()
    assert registry.active_name() == "mnist" and not app.exception


def test_with_a_teacher_key_only_your_own_models_can_be_renamed_and_deleted_freely(
        registry: Registry, tiny_training, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOODLE_TEACHER_KEY", KEY)
    save_result(tiny_training, "mine", registry, owner="session-a")
    save_result(tiny_training, "theirs", registry, owner="session-b")
    app = run_page("pages/6_Models.py", {"session_id": "session-a"})
    button(app, "delete_theirs").click().run()
    assert "theirs" in registry.names() and "only the teacher can delete" in texts(app)
    next(item for item in app.text_input if item.key == "name_theirs").set_value("stolen")
    button(app, "rename_theirs").click().run()
    assert "theirs" in registry.names() and "stolen" not in registry.names()
    teacher_box(app).set_value("wrong-key").run()
    button(app, "delete_theirs").click().run()
    assert "theirs" in registry.names() and "That is not the teacher key" in texts(app)
    next(item for item in app.text_input if item.key == "name_mine").set_value("still-mine")
    button(app, "rename_mine").click().run()
    assert "still-mine" in registry.names(), "your own model needs no key"
    button(app, "delete_still-mine").click().run()
    assert "still-mine" not in registry.names()
    teacher_box(app).set_value(KEY).run()
    button(app, "delete_theirs").click().run()
    assert "theirs" not in registry.names() and not app.exception
    for path in registry.folder.rglob("*"):
        assert not path.is_file() or KEY.encode() not in path.read_bytes(), f"the key was written to {path}"


def test_deleting_asks_for_confirmation_first(registry: Registry, tiny_training) -> None:
    save_result(tiny_training, "spare", registry)
    app = run_page("pages/6_Models.py")
    assert "spare" in registry.names(), "drawing the page deletes nothing"
    [popover] = [item for item in app.get("popover") if "Yes, delete spare" in [b.label for b in item.button]]
    assert popover.proto.popover.label == "Delete…"
    assert "cannot be undone" in " ".join(item.value for item in popover.markdown)
    button(app, "delete_spare").click().run()
    assert "spare" not in registry.names() and not app.exception


def test_damaged_models_are_listed_with_the_reason_and_can_be_deleted(registry: Registry, tiny_training) -> None:
    for name in ("good", "bad-card", "bad-file"):
        save_result(tiny_training, name, registry)
    card = json.loads((registry.folder / "bad-card" / "card.json").read_text())
    (registry.folder / "bad-card" / "card.json").write_text(json.dumps({**card, "metrics": "oops"}))
    model_file = registry.folder / "bad-file" / "model.keras"
    model_file.write_bytes(model_file.read_bytes()[:1000])
    (registry.folder / "active.json").write_text(json.dumps({"name": "bad-card"}))

    app = run_page("pages/6_Models.py", {"model_name": "bad-file"})
    shown = texts(app)
    assert "`bad-card` cannot be used" in shown and "metrics must be an object" in shown
    assert "`bad-file` cannot be used" in shown and f"{model_file} is damaged or unreadable" in shown
    assert set(app.sidebar.selectbox[0].options) == {"quickdraw18 (bundled)", "mnist (bundled)", "good"}
    assert list(app.get("dataframe")[0].value["Model"]) == ["mnist", "quickdraw18", "good"]
    for page in ("app.py", "pages/1_Draw.py"):  # Neither the pointer nor a session's choice uses a damaged model.
        other = run_page(page, {"model_name": "bad-card", "canvas": live_state(None)})
        assert other.sidebar.selectbox[0].value == "quickdraw18" and not other.exception
        assert "Your model 'bad-card' is damaged" in other.sidebar.warning[0].value
    button(app, "delete_bad-card").click().run()
    button(app, "delete_bad-file").click().run()
    assert not app.exception and registry.damaged() == [] and registry.names()[-1] == "good"
    assert "cannot be used" not in texts(app)


def test_after_a_killed_rename_the_inside_page_finds_filter_patterns(registry: Registry, tiny_training) -> None:
    import os

    entry = save_result(tiny_training, "before", registry)
    os.rename(entry.folder, registry.folder / "after")  # Killed before the card was rewritten with the new name.
    app = run_page("pages/2_Inside_the_network.py", {"model_name": "after", "drawing": [[[10, 200], [10, 200]]]})
    next(item for item in app.button if item.label.startswith("Find what 8 of its filters")).click().run()
    assert not app.exception, [item.value for item in app.exception]
    assert any("Inputs that excite filters" in str(chart.proto) for chart in app.get("plotly_chart"))
