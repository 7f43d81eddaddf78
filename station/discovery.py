"""A bench discovered from the instruments that answer.

Three steps, each usable alone:

1. `candidates`: the resources to probe: what VISA lists (``visa_library``:
   pyvisa-py's ``"@py"`` lists serial ports, USB-TMC and GPIB devices it can
   see and broadcasts on the LAN for VXI-11 and HiSLIP instruments; a
   vendor VISA lists what its configuration knows), the serial ports the
   operating system has (``COM3``, ``/dev/ttyUSB0``), and the resources the
   technician names (a LAN instrument at a fixed address that answers no
   broadcast, ``TCPIP::192.168.0.12::INSTR``).
2. `discover`: each resource is asked who it is with the identification
   query of every registered driver (``*IDN?``, or ``ID?`` for the 3458A)
   and the driver whose makers and models match is chosen. A resource that
   a running calibration holds is not touched (its lock, `resource_lock`).
3. `match_register` and `propose`: each identified instrument is found in
   the register by model and serial number, and the procedure's roles are
   given instruments that can play them: the DUT is the chosen item, every
   other role a registered standard whose driver has the capabilities the
   role needs. `Proposal.bench_file` writes it as a bench file, which the
   plan check then reads like any other (standing from the register, TURs,
   refusals with their reasons).

Nothing here prints or sleeps: probes wait on the instruments' replies,
several resources at once on worker threads.
"""

from __future__ import annotations

import concurrent.futures
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from drivers import registry
from drivers.clock import SystemClock
from drivers.errors import CalstationError, GarbledReply, InstrumentTimeout, TransportError
from drivers.roles import Ambient, Identity, capabilities_of
from drivers.transport import list_serial_ports, list_visa_resources, open_transport
from station.errors import ConfigError, one_line
from station.locks import LockBusy, normalise_resource, resource_lock
from station.procedure import Procedure, Role

#: How long a probe waits for an identification reply (seconds).
PROBE_TIMEOUT_S = 0.5
#: Resources probed at once (each waits on its instrument, not on the CPU).
WORKERS = 16
AMBIENT_ROLE = "ambient"


@dataclass(frozen=True)
class Found:
    """What one resource answered.

    ``drivers``: registry keys of the drivers made for the model it named
    (the first is used); empty when nothing answered or no driver knows it,
    and ``problem`` then says why in one line. ``capabilities``: what the
    first driver can be used for (`drivers.roles.CAPABILITIES` names)."""

    resource: str
    identity: Identity | None = None
    drivers: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    problem: str = ""

    @property
    def driver(self) -> str:
        return self.drivers[0] if self.drivers else ""

    def describe(self) -> str:
        """``MAKER MODEL s/n SERIAL`` (or what was wrong)."""
        if self.identity is None:
            return self.problem
        ident = self.identity
        serial = f" s/n {ident.serial}" if ident.serial else " (reports no serial number)"
        return f"{ident.manufacturer} {ident.model}{serial}"


def candidates(visa_library: str | None = "@py", serial_ports: bool = True,
               extra: Iterable[str] = ()) -> tuple[list[str], list[str]]:
    """The resources to probe, each once, and notes on what could not be
    listed (one line each). ``visa_library`` None: VISA is not asked."""
    notes: list[str] = []
    found: list[str] = [r.strip() for r in extra if r.strip()]
    if serial_ports:
        found += list_serial_ports()
    if visa_library is not None:  # after the ports: ASRL/dev/ttyS0::INSTR is /dev/ttyS0
        try:
            found += list_visa_resources(visa_library)
        except TransportError as e:
            notes.append(one_line(e))
    out: list[str] = []
    seen: set[str] = set()
    for resource in found:
        key = normalise_resource(resource) or resource
        if key not in seen:
            seen.add(key)
            out.append(resource)
    return out, notes


