"""Discovery as a technician relies on it: every simulated instrument,
served over a real transport (TCP on 127.0.0.1, a pseudo-terminal), is
asked who it is and given the driver made for it; what does not answer, or
answers nonsense, or is held by a running calibration, is one line naming
the resource, and the rest are still found. The machine's own serial ports
are never probed and VISA never lists through pyvisa-py (it broadcasts on
the LAN): only pyvisa-sim lists here."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.clock import SystemClock
from drivers.errors import CalstationError
from drivers.sim.bench import SimBench
from procedures.keysight_34401a_basic import Keysight34401aBasic
from station import discovery
from station.bench import BenchConfig
from station.errors import ConfigError
from station.locks import normalise_resource, resource_lock
from station.register.core import Asset

TIMEOUT = 0.2
SIM_VISA = f"{Path(__file__).resolve().parents[1] / 'drivers' / 'pyvisa_sim_34401a.yaml'}@sim"

TRANSPORTS = [
    pytest.param("tcp", id="tcp"),
    pytest.param("pty", id="pty", marks=pytest.mark.skipif(
        os.name != "posix", reason="pseudo-terminals need a POSIX system")),
]

Serve = Callable[..., tuple[SimBench, dict[str, str]]]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Serve a simulated bench in real time over ``transport`` ("tcp" or "pty")."""
    benches: list[SimBench] = []

    def start(topology: str = "dmm-calibrator", transport: str = "tcp") -> tuple[SimBench, dict[str, str]]:
        bench = SimBench(topology, clock=SystemClock())
        benches.append(bench)
        return bench, (bench.serve_tcp() if transport == "tcp" else bench.serve_pty())

    try:
        yield start
    finally:
        for bench in benches:
            bench.close()


