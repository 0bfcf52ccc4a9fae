"""The lint rule table: every rule in RULES has exactly one function that reports it."""

from okrsync.lint import _CHECKS, RULES


def test_every_rule_is_checked_by_exactly_one_function_in_rules_order_of_findings():
    named = [rule for _, rules in _CHECKS for rule in rules]
    assert sorted(named) == sorted(RULES)
    assert len(named) == len(set(named)) == 11