@cache
def _probe_groups() -> tuple[tuple[type, tuple[tuple[str, Any], ...]], ...]:
    """The registered drivers grouped by how they ask who an instrument is
    (the same ``identify`` and terminations): one probe per group, asked by
    the group's first driver; each group lists its (key, driver class)."""
    groups: dict[tuple[Any, str, str], list[tuple[str, Any]]] = {}
    for key in registry.DRIVERS:
        cls = registry.load_driver(key)
        sig = (getattr(cls, "identify", None), getattr(cls, "write_termination", "\n"),
               getattr(cls, "read_termination", "\n"))
        groups.setdefault(sig, []).append((key, cls))
    return tuple((members[0][1], tuple(members)) for members in groups.values())


def _specific(cls: type) -> bool:
    """False for a generic driver (it lists ``"*"``: any maker or model)."""
    return "*" not in (*cls.manufacturers, *cls.models)  # type: ignore[attr-defined]


def probe(resource: str, *, timeout_s: float = PROBE_TIMEOUT_S, visa_library: str = "@py",
          baudrate: int = 9600, command: str = "calstation discover") -> Found:
    """Ask ``resource`` who it is, and which driver speaks to it."""
    try:
        lock = resource_lock(resource, command)
    except LockBusy as e:
        return Found(resource, problem=f"not probed: {e}")
    except CalstationError as e:
        return Found(resource, problem=f"not probed: {one_line(e)}")
    clock = SystemClock()
    garbled = ""
    lost = ""
    identity: Identity | None = None
    silent: list[tuple[Any, str, str]] = []  # (identify, write, read termination) that got no reply
    try:
        for cls, members in _probe_groups():
            ask = (getattr(cls, "identify", None), getattr(cls, "write_termination", "\n"))
            read_end = getattr(cls, "read_termination", "\n")
            if any((i, w) == ask and read_end.endswith(r) for i, w, r in silent):
                continue  # the same question went unanswered; a reply ending in read_end would have ended it
            try:
                transport = open_transport(
                    resource, name=resource, timeout_s=timeout_s, visa_library=visa_library, baudrate=baudrate,
                    write_termination=getattr(cls, "write_termination", "\n"),
                    read_termination=getattr(cls, "read_termination", "\n"))
            except TransportError as e:
                return Found(resource, problem=f"cannot be opened: {one_line(e).removeprefix(resource + ': ')}")
            try:
                driver = cls(transport, clock)
                ident: Identity = driver.identify()
            except InstrumentTimeout:
                silent.append((*ask, read_end))
                continue
            except GarbledReply as e:
                garbled = garbled or one_line(e)
                continue
            except TransportError as e:  # the connection was lost or refused while asking
                lost = lost or one_line(e).removeprefix(resource + ": ")
                continue
            except CalstationError as e:
                garbled = garbled or one_line(e)
                continue
            finally:
                try:
                    transport.close()
                except Exception:  # noqa: BLE001 - closing after a probe: nothing to keep
                    pass
            identity = identity or ident
            fits = [(k, c) for k, c in members if _specific(c) and ident.matches(c.manufacturers, c.models)]
            if fits:
                chosen = fits[0][1]
                caps = capabilities_of(driver if type(driver) is chosen else chosen(transport, clock))
                return Found(resource, ident, tuple(k for k, _ in fits), caps)
    finally:
        if lock is not None:
            lock.release()
    if identity is not None:
        generic = [k for _, members in _probe_groups() for k, c in members if not _specific(c)]
        hint = (f"; if it is a temperature indicator, name driver {generic[0]} for it in a bench file"
                if generic else "")
        return Found(resource, identity, problem=f"{identity.manufacturer} {identity.model}: no driver of "
                                                 f"calstation knows this model{hint}")
    if garbled:
        return Found(resource, problem=f"answers, but not as any known instrument ({garbled})")
    if lost:
        return Found(resource, problem=f"the connection failed while asking who it is: {lost}")
    return Found(resource, problem=f"no answer to any identification query within {timeout_s:g} s")