class RawServer:
    """A TCP server on 127.0.0.1 that accepts every client and either never
    answers (``reply`` None) or answers each line it receives with
    ``reply``; it keeps every byte it was sent."""

    def __init__(self, reply: bytes | None) -> None:
        self.reply = reply
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._received = bytearray()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def resource(self) -> str:
        return f"TCPIP::127.0.0.1::{self._listener.getsockname()[1]}::SOCKET"

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    self._received += data
                if self.reply is not None:
                    for _ in range(data.count(b"\n")):
                        conn.sendall(self.reply)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(2)
        self._listener.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[bytes | None], RawServer]]:
    servers: list[RawServer] = []

    def start(reply: bytes | None) -> RawServer:
        servers.append(RawServer(reply))
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def refused() -> Iterator[str]:
    """A TCP resource on 127.0.0.1 where nothing listens: the port is bound
    (so nobody else takes it meanwhile) but never listened on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"TCPIP::127.0.0.1::{sock.getsockname()[1]}::SOCKET"
    finally:
        sock.close()


def _by_key(resources: dict[str, str], found: list[discovery.Found]) -> dict[str, discovery.Found]:
    by_resource = {f.resource: f for f in found}
    assert len(found) == len(resources)
    return {key: by_resource[res] for key, res in resources.items()}


def _serial(bench: SimBench, key: str) -> str:
    """The serial number the simulator answers to ``*IDN?``."""
    return str(bench.simulators[key].idn).split(",")[2]  # type: ignore[attr-defined]


# -- probing what answers -------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_instrument_of_the_dmm_bench_gets_its_driver(serve: Serve, transport: str) -> None:
    bench, res = serve("dmm-calibrator", transport)
    found = _by_key(res, discovery.discover(list(res.values()), timeout_s=TIMEOUT))

    cal, dmm, amb = found["calibrator"], found["dmm"], found["ambient"]
    assert (cal.driver, dmm.driver, amb.driver) == ("fluke-5522a", "keysight-34401a", "fluke-1620a")
    assert not (cal.problem or dmm.problem or amb.problem)
    # what each can be used for: the calibrator sources, the DMM measures, the 1620A reads the room
    assert "Source" in cal.capabilities and "Meter" not in cal.capabilities
    assert "Meter" in dmm.capabilities and "Source" not in dmm.capabilities
    assert "Ambient" in amb.capabilities and not {"Source", "Meter"} & set(amb.capabilities)
    # who it said it is: the model and the serial number its *IDN? reply carries
    assert cal.identity is not None and cal.identity.model == "5522A"
    assert cal.identity.serial == _serial(bench, "calibrator")
    assert f"5522A s/n {_serial(bench, 'calibrator')}" in cal.describe()
    assert amb.identity is not None and amb.identity.serial == _serial(bench, "ambient")
    # each simulator was asked who it is
    assert all(any("IDN?" in m for m in bench.simulators[k].received) for k in res)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_3458a_which_answers_only_id_is_identified(serve: Serve, transport: str) -> None:
    bench, res = serve("calibrator-3458a", transport)
    found = _by_key(res, discovery.discover(list(res.values()), timeout_s=TIMEOUT))

    ref = found["reference"]
    assert ref.driver == "keysight-3458a", ref.problem
    assert ref.identity is not None and ref.identity.model == "3458A"
    assert "Meter" in ref.capabilities
    assert "ID?" in bench.reference.received  # its own query, not *IDN?
    assert "reports no serial number" in ref.describe()
    assert found["calibrator"].driver == "fluke-5522a"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_indicator_no_driver_knows_answers_but_gets_none(serve: Serve, transport: str) -> None:
    bench, res = serve("drywell-comparison", transport)
    found = _by_key(res, discovery.discover(list(res.values()), timeout_s=TIMEOUT))

    assert found["well"].driver == "fluke-9142"
    assert found["reference"].driver == "fluke-1524"
    dut = found["dut"]
    model = str(bench.dut.idn).split(",")[1]  # TI-100
    assert dut.driver == "" and dut.capabilities == ()
    assert dut.identity is not None and dut.identity.model == model
    assert model in dut.problem and "no driver" in dut.problem and "\n" not in dut.problem
    line = next(ln for ln in discovery.summary(list(found.values()), {}) if ln.startswith(res["dut"]))
    assert model in line and "no driver" in line


# -- what does not answer, or answers nonsense, or is in use ---------------------------


def test_bad_resources_are_one_line_each_and_the_rest_still_found(
        serve: Serve, raw_server: Callable[[bytes | None], RawServer], refused: str) -> None:
    bench, res = serve("dmm-calibrator", "tcp")
    silent = raw_server(None)
    garbled = raw_server(b"\xff\xfe?!#\x00 hello\r\n")
    resources = [refused, silent.resource, *res.values(), garbled.resource]

    started = time.monotonic()
    found = discovery.discover(resources, timeout_s=TIMEOUT)
    elapsed = time.monotonic() - started

    assert [f.resource for f in found] == resources  # in the order given
    lines = discovery.summary(found, {})
    assert len(lines) == len(resources)
    for resource, line in zip(resources, lines, strict=True):
        assert line.startswith(f"{resource}: ")
        assert "\n" not in line and "\r" not in line and "Traceback" not in line
    by = {f.resource: (f, line) for f, line in zip(found, lines, strict=True)}

    f, line = by[refused]
    assert not f.driver and "cannot be opened" in line and "nothing listens" in line
    f, line = by[silent.resource]
    assert not f.driver and "no answer" in line and f"{TIMEOUT:g} s" in line
    assert b"*IDN?" in silent.received  # it was asked, and said nothing
    f, line = by[garbled.resource]
    assert not f.driver and "not as any known instrument" in line
    assert b"*IDN?" in garbled.received

    assert {by[r][0].driver for r in res.values()} == {"fluke-5522a", "keysight-34401a", "fluke-1620a"}
    # several resources at once, each bounded by the timeout: nothing hangs on the silent one
    assert elapsed < 5


LOCK_SPELLINGS = [
    pytest.param("tcp", lambda r: r, lambda r: r, id="tcp-same-spelling"),
    pytest.param("tcp", lambda r: r.lower().replace("tcpip::", "tcpip0::"), lambda r: r, id="tcp-other-spelling"),
    pytest.param("pty", lambda r: r, lambda r: f"ASRL{r}::INSTR", id="pty-visa-spelling",
                 marks=pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals need a POSIX system")),
]


@pytest.mark.parametrize(("transport", "held_as", "probed_as"), LOCK_SPELLINGS)
def test_a_resource_a_run_holds_is_not_probed(serve: Serve, transport: str, held_as: Callable[[str], str],
                                              probed_as: Callable[[str], str]) -> None:
    bench, res = serve("dmm-calibrator", transport)
    dmm = probed_as(res["dmm"])
    resources = [probed_as(r) for r in res.values()]

    lock = resource_lock(held_as(res["dmm"]), "calstation run x")
    assert lock is not None
    with lock:
        found = {f.resource: f for f in discovery.discover(resources, timeout_s=TIMEOUT)}

        held = found[dmm]
        assert held.driver == "" and held.identity is None
        assert "not probed" in held.problem and "in use" in held.problem
        assert "calstation run x" in held.problem and "\n" not in held.problem
        assert list(bench.dmm.received) == []  # not one byte reached it
        assert found[probed_as(res["calibrator"])].driver == "fluke-5522a"
        assert found[probed_as(res["ambient"])].driver == "fluke-1620a"

    # once the run lets go, it is found
    assert discovery.probe(dmm, timeout_s=TIMEOUT).driver == "keysight-34401a"


def test_discovery_lets_go_of_every_resource_it_probed(serve: Serve) -> None:
    """A run started after discovery can take each instrument."""
    _bench, res = serve("dmm-calibrator", "tcp")
    assert all(f.driver for f in discovery.discover(list(res.values()), timeout_s=TIMEOUT))
    for resource in res.values():
        lock = resource_lock(resource, "calstation run keysight-34401a-basic")
        assert lock is not None and lock.held
        lock.release()


# -- the resources to probe ------------------------------------------------------------


def test_a_resource_named_twice_is_probed_once() -> None:
    named = ["TCPIP::127.0.0.1::5025::SOCKET", " tcpip0::127.0.0.1::5025::socket ", "TCPIP::127.0.0.1::5025::SOCKET",
             "TCPIP::127.0.0.1::5026::SOCKET"]
    resources, notes = discovery.candidates(None, serial_ports=False, extra=named)
    assert resources == ["TCPIP::127.0.0.1::5025::SOCKET", "TCPIP::127.0.0.1::5026::SOCKET"]
    assert notes == []


@pytest.mark.parametrize("named", [["ASRL/dev/ttyS0::INSTR", "/dev/ttyS0"], ["/dev/ttyS0", "ASRL/dev/ttyS0::INSTR"]])
def test_a_serial_port_in_visa_and_system_spelling_is_one_port(named: list[str]) -> None:
    resources, _ = discovery.candidates(None, serial_ports=False, extra=named)
    assert resources == named[:1]


def test_a_port_both_the_system_and_visa_list_is_probed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyvisa-py lists the serial ports the system has, as ASRL/dev/...::INSTR."""
    monkeypatch.setattr(discovery, "list_serial_ports", lambda: ["/dev/ttyS0"])
    monkeypatch.setattr(discovery, "list_visa_resources",
                        lambda lib: ["ASRL/dev/ttyS0::INSTR", "GPIB0::22::INSTR"])
    resources, notes = discovery.candidates("@py", serial_ports=True)
    assert resources == ["/dev/ttyS0", "GPIB0::22::INSTR"]
    assert notes == []


