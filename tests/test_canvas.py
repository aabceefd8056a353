"""Broken canvas data: every payload becomes clean strokes or ``[]``, and the pages show a guess or a hint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from data_loader.canvas import COORDINATE_LIMIT, clean_strokes, strokes_from_canvas
from data_loader.raster import render
from tests.drawings import fabric_json, raw_drawings
from tests.test_app import run_page, texts

GOOD_PATH = [["M", 60, 60], ["Q", 100, 40, 200, 80], ["L", 300, 300], ["L", 80, 290]]


def fabric(*objects) -> dict:
    return {"version": "7.4.0", "objects": list(objects), "background": "#000000"}


def path(commands: list, **fields) -> dict:
    return {"type": "path", "originX": "center", "originY": "center", "path": commands, **fields}


# (name, Fabric.js JSON as the canvas might send it, strokes expected: None = nothing drawable)
BROKEN_CANVASES = [
    ("missing", None, None),
    ("a string", "abc", None),
    ("a number", 5, None),
    ("a list", [1, 2], None),
    ("objects not a list", {"objects": "path"}, None),
    ("objects that are not dicts", {"objects": [5, "path", None, ["M", 1, 2]]}, None),
    ("path not a list", fabric(path("M 1 2 L 3 4")), None),
    ("commands not lists", fabric(path([5, None, "M", {"M": 1}])), None),
    ("numbers None", fabric(path([["M", None, 10], ["L", None, None]])), None),
    ("numbers lists", fabric(path([["M", [1], 10], ["L", 20, [3, 4]]])), None),
    ("numbers strings", fabric(path([["M", "10", "10"], ["L", "nan", "20"]])), None),
    ("numbers booleans", fabric(path([["M", True, False], ["L", True, True]])), None),
    ("numbers infinite", fabric(path([["M", float("inf"), 10], ["L", float("nan"), 20]])), None),
    ("numbers 1e308", fabric(path([["M", 1e308, 1e308], ["L", -1e308, 1e308]])), None),
    ("numbers beyond any canvas", fabric(path([["M", 2e5, 10], ["L", 10, -3e5]])), None),
    ("numbers overflowing", fabric(path([["M", 10**400, 10], ["L", 10, -(10**400)]])), None),
    ("letter not text", fabric(path([[None, 10, 10], [1, 20, 20]])), None),
    ("too few numbers", fabric(path([["M", 10], ["L"], ["Q", 1, 2]])), None),
]
# The good path survives its broken neighbours and its broken fields, where it was drawn.
GOOD_STROKES = strokes_from_canvas(fabric(path(GOOD_PATH)))
SURVIVING_CANVASES = [
    ("scaleX a list", fabric(path(GOOD_PATH, scaleX=[2], scaleY=[1, 2]))),
    ("scaleX 'nan'", fabric(path(GOOD_PATH, scaleX="nan", scaleY="inf"))),
    ("scaleX 1e308", fabric(path(GOOD_PATH, scaleX=1e308, scaleY=-1e308))),
    ("scaleX 0 and None", fabric(path(GOOD_PATH, scaleX=0, scaleY=None))),
    ("left and top broken", fabric(path(GOOD_PATH, left="x", top=[3], scaleX=1, scaleY=1))),
    ("left 1e308", fabric(path(GOOD_PATH, left=1e308, top=-1e308))),
    ("origin a list", fabric(path(GOOD_PATH, originX=["center"], originY={"a": 1}))),
    ("broken neighbours", fabric(5, path([["M", None, 1]]), path(GOOD_PATH), {"type": ["path"]},
                                 path([["M", 1e308, 1]]), "path")),
    ("broken commands inside", fabric(path([*GOOD_PATH[:2], ["L", None, 3], ["Q", [1], 2, 3, 4], ["X", 1, 2],
                                            *GOOD_PATH[2:]]))),
]


def assert_clean(strokes: list) -> None:
    for xs, ys in strokes:
        assert xs and len(xs) == len(ys)
        assert all(type(value) is float and abs(value) <= COORDINATE_LIMIT for value in xs + ys)


@pytest.mark.parametrize(("name", "json_data", "expected"), BROKEN_CANVASES, ids=[case[0] for case in BROKEN_CANVASES])
def test_a_broken_canvas_gives_no_strokes_and_never_raises(name: str, json_data, expected) -> None:
    assert strokes_from_canvas(json_data) == []


@pytest.mark.parametrize(("name", "json_data"), SURVIVING_CANVASES, ids=[case[0] for case in SURVIVING_CANVASES])
def test_a_good_path_survives_broken_fields_and_neighbours(name: str, json_data) -> None:
    strokes = strokes_from_canvas(json_data)
    assert strokes == GOOD_STROKES
    assert_clean(strokes)


def test_a_moved_and_scaled_path_is_still_placed_where_it_is_shown() -> None:
    (xs, ys), = strokes_from_canvas(fabric(path([["M", 0, 0], ["L", 10, 20]], left=100, top=200, scaleX=2,
                                                scaleY=0.5)))
    assert (xs, ys) == ([90.0, 110.0], [195.0, 205.0])


# (name, value, expected clean strokes)
STROKE_VALUES = [
    ("not a list", "abc", []),
    ("a dict", {"drawing": [[[1], [2]]]}, []),
    ("None", None, []),
    ("strokes not lists", [5, "ab", None, {"x": 1}], []),
    ("wrong number of parts", [[[1, 2]], [[1], [2], [3], [4]]], []),
    ("good, with times", [[[1, 2], [3, 4], [0, 16]]], [[[1.0, 2.0], [3.0, 4.0]]]),
    ("numpy arrays", [np.array([[1, 2], [3, 4]])], [[[1.0, 2.0], [3.0, 4.0]]]),
    ("booleans dropped", [[[True, 2, 5], [3, False, 6]]], [[[5.0], [6.0]]]),
    ("text and None dropped", [[["1", None, 7], [3, 4, 8]]], [[[7.0], [8.0]]]),
    ("nested lists dropped", [[[[1], 7], [3, 8]]], [[[7.0], [8.0]]]),
    ("non-finite and far dropped", [[[float("nan"), 1e308, 2e5, 9], [1, 2, 3, 9]]], [[[9.0], [9.0]]]),
    ("overflow dropped", [[[10**400, 9], [1, 9]]], [[[9.0], [9.0]]]),
    ("empty strokes dropped", [[[], []], [[1], [2]], [[None], [None]]], [[[1.0], [2.0]]]),
    ("xs and ys of different lengths", [[[1, 2, 3], [4, 5]]], [[[1.0, 2.0], [4.0, 5.0]]]),
]


@pytest.mark.parametrize(("name", "value", "expected"), STROKE_VALUES, ids=[case[0] for case in STROKE_VALUES])
def test_clean_strokes_keeps_only_drawable_points(name: str, value, expected) -> None:
    strokes = clean_strokes(value)
    assert strokes == expected
    assert_clean(strokes)
    if strokes:
        assert render(strokes).max() > 0  # What is kept always renders.


def test_real_drawings_go_through_unchanged(data_root: Path) -> None:
    drawing = raw_drawings(data_root, "cat", 1)[0]
    assert clean_strokes(drawing) == [[[float(x) for x in xs], [float(y) for y in ys]] for xs, ys, _ in drawing]
    strokes = strokes_from_canvas(fabric_json(drawing))
    assert clean_strokes(strokes) == strokes and len(strokes) == len(drawing)


def broken_state(json_data) -> dict:
    return {"drawing": {"raw": json_data, "data": None}}


def live(strokes, **fields) -> dict:
    """A live canvas' state (Draw and Game pages) holding these strokes, as a browser could send them."""
    return {"strokes": strokes, "live": None, "report": None, "started": None, "wanted": None, **fields}


