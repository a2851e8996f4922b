"""Impact preview speed: compare a draft configuration with the published one over N synthetic households.

The draft doubles the weights of three indicators and one dimension and raises one tier cut-off.
Baseline, measured in the same run: one `assess_frame` over the same households (the preview scores
them twice, then ranks, correlates and tabulates). Optionally also times the weight sensitivity
analysis over every indicator and dimension. The last line is one JSON object with every figure.

    python benchmarks/bench_impact.py --households 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assessment import assess_frame  # noqa: E402
from assessment.impact import config_from_draft, impact_preview  # noqa: E402
from assessment.sensitivity import weight_sensitivity  # noqa: E402
from indicators import default_catalog  # noqa: E402
from benchmarks.timing import best_of, synthetic_households  # noqa: E402


def draft_document(catalog) -> dict:
    """Double three indicators' and one dimension's weight; raise the second-highest tier's cut-off by 5."""
    published = catalog.default_config()
    middle = catalog.tier_ids[-2]
    return {
        "id": "bench_draft", "version": "1",
        "indicator_weights": {i.id: 2 * i.weight for i in catalog.indicators[::17][:3]},
        "dimension_weights": {catalog.dimensions[1].id: 2 * catalog.dimensions[1].weight},
        "tier_cutoffs": {middle: published.tier_cutoffs[middle] + 5},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sensitivity", action=argparse.BooleanOptionalAction, default=True,
                        help="Also time the weight sensitivity analysis (once).")
    args = parser.parse_args()
    n = args.households
    catalog = default_catalog()

    frame, generate_s = synthetic_households(catalog, n, args.seed)

    draft = config_from_draft(catalog, draft_document(catalog), base=catalog.default_config())
    baseline_s, baseline_cpu_s, _ = best_of(args.repeats, lambda: assess_frame(catalog, frame))
    preview_s, preview_cpu_s, preview = best_of(args.repeats, lambda: impact_preview(catalog, frame, draft=draft))
    assert preview.compared == n, "every synthetic household must be valid"

    figures = {
        "households": n,
        "impact_preview_s": round(preview_s, 3),
        "households_per_s": round(n / preview_s),
        "baseline_assess_frame_s": round(baseline_s, 3),
        "ratio_to_baseline": round(preview_s / baseline_s, 2),
        "impact_preview_cpu_s": round(preview_cpu_s, 3),
        "baseline_cpu_s": round(baseline_cpu_s, 3),
        "cpu_ratio_to_baseline": round(preview_cpu_s / baseline_cpu_s, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "changed_tier": preview.changed_tier,
        "spearman": round(preview.spearman, 6),
        "kendall": round(preview.kendall, 6),
        "target_1e6_under_s": 10,
        "generate_s": round(generate_s, 2),
    }
    print(f"impact preview: {preview_s:.3f} s ({figures['households_per_s']:,} households/s), "
          f"{figures['ratio_to_baseline']}x one assess_frame ({baseline_s:.3f} s); CPU {preview_cpu_s:.1f} s vs "
          f"{baseline_cpu_s:.1f} s; load average {figures['load_average_1min']}")
    print(f"draft moves {preview.changed_tier:,} households to another tier "
          f"(up {preview.tier_up:,}, down {preview.tier_down:,}); Spearman {preview.spearman:.4f}, "
          f"Kendall {preview.kendall:.4f}")
    if args.sensitivity:
        sensitivity_s, _, table = best_of(1, lambda: weight_sensitivity(catalog, frame))
        figures.update({"sensitivity_s": round(sensitivity_s, 3), "sensitivity_weights": len(table),
                        "sensitivity_s_per_weight": round(sensitivity_s / len(table), 4),
                        "sensitivity_ratio_to_baseline": round(sensitivity_s / baseline_s, 2)})
        print(f"weight sensitivity over {len(table)} weights: {sensitivity_s:.3f} s "
              f"({figures['sensitivity_ratio_to_baseline']}x one assess_frame)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