def test_visa_lists_its_instruments_and_the_probe_identifies_them() -> None:
    resources, notes = discovery.candidates(SIM_VISA, serial_ports=False)
    assert resources == ["GPIB0::22::INSTR"] and notes == []
    found = discovery.probe("GPIB0::22::INSTR", timeout_s=TIMEOUT, visa_library=SIM_VISA)
    assert found.driver == "keysight-34401a", found.problem
    assert "Meter" in found.capabilities


def test_a_visa_library_that_cannot_be_loaded_is_a_note(tmp_path: Path) -> None:
    library = str(tmp_path / "libvisa-missing.so")
    resources, notes = discovery.candidates(library, serial_ports=False, extra=["TCPIP::127.0.0.1::5025::SOCKET"])
    assert resources == ["TCPIP::127.0.0.1::5025::SOCKET"]  # what was named is still probed
    assert len(notes) == 1 and library in notes[0] and "\n" not in notes[0]


def test_asrl3_is_com3_on_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert normalise_resource("ASRL3::INSTR") == "COM3"
    assert normalise_resource("asrl3::instr") == normalise_resource("com3")
    assert discovery.candidates(None, serial_ports=False, extra=["COM3", "ASRL3::INSTR"])[0] == ["COM3"]


def test_asrl3_is_not_com3_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    assert normalise_resource("ASRL3::INSTR") != "COM3"
    assert len(discovery.candidates(None, serial_ports=False, extra=["COM3", "ASRL3::INSTR"])[0]) == 2


