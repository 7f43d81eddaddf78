"""The engine on the simulated bench: results, safe state on every ending, pause."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from drivers.clock import VirtualClock
from drivers.keysight.k34401a_sim import DutErrors
from procedures.keysight_34401a_dcv import Keysight34401aDcv
from station.engine import EXIT_ABORTED, EXIT_FAILED, EXIT_OUT_OF_TOLERANCE, Engine
from station.events import Event, PointDone, RunFinished
from station.metrology.decision import GUARD_BAND_U, SIMPLE, DecisionRule
from station.procedure import Context, Observation, TestPoint
from station.prompts import ABORT, AutoAnswer, Prompt, PromptChannel
from station.runfile.reader import RunFile
from station.simulated import SimulatedStation, demo_job


def _engine(sim: SimulatedStation, path: Path, procedure: Keysight34401aDcv | None = None,
            listeners: Sequence[object] = (), prompts: PromptChannel | None = None, rule: DecisionRule = SIMPLE) -> Engine:
    return Engine(procedure or Keysight34401aDcv(), sim.bench(), demo_job(), path,
                  prompts=prompts or AutoAnswer(), rule=rule, clock=sim.clock, simulators=sim.simulators,
                  listeners=list(listeners))  # type: ignore[arg-type]


def _event_kinds(path: Path) -> list[str]:
    with RunFile(path) as rf:
        return [k for _, k, _ in rf.events()]


def test_a_good_dut_passes_every_point_and_the_calibrator_ends_in_standby(tmp_path: Path) -> None:
    seen: list[Event] = []
    with SimulatedStation() as sim:
        outcome = _engine(sim, tmp_path / "run.h5", listeners=[seen.append]).run()
        assert not sim.sim.calibrator.operating
        assert sim.sim.calibrator.output_value == 0.0
    assert outcome.status == "completed" and outcome.exit_code == 0
    with RunFile(tmp_path / "run.h5") as rf:
        points = rf.points
        assert len(points) == len(Keysight34401aDcv().points()) == 17
        assert {p.decision for p in points} == {"pass"}
        for p in points:
            # the indication is the mean of the raw readings kept for the point
            _, values = rf.raw(p.index)
            assert len(values) == 10
            assert p.indication == pytest.approx(values.mean(), rel=1e-12, abs=1e-15)
            assert p.lower_limit < p.indication < p.upper_limit
            assert p.expanded_uncertainty == pytest.approx(p.coverage_factor * p.u_combined)
        sent = [e.data for e in rf.io() if e.direction == "tx"]
        assert b"*IDN?\n" in sent
        assert any(d.startswith(b"OUT 1") for d in sent)
        assert any(d.startswith(b"READ?") for d in sent)
        assert rf.instruments[0].idn.startswith("FLUKE,5522A")
    assert sum(isinstance(e, PointDone) for e in seen) == 17
    kinds = _event_kinds(tmp_path / "run.h5")
    assert kinds.index("safe_state") < kinds.index("finished")


def test_a_dut_with_a_gain_error_fails_at_full_scale(tmp_path: Path) -> None:
    with SimulatedStation(bench_options={"dut": DutErrors(gain=80e-6)}) as sim:
        outcome = _engine(sim, tmp_path / "run.h5").run()
    assert outcome.status == "completed"
    assert outcome.exit_code == EXIT_OUT_OF_TOLERANCE
    with RunFile(tmp_path / "run.h5") as rf:
        fails = {(p.range, p.nominal) for p in rf.points if p.decision == "fail"}
    assert (10.0, 10.0) in fails and (10.0, -10.0) in fails
    assert (10.0, 0.0) not in fails


def test_guard_band_rule_is_stated_and_applied(tmp_path: Path) -> None:
    with SimulatedStation() as sim:
        _engine(sim, tmp_path / "run.h5", rule=GUARD_BAND_U).run()
    with RunFile(tmp_path / "run.h5") as rf:
        assert rf.attrs["decision_rule"] == "guarded-acceptance r=1"
        assert "guard band w = U" in rf.attrs["decision_statement"]
        for p in rf.points:
            assert p.guard_band == p.expanded_uncertainty
            inside = p.lower_limit + p.guard_band <= p.indication <= p.upper_limit - p.guard_band
            assert (p.decision == "pass") == inside


class _AbortAt:
    def __init__(self, title: str) -> None:
        self.title = title

    def ask(self, prompt: Prompt) -> str:
        return ABORT if prompt.title == self.title else prompt.default


def test_answering_abort_puts_the_calibrator_in_standby_before_the_run_is_marked(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        outcome = _engine(sim, path, prompts=_AbortAt("Hazardous voltage")).run()
        assert not sim.sim.calibrator.operating
        assert sim.sim.calibrator.output_value == 0.0
    assert outcome.status == "aborted" and outcome.exit_code == EXIT_ABORTED
    with RunFile(path) as rf:
        assert rf.status == "aborted"
        # every point before the first at 30 V or more (100 V), announced by the engine
        assert len(rf.points) == 12 and max(abs(p.nominal) for p in rf.points) < 30
        assert "Hazardous voltage" in rf.attrs["end_reason"]
    kinds = _event_kinds(path)
    assert kinds.index("aborted") < kinds.index("safe_state") < kinds.index("finished")


def test_abort_from_another_thread_mid_run(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        engine = _engine(sim, path)

        def listener(event: Event) -> None:
            if isinstance(event, PointDone) and event.done == 5:
                threading.Thread(target=engine.abort, args=("stop from the GUI",)).start()

        engine.listeners.append(listener)
        # the calibrator is operating while points run
        operating_during_run: list[bool] = []
        engine.listeners.append(lambda e: operating_during_run.append(sim.sim.calibrator.operating)
                                if isinstance(e, PointDone) else None)
        outcome = engine.run()
        assert not sim.sim.calibrator.operating
    assert operating_during_run[0] is True
    assert outcome.status == "aborted"
    assert 5 <= outcome.points < 17


def test_a_silent_dut_fails_the_run_naming_the_instrument_and_command(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        engine = _engine(sim, path)

        def listener(event: Event) -> None:
            if isinstance(event, PointDone) and event.done == 3:
                sim.sim.dmm.fault = "silent"

        engine.listeners.append(listener)
        outcome = engine.run()
        assert not sim.sim.calibrator.operating
    assert outcome.status == "failed" and outcome.exit_code == EXIT_FAILED
    assert outcome.reason.startswith("dut: no reply to 'SYST:ERR?'")  # the 1 V range's configuration
    with RunFile(path) as rf:
        assert len(rf.points) == 3
        assert rf.status == "failed"


class _Buggy(Keysight34401aDcv):
    def measure(self, ctx: Context, point: TestPoint) -> Observation:
        if point.nominal == 1.0:
            raise ZeroDivisionError("division by zero in the author's code")
        return super().measure(ctx, point)


def test_an_exception_in_the_procedure_still_ends_in_the_safe_state(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        outcome = _engine(sim, path, procedure=_Buggy()).run()
        assert not sim.sim.calibrator.operating
    assert outcome.status == "failed"
    assert "ZeroDivisionError" in outcome.reason
    kinds = _event_kinds(path)
    assert kinds.index("failed") < kinds.index("safe_state") < kinds.index("finished")


def test_pause_holds_the_run_until_resumed(tmp_path: Path) -> None:
    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        engine = _engine(sim, path)
        paused = threading.Event()
        counts: list[int] = []

        def listener(event: Event) -> None:
            if isinstance(event, PointDone):
                counts.append(event.done)
                if event.done == 4:
                    engine.pause()
                    paused.set()

        engine.listeners.append(listener)
        finished: list[RunFinished] = []
        engine.listeners.append(lambda e: finished.append(e) if isinstance(e, RunFinished) else None)
        t = threading.Thread(target=engine.run)
        t.start()
        assert paused.wait(10)
        t.join(0.3)
        assert t.is_alive() and counts[-1] == 4  # held at the checkpoint
        engine.resume()
        t.join(30)
    assert not t.is_alive()
    assert finished[0].status == "completed"
    assert counts == list(range(1, 18))
    kinds = _event_kinds(path)
    assert "paused" in kinds and "continued" in kinds


def test_an_aborted_run_resumes_only_with_the_instruments_it_started_with(tmp_path: Path) -> None:
    from station.errors import PlanRefused

    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        assert _engine(sim, path, prompts=_AbortAt("Hazardous voltage")).run().status == "aborted"
    with SimulatedStation() as sim:
        sim.sim.calibrator.idn = "FLUKE,5522A,7654321,1.4"  # another 5522A, another serial
        engine = Engine(Keysight34401aDcv(), sim.bench(), demo_job(), path, prompts=AutoAnswer(),
                        clock=sim.clock, simulators=sim.simulators, resume=True)
        with pytest.raises(PlanRefused, match="standard is now 'FLUKE,5522A,7654321,1.4' but the run started with"):
            engine.run()
    with SimulatedStation() as sim:
        outcome = Engine(Keysight34401aDcv(), sim.bench(), demo_job(), path, prompts=AutoAnswer(),
                         clock=sim.clock, simulators=sim.simulators, resume=True).run()
    assert outcome.status == "completed" and outcome.points == 17
    with RunFile(path) as rf:
        assert rf.completed() == list(range(17))


class _LinkComesBack(VirtualClock):
    """A bench clock on which a lost connection comes back after a second."""

    def __init__(self) -> None:
        super().__init__()
        self.instrument: object | None = None

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if seconds >= 1.0 and self.instrument is not None:
            self.instrument.link_down = False  # type: ignore[attr-defined]


@pytest.mark.parametrize("comes_back", [True, False])
def test_a_lost_connection_to_the_calibrator_is_made_safe_on_a_new_one(tmp_path: Path, comes_back: bool) -> None:
    clock = _LinkComesBack()
    path = tmp_path / "run.h5"
    with SimulatedStation(clock=clock) as sim:
        cal = sim.sim.calibrator
        clock.instrument = cal if comes_back else None
        engine = _engine(sim, path)

        def drop(event: Event) -> None:
            if isinstance(event, PointDone) and event.done == 4:
                cal.link_down = True  # the connection is lost while the output is live

        engine.listeners.append(drop)
        outcome = engine.run()
        assert outcome.status == "failed"
        assert cal.operating is not comes_back  # safe only if it could be reached again
        if comes_back:
            assert cal.output_value == 0.0
    kinds_text = []
    with RunFile(path) as rf:
        assert rf.verify().ok
        kinds_text = [(k, m) for _, k, m in rf.events() if k == "safe_state"]
    if comes_back:
        assert any("new connection" in m for _, m in kinds_text)
        assert "check it by hand" not in outcome.reason
    else:
        assert any("SAFE STATE FAILED" in m for _, m in kinds_text)
        assert "check it by hand" in outcome.reason


def test_a_reading_changed_on_the_way_into_another_number_is_not_recorded(tmp_path: Path) -> None:
    """Serial noise can turn a digit into another digit: the reply still has
    the 34401A's format. A reading that far from the others is refused."""
    path = tmp_path / "run.h5"
    replies = [0]

    def flip_a_digit(data: bytes, direction: str) -> bytes:
        if direction == "out" and data.startswith((b"+", b"-")) and b"E" in data:
            replies[0] += 1
            if replies[0] == 48:  # a reading of the 5th point (1 V on the 1 V range)
                return data[:3] + bytes([ord("0") + (data[3] - ord("0") + 5) % 10]) + data[4:]
        return data

    with SimulatedStation() as sim:
        sim.sim.dmm.line_fault = flip_a_digit
        outcome = _engine(sim, path, procedure=Keysight34401aDcv(readings=10, settle_s=0)).run()
        assert not sim.sim.calibrator.operating and sim.sim.calibrator.output_value == 0.0
    assert outcome.status == "failed" and "a reading lies" in outcome.reason, outcome.reason
    with RunFile(path) as rf:
        assert rf.verify().ok
        done = rf.completed()
    assert done == list(range(len(done))) and len(done) == 4  # the 5th point is not recorded


