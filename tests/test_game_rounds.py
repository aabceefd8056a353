"""Unit tests of rounds run in the browser and reported once (game.rules.Game.finish_round, start_round)."""

from __future__ import annotations

import numpy as np
import pytest

from game.rules import WIN_TOLERANCE, Game, GameSettings

CATEGORIES = ["cat", "dog", "fish", "house", "train", "apple", "eye"]
STROKES = [[[1.0, 20.0], [3.0, 40.0]]]
IMAGE = np.zeros((28, 28), np.uint8)


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def game(rounds: int = 3) -> Game:
    return Game(CATEGORIES, GameSettings(rounds=rounds, seconds=20, win_probability=0.6), seed=5, clock=FakeClock())


def test_a_win_the_server_confirms_counts_with_the_browsers_time() -> None:
    play = game()
    prompt = play.prompt
    ranking = [(prompt, 0.6 - WIN_TOLERANCE / 2), ("dog", 0.2)]  # just under the bar: float noise, still a win
    assert play.finish_round(0, "won", 4.25, STROKES, IMAGE, ranking) == "won"
    result = play.results[0]
    assert (result.category, result.outcome, result.seconds, result.strokes) == (prompt, "won", 4.25, STROKES)
    assert result.ranking == ranking and result.image is IMAGE and play.score == 1 and play.round_number == 2


@pytest.mark.parametrize("ranking", [[], [("dog", 0.99)], [("__prompt__", 0.6 - 2 * WIN_TOLERANCE)]],
                         ids=["no guess", "another class", "too unsure"])
def test_a_win_the_server_does_not_see_is_not_confirmed(ranking) -> None:
    play = game()
    prompt = play.prompt
    ranking = [(prompt if name == "__prompt__" else name, p) for name, p in ranking]
    if ranking and ranking[0][0] == "dog" and prompt == "dog":
        ranking = [("cat", 0.99)]
    assert play.finish_round(0, "won", 3, STROKES, IMAGE, ranking) == "not confirmed"
    assert play.results[0].outcome == "not confirmed" and play.score == 0


@pytest.mark.parametrize(("claimed", "expected"), [(-5, 0.0), (1e9, 20.0), (float("nan"), 20.0), ("x", 20.0),
                                                   (None, 20.0), ("7.5", 7.5)])
def test_the_reported_time_stays_within_the_round(claimed, expected) -> None:
    play = game()
    play.finish_round(0, "timeout", claimed, [], None, [])
    assert play.results[0].seconds == expected and play.results[0].outcome == "timeout"


def test_stale_duplicate_and_unknown_reports_change_nothing() -> None:
    play = game(rounds=2)
    assert play.finish_round(1, "skipped", 2, [], None, []) == "ignored"  # not the current round
    assert play.finish_round(0, "gave up", 2, [], None, []) == "ignored"  # not an outcome a browser reports
    assert play.finish_round(0, "skipped", 2, [], None, []) == "skipped"
    assert play.finish_round(0, "skipped", 2, [], None, []) == "ignored"  # the same report twice
    assert play.finish_round(1, "timeout", 20, [], None, []) == "timeout"
    assert play.finished and play.finish_round(2, "won", 1, [], None, []) == "ignored"
    assert [result.outcome for result in play.results] == ["skipped", "timeout"]


def test_the_server_clock_starts_when_the_player_is_ready() -> None:
    play = game()
    play.clock.now += 30  # the player reads the card for half a minute
    assert play.remaining() == 0
    play.start_round()
    play.clock.now += 5
    assert play.remaining() == 15 and play.tick() == "playing"
    first = Game(CATEGORIES, seed=5).id
    assert first != Game(CATEGORIES, seed=5).id, "each game has its own id, so old reports never match"
