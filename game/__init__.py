"""The sketching game's rules, in plain Python: rounds, prompts, timing, the win condition and the score."""