def test_the_ambient_conditions_are_logged_and_hold_the_run_while_outside_the_limits(tmp_path: Path) -> None:
    """The room's air conditioning fails for ten minutes of bench time (+6 C):
    the run holds by itself (no point taken while outside 18 to 28 C) and
    goes on when the room is back; every point completes."""
    path = tmp_path / "run.h5"
    excursion = [[30.0, 630.0, 6.0, 0.0]]  # bench seconds from the start: 23 C -> 29 C
    states: list[str] = []
    with SimulatedStation(bench_options={"options": {"ambient": {"excursions": excursion}}}) as sim:
        start = sim.clock.now()
        held: list[float] = []

        def listener(event: Event) -> None:
            from station.events import StateChanged

            if isinstance(event, StateChanged):
                states.append(event.state)
                held.append(sim.clock.now() - start)

        outcome = _engine(sim, path, listeners=[listener]).run()
    assert outcome.status == "completed", outcome.reason
    assert states == ["suspended", "running"]
    assert held[0] >= 30.0 and held[1] >= 630.0  # held from the excursion until the room was back
    with RunFile(path) as rf:
        events = rf.events()
        kinds = [k for _, k, _ in events]
        assert kinds.count("suspended") == 1 and kinds.count("resumed") == 1
        assert kinds.index("suspended") < kinds.index("resumed")
        text = dict((k, m) for _, k, m in events)
        assert "outside 18 to 28 C" in text["suspended"] and "within" in text["resumed"]
        ambient = [m for _, k, m in events if k == "ambient"]
        assert len(ambient) >= 3 and all(m.endswith("%RH") for m in ambient)
        assert len(rf.points) == len(rf.plan)
        assert {r.role: r.kind for r in rf.instruments}["ambient"] == "standard"



