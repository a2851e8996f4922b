"""The pure scoring core: validation, deprivation scores, index, tiers, ranking, recommendations.

No I/O happens here: callers pass a catalog and answers and get frozen results back.
"""

from assessment.alkire_foster import AFResult, alkire_foster, deprivation_counts
from assessment.batch import (
    BatchResult,
    PreparedFrame,
    answer_matrix,
    assess_frame,
    assess_prepared,
    deprivation_matrix,
    prepare_frame,
)
from assessment.catalog import Catalog, ScoringConfig, build_catalog, check_config
from assessment.errors import AnswersInvalid, CatalogError, CatalogErrors, ConfigError, CoreError, Finding, Message
from assessment.population import poverty_measures
from assessment.ranking import rank, rank_order
from assessment.results import AssessmentResult, Reason, Recommendation
from assessment.scoring import assess, validate_answers

__all__ = [
    "AFResult", "AnswersInvalid", "AssessmentResult", "BatchResult", "PreparedFrame", "Catalog", "CatalogError", "CatalogErrors",
    "ConfigError", "CoreError", "Finding", "Message", "Reason", "Recommendation", "ScoringConfig",
    "alkire_foster", "answer_matrix", "assess", "assess_frame", "assess_prepared", "build_catalog", "check_config", "deprivation_counts",
    "deprivation_matrix", "poverty_measures", "prepare_frame", "rank", "rank_order", "validate_answers",
]