def discover(resources: Sequence[str], *, timeout_s: float = PROBE_TIMEOUT_S, visa_library: str = "@py",
             baudrate: int = 9600, workers: int = WORKERS) -> list[Found]:
    """`probe` every resource, several at once; in the order given."""
    if not resources:
        return []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(workers, len(resources))),
                                               thread_name_prefix="discover") as pool:
        return list(pool.map(lambda r: probe(r, timeout_s=timeout_s, visa_library=visa_library,
                                             baudrate=baudrate), resources))


# -- the register ------------------------------------------------------------------


def _norm(text: str) -> str:
    return re.sub(r"[\s\-_]+", "", text).upper()


@dataclass(frozen=True)
class Match:
    """An identified instrument and its register entry (``asset_id`` "" if
    none), with the asset's kind and status, or why none was found."""

    found: Found
    asset_id: str = ""
    kind: str = ""  # standard, dut
    status: str = ""  # active, retired
    note: str = ""


def match_register(found: Iterable[Found], assets: Iterable[Any]) -> list[Match]:
    """Each identified instrument of ``found`` with the register's asset of
    the same model and serial number (``assets``: `Register.assets()`)."""
    by_key: dict[tuple[str, str], list[Any]] = {}
    for asset in assets:
        by_key.setdefault((_norm(asset.model), _norm(asset.serial)), []).append(asset)
    out: list[Match] = []
    for f in found:
        if f.identity is None or not f.driver:
            continue
        ident = f.identity
        if not ident.serial.strip() or _norm(ident.serial) in ("0", ""):
            out.append(Match(f, note="it reports no serial number, so the register cannot say which asset it "
                                     "is; name its asset_id in a bench file"))
            continue
        hits = by_key.get((_norm(ident.model), _norm(ident.serial)), [])
        if not hits:
            out.append(Match(f, note=f"not in the register; add the {ident.model} s/n {ident.serial} to it "
                                     "(calstation register add standard|dut ...)"))
        elif len(hits) > 1:
            out.append(Match(f, note=f"the register has {len(hits)} assets of this model and serial number "
                                     f"({', '.join(a.asset_id for a in hits)}); retire the duplicate"))
        else:
            a = hits[0]
            out.append(Match(f, a.asset_id, a.kind, a.status))
    return out


# -- roles ---------------------------------------------------------------------------


@dataclass
class Proposal:
    """The procedure's roles and the instrument proposed for each;
    ``missing``: the roles no instrument can play, and why."""

    procedure: str
    dut_role: str
    roles: dict[str, Match] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    #: Every role of the bench with what it needs (capability names), the
    #: optional ``ambient`` role included: for choosing by hand.
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.missing

    def instruments(self) -> list[dict[str, Any]]:
        """The bench file's ``[[instrument]]`` tables (`BenchConfig.from_dicts`)."""
        out: list[dict[str, Any]] = []
        for role, m in self.roles.items():
            item: dict[str, Any] = {"role": role, "driver": m.found.driver, "resource": m.found.resource}
            if m.asset_id:
                item["asset_id"] = m.asset_id
            if m.found.identity is not None:
                item["description"] = f"{m.found.identity.manufacturer} {m.found.identity.model}"
            out.append(item)
        return out

    def bench_file(self, title: str = "") -> str:
        """The proposal as a bench file (TOML), to save and reuse."""
        if self.missing:
            role, why = next(iter(self.missing.items()))
            raise ConfigError(f"role {role!r} of {self.procedure} has no instrument: {why}")
        lines = [f"# {title or 'A bench discovered by calstation'}",
                 f"# for procedure {self.procedure}; the standards' standing comes from the register.", ""]
        for item in self.instruments():
            lines.append("[[instrument]]")
            lines += [f"{k} = {_toml_string(str(v))}" for k, v in item.items()]
            lines.append("")
        return "\n".join(lines)


def _toml_string(text: str) -> str:
    return '"' + "".join(c if c not in '"\\' and c >= " " else f"\\u{ord(c):04x}" for c in text) + '"'


def _fits(match: Match, need: Role) -> bool:
    return all(cap.__name__ in match.found.capabilities for cap in need.needs)


