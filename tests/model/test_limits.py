"""The memory guard (issue 5, item 5): a clear refusal before building a model that cannot fit."""

from __future__ import annotations

import pytest

from cluster_mapper.errors import InputError
from cluster_mapper.model.limits import (
    BYTES_PER_PAIR,
    MAX_FRACTION,
    available_memory_bytes,
    check_model_size,
    complete_model_suits,
    estimate_model_bytes,
)


def test_estimate_grows_with_pairs():
    assert estimate_model_bytes(100, 1_000) < estimate_model_bytes(100, 10_000)
    assert estimate_model_bytes(100, 10_000) - estimate_model_bytes(100, 0) == 10_000 * BYTES_PER_PAIR


def test_small_model_passes_on_this_machine():
    # a district (2,500 teachers, ~400 units, ~20k pairs) fits any laptop
    assert check_model_size(400, 20_000) < 1e9


def test_too_large_model_is_refused_with_advice():
    with pytest.raises(InputError) as err:
        check_model_size(200_000, 50_000_000, available_bytes=8 * 10**9, where="all districts")
    text = str(err.value)
    assert "50,000,000" in text and "all districts" in text
    assert "fewer districts" in text and "max_travel_minutes" in text
    assert "8.0 GB" in text


def test_threshold_is_seventy_percent():
    need = estimate_model_bytes(10, 1_000)
    check_model_size(10, 1_000, available_bytes=int(need / MAX_FRACTION) + 1)
    with pytest.raises(InputError):
        check_model_size(10, 1_000, available_bytes=int(need / MAX_FRACTION) - 1000)


def test_available_memory_is_measured():
    avail = available_memory_bytes()
    assert avail is None or avail > 10**7


def test_cli_prints_the_refusal_without_traceback(monkeypatch):
    """Through the CLI's error handling: exit 2, the advice, no traceback."""
    import typer

    from cluster_mapper import cli

    def body():
        check_model_size(1_000, 10**9, available_bytes=4 * 10**9)

    with pytest.raises(typer.Exit) as ex:
        cli._run(body)
    assert ex.value.exit_code == 2


def test_the_path_without_a_travel_limit_does_not_depend_on_the_free_memory():
    """The same group takes the same path (complete or sparse) on a 16 GB and a 1 TB machine: its plan is the same."""
    for n_units, n_pairs in ((200, 40_000), (654, 428_000), (2_285, 5_200_000)):
        paths = {complete_model_suits(n_units, n_pairs, available_bytes=gb * 10**9) for gb in (16, 64, 1_000)}
        assert len(paths) == 1, (n_units, n_pairs)
    assert complete_model_suits(654, 428_000, available_bytes=10**12)
    assert not complete_model_suits(2_285, 5_200_000, available_bytes=10**12), "beyond the fixed size: sparse candidates"
    assert not complete_model_suits(654, 428_000, available_bytes=4 * 10**9), "a machine short of memory takes the sparse path"
