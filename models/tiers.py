"""Ordered tier labels, shared by the learned model and the weight learner."""

from __future__ import annotations

import numpy as np


def tier_ranks(y, tier_order) -> tuple[np.ndarray, np.ndarray, int]:
    """(classes, rank of each label, number of distinct labels found). `tier_order` lists the labels
    from least to most severe; None orders the labels found by sorting. Unknown labels, or fewer than
    two distinct ones, are a ValueError."""
    found = np.unique(y)
    classes = found if tier_order is None else np.asarray(tier_order)
    position = {label: k for k, label in enumerate(classes.tolist())}
    unknown = set(found.tolist()) - set(position)
    if unknown:
        raise ValueError(f"labels {sorted(map(str, unknown))} are not in tier_order / 标签不在分档顺序中")
    if len(found) < 2:
        raise ValueError("y has only one class; at least two tiers are needed / 至少需要两个分档")
    return classes, np.array([position[label] for label in y.tolist()], dtype=int), len(found)
