"""Unit tests of the game rules, driven by a fake clock."""

from __future__ import annotations

import numpy as np
import pytest

from game.rules import Game, GameSettings, speak

CATEGORIES = ["cat", "dog", "fish", "house", "train", "apple", "eye"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_prompts_have_no_repeats_and_come_from_the_model() -> None:
    game = Game(CATEGORIES, GameSettings(rounds=6), seed=3, clock=FakeClock())
    assert len(game.prompts) == 6 and len(set(game.prompts)) == 6
    assert set(game.prompts) <= set(CATEGORIES)
    assert Game(CATEGORIES, GameSettings(rounds=6), seed=3).prompts == game.prompts, "a seed fixes the prompts"


def test_more_rounds_than_categories_cycles_without_back_to_back_repeats() -> None:
    game = Game(["0", "1", "2"], GameSettings(rounds=10), seed=1, clock=FakeClock())
    assert len(game.prompts) == 10
    assert all(first != second for first, second in zip(game.prompts, game.prompts[1:], strict=False))


def test_a_round_is_won_when_the_prompt_is_the_confident_top_guess() -> None:
    clock = FakeClock()
    game = Game(CATEGORIES, GameSettings(rounds=2, seconds=20, win_probability=0.6), seed=0, clock=clock)
    prompt = game.prompt
    other = next(name for name in CATEGORIES if name != prompt)
    clock.now += 4
    assert game.observe([[[0, 1], [0, 1]]], None, [(other, 0.9), (prompt, 0.1)]) == "playing"
    assert game.observe([], None, [(prompt, 0.55), (other, 0.45)]) == "playing", "below the win probability"
    clock.now += 3.5
    image = np.zeros((28, 28), np.uint8)
    assert game.observe([[[0, 5], [0, 5]]], image, [(prompt, 0.8), (other, 0.2)]) == "won"
    result = game.results[0]
    assert result.won and result.category == prompt and result.seconds == 7.5
    assert result.image is image and result.ranking[0] == (prompt, 0.8)
    assert game.round_number == 2 and game.remaining() == 20 and game.score == 1


def test_a_round_is_lost_when_time_runs_out() -> None:
    clock = FakeClock()
    game = Game(CATEGORIES, GameSettings(rounds=2, seconds=10), seed=0, clock=clock)
    first = game.prompt
    clock.now += 9.9
    assert game.tick() == "playing" and game.remaining() == pytest.approx(0.1)
    clock.now += 0.2
    assert game.tick() == "timeout"
    assert game.results[0].outcome == "timeout" and game.results[0].seconds == 10
    assert game.prompt != first
    clock.now += 11
    assert game.observe([], None, [(game.prompt, 1.0)]) == "timeout", "a late guess does not win"
    assert game.finished and game.score == 0


def test_skip_and_give_up() -> None:
    game = Game(CATEGORIES, GameSettings(rounds=3), seed=0, clock=FakeClock())
    game.skip()
    assert game.results[0].outcome == "skipped" and not game.finished
    game.give_up()
    assert game.finished and [result.outcome for result in game.results] == ["skipped", "gave up"]
    assert game.prompt is None and game.observe([], None, []) == "finished"


def test_the_network_speaks_its_guesses() -> None:
    assert speak([]) == "Draw something!"
    assert speak([("cat", 0.5), ("dog", 0.3), ("fish", 0.1)]) == "I see... cat? or dog?"
    assert speak([("cat", 0.2), ("dog", 0.15), ("fish", 0.1)]) == "Hmm... cat? dog? fish?"
    assert speak([("cat", 0.9)], prompt="cat") == "Oh, I know: it's cat!"


@pytest.mark.parametrize(("settings", "message"), [
    ({"rounds": 0}, "1 to 50 rounds"), ({"seconds": 1}, "3 to 300 seconds"), ({"win_probability": 0}, "above 0"),
])
def test_bad_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GameSettings(**settings)


def test_a_game_needs_two_categories() -> None:
    with pytest.raises(ValueError, match="at least two"):
        Game(["cat"])
