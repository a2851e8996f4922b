"""The scoring formula, compiled (numba): deprivation scores -> index, range, tiers, reasons, services.

`score_row` scores one household; everything that scores goes through it or through its parts:
`score_rows` (a frame, in chunks of rows on every core), `contribution_rows` (a frame's contributions, for
whole results), `score_household` (the single-household path, `assessment.scoring.assess`),
`reweighted_indices` (weight sensitivity) and `nested_weights` (the Alkire-Foster population measures). The
catalog and the configuration come as the named arrays of `assessment.layout` (`ScoreTable`, `ScoringPlan`);
the rules both paths share (rounding, tiers) are those of `assessment.rules`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from assessment.rules import raised_tier, round_index, round_strength, tier_level

CHUNK_ROWS = 4096


class Figures(NamedTuple):
    """The figures of scored households, one row each (codes are positions in the catalog; -1: none)."""

    index: np.ndarray
    index_low: np.ndarray
    index_high: np.ndarray
    completeness: np.ndarray
    tier: np.ndarray  # tier position, after critical indicators
    tier_from_index: np.ndarray
    raised_by: np.ndarray  # (n, critical indicators): c where critical indicator c raised the tier
    dimension_scores: np.ndarray  # (n, dimensions), NaN where nothing is answered
    af_score: np.ndarray
    af_poor: np.ndarray
    reasons: np.ndarray  # (n, top_reasons): indicator positions, largest contribution first
    services: np.ndarray  # (n, top_services): service positions, most needed first


class Workspace(NamedTuple):
    """Scratch arrays for scoring one household after another."""

    answered_weight: np.ndarray  # per dimension
    applicable_weight: np.ndarray
    weighted: np.ndarray  # weighted deprivation
    deprived_weight: np.ndarray  # weight of the indicators deprived at the Alkire-Foster cut-off
    low_fill: np.ndarray  # weight times the lowest, and the highest, deprivation of the missing answers
    high_fill: np.ndarray
    factor: np.ndarray  # points of the index per unit of weighted deprivation
    contribution: np.ndarray  # per indicator
    best_reason: np.ndarray
    need: np.ndarray  # per service
    strength: np.ndarray
    best_need: np.ndarray
    best_strength: np.ndarray


@njit(cache=True, nogil=True)
def new_figures(n, plan) -> Figures:
    K, C = len(plan.dimension_weights), len(plan.critical_column)
    return Figures(np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n, dtype=np.int64),
                   np.empty(n, dtype=np.int64), np.full((n, C), -1, dtype=np.int64), np.full((n, K), np.nan),
                   np.empty(n), np.empty(n, dtype=np.bool_), np.full((n, plan.top_reasons), -1, dtype=np.int64),
                   np.full((n, plan.top_services), -1, dtype=np.int64))


@njit(cache=True, nogil=True)
def new_workspace(plan) -> Workspace:
    m, K, S = len(plan.weights), len(plan.dimension_weights), len(plan.tier_allowed)
    return Workspace(np.empty(K), np.empty(K), np.empty(K), np.empty(K), np.empty(K), np.empty(K), np.empty(K),
                     np.empty(m), np.empty(plan.top_reasons), np.empty(S), np.empty(S), np.empty(plan.top_services),
                     np.empty(plan.top_services))


@njit(cache=True, nogil=True, error_model="numpy")
def lookup_scores(answers, rows, out, table) -> None:
    """Deprivation scores of the given rows into `out` (len(rows) x m): an answer's level (or, for
    banded counts and amounts, the band of the amount per person and per regional parameter) picks
    its score. NaN where the answer, its divisor or its parameter is missing, or the divisor is zero.
    `answers` holds answer codes (assessment.rules.answer_code); `table` is a ScoreTable."""
    (banded, consecutive, limit_start, limit_end, limits, score_start, scores, divisor_column, parameter_row,
     parameters) = table
    for j in range(answers.shape[1]):
        first, last, offset = limit_start[j], limit_end[j], score_start[j]
        divide, relative, band, direct = divisor_column[j], parameter_row[j], banded[j], consecutive[j]
        for r in range(len(rows)):
            i = rows[r]
            x = answers[i, j]
            if divide >= 0:
                divisor = answers[i, divide]
                x = x / divisor if divisor != 0 else np.nan
            if relative >= 0:
                x = x / parameters[relative, i]
            if x != x:
                out[r, j] = np.nan
            elif direct:
                out[r, j] = scores[offset + int(x - limits[first])]
            else:
                # levels and band limits ascend: count those below the answer (a level) or
                # reached by it (a band), without branching on each
                slot = 0
                for k in range(first, last):
                    slot += (x >= limits[k]) if band else (limits[k] < x)
                out[r, j] = scores[offset + slot]


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def deprivation_scores(answers, out, table) -> None:
    """`lookup_scores` for every row, into `out` (n x m), on every core."""
    n = len(answers)
    rows = np.arange(n)
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        first, last = chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS)
        lookup_scores(answers, rows[first:last], out[first:last], table)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def dimension_sums(scores, applicable, weights, plan, work):
    """Per dimension into `work`: the weight of the applicable and of the answered indicators, the weighted
    deprivation, the weight deprived at the Alkire-Foster cut-off, and the missing answers' weight times
    their lowest and highest deprivation; each summed in indicator order. Returns (applicable, answered)
    indicator counts."""
    z, low_bound, high_bound, dimension_of = plan.deprivation_cutoff, plan.low_bound, plan.high_bound, plan.dimension_of
    answered_weight, applicable_weight, weighted = work.answered_weight, work.applicable_weight, work.weighted
    deprived_weight, low_fill, high_fill = work.deprived_weight, work.low_fill, work.high_fill
    answered_weight[:] = 0.0
    applicable_weight[:] = 0.0
    weighted[:] = 0.0
    deprived_weight[:] = 0.0
    low_fill[:] = 0.0
    high_fill[:] = 0.0
    n_applicable = 0
    n_answered = 0
    for j in range(len(weights)):
        if not applicable[j]:
            continue
        d = dimension_of[j]
        n_applicable += 1
        applicable_weight[d] += weights[j]
        x = scores[j]
        if x == x:
            n_answered += 1
            answered_weight[d] += weights[j]
            weighted[d] += weights[j] * x
            if x >= z:
                deprived_weight[d] += weights[j]
        else:
            low_fill[d] += weights[j] * low_bound[j]
            high_fill[d] += weights[j] * high_bound[j]
    return n_applicable, n_answered


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def answered_sums(scores, applicable, weights, plan, work, d) -> None:
    """`dimension_sums`' answered weight, weighted deprivation and deprived weight of dimension `d` alone
    (its indicators visited in the same order)."""
    z, members = plan.deprivation_cutoff, plan.by_dimension_order
    answered_weight = 0.0
    weighted = 0.0
    deprived_weight = 0.0
    for q in range(plan.dimension_start[d], plan.dimension_start[d + 1]):
        j = members[q]
        x = scores[j]
        if applicable[j] and x == x:
            answered_weight += weights[j]
            weighted += weights[j] * x
            if x >= z:
                deprived_weight += weights[j]
    work.answered_weight[d] = answered_weight
    work.weighted[d] = weighted
    work.deprived_weight[d] = deprived_weight


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def index_points(dimension_weights, plan, work):
    """The index before rounding, the Alkire-Foster score and whether it reaches the poverty cut-off, from the
    sums of `dimension_sums`: 100 x the weighted mean of the dimension scores over the dimensions with an
    answer (for Alkire-Foster, of the deprived weight shares, censored at the poverty cut-off). Fills
    work.factor: points of the index per unit of weighted deprivation, per dimension."""
    answered_weight, weighted, deprived_weight, factor = (work.answered_weight, work.weighted, work.deprived_weight,
                                                          work.factor)
    defined_weight = 0.0
    for d in range(len(dimension_weights)):
        if answered_weight[d] > 0:
            defined_weight += dimension_weights[d]
    total = 0.0
    af = 0.0
    for d in range(len(dimension_weights)):
        factor[d] = (100.0 * dimension_weights[d] / defined_weight / answered_weight[d]
                     if answered_weight[d] > 0 else 0.0)
        total += factor[d] * weighted[d]
        af += factor[d] * deprived_weight[d]
    af /= 100.0
    poor = af >= plan.poverty_cutoff
    if plan.alkire_foster:
        total = 100.0 * af if poor else 0.0
    return total, af, poor


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def contributions(scores, plan, work, poor) -> None:
    """Each indicator's points of the index into work.contribution (they add up to the index), from the
    factors of `index_points`."""
    weights, dimension_of, factor, contribution = plan.weights, plan.dimension_of, work.factor, work.contribution
    z, alkire_foster = plan.deprivation_cutoff, plan.alkire_foster
    for j in range(len(weights)):
        x = scores[j]
        if x != x:
            contribution[j] = 0.0
        elif alkire_foster:
            contribution[j] = factor[dimension_of[j]] * weights[j] if poor and x >= z else 0.0
        else:
            contribution[j] = x * weights[j] * factor[dimension_of[j]]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def index_range(scores, applicable, plan, work):
    """The lowest and highest index any filling of the missing answers could give (before rounding)."""
    dimension_weights, applicable_weight, weighted = plan.dimension_weights, work.applicable_weight, work.weighted
    low_fill, high_fill = work.low_fill, work.high_fill
    full_weight = 0.0
    low_sum = 0.0
    high_sum = 0.0
    for d in range(len(dimension_weights)):
        if applicable_weight[d] > 0:
            full_weight += dimension_weights[d]
            low_sum += dimension_weights[d] * (weighted[d] + low_fill[d]) / applicable_weight[d]
            high_sum += dimension_weights[d] * (weighted[d] + high_fill[d]) / applicable_weight[d]
    if not plan.alkire_foster:
        return 100.0 * low_sum / full_weight, 100.0 * high_sum / full_weight
    # every missing answer not deprived (low) or deprived (high), censored at the poverty cut-off
    z, weights, dimension_of, high_bound = plan.deprivation_cutoff, plan.weights, plan.dimension_of, plan.high_bound
    low_count = 0.0
    high_count = 0.0
    for q in range(len(weights)):
        j = plan.by_dimension_order[q]
        if not applicable[j]:
            continue
        d = dimension_of[j]
        share = dimension_weights[d] / full_weight * weights[j] / applicable_weight[d]
        x = scores[j]
        if x == x:
            if x >= z:
                low_count += share
                high_count += share
        elif high_bound[j] >= z:
            high_count += share
    low = 100.0 * low_count if low_count >= plan.poverty_cutoff else 0.0
    high = 100.0 * high_count if high_count >= plan.poverty_cutoff else 0.0
    return low, high


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def top_reasons(contribution, best, reasons, r) -> None:
    """The positions of the largest positive contributions into row `r` of `reasons` (their values into
    `best`), best first, ties to the earlier indicator (only a larger value moves up)."""
    count = reasons.shape[1]
    best[:] = 0.0
    worst = 0.0
    for j in range(len(contribution)):
        value = contribution[j]
        if count == 0 or value <= worst:
            continue
        slot = count - 1
        while slot > 0 and value > best[slot - 1]:
            slot -= 1
        for q in range(count - 1, slot, -1):
            best[q] = best[q - 1]
            reasons[r, q] = reasons[r, q - 1]
        best[slot] = value
        reasons[r, slot] = j
        worst = best[count - 1]


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def recommend(scores, eligible, i, tier, plan, work, services, r) -> None:
    """The positions of the services to recommend into row `r` of `services` (eligible[i]: whether each
    service's eligibility conditions hold): need (the highest triggering score) first, then strength (the
    weighted sum of the triggering scores), then catalog order."""
    need, strength, best_need, best_strength = work.need, work.strength, work.best_need, work.best_strength
    S, top = len(need), services.shape[1]
    trigger_column, trigger_service = plan.trigger_column, plan.trigger_service
    trigger_threshold, trigger_weight, tier_allowed = plan.trigger_threshold, plan.trigger_weight, plan.tier_allowed
    need[:] = -1.0  # not triggered
    strength[:] = 0.0
    for p in range(len(trigger_column)):  # pairs in service order, then trigger order
        x = scores[trigger_column[p]]
        v = trigger_service[p]
        hit = x >= trigger_threshold[p]  # never for NaN
        need[v] = x if hit and x > need[v] else need[v]
        strength[v] += x * trigger_weight[p] if hit else 0.0
    for v in range(S):
        if not tier_allowed[v, tier] or not eligible[i, v]:
            need[v] = -1.0
        strength[v] = round_strength(strength[v])
    best_need[:] = -1.0
    best_strength[:] = 0.0
    for v in range(S):
        if top == 0 or need[v] < 0:
            continue
        last = top - 1
        if need[v] < best_need[last] or (need[v] == best_need[last] and strength[v] <= best_strength[last]):
            continue
        slot = last
        while slot > 0 and (need[v] > best_need[slot - 1] or
                            (need[v] == best_need[slot - 1] and strength[v] > best_strength[slot - 1])):
            slot -= 1
        for q in range(last, slot, -1):
            best_need[q], best_strength[q] = best_need[q - 1], best_strength[q - 1]
            services[r, q] = services[r, q - 1]
        best_need[slot], best_strength[slot] = need[v], strength[v]
        services[r, slot] = v


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def score_row(scores, applicable, eligible, i, plan, work, out, r) -> None:
    """One household's figures into row `r` of `out` (Figures): `scores` are its deprivation scores (NaN
    where there is none), `applicable` whether each question applies, eligible[i] whether each service's
    eligibility conditions hold. Leaves each indicator's contribution in work.contribution."""
    n_applicable, n_answered = dimension_sums(scores, applicable, plan.weights, plan, work)
    total, af, poor = index_points(plan.dimension_weights, plan, work)
    contributions(scores, plan, work, poor)
    for d in range(len(plan.dimension_weights)):
        if work.answered_weight[d] > 0:
            out.dimension_scores[r, d] = work.weighted[d] / work.answered_weight[d]
    out.af_score[r] = af
    out.af_poor[r] = poor
    top_reasons(work.contribution, work.best_reason, out.reasons, r)
    low, high = index_range(scores, applicable, plan, work)
    index = round_index(total)
    out.index[r] = index
    out.index_low[r] = round_index(min(low, index))
    out.index_high[r] = round_index(max(high, index))
    out.completeness[r] = n_answered / n_applicable if n_applicable > 0 else 0.0
    level = tier_level(plan.cutoffs, index)
    out.tier_from_index[r] = level
    tier = raised_tier(scores, level, plan.critical_column, plan.critical_at_least, plan.critical_level,
                       out.raised_by, r)
    out.tier[r] = tier
    recommend(scores, eligible, i, tier, plan, work, out.services, r)


