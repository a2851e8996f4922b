"""The pure scoring core: validation, deprivation scores, index, tiers, ranking, recommendations.

No I/O happens here: callers pass a catalog and answers and get frozen results back.
"""

from assessment.batch import BatchResult, assess_frame, deprivation_matrix
from assessment.catalog import Catalog, ScoringConfig, build_catalog, check_config
from assessment.errors import AnswersInvalid, CatalogError, CatalogErrors, ConfigError, CoreError, Finding, Message
from assessment.results import AssessmentResult, Reason, Recommendation
from assessment.scoring import assess, validate_answers

__all__ = [
    "AnswersInvalid", "AssessmentResult", "BatchResult", "Catalog", "CatalogError", "CatalogErrors",
    "ConfigError", "CoreError", "Finding", "Message", "Reason", "Recommendation", "ScoringConfig",
    "assess", "assess_frame", "build_catalog", "check_config", "deprivation_matrix", "validate_answers",
]
