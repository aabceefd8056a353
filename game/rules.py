"""A "Quick, Draw!"-style game: the app names a category, the player draws it before the time runs out.

A round is won the moment the prompted category is the network's top guess with at least
``win_probability``; it is lost when the time runs out, or when the player skips it. Giving up ends
the game. Time comes from a clock function (``time.monotonic`` by default) so that tests can drive it.

Two ways to play a round. On the server path the page calls ``observe`` after every stroke with the server's
guesses. With live guessing the player's browser runs the round (clock, guesses, the win moment) and reports
how it ended once; ``finish_round`` then checks that report on the server: a claimed win counts only if the
server's own guesses for the reported strokes agree (the browser's model and rasterizer match the server's to
within ``WIN_TOLERANCE``), and the claimed time is kept within the round's length.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Ranking = list[tuple[str, float]]
WIN_TOLERANCE = 0.01  # how far below the win probability the server's check of a browser's win may fall
OUTCOMES = ("won", "timeout", "skipped", "gave up", "not confirmed")


@dataclass(frozen=True)
class GameSettings:
    """How long and how hard a game is."""

    rounds: int = 6
    seconds: float = 20.0
    win_probability: float = 0.5

    def __post_init__(self) -> None:
        if not 1 <= self.rounds <= 50:
            raise ValueError(f"a game has 1 to 50 rounds, got {self.rounds}")
        if not 3 <= self.seconds <= 300:
            raise ValueError(f"a round lasts 3 to 300 seconds, got {self.seconds}")
        if not 0 < self.win_probability <= 1:
            raise ValueError(f"the win probability must be above 0 and at most 1, got {self.win_probability}")


@dataclass
class RoundResult:
    """How one round ended: the prompt, the verdict, the time taken and the last drawing with its guesses."""

    category: str
    outcome: str  # one of OUTCOMES; "not confirmed": the browser said won, the server's guesses did not agree
    seconds: float
    strokes: list = field(default_factory=list)
    image: np.ndarray | None = None
    ranking: Ranking = field(default_factory=list)

    @property
    def won(self) -> bool:
        return self.outcome == "won"


def speak(ranking: Ranking, prompt: str | None = None) -> str:
    """What the network says about a drawing: "I see... cat? or dog?", or "Oh, I know, it's a cat!"."""
    if not ranking:
        return "Draw something!"
    best, probability = ranking[0]
    if prompt is not None and best == prompt:
        return f"Oh, I know: it's {best}!"
    others = [name for name, _ in ranking[1:3]]
    if probability < 0.3:
        return "Hmm... " + " ".join(f"{name}?" for name in [best, *others][:3])
    return f"I see... {best}?" + (f" or {others[0]}?" if others else "")


class Game:
    """One player's game: the prompts, the current round, and the results so far."""

    def __init__(self, categories: list[str], settings: GameSettings | None = None, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if len(categories) < 2:
            raise ValueError("the game needs a model with at least two categories")
        self.settings = settings or GameSettings()
        self.clock = clock
        generator = random.Random(seed)
        prompts: list[str] = []
        while len(prompts) < self.settings.rounds:  # Without repeats until every category has come up.
            batch = list(categories)
            generator.shuffle(batch)
            prompts.extend(name for name in batch if not prompts or name != prompts[-1])
        self.prompts = prompts[: self.settings.rounds]
        self.results: list[RoundResult] = []
        self.id = uuid.uuid4().hex[:12]
        self.round_started = clock()
        self.gave_up = False
        self._last: tuple[list, np.ndarray | None, Ranking] = ([], None, [])

    @property
    def finished(self) -> bool:
        return self.gave_up or len(self.results) >= len(self.prompts)

    @property
    def round_number(self) -> int:
        """The current round, counted from 1."""
        return min(len(self.results) + 1, len(self.prompts))

    @property
    def prompt(self) -> str | None:
        return None if self.finished else self.prompts[len(self.results)]

    @property
    def score(self) -> int:
        return sum(result.won for result in self.results)

    def remaining(self) -> float:
        """Seconds left in the current round (0 when it is over)."""
        return 0.0 if self.finished else max(0.0, self.settings.seconds - (self.clock() - self.round_started))

    def observe(self, strokes: list, image: np.ndarray | None, ranking: Ranking) -> str:
        """Take the network's latest guesses for the player's drawing; return "won", "timeout" or "playing"."""
        if self.finished:
            return "finished"
        if self.remaining() <= 0:
            return self.tick()
        self._last = (strokes, image, ranking)
        if ranking and ranking[0][0] == self.prompt and ranking[0][1] >= self.settings.win_probability:
            self._end("won")
            return "won"
        return "playing"

    def tick(self) -> str:
        """Check the clock: end the round as lost when its time is up; return "timeout" or "playing"."""
        if self.finished:
            return "finished"
        if self.remaining() <= 0:
            self._end("timeout")
            return "timeout"
        return "playing"

    def start_round(self) -> None:
        """Start the current round's clock now (the player said they are ready)."""
        if not self.finished:
            self.round_started = self.clock()

    def finish_round(self, number: int, claimed: str, seconds: float, strokes: list, image: np.ndarray | None,
                     ranking: Ranking) -> str:
        """End round ``number`` (counted from 0) as a browser reported it; return the outcome recorded.

        ``claimed`` is "won", "timeout" or "skipped"; ``ranking`` is the server's own guesses for the reported
        strokes, which must confirm a claimed win. A report for another round than the current one (sent
        twice, or late) or with an unknown outcome changes nothing and returns "ignored".
        """
        if self.finished or number != len(self.results) or claimed not in ("won", "timeout", "skipped"):
            return "ignored"
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            seconds = self.settings.seconds
        seconds = min(max(seconds, 0.0), self.settings.seconds) if math.isfinite(seconds) else self.settings.seconds
        outcome = claimed
        if claimed == "won":
            confirmed = bool(ranking) and ranking[0][0] == self.prompt and \
                ranking[0][1] >= self.settings.win_probability - WIN_TOLERANCE
            outcome = "won" if confirmed else "not confirmed"
        self.results.append(RoundResult(self.prompts[len(self.results)], outcome, round(seconds, 2), strokes, image,
                                        ranking))
        self._last = ([], None, [])
        self.round_started = self.clock()
        return outcome

    def skip(self) -> None:
        """Give up this round only (it counts as lost) and go on to the next one."""
        if not self.finished:
            self._end("skipped")

    def give_up(self) -> None:
        """End the whole game now."""
        if not self.finished:
            self._end("gave up")
            self.gave_up = True

    def _end(self, outcome: str) -> None:
        strokes, image, ranking = self._last
        seconds = min(self.settings.seconds, self.clock() - self.round_started)
        self.results.append(RoundResult(self.prompts[len(self.results)], outcome, round(seconds, 2), strokes,
                                        image, ranking))
        self._last = ([], None, [])
        self.round_started = self.clock()