@njit(cache=True, nogil=True)
def score_rows(rows, answers, applicable, eligible, table, plan) -> Figures:
    """`score_row` for the given rows of `answers` (answer codes, NaN when missing; `table` turns them into
    deprivation scores, see `lookup_scores`), `applicable` and `eligible`: one row of Figures each."""
    out = new_figures(len(rows), plan)
    score_chunks(rows, answers, applicable, eligible, table, plan, out)
    return out


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def score_chunks(rows, answers, applicable, eligible, table, plan, out) -> None:
    """`score_block` for chunks of rows on every core. (numba's parallel loops mishandle a named tuple made
    in the function, or one updated across their iterations: the loop body only calls a function.)"""
    n = len(rows)
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        score_block(rows, chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS), answers, applicable, eligible,
                    table, plan, out)


@njit(cache=True, nogil=True, error_model="numpy")
def score_block(rows, first, last, answers, applicable, eligible, table, plan, out) -> None:
    """`score_row` for rows[first:last] into out[first:last]."""
    m = len(plan.weights)
    # The frame's matrices are column-major; the block's scores are looked up into a row-major
    # block, column by column, so both that step and the row loop below read memory in order.
    block_scores = np.empty((last - first, m))
    block_applicable = np.empty((last - first, m), dtype=np.bool_)
    lookup_scores(answers, rows[first:last], block_scores, table)
    for j in range(m):
        for r in range(first, last):
            block_applicable[r - first, j] = applicable[rows[r], j]
    work = new_workspace(plan)
    for r in range(first, last):
        score_row(block_scores[r - first], block_applicable[r - first], eligible, rows[r], plan, work, out, r)


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def contribution_rows(rows, answers, applicable, table, plan):
    """Each indicator's points of the index (len(rows) x m) for the given rows, as `score_row` leaves them in
    work.contribution (the same sums, in the same order)."""
    n = len(rows)
    out = np.empty((n, len(plan.weights)))
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        contribution_block(rows, chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS), answers, applicable, table,
                           plan, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def contribution_block(rows, first, last, answers, applicable, table, plan, out) -> None:
    """`contribution_rows` for rows[first:last] into out[first:last]."""
    m = len(plan.weights)
    block_scores = np.empty((last - first, m))
    lookup_scores(answers, rows[first:last], block_scores, table)
    row_applicable = np.empty(m, dtype=np.bool_)
    work = new_workspace(plan)
    for r in range(first, last):
        for j in range(m):
            row_applicable[j] = applicable[rows[r], j]
        dimension_sums(block_scores[r - first], row_applicable, plan.weights, plan, work)
        _, _, poor = index_points(plan.dimension_weights, plan, work)
        contributions(block_scores[r - first], plan, work, poor)
        out[r, :] = work.contribution


