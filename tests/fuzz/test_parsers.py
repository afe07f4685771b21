"""Every parser, fuzzed in CI on a fixed budget (issue 16, "make it stay fixed").

Per target (tests/fuzz/targets.py): random bytes, every truncation of a real sample, and
structure-aware mutations of the samples (tools/fuzz_mutations.py) drawn and shrunk by
hypothesis. Derandomised, so CI sees the same inputs every run; longer and random campaigns are
``python tools/fuzz.py``. Anything raised but ``LyncdumpError`` fails, as does a broken bound.
"""

from __future__ import annotations

import fuzz_mutations as fm
import pytest
from fuzz_targets import TARGETS, Target, seeds_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lyncdump.errors import LyncdumpError

BUDGET = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def seeds() -> fm.Seeds:
    return fm.collect_seeds()


def _run(target: Target, data: bytes) -> None:
    try:
        target.run(data)
    except LyncdumpError:
        pass


def test_every_target_has_seeds(seeds: fm.Seeds) -> None:
    missing = [t.name for t in TARGETS if not seeds_for(t, seeds)]
    assert not missing


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@BUDGET
@given(data=st.binary(max_size=600))
def test_random_bytes(target: Target, data: bytes) -> None:
    _run(target, data)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_truncation_at_every_length(target: Target, seeds: fm.Seeds) -> None:
    sample = min(seeds_for(target, seeds), key=len)[:1500]
    step = max(1, len(sample) // 300)  # every length for samples up to 300 bytes
    for n in range(0, len(sample) + 1, step):
        _run(target, sample[:n])


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
@BUDGET
@given(data=st.data())
def test_structure_aware_mutations(target: Target, seeds: fm.Seeds, data: st.DataObject) -> None:
    samples = seeds_for(target, seeds)
    sample = data.draw(st.sampled_from(samples), label="seed")
    ops = data.draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(target.table)), st.integers(0, 2**32 - 1)),
            min_size=1,
            max_size=6,
        ),
        label="mutations",
    )
    if data.draw(st.booleans(), label="splice"):
        other = data.draw(st.sampled_from(samples), label="other")
        sample = fm.splice(sample, other, data.draw(st.integers(0, 2**32 - 1)))
    _run(target, fm.apply(sample, ops, target.table))


# -- whole inputs: the pipeline and its renderers --------------------------------------------

SMALL_INPUTS = [
    p
    for p in fm.inputs()
    if p.stat().st_size < 40_000 and "midstream" not in p.name  # the slow one has its own test
]


@pytest.mark.parametrize("path", SMALL_INPUTS, ids=lambda p: p.name)
@settings(BUDGET, max_examples=6)
@given(seed=st.integers(0, 2**32 - 1))
def test_mutated_inputs_through_the_pipeline(path, seed: int) -> None:
    import random

    from fuzz_targets import run_input

    data = path.read_bytes()
    rng = random.Random(seed)
    if path.suffix in fm.LOG_SUFFIXES:
        mutated = fm.mutate_text_log(data, rng)
    else:
        other = SMALL_INPUTS[seed % len(SMALL_INPUTS)].read_bytes()
        mutated = fm.mutate_capture(data, rng, other)
    run_input(mutated)
