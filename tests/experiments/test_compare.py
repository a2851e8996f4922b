"""The weight learner's penalty chosen by inner cross-validation."""

import numpy as np
import pandas as pd

from experiments.compare import chosen_alpha

TIERS = ["none", "light", "moderate", "severe"]


def households(n: int, seed: int):
    rng = np.random.default_rng(seed)
    signal = rng.random(n)
    tiers = np.array(TIERS)[np.minimum((signal * 4 + rng.normal(0, 0.6, n)).clip(0, 3.99).astype(int), 3)]
    return signal, tiers, np.arange(n)


def test_one_indicator_ties_every_penalty_and_the_smallest_wins():
    # With a single indicator every positive weight ranks households the same way: equal AUCs.
    signal, tiers, ids = households(300, seed=1)
    deprivations = pd.DataFrame({"only": signal})
    alphas = (1e-4, 1.0, 100.0)
    assert chosen_alpha(deprivations, tiers, np.ones(len(ids), dtype=bool), ids, TIERS, alphas=alphas) == 1e-4