@njit(cache=True, nogil=True, error_model="numpy")
def score_household(scores, applicable, eligible, plan):
    """`score_row` for one household (`eligible`: one row): its Figures (one row) and each indicator's
    contribution."""
    out = new_figures(1, plan)
    work = new_workspace(plan)
    score_row(scores, applicable, eligible, 0, plan, work, out, 0)
    return out, work.contribution


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def reweigh_row(scores, applicable, plan, changed_indicator, changed_dimension, factor, work, weights,
                dimension_weights, saved, raised_by, index, tier, r) -> None:
    """One household's index and tier under each change of `reweighted_indices`, into row `r` of `index` and
    `tier`. `weights` and `dimension_weights` hold the plan's and are left so; `saved` (3 x dimensions)
    and `raised_by` (1 x critical indicators) are scratch."""
    dimension_sums(scores, applicable, weights, plan, work)
    saved[0, :] = work.answered_weight
    saved[1, :] = work.weighted
    saved[2, :] = work.deprived_weight
    floor = raised_tier(scores, 0, plan.critical_column, plan.critical_at_least, plan.critical_level, raised_by, 0)
    for v in range(len(changed_indicator)):
        changed, dimension = changed_indicator[v], changed_dimension[v]
        if changed >= 0:
            weights[changed] = plan.weights[changed] * factor
            dimension = plan.dimension_of[changed]
            answered_sums(scores, applicable, weights, plan, work, dimension)
        elif dimension >= 0:
            dimension_weights[dimension] = plan.dimension_weights[dimension] * factor
        total, _, _ = index_points(dimension_weights, plan, work)
        if changed >= 0:
            weights[changed] = plan.weights[changed]
            work.answered_weight[dimension] = saved[0, dimension]
            work.weighted[dimension] = saved[1, dimension]
            work.deprived_weight[dimension] = saved[2, dimension]
        elif dimension >= 0:
            dimension_weights[dimension] = plan.dimension_weights[dimension]
        rounded = round_index(total)
        index[r, v] = rounded
        tier[r, v] = max(tier_level(plan.cutoffs, rounded), floor)


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def reweighted_indices(rows, answers, applicable, table, plan, changed_indicator, changed_dimension, factor):
    """The index and tier of the given rows under each change v: the weight of indicator changed_indicator[v]
    (when >= 0), else of dimension changed_dimension[v] (when >= 0, else nothing) times `factor`.
    (n, changes) each; the same figures as `score_rows` under the changed plan (the same sums, in the same
    order), for the cost of one pass over the answers."""
    n = len(rows)
    index = np.empty((n, len(changed_indicator)))
    tier = np.empty((n, len(changed_indicator)), dtype=np.int8)
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        reweigh_block(rows, chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS), answers, applicable, table, plan,
                      changed_indicator, changed_dimension, factor, index, tier)
    return index, tier


