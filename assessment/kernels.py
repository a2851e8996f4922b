"""Compiled row loops for the batch path (numba): one pass over each household's deprivation scores.

Each figure is summed in the order the single-household path (`assessment.scoring.assess`) uses, so
the two paths agree to the last rounded digit. Rows are split into chunks that run on every core;
each chunk keeps its own scratch arrays.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from assessment.scoring import INDEX_DECIMALS, STRENGTH_DECIMALS

# Rounded as numpy rounds: rint(x * scale) / scale.
INDEX_SCALE = 10.0**INDEX_DECIMALS
STRENGTH_SCALE = 10.0**STRENGTH_DECIMALS
CHUNK_ROWS = 4096


@njit(cache=True, nogil=True, error_model="numpy")
def lookup_scores(values, rows, out, table) -> None:
    """Deprivation scores of the given rows into `out` (len(rows) x m): an answer's level (or, for
    banded counts and amounts, the band of the amount per person and per regional parameter) picks
    its score. NaN where the answer, its divisor or its parameter is missing, or the divisor is zero.
    `table` is `assessment.batch.ScoreTable.arrays()`."""
    (banded, consecutive, limit_start, limit_end, limits, score_start, scores, divisor_column, parameter_row,
     parameters) = table
    for j in range(values.shape[1]):
        first, last, offset = limit_start[j], limit_end[j], score_start[j]
        divide, relative, band, direct = divisor_column[j], parameter_row[j], banded[j], consecutive[j]
        for r in range(len(rows)):
            i = rows[r]
            x = values[i, j]
            if divide >= 0:
                divisor = values[i, divide]
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
def deprivation_scores(values, out, table) -> None:
    """`lookup_scores` for every row, into `out` (n x m), on every core."""
    n = len(values)
    rows = np.arange(n)
    for chunk in prange((n + CHUNK_ROWS - 1) // CHUNK_ROWS):
        first, last = chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS)
        lookup_scores(values, rows[first:last], out[first:last], table)


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def score_rows(rows, values, A, eligible, table, weights, dimension_of, dimension_weights, low_bound, high_bound,
               by_dimension_order, cutoffs, critical_column, critical_at_least, critical_level,
               trigger_column, trigger_service, trigger_threshold, trigger_weight, tier_allowed,
               z, poverty_cutoff, alkire_foster, top_reasons, top_services):
    """Index, range, completeness, tiers, dimension and AF figures, top reasons and recommendations
    for the given rows of `values` (answers as numbers, NaN when missing) and A (applicable); `table`
    turns answers into deprivation scores (see `lookup_scores`)."""
    n, m = len(rows), len(weights)
    K, S, C = len(dimension_weights), len(tier_allowed), len(critical_column)
    index = np.empty(n)
    index_low = np.empty(n)
    index_high = np.empty(n)
    completeness = np.empty(n)
    tier = np.empty(n, dtype=np.int64)
    tier_from_index = np.empty(n, dtype=np.int64)
    raised_by = np.full((n, C), -1, dtype=np.int64)
    dimension_scores = np.full((n, K), np.nan)
    af_score = np.empty(n)
    af_poor = np.empty(n, dtype=np.bool_)
    reasons = np.full((n, top_reasons), -1, dtype=np.int64)
    services = np.full((n, top_services), -1, dtype=np.int64)

    chunks = (n + CHUNK_ROWS - 1) // CHUNK_ROWS
    for chunk in prange(chunks):
        first, last = chunk * CHUNK_ROWS, min(n, (chunk + 1) * CHUNK_ROWS)
        # The frame's matrices are column-major; the chunk's scores are looked up into a row-major
        # block, column by column, so both that step and the row loop below read memory in order.
        D_rows = np.empty((last - first, m))
        A_rows = np.empty((last - first, m), dtype=np.bool_)
        lookup_scores(values, rows[first:last], D_rows, table)
        for j in range(m):
            for r in range(first, last):
                A_rows[r - first, j] = A[rows[r], j]
        answered_w = np.empty(K)
        applicable_w = np.empty(K)
        weighted = np.empty(K)
        deprived_w = np.empty(K)
        low_fill = np.empty(K)
        high_fill = np.empty(K)
        factor = np.empty(K)
        contribution = np.empty(m)
        best_reason = np.empty(top_reasons)
        need = np.empty(S)
        strength = np.empty(S)
        best_need = np.empty(top_services)
        best_strength = np.empty(top_services)
        for r in range(first, last):
            i = rows[r]
            Di, Ai = D_rows[r - first], A_rows[r - first]
            answered_w[:] = 0.0
            applicable_w[:] = 0.0
            weighted[:] = 0.0
            deprived_w[:] = 0.0
            low_fill[:] = 0.0
            high_fill[:] = 0.0
            n_applicable = 0
            n_answered = 0
            for j in range(m):
                if not Ai[j]:
                    continue
                d = dimension_of[j]
                n_applicable += 1
                applicable_w[d] += weights[j]
                x = Di[j]
                if x == x:
                    n_answered += 1
                    answered_w[d] += weights[j]
                    weighted[d] += weights[j] * x
                    if x >= z:
                        deprived_w[d] += weights[j]
                else:
                    low_fill[d] += weights[j] * low_bound[j]
                    high_fill[d] += weights[j] * high_bound[j]

            defined_weight = 0.0
            full_weight = 0.0
            low_sum = 0.0
            high_sum = 0.0
            for d in range(K):
                if answered_w[d] > 0:
                    defined_weight += dimension_weights[d]
                    dimension_scores[r, d] = weighted[d] / answered_w[d]
                if applicable_w[d] > 0:
                    full_weight += dimension_weights[d]
                    low_sum += dimension_weights[d] * (weighted[d] + low_fill[d]) / applicable_w[d]
                    high_sum += dimension_weights[d] * (weighted[d] + high_fill[d]) / applicable_w[d]
            af = 0.0
            for d in range(K):
                factor[d] = (100.0 * dimension_weights[d] / defined_weight / answered_w[d]
                             if answered_w[d] > 0 else 0.0)
                af += factor[d] * deprived_w[d]
            af /= 100.0
            poor = af >= poverty_cutoff
            af_score[r] = af
            af_poor[r] = poor

            # The index as the sum of the contributions; the largest of them are the top reasons,
            # kept best first with ties to the earlier indicator (only a larger value moves up).
            total = 0.0
            for j in range(m):
                x = Di[j]
                if x != x:
                    contribution[j] = 0.0
                elif alkire_foster:
                    contribution[j] = factor[dimension_of[j]] * weights[j] if poor and x >= z else 0.0
                else:
                    contribution[j] = x * weights[j] * factor[dimension_of[j]]
                total += contribution[j]
            best_reason[:] = 0.0
            worst = 0.0
            for j in range(m):
                value = contribution[j]
                if top_reasons == 0 or value <= worst:
                    continue
                slot = top_reasons - 1
                while slot > 0 and value > best_reason[slot - 1]:
                    slot -= 1
                for q in range(top_reasons - 1, slot, -1):
                    best_reason[q] = best_reason[q - 1]
                    reasons[r, q] = reasons[r, q - 1]
                best_reason[slot] = value
                reasons[r, slot] = j
                worst = best_reason[top_reasons - 1]
            if alkire_foster:
                total = 100.0 * af if poor else 0.0
                low_count = 0.0
                high_count = 0.0
                for q in range(m):
                    j = by_dimension_order[q]
                    if not Ai[j]:
                        continue
                    d = dimension_of[j]
                    share = dimension_weights[d] / full_weight * weights[j] / applicable_w[d]
                    x = Di[j]
                    if x == x:
                        if x >= z:
                            low_count += share
                            high_count += share
                    elif high_bound[j] >= z:
                        high_count += share
                low = 100.0 * low_count if low_count >= poverty_cutoff else 0.0
                high = 100.0 * high_count if high_count >= poverty_cutoff else 0.0
            else:
                low = 100.0 * low_sum / full_weight
                high = 100.0 * high_sum / full_weight
            rounded = np.rint(total * INDEX_SCALE) / INDEX_SCALE
            index[r] = rounded
            index_low[r] = np.rint(min(low, rounded) * INDEX_SCALE) / INDEX_SCALE
            index_high[r] = np.rint(max(high, rounded) * INDEX_SCALE) / INDEX_SCALE
            completeness[r] = n_answered / n_applicable if n_applicable > 0 else 0.0

            level = 0
            for t in range(len(cutoffs)):
                if rounded >= cutoffs[t]:
                    level = t
            tier_from_index[r] = level
            raised = level
            for c in range(C):
                x = Di[critical_column[c]]
                if x == x and x >= critical_at_least[c]:
                    if critical_level[c] > level:
                        raised_by[r, c] = c
                    raised = max(raised, critical_level[c])
            tier[r] = raised

            # Services: need (highest triggering score) first, then strength, then catalog order.
            need[:] = -1.0  # not triggered
            strength[:] = 0.0
            for p in range(len(trigger_column)):  # pairs in service order, then trigger order
                x = Di[trigger_column[p]]
                v = trigger_service[p]
                hit = x >= trigger_threshold[p]  # never for NaN
                need[v] = x if hit and x > need[v] else need[v]
                strength[v] += x * trigger_weight[p] if hit else 0.0
            for v in range(S):
                if not tier_allowed[v, raised] or not eligible[i, v]:
                    need[v] = -1.0
                strength[v] = np.rint(strength[v] * STRENGTH_SCALE) / STRENGTH_SCALE
            best_need[:] = -1.0
            best_strength[:] = 0.0
            for v in range(S):
                if top_services == 0 or need[v] < 0:
                    continue
                last = top_services - 1
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
    return (index, index_low, index_high, completeness, tier, tier_from_index, raised_by, dimension_scores,
            af_score, af_poor, reasons, services)