PAGE_PAYLOADS = {
    "value a string": "abc",
    "drawing a string": {"drawing": "abc"},
    "numbers None and lists": broken_state(fabric(path([["M", None, 10], ["L", [1], [2]]]))),
    "numbers 1e308": broken_state(fabric(path([["M", 1e308, 1e308], ["L", -1e308, 1e308]]))),
    "objects not dicts": broken_state({"objects": [5, "path", None]}),
}
GOOD_WITH_BROKEN = broken_state(fabric(path(GOOD_PATH, scaleX=[2], scaleY="nan"), path([["M", None, 1]]), 7))
LIVE_PAYLOADS = {
    "strokes a string": live("abc"),
    "numbers None and lists": live([[[None, [1]], [10, [2]]]]),
    "numbers 1e308": live([[[1e308, -1e308], [1e308, 1e308]]]),
    "strokes not lists": live([5, "path", None, {"x": 1}]),
}
LIVE_GOOD_WITH_BROKEN = live([*GOOD_STROKES, [[None, 1e308], [1, 2]], 7, [["a"], ["b"]]])


@pytest.mark.parametrize("payload", list(LIVE_PAYLOADS.values()), ids=list(LIVE_PAYLOADS))
def test_draw_page_shows_the_hint_for_broken_canvas_data(registry, payload) -> None:
    app = run_page("pages/1_Draw.py", {"canvas": payload})  # run_page fails on any exception.
    assert "Start drawing" in texts(app)
    assert app.session_state["drawing"] == []


def test_draw_page_guesses_the_good_strokes_among_broken_ones_and_keeps_only_those(registry) -> None:
    app = run_page("pages/1_Draw.py", {"canvas": LIVE_GOOD_WITH_BROKEN})
    assert [item.value for item in app.markdown if item.value.startswith("## ")], "a guess is shown"
    assert app.session_state["drawing"] == GOOD_STROKES
    inside = run_page("pages/2_Inside_the_network.py", {"drawing": app.session_state["drawing"]})
    assert "The network's guess" in texts(inside)


@pytest.mark.parametrize("payload", [PAGE_PAYLOADS["drawing a string"], PAGE_PAYLOADS["numbers 1e308"]],
                         ids=["drawing a string", "numbers 1e308"])