@njit(cache=True, nogil=True, error_model="numpy")
def reweigh_block(rows, first, last, answers, applicable, table, plan, changed_indicator, changed_dimension, factor,
                  index, tier) -> None:
    """`reweigh_row` for rows[first:last]."""
    m, K = len(plan.weights), len(plan.dimension_weights)
    block_scores = np.empty((last - first, m))
    lookup_scores(answers, rows[first:last], block_scores, table)
    work = new_workspace(plan)
    weights = plan.weights.copy()
    dimension_weights = plan.dimension_weights.copy()
    saved = np.empty((3, K))
    raised_by = np.empty((1, len(plan.critical_column)), dtype=np.int64)
    row_applicable = np.empty(m, dtype=np.bool_)
    for r in range(first, last):
        for j in range(m):
            row_applicable[j] = applicable[rows[r], j]
        reweigh_row(block_scores[r - first], row_applicable, plan, changed_indicator, changed_dimension, factor,
                    work, weights, dimension_weights, saved, raised_by, index, tier, r)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def nested_weights_row(scores, answered, plan, work, out, i) -> None:
    """One household's `nested_weights` into row `i` of `out`."""
    dimension_sums(scores, answered, plan.weights, plan, work)
    index_points(plan.dimension_weights, plan, work)
    for j in range(len(scores)):
        out[i, j] = work.factor[plan.dimension_of[j]] * plan.weights[j] / 100.0 if answered[j] else 0.0


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def nested_weights(scores, plan):
    """Each household's weight of each answered indicator in its Alkire-Foster weighted deprivation count
    (`af_score`): its dimension's share among the dimensions it answered times its share among the
    dimension's answered indicators (n x m; rows sum to 1, 0 where unanswered)."""
    n, m = scores.shape
    out = np.empty((n, m))
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        nested_weights_block(scores, chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS), plan, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def nested_weights_block(scores, first, last, plan, out) -> None:
    m = scores.shape[1]
    work = new_workspace(plan)
    row = np.empty(m)
    answered = np.empty(m, dtype=np.bool_)
    for i in range(first, last):
        for j in range(m):
            row[j] = scores[i, j]
            answered[j] = row[j] == row[j]
        nested_weights_row(row, answered, plan, work, out, i)
