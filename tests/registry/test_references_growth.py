"""References that do not run out: longer when a length fills up, the old ones still valid."""

from __future__ import annotations

import pytest

from registry.references import MAX_LENGTH, is_valid, new_reference, unused_reference


def test_a_free_reference_keeps_the_configured_length_while_there_is_room() -> None:
    reference = unused_reference(lambda r: False, 7)
    assert len(reference) == 7 and is_valid(reference)


def test_a_full_length_makes_the_reference_one_digit_longer() -> None:
    tried: list[str] = []

    def is_taken(reference: str) -> bool:
        tried.append(reference)
        return len(reference) == 7  # every 7-digit reference is given out

    reference = unused_reference(is_taken, 7)
    assert len(reference) == 8 and is_valid(reference)
    assert [len(r) for r in tried] == [7, 7, 7, 8]


def test_old_references_stay_valid_beside_longer_ones() -> None:
    old, new = new_reference(7), unused_reference(lambda r: len(r) < 9, 7)
    assert is_valid(old) and is_valid(new) and len(new) == 9


def test_only_a_registry_full_at_every_length_refuses() -> None:
    with pytest.raises(RuntimeError):
        unused_reference(lambda r: True, MAX_LENGTH - 1)