def test_inside_page_asks_for_a_drawing_when_its_canvas_sends_broken_data(registry, payload) -> None:
    app = run_page("pages/2_Inside_the_network.py", {"inside_canvas": payload})
    assert "Draw something above" in texts(app)


def test_inside_page_guesses_the_good_strokes_among_broken_ones(registry) -> None:
    app = run_page("pages/2_Inside_the_network.py", {"inside_canvas": GOOD_WITH_BROKEN})
    assert "The network's guess" in texts(app)


@pytest.mark.parametrize("payload", [LIVE_PAYLOADS["numbers None and lists"], LIVE_PAYLOADS["strokes a string"],
                                     LIVE_GOOD_WITH_BROKEN],
                         ids=["numbers None and lists", "strokes a string", "mixed"])
def test_game_page_shows_a_guess_or_nothing_for_broken_canvas_data(registry, payload) -> None:
    from game.rules import Game, GameSettings
    from model.predict import Predictor
    from model.registry import BUNDLED_DIR

    names = Predictor.load(str(BUNDLED_DIR / "quickdraw18")).class_names
    game = Game(names, GameSettings(rounds=2, seconds=60, win_probability=0.99), seed=1)
    server_path = {**payload, "live": False, "started": f"{game.id}:0"}  # the browser cannot guess: the server does
    app = run_page("pages/4_Game.py", {"game": game, "game_model": "quickdraw18", "game_canvas": server_path})
    assert ("🗣️" in texts(app)) == (payload is LIVE_GOOD_WITH_BROKEN)
    reported = live([], report={"id": game.id, "round": 0, "outcome": "timeout", "seconds": "soon",
                                "strokes": payload["strokes"]})
    app.session_state["game_canvas"] = reported  # a round's report with the same strokes
    app.run()
    assert not app.exception and [result.outcome for result in game.results] == ["timeout"]
    assert game.results[0].strokes == (GOOD_STROKES if payload is LIVE_GOOD_WITH_BROKEN else [])


def test_a_flood_of_points_is_capped() -> None:
    from data_loader.canvas import MAX_POINTS

    many = list(range(MAX_POINTS // 2 + 10))
    strokes = clean_strokes([[many, many], [many, many], [[1, 2], [3, 4]]])
    assert sum(len(xs) for xs, _ in strokes) == MAX_POINTS and len(strokes) == 2


JUNK = [None, True, False, 0, -1, 3.5, 1e308, -1e308, float("nan"), float("inf"), 10**400, "nan", "12", "", [],
        {}, [1], [[1, 2]], {"x": 1}, np.float64(7.0), np.int64(-3), np.bool_(True), np.array([1.0, 2.0]), b"M"]


def random_value(rng: np.random.Generator, depth: int = 0):
    """A random mix of good numbers, junk and nested lists, the shape of what a broken canvas might send."""
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return float(rng.uniform(-400, 400)) if rng.random() < 0.5 else JUNK[rng.integers(len(JUNK))]
    return [random_value(rng, depth + 1) for _ in range(rng.integers(0, 5))]


def random_number(rng: np.random.Generator):
    """Mostly a coordinate on the canvas, sometimes junk."""
    return float(rng.uniform(-400, 400)) if rng.random() < 0.8 else JUNK[rng.integers(len(JUNK))]


def random_strokes(rng: np.random.Generator):
    """Strokes of the right shape, [xs, ys] or [xs, ys, ts], with junk among the numbers and the strokes."""
    strokes = []
    for _ in range(rng.integers(0, 4)):
        size = rng.integers(0, 6)
        parts = [[random_number(rng) for _ in range(size + rng.integers(0, 2))] for _ in range(rng.integers(2, 4))]
        strokes.append(parts if rng.random() < 0.85 else random_value(rng))
    return strokes


def random_canvas(rng: np.random.Generator):
    letters = ["M", "L", "L", "Q", "C", "Z", "m", None, 3]
    objects = []
    for _ in range(rng.integers(0, 4)):
        commands = [[letters[rng.integers(len(letters))], *[random_number(rng) for _ in range(rng.integers(0, 7))]]
                    for _ in range(rng.integers(0, 6))]
        fields = {key: random_value(rng, 3) for key in ("scaleX", "scaleY", "left", "top") if rng.random() < 0.3}
        objects.append(path(commands, **fields) if rng.random() < 0.8 else random_value(rng))
    return fabric(*objects) if rng.random() < 0.9 else random_value(rng)


def test_random_junk_never_raises_and_what_is_kept_always_renders() -> None:
    rng = np.random.default_rng(8)
    kept = 0
    for _ in range(300):
        values = (clean_strokes(random_value(rng)), clean_strokes(random_strokes(rng)),
                  strokes_from_canvas(random_canvas(rng)))
        for strokes in values:
            assert_clean(strokes)
            if strokes:
                kept += 1
                assert render(strokes, "quickdraw" if kept % 2 else "mnist").shape == (28, 28)
    assert kept > 200, f"only {kept} drawable results: the generator should also make drawable strokes"
