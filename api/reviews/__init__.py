"""Reviews of stored results by people: verified tiers (机查 + 人查), the labels they give the learning side,
and appeals re-scored under the versions in force on the assessment's date."""