# -- the register and the roles ----------------------------------------------------------


def _std(asset_id: str, model: str, serial: str, status: str = "active", kind: str = "standard") -> Asset:
    return Asset(asset_id, kind, "Maker", model, serial, status=status)


def test_instruments_are_found_in_the_register_by_model_and_serial(serve: Serve) -> None:
    bench, res = serve("dmm-calibrator", "tcp")
    found = discovery.discover(list(res.values()), timeout_s=TIMEOUT)
    assets = [
        _std("CAL-OTHER", "5522A", "999"),  # the same model, another serial: another calibrator
        # typed by hand into the register: case, spaces and dashes do not matter
        _std("CAL-1", "5522 a", _serial(bench, "calibrator").lower()),
        _std("DMM-0", "34401A", "0", kind="dut"),
    ]
    matches = {m.found.resource: m for m in discovery.match_register(found, assets)}

    cal = matches[res["calibrator"]]
    assert (cal.asset_id, cal.kind, cal.status) == ("CAL-1", "standard", "active")
    # the 34401A answers serial 0: no register entry can be told from another by it
    dmm = matches[res["dmm"]]
    assert dmm.asset_id == "" and "reports no serial number" in dmm.note
    # the 1620A is not in this register: the note says how to add it
    amb = matches[res["ambient"]]
    assert amb.asset_id == "" and "not in the register" in amb.note and _serial(bench, "ambient") in amb.note
    lines = discovery.summary(found, matches)
    assert any(ln.startswith(res["calibrator"]) and "asset CAL-1 (standard)" in ln for ln in lines)


def test_proposal_gives_each_role_an_instrument_and_a_bench_file(serve: Serve) -> None:
    bench, res = serve("dmm-calibrator", "tcp")
    found = discovery.discover(list(res.values()), timeout_s=TIMEOUT)
    assets = [_std("CAL-1", "5522A", _serial(bench, "calibrator")), _std("TH-1", "1620A", _serial(bench, "ambient"))]
    dut = Asset("DMM-7", "dut", "Keysight", "34401A", "MY41000007")
    proposal = discovery.propose(discovery.match_register(found, assets), Keysight34401aBasic, dut)

    assert proposal.complete, proposal.missing
    cfg = BenchConfig.from_dicts(proposal.instruments(), "discovered")
    got = {role: (c.driver, c.resource, c.asset_id) for role, c in cfg.instruments.items()}
    assert got == {"dut": ("keysight-34401a", res["dmm"], "DMM-7"),
                   "standard": ("fluke-5522a", res["calibrator"], "CAL-1"),
                   "ambient": ("fluke-1620a", res["ambient"], "TH-1")}
    text = proposal.bench_file()
    assert text.count("[[instrument]]") == 3 and res["calibrator"] in text