def role_needs(procedure: type[Procedure]) -> dict[str, Role]:
    """The procedure's roles (and the optional ``ambient`` role, a thermo-hygrometer)."""
    roles = {name: Role.of(r) for name, r in procedure.roles.items()}
    roles.setdefault(AMBIENT_ROLE, Role((Ambient,), "the laboratory's ambient conditions"))
    return roles


def propose(matches: Sequence[Match], procedure: type[Procedure], dut: Any = None) -> Proposal:
    """Give each role of ``procedure`` an instrument of ``matches``.

    The DUT role: the instrument registered as ``dut`` (a register
    `Asset`), or, where that model reports no serial number (the 34401A
    answers 0), the only one of its model that answered. Without ``dut``:
    the only instrument not registered as a standard that can play it.
    Every other role: an active registered standard whose driver can play
    it, each used once, in the order found. ``ambient`` is given a
    thermo-hygrometer only if one is there (it is optional)."""
    roles = role_needs(procedure)
    dut_role = procedure.dut_role
    out = Proposal(procedure.name, dut_role,
                   needs={r: tuple(c.__name__ for c in need.needs) for r, need in roles.items()})
    used: set[str] = set()

    dut_need = roles[dut_role]
    if dut is not None:
        hits = [m for m in matches if m.asset_id == dut.asset_id]
        item = f"the item {dut.asset_id} ({dut.manufacturer} {dut.model} s/n {dut.serial})"
        unnamed: list[Match] = []
        if not hits:
            unnamed = [m for m in matches if not m.asset_id and m.found.identity is not None
                       and _norm(m.found.identity.model) == _norm(dut.model)
                       and _norm(m.found.identity.serial) in ("", "0")]
            hits = unnamed if len(unnamed) == 1 else []
        if len(unnamed) > 1:
            out.missing[dut_role] = (f"{len(unnamed)} instruments of the model {dut.model} answered without a serial "
                                     f"number ({', '.join(m.found.resource for m in unnamed)}); say which is "
                                     f"{dut.asset_id} (its role, or its resource in a bench file)")
        elif not hits:
            out.missing[dut_role] = (f"{item} did not answer as its model and serial number on any resource "
                                     "probed (one in use by a run is not probed); connect it and switch it on, "
                                     "or name its address to probe")
        elif not _fits(hits[0], dut_need):
            out.missing[dut_role] = (f"{dut.asset_id} ({hits[0].found.describe()}) cannot be the DUT of "
                                     f"{procedure.name}: it needs {dut_need.describe()}")
        else:
            out.roles[dut_role] = replace(hits[0], asset_id=dut.asset_id, kind=dut.kind, status=dut.status)
    else:
        able = [m for m in matches if m.kind != "standard" and _fits(m, dut_need)]
        if len(able) == 1:
            out.roles[dut_role] = able[0]
        else:
            out.missing[dut_role] = ("no instrument found can be the DUT" if not able else
                                     f"{len(able)} instruments could be the DUT; choose the item first")
    if dut_role in out.roles:
        used.add(out.roles[dut_role].found.resource)

    for role, need in roles.items():
        if role == dut_role:
            continue
        able = [m for m in matches if _fits(m, need) and m.found.resource not in used]
        ready = [m for m in able if m.kind == "standard" and m.status == "active"]
        if ready:
            out.roles[role] = ready[0]
            used.add(ready[0].found.resource)
        elif role != AMBIENT_ROLE:
            if not able:
                out.missing[role] = f"no instrument found can be a {need.describe()}"
            else:
                m = able[0]
                why = m.note or (f"{m.asset_id} is retired" if m.status == "retired"
                                 else f"{m.asset_id} is registered as a {m.kind}, not a standard")
                out.missing[role] = f"{m.found.describe()} at {m.found.resource} could, but {why}"
    return out


