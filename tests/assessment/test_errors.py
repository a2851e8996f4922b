"""Core errors cross process boundaries whole (a cluster's worker hands them back pickled)."""

import pickle

import pytest

from assessment.errors import (AnswersInvalid, CatalogError, CatalogErrors, ConfigError, CoreError, Finding,
                               Message)


@pytest.mark.parametrize("error", [
    CoreError(Message(zh="缺少列", en="missing column"), path="household_id", code="missing_column"),
    ConfigError("indicator_weights.x", "weight must be positive", "权重必须为正数", code="bad_weight"),
    CatalogErrors([CatalogError("tiers.yaml", "severe", "min_index above 100")]),
    AnswersInvalid([Finding(code="wrong_type", path="answers.x", message=Message(zh="类型错误", en="wrong type"),
                            indicator="x")]),
])
def test_core_errors_survive_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.code, copy.path, copy.message, str(copy)) == (error.code, error.path, error.message, str(error))
    assert copy.status_hint == error.status_hint
    if isinstance(error, AnswersInvalid):
        assert copy.findings == error.findings
    if isinstance(error, CatalogErrors):
        assert [(e.file, e.entry, e.problem) for e in copy.errors] == [("tiers.yaml", "severe", "min_index above 100")]