def test_as_found_adjust_as_left_on_the_bench(tmp_path: Path) -> None:
    """A 34401A 80 ppm high in gain fails its 10 V points as found; the
    operator agrees to adjust it; the station adjusts it against the
    calibrator (offset at zero, gain at full scale); every point is taken
    again as left and passes. Both phases are in the run file and on the
    certificate."""
    from procedures.keysight_34401a_dcv_adjust import Keysight34401aDcvAdjust
    from station.certificates.pdf import render_pdf

    path = tmp_path / "run.h5"
    asked: list[str] = []

    class Agree:
        def ask(self, prompt: Prompt) -> str:
            asked.append(prompt.title)
            return "Adjust" if prompt.title == "Adjust the DUT" else prompt.default

    with SimulatedStation(bench_options={"dut": DutErrors(gain=80e-6)}) as sim:
        procedure = Keysight34401aDcvAdjust(readings=4, settle_s=0.5)
        outcome = Engine(procedure, sim.bench(), sim.job(), path, prompts=Agree(), clock=sim.clock,
                         simulators=sim.simulators).run()
        adjustments = int(sim.sim.dmm.handle("CAL:COUN?") or "0")
    assert outcome.status == "completed", outcome.reason
    assert outcome.exit_code == 0  # judged as it leaves
    assert "Adjust the DUT" in asked
    assert adjustments >= 10  # zero and full scale of five ranges
    with RunFile(path) as rf:
        points = rf.points
        events = rf.events()
    found = [p for p in points if p.phase == "as_found"]
    left = [p for p in points if p.phase == "as_left"]
    assert len(found) == len(left) == 17
    assert any(p.decision == "fail" for p in found)
    assert all(p.decision == "pass" for p in left)
    ten = next(p for p in left if p.range == 10.0 and p.nominal == 10.0)
    assert abs(ten.error) < 0.1 * ten.tolerance
    assert [m for _, k, m in events if k == "adjustment"] == ["adjusted: the as-left points follow"]
    pdf = render_pdf(path, path.with_suffix(".pdf"))
    import shutil
    import subprocess

    if shutil.which("pdftotext"):
        text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())
        assert "As left (after adjustment): Pass at all 17 points" in text
        assert "As found (before adjustment) the item did not conform" in text
        assert "Results as found (before adjustment)" in text and "Results as left (after adjustment)" in text


def test_a_good_dut_is_not_adjusted_and_its_as_found_results_stand(tmp_path: Path) -> None:
    from procedures.keysight_34401a_dcv_adjust import Keysight34401aDcvAdjust

    path = tmp_path / "run.h5"
    with SimulatedStation() as sim:
        outcome = Engine(Keysight34401aDcvAdjust(readings=3, settle_s=0.5), sim.bench(), sim.job(), path,
                         prompts=AutoAnswer(), clock=sim.clock, simulators=sim.simulators).run()
    assert outcome.status == "completed" and outcome.exit_code == 0
    with RunFile(path) as rf:
        assert rf.verify().ok
        assert {p.phase for p in rf.points} == {"as_found"} and len(rf.plan) == 2 * len(rf.points)
        assert [m for _, k, m in rf.events() if k == "adjustment"][0].startswith("none")
