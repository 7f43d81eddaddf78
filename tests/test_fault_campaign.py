"""A smoke run of the fault campaign (benchmarks/faults.py): one trial of
every fault on every transport it applies to. The full campaign (100 trials
or more per fault) is run by hand; its table is in docs/reliability.md."""

from __future__ import annotations

import pytest

from benchmarks.faults import INSTRUMENT_FAULTS, PROCESS_FAULTS, TRANSPORTS, run_campaign


@pytest.mark.parametrize("kind", INSTRUMENT_FAULTS + PROCESS_FAULTS)
def test_one_trial_of_each_fault_on_each_transport_passes(kind: str) -> None:
    lines: list[str] = []
    results = run_campaign([kind], trials=len(TRANSPORTS[kind]), seed=7, report=lines.append)
    trials = [t for s in results.values() for t in s.trials]
    assert trials, lines
    for t in trials:
        if t.outcome == "skipped":
            continue
        assert t.passed, f"{t}\n" + "\n".join(lines)
        assert t.safe is not False and t.verified and t.lost == 0
