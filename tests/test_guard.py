"""The delete guard's boundaries (okrsync/guard.py), without an endpoint: exactly max_ratio
passes, one record more stops; an empty listing stops even at max_ratio 1; the override
lets both pass. tests/test_sync.py checks the same through a hub and an endpoint."""

import pytest

from okrsync import guard
from okrsync.errors import DeleteGuardError


@pytest.mark.parametrize("linked, max_ratio", [(4, 0.25), (8, 0.25), (10, 0.5), (3, 1.0), (200, 0.1)])
def test_exactly_max_ratio_passes_and_one_more_stops(linked, max_ratio):
    share = int(linked * max_ratio)
    guard.check("sheet", share, linked, listed=True, max_ratio=max_ratio)
    if share < linked:
        with pytest.raises(DeleteGuardError, match=rf"sheet would delete {share + 1} of its {linked} linked records "
                                                   rf"\(more than {max_ratio:.0%}\); stopped before writing anything"):
            guard.check("sheet", share + 1, linked, listed=True, max_ratio=max_ratio)


def test_a_share_that_rounds_below_one_record_takes_none():
    guard.check("sheet", 0, 3, listed=True, max_ratio=0.25)
    with pytest.raises(DeleteGuardError):
        guard.check("sheet", 1, 3, listed=True, max_ratio=0.25)  # 33 % > 25 %


def test_an_empty_listing_stops_even_at_max_ratio_one():
    with pytest.raises(DeleteGuardError, match="sheet listed no records at all; stopped before writing anything"):
        guard.check("sheet", 5, 5, listed=False, max_ratio=1.0)


@pytest.mark.parametrize("missing, listed", [(5, False), (5, True), (1, False)])
def test_allow_mass_delete_lets_both_guards_pass(missing, listed):
    guard.check("sheet", missing, 5, listed=listed, max_ratio=0.25, allow=True)


def test_the_error_says_what_to_do():
    with pytest.raises(DeleteGuardError) as e:
        guard.check("jira", 3, 4, listed=True, max_ratio=0.25)
    assert "--allow-mass-delete" in str(e.value) and "sync.deletes.max_ratio" in str(e.value)