def assign(matches: Sequence[Match], procedure: type[Procedure], chosen: Mapping[str, str],
           dut: Any = None) -> Proposal:
    """The bench the technician chose by hand: ``chosen`` maps a role to a
    resource of ``matches``. Each role of the procedure needs one instrument
    that can play it (``ambient`` may stay empty); an instrument plays one
    role. The DUT role's asset is ``dut``'s (the item chosen)."""
    roles = role_needs(procedure)
    out = Proposal(procedure.name, procedure.dut_role,
                   needs={r: tuple(c.__name__ for c in need.needs) for r, need in roles.items()})
    by_resource = {m.found.resource: m for m in matches}
    taken: dict[str, str] = {}
    for role, need in roles.items():
        resource = chosen.get(role, "")
        if not resource:
            if role != AMBIENT_ROLE:
                out.missing[role] = f"give it an instrument that is a {need.describe()}"
            continue
        m = by_resource.get(resource)
        if m is None:
            out.missing[role] = f"{resource} did not answer as an instrument calstation has a driver for"
        elif resource in taken:
            out.missing[role] = f"{resource} already plays the role {taken[resource]!r}; one instrument, one role"
        elif not _fits(m, need):
            out.missing[role] = (f"{m.found.describe()} cannot be {role}: {role} needs {need.describe()}, "
                                 f"its driver {m.found.driver} can be {', '.join(m.found.capabilities) or 'nothing'}")
        else:
            taken[resource] = role
            if role == procedure.dut_role and dut is not None:
                m = replace(m, asset_id=dut.asset_id, kind=dut.kind, status=dut.status)
            out.roles[role] = m
    unknown = set(chosen) - set(roles)
    if unknown:
        out.missing[sorted(unknown)[0]] = f"{procedure.name} has no such role (its roles: {', '.join(roles)})"
    return out


def save_bench_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all, never over a file that
    exists (`ConfigError` naming it): as a run file is written
    (`station.runfile.files.write_image`: beside it, synced, linked)."""
    from station.runfile.files import write_image  # h5py with it: only when a bench is saved

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"{path}: cannot write there ({e.strerror or e}); choose another folder") from None
    try:
        write_image(path, text.encode("utf-8"), new=True)
    except FileExistsError:
        raise ConfigError(f"{path} exists; choose another name or remove it first") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot write there ({e.strerror or e}); choose another folder") from None


@dataclass(frozen=True)
class Survey:
    """A bench surveyed: what was probed, notes on what could not be
    listed, what answered, their register assets, and the roles proposed
    (None without a procedure)."""

    resources: list[str]
    notes: list[str]
    found: list[Found]
    matches: list[Match]
    proposal: Proposal | None

    @property
    def answered(self) -> int:
        """How many resources answered as an instrument with a driver."""
        return sum(1 for f in self.found if f.driver)


def survey(addresses: Iterable[str], *, visa_list: str | None, serial_ports: bool, visa_library: str = "@py",
           assets: Iterable[Any] = (), procedure: type[Procedure] | None = None, dut: Any = None,
           timeout_s: float = PROBE_TIMEOUT_S, baudrate: int = 9600) -> Survey:
    """`candidates` (``visa_list``: the VISA library asked for its list, None
    for none), `discover` (resources opened with ``visa_library``),
    `match_register` against ``assets`` and, with a procedure, `propose`."""
    resources, notes = candidates(visa_list, serial_ports, addresses)
    found = discover(resources, timeout_s=timeout_s, visa_library=visa_library, baudrate=baudrate)
    matches = match_register(found, assets)
    proposal = propose(matches, procedure, dut) if procedure is not None else None
    return Survey(resources, notes, found, matches, proposal)


def summary(found: Sequence[Found], matches: Mapping[str, Match]) -> list[str]:
    """One line per resource: what answered, its driver and its register asset."""
    lines: list[str] = []
    for f in found:
        m = matches.get(f.resource)
        if f.driver:
            reg = (f"asset {m.asset_id} ({m.kind}{', retired' if m.status == 'retired' else ''})"
                   if m is not None and m.asset_id else (m.note if m is not None else ""))
            lines.append(f"{f.resource}: {f.describe()}, driver {f.driver}; {reg}")
        else:
            lines.append(f"{f.resource}: {f.problem}")
    return lines