def test_without_a_thermo_hygrometer_the_bench_has_no_ambient_role(serve: Serve) -> None:
    bench, res = serve("dmm-calibrator", "tcp")
    found = discovery.discover([res["calibrator"], res["dmm"]], timeout_s=TIMEOUT)
    proposal = discovery.propose(discovery.match_register(found, [_std("CAL-1", "5522A", _serial(bench, "calibrator"))]),
                                 Keysight34401aBasic, Asset("DMM-7", "dut", "Keysight", "34401A", "MY1"))
    assert proposal.complete, proposal.missing
    assert set(proposal.roles) == {"dut", "standard"}


def test_a_calibrator_registered_as_a_dut_is_not_made_the_standard(serve: Serve) -> None:
    bench, res = serve("dmm-calibrator", "tcp")
    found = discovery.discover(list(res.values()), timeout_s=TIMEOUT)
    assets = [_std("CAL-1", "5522A", _serial(bench, "calibrator"), kind="dut")]
    proposal = discovery.propose(discovery.match_register(found, assets), Keysight34401aBasic,
                                 Asset("DMM-7", "dut", "Keysight", "34401A", "MY1"))
    assert "standard" in proposal.missing and "standard" not in proposal.roles
    assert "CAL-1" in proposal.missing["standard"] and "not a standard" in proposal.missing["standard"]
    with pytest.raises(CalstationError, match="standard"):
        proposal.bench_file()


def test_two_dmms_without_serial_numbers_are_not_guessed_between(serve: Serve) -> None:
    bench, res = serve("dmm-calibrator", "tcp")
    _other, res2 = serve("dmm-calibrator", "tcp")
    found = discovery.discover([*res.values(), res2["dmm"]], timeout_s=TIMEOUT)
    matches = discovery.match_register(found, [_std("CAL-1", "5522A", _serial(bench, "calibrator"))])

    chosen = discovery.propose(matches, Keysight34401aBasic, Asset("DMM-7", "dut", "Keysight", "34401A", "MY1"))
    assert "dut" not in chosen.roles and "DMM-7" in chosen.missing["dut"]
    # the technician is told which two answered, not that the item did not answer
    assert "2 instruments of the model 34401A answered without a serial number" in chosen.missing["dut"]
    assert res["dmm"] in chosen.missing["dut"] and res2["dmm"] in chosen.missing["dut"]
    unchosen = discovery.propose(matches, Keysight34401aBasic)
    assert "dut" not in unchosen.roles and "2 instruments could be the DUT" in unchosen.missing["dut"]


def test_a_bench_file_is_never_written_over_one_that_exists(tmp_path: Path) -> None:
    """Even when the file appears between the check and the write (another
    technician saving the same name): it stays as it was, no temporary is left."""
    path = tmp_path / "bench.toml"
    discovery.save_bench_file(path, "# first\n")
    assert path.read_text(encoding="utf-8") == "# first\n"
    with pytest.raises(ConfigError, match="exists"):
        discovery.save_bench_file(path, "# second\n")
    assert path.read_text(encoding="utf-8") == "# first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["bench.toml"]


def test_a_connection_dropped_while_asking_is_said_so() -> None:
    """A LAN instrument (or a terminal server) that takes the connection
    and drops it when asked: not mistaken for an instrument answering garbage."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    stop = threading.Event()

    def drop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:  # hears the question, then resets the connection
                conn.settimeout(2)
                try:
                    conn.recv(64)
                except OSError:
                    pass
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    thread = threading.Thread(target=drop, daemon=True)
    thread.start()
    resource = f"TCPIP::127.0.0.1::{listener.getsockname()[1]}::SOCKET"
    try:
        found = discovery.probe(resource, timeout_s=TIMEOUT)
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert not found.driver and found.identity is None
    assert "connection failed while asking who it is" in found.problem, found.problem
    assert "not as any known instrument" not in found.problem


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_bench_file_can_be_read_by_every_user_of_the_station(tmp_path: Path) -> None:
    path = tmp_path / "benches" / "bench.toml"
    discovery.save_bench_file(path, "# bench\n")
    assert path.stat().st_mode & 0o777 == 0o644
