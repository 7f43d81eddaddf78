"""New calibration: the item, the procedure, the bench, the customer and
the conditions; the plan checked before anything is energised; Start.

- The item (DUT) comes from the register: the search field filters it by
  asset id, serial, maker or model; typing or scanning an asset tag and
  pressing Enter selects it. A new item is added to the register as the
  signed-in user.
- The procedures are those of the library whose DUT is the item's model
  (the model of the DUT on the procedure's simulated bench, or the model
  named in the procedure's name or title); "Show all procedures" lists every one.
- The bench: the procedure's simulated bench, or a bench file.
- The plan check (`plan_check`, on a thread of its own): every standard's
  standing from the register (`station.register.trace.resolve_bench`; a
  refused one shows why, e.g. overdue since its due date), and each
  point's planned TUR from `Engine.preview` (below 4:1 marked in amber).
  It opens and identifies the instruments and energises nothing. Start is
  enabled only when it passed; its refusals are listed with their reasons.
- The conditions are read from the bench's thermo-hygrometer (role
  ``ambient``) when it has one, else typed.

Start hands the main window a `gui.worker.CalibrationSession`: the job's
operator is the signed-in user's full name, with their user name kept as
``operator_user`` (as ``calstation demo`` and ``calstation run --user`` do).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from PyQt6.QtCore import QEvent, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PyQt6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from drivers import registry
from drivers.clock import Clock, SystemClock
from drivers.sim.bench import load_topology
from drivers.transport import open_transport
from gui.i18n import tr
from gui.widgets import (
    LOW_TUR,
    LOW_TUR_BG,
    format_tur,
    read_only_table,
    table_item,
    tr_later,
    tr_or_same,
)
from gui.worker import DEMO_PACE, BackgroundTask, CalibrationSession, job_for, new_run_path
from station import library
from station.bench import BenchConfig, InstrumentConfig, Job
from station.certificates.numbers import format_frequency, format_level, format_uncertainty
from station.engine import AMBIENT_ROLE, Engine
from station.errors import CalstationError, PlanRefused, one_line
from station.procedure import PointPlan, Procedure, TestPoint
from station.prompts import AutoAnswer
from station.register.core import Asset, Customer, Register, User, standing
from station.register.db import RegisterError
from station.register.trace import lab_job, resolve_bench
from station.simulated import DEFAULT_BENCH, SimulatedStation

#: How long after a change the plan is checked again (typing in a field changes nothing).
CHECK_DELAY_MS = 200
REFUSED_BG = QColor("#ffcdd2")
#: The roles the simulated benches and the templates give instruments, shown translated.
ROLES = (tr_later("standard"), tr_later("ambient"), tr_later("reference"), tr_later("well"))
DUE_SOON_BG = QColor("#fff9c4")


# -- matching procedures to an item -------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


@cache
def procedure_models(cls: type[Procedure]) -> frozenset[str]:
    """The models a procedure calibrates (normalised): the DUT of its
    simulated bench (the topology's ``[dut]`` and the datasheet models of the
    driver in its DUT role)."""
    models: set[str] = set()
    try:
        topology = load_topology(cls.simulated_bench or DEFAULT_BENCH)
    except CalstationError:
        return frozenset()
    if topology.dut.get("model"):
        models.add(_norm(topology.dut["model"]))
    spec = topology.by_role(cls.dut_role)
    if spec is not None:
        try:
            models.update(_norm(m) for m in registry.datasheet(spec.driver).models)
        except CalstationError:
            pass
    return frozenset(m for m in models if m)


def procedure_matches(cls: type[Procedure], model: str) -> bool:
    """Whether ``cls`` calibrates an item of ``model``: its DUT role's model,
    or the model named in its name or title."""
    wanted = _norm(model)
    if not wanted:
        return False
    return wanted in procedure_models(cls) or wanted in _norm(cls.name) or wanted in _norm(cls.title)


# -- the plan check (off the GUI thread) --------------------------------------------------------
@dataclass(frozen=True)
class Standing:
    """A standard of the bench as the register sees it."""

    role: str
    asset_id: str
    instrument: str
    due: str
    state: str  # "in calibration", "due YYYY-MM-DD", ...
    #: why the register refuses it ("" when it may be used): "unregistered", "no asset id",
    #: "retired", "no record", "overdue" (since `due`), or the register's own sentence
    refused: str = ""

    def why(self) -> str:
        """Why it is refused, in the window's language ("" when it is not)."""
        return {"": "", "unregistered": tr("not in the register"),
                "no asset id": tr("no asset id in the bench file"), "retired": tr("retired"),
                "no record": tr("no calibration record"),
                "overdue": tr("overdue: its calibration was due on {due}").format(due=self.due),
                }.get(self.refused, self.refused)


@dataclass(frozen=True)
class PlannedPoint:
    point: TestPoint
    tur: float
    plan: PointPlan


@dataclass(frozen=True)
class PlanRequest:
    register: Register
    procedure: str
    simulated: bool
    bench_file: Path | None
    dut: Asset
    customer: Customer | None
    user: User
    runs_dir: Path
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class PlanResult:
    procedure: str
    title: str
    bench: BenchConfig  # the standards' standing resolved by the register
    bench_title: str
    job: Job
    standings: list[Standing]
    points: list[PlannedPoint]
    refusals: list[str]
    ambient: tuple[float, float] | None = None
    ambient_asset: str = ""  # the thermo-hygrometer read ("" with none)
    ambient_error: str = ""  # why it could not be read

    @property
    def ok(self) -> bool:
        return not self.refusals and bool(self.points)


def standings_of(reg: Register, bench: BenchConfig, dut_role: str, today: dt.date
                 ) -> tuple[list[Standing], BenchConfig, list[str]]:
    """Each standard of ``bench`` with its standing from the register; the
    bench with the standing of those it accepts; the register's refusals
    (one line each, naming the standard and why)."""
    out: list[Standing] = []
    resolved: dict[str, InstrumentConfig] = {}
    refusals: list[str] = []
    for role, cfg in bench.instruments.items():
        if role == dut_role:
            resolved[role] = cfg
            continue
        asset = reg.asset(cfg.asset_id) if cfg.asset_id else None
        record = reg.latest_calibration(cfg.asset_id) if asset is not None else None
        instrument = (f"{asset.manufacturer} {asset.model}" if asset is not None
                      else cfg.description or cfg.driver)
        try:
            one = resolve_bench(reg, BenchConfig({role: cfg}, bench.source), dut_role, today)
        except RegisterError as e:
            refusals.append(one_line(e))
            resolved[role] = cfg
            if asset is None:
                why = "unregistered" if cfg.asset_id else "no asset id"
            elif asset.status == "retired":
                why = "retired"
            elif record is None:
                why = "no record"
            elif dt.date.fromisoformat(record.due) < today:
                why = "overdue"
            else:
                why = one_line(e)
            out.append(Standing(role, cfg.asset_id, instrument, record.due if record else "", "", why))
            continue
        resolved[role] = one.instruments[role]
        out.append(Standing(role, cfg.asset_id, instrument, record.due if record else "",
                            standing(record, today)))
    return out, BenchConfig(resolved, bench.source), refusals


def read_ambient(bench: BenchConfig, simulators: Any = None, clock: Clock | None = None) -> tuple[float, float]:
    """The conditions now, from the bench's thermo-hygrometer (role ``ambient``)."""
    cfg = bench.instruments[AMBIENT_ROLE]
    cls = registry.load_driver(cfg.driver)
    transport = open_transport(
        cfg.resource, name=AMBIENT_ROLE, timeout_s=cfg.timeout_s,
        write_termination=cfg.write_termination or getattr(cls, "write_termination", "\n"),
        read_termination=cfg.read_termination or getattr(cls, "read_termination", "\n"),
        visa_library=cfg.visa_library, baudrate=cfg.baudrate, simulators=simulators)
    try:
        driver: Any = cls(transport, clock or SystemClock(), **({"serial": True} if cfg.serial else {}))
        driver.initialize()
        t, rh = driver.conditions()
        return float(t), float(rh)
    finally:
        transport.close()


def base_job(request: PlanRequest, lab: Job) -> Job:
    """The job of the run: the lab's header, the item and the customer from the
    register, the signed-in user as the operator."""
    dut, c = request.dut, request.customer
    changes = dict(dut_asset_id=dut.asset_id, dut_manufacturer=dut.manufacturer, dut_model=dut.model,
                   dut_serial=dut.serial, dut_description=dut.description or lab.dut_description,
                   date_received=request.today.isoformat())
    if c is not None:
        changes.update(customer_name=c.name, customer_address=c.address)
    return job_for(lab, request.user.full_name, request.user.name, **changes)


def plan_check(request: PlanRequest) -> PlanResult:
    """Check the plan of ``request`` as the run will: load the procedure,
    make the bench (simulated, or from its file), take each standard's
    standing from the register, then `Engine.preview` (instruments opened
    and identified, every point planned; nothing energised, no file
    written). A refusal is listed, not raised."""
    procedure = library.load(request.procedure)
    station: SimulatedStation | None = None
    try:
        if request.simulated:
            station = SimulatedStation(procedure=procedure)
            bench = station.bench(request.today)
            lab = station.job(request.today)
            simulators, clock = station.simulators, station.clock
            bench_title = station.sim.topology.title
        else:
            if request.bench_file is None:
                raise PlanRefused("choose the bench file (or the simulated bench)")
            bench = BenchConfig.load(request.bench_file)
            lab = lab_job(request.register)
            simulators, clock = None, None
            bench_title = str(request.bench_file)
        standings, resolved, refusals = standings_of(request.register, bench, procedure.dut_role, request.today)
        job = base_job(request, lab)
        engine = Engine(procedure, resolved, job, request.runs_dir / "plan-check.h5", prompts=AutoAnswer(),
                        clock=clock, simulators=simulators, today=request.today, command="calstation gui")
        points: list[PlannedPoint] = []
        try:
            points = [PlannedPoint(p, t, plan) for p, t, plan in engine.preview()]
        except CalstationError as e:
            refusals.append(one_line(e))
        ambient, asset, error = None, "", ""
        if AMBIENT_ROLE in resolved.instruments:
            a = resolved.instruments[AMBIENT_ROLE]
            asset = a.asset_id or a.driver
            try:
                ambient = read_ambient(resolved, simulators, clock)
            except CalstationError as e:
                error = one_line(e)
        return PlanResult(procedure.name, procedure.title, resolved, bench_title, job, standings, points,
                          refusals, ambient, asset, error)
    finally:
        if station is not None:
            station.close()


# -- a new item ------------------------------------------------------------------------------------
class NewItemDialog(QDialog):
    """A new item (DUT) for the register: asset id, maker, model, serial,
    description, owner. Added as the signed-in user."""

    def __init__(self, register: Register, user: User, tag: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newItem")
        self.register = register
        self.user = user
        self.asset: Asset | None = None
        self.fields: dict[str, QLineEdit] = {}
        self._labels: list[tuple[QLabel, str]] = []
        form = QFormLayout()
        for key, label in (("asset_id", "Asset &id"), ("manufacturer", "&Manufacturer"), ("model", "M&odel"),
                           ("serial", "&Serial number"), ("description", "&Description")):
            edit = QLineEdit()
            edit.setObjectName(key)
            caption = QLabel()
            caption.setBuddy(edit)
            self._labels.append((caption, label))
            self.fields[key] = edit
            form.addRow(caption, edit)
        self.fields["asset_id"].setText(tag)
        self.owner = QComboBox()
        self.owner.setObjectName("owner")
        self.owner.addItem("", "")
        for c in register.customers():
            self.owner.addItem(f"{c.code}: {c.name}", c.code)
        owner_label = QLabel()
        owner_label.setBuddy(self.owner)
        self._labels.append((owner_label, "O&wner"))
        form.addRow(owner_label, self.owner)
        self.message = QLabel()
        self.message.setObjectName("message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("QLabel { color: #c62828; }")
        self.message.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._built = True
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(tr("New item"))
        names = {"Asset &id": tr("Asset &id"), "&Manufacturer": tr("&Manufacturer"), "M&odel": tr("M&odel"),
                 "&Serial number": tr("&Serial number"), "&Description": tr("&Description"), "O&wner": tr("O&wner")}
        for caption, key in self._labels:
            caption.setText(names[key])
        ok, cancel = (self.buttons.button(QDialogButtonBox.StandardButton.Ok),
                      self.buttons.button(QDialogButtonBox.StandardButton.Cancel))
        if ok is not None and cancel is not None:
            ok.setText(tr("&Add to the register"))
            cancel.setText(tr("Cancel"))

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def accept(self) -> None:
        values = {k: e.text().strip() for k, e in self.fields.items()}
        asset = Asset(values["asset_id"], "dut", values["manufacturer"], values["model"], values["serial"],
                      values["description"], str(self.owner.currentData() or ""), "")
        try:
            self.register.add_asset(self.user.name, asset)
        except CalstationError as e:
            self.message.setText(one_line(e))
            self.message.show()
            return
        self.asset = asset
        super().accept()


# -- the view ----------------------------------------------------------------------------------------
class NewCalibration(QWidget):
    """The New calibration view; `startRequested` carries the
    `CalibrationSession` to run, `cancelled` goes back."""

    startRequested = pyqtSignal(object)  # noqa: N815 - Qt's naming; CalibrationSession
    cancelled = pyqtSignal()

    def __init__(self, register: Register, user: User, runs_dir: Path, *, simulated: bool = True,
                 pace: float = DEMO_PACE, today: Callable[[], dt.date] = dt.date.today,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newCalibration")
        self.register = register
        self.user = user
        self.runs_dir = Path(runs_dir)
        self.pace = pace
        self.today = today
        self.dut: Asset | None = None
        self.bench_file: Path | None = None
        self.plan: PlanResult | None = None
        self.check_error = ""
        self._checking = False
        self._ambient_typed = False  # the operator typed the conditions: a reading does not overwrite them
        self._filling = False
        self._procedures: dict[str, type[Procedure]] = {}
        self._assets: list[Asset] = []
        self._search_note: Callable[[], str] | None = None
        self._task = BackgroundTask(self)
        self._task.done.connect(self._checked)
        self._task.failed.connect(self._check_failed)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check)
        self._check_when_shown = False
        self._build(simulated)
        self._built = True
        self.retranslate()
        self.reload()

    # -- layout ---------------------------------------------------------------------------------
    def _build(self, simulated: bool) -> None:
        # 1. the item
        self.item_box = QGroupBox()
        self.search = QLineEdit()
        self.search.setObjectName("dutSearch")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._select_typed)
        self.duts = read_only_table("duts", 4)
        self.duts.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.duts.itemSelectionChanged.connect(self._dut_chosen)
        self.duts.setMinimumHeight(110)
        self.new_item = QPushButton()
        self.new_item.setObjectName("newItem")
        self.new_item.clicked.connect(self.add_item)
        self.search_note = QLabel()
        self.search_note.setObjectName("searchNote")
        self.search_note.setWordWrap(True)
        self.search_label = QLabel()
        self.search_label.setBuddy(self.search)
        row = QHBoxLayout()
        row.addWidget(self.search_label)
        row.addWidget(self.search, 1)
        row.addWidget(self.new_item)
        box = QVBoxLayout(self.item_box)
        box.addLayout(row)
        box.addWidget(self.duts, 1)
        box.addWidget(self.search_note)

        # 2. the procedure
        self.procedure_box = QGroupBox()
        self.procedures = QListWidget()
        self.procedures.setObjectName("procedures")
        self.procedures.currentItemChanged.connect(lambda *_: self._changed())
        self.procedures.setMinimumHeight(64)
        self.show_all = QCheckBox()
        self.show_all.setObjectName("showAll")
        self.show_all.toggled.connect(lambda _: self._fill_procedures())
        self.procedure_note = QLabel()
        self.procedure_note.setObjectName("procedureNote")
        self.procedure_note.setWordWrap(True)
        box = QVBoxLayout(self.procedure_box)
        box.addWidget(self.procedures, 1)
        row = QHBoxLayout()
        row.addWidget(self.show_all)
        row.addWidget(self.procedure_note, 1)
        box.addLayout(row)

        # 3. the bench
        self.bench_box = QGroupBox()
        self.simulated = QRadioButton()
        self.simulated.setObjectName("simulatedBench")
        self.from_file = QRadioButton()
        self.from_file.setObjectName("benchFile")
        group = QButtonGroup(self)
        group.addButton(self.simulated)
        group.addButton(self.from_file)
        (self.simulated if simulated else self.from_file).setChecked(True)
        self.simulated.toggled.connect(lambda _: self._changed())
        self.bench_path = QLineEdit()
        self.bench_path.setObjectName("benchPath")
        self.bench_path.setReadOnly(True)
        self.choose_bench = QPushButton()
        self.choose_bench.setObjectName("chooseBench")
        self.choose_bench.clicked.connect(self.choose_bench_file)
        self.discover_button = QPushButton()
        self.discover_button.setObjectName("discover")
        self.discover_button.clicked.connect(self.discover_bench)
        self.discover_note = QLabel()
        self.discover_note.setObjectName("discoverNote")
        self.discover_note.setWordWrap(True)
        grid = QGridLayout(self.bench_box)
        grid.addWidget(self.simulated, 0, 0, 1, 3)
        grid.addWidget(self.from_file, 1, 0)
        grid.addWidget(self.bench_path, 1, 1)
        grid.addWidget(self.choose_bench, 1, 2)
        grid.addWidget(self.discover_note, 2, 0, 1, 2)
        grid.addWidget(self.discover_button, 2, 2)
        grid.setColumnStretch(1, 1)

        # 4. the customer and the conditions
        self.job_box = QGroupBox()
        self.customer = QComboBox()
        self.customer.setObjectName("customer")
        self.temperature = QLineEdit()
        self.temperature.setObjectName("temperature")
        self.humidity = QLineEdit()
        self.humidity.setObjectName("humidity")
        for edit in (self.temperature, self.humidity):
            edit.textEdited.connect(self._typed_conditions)
            edit.setMaximumWidth(140)
        self.ambient_note = QLabel()
        self.ambient_note.setObjectName("ambientNote")
        self.ambient_note.setWordWrap(True)
        self.customer_label, self.temperature_label, self.humidity_label = QLabel(), QLabel(), QLabel()
        self.customer_label.setBuddy(self.customer)
        self.temperature_label.setBuddy(self.temperature)
        self.humidity_label.setBuddy(self.humidity)
        grid = QGridLayout(self.job_box)
        grid.addWidget(self.customer_label, 0, 0)
        grid.addWidget(self.customer, 0, 1, 1, 3)
        grid.addWidget(self.temperature_label, 1, 0)
        grid.addWidget(self.temperature, 1, 1)
        grid.addWidget(self.humidity_label, 1, 2)
        grid.addWidget(self.humidity, 1, 3)
        grid.addWidget(self.ambient_note, 2, 0, 1, 4)
        grid.setColumnStretch(3, 1)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.item_box, 3)
        column.addWidget(self.procedure_box, 2)
        column.addWidget(self.bench_box)
        column.addWidget(self.job_box)

        # 5. the plan check
        self.plan_box = QGroupBox()
        self.plan_status = QLabel()
        self.plan_status.setObjectName("planStatus")
        self.plan_status.setWordWrap(True)
        self.plan_status.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 6)  # never cut
        self.plan_status.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.standards = read_only_table("standards", 5)
        self._fit_rows(self.standards, 2)
        self.points = read_only_table("points", 7)
        self.refusals = QLabel()
        self.refusals.setObjectName("refusals")
        self.refusals.setWordWrap(True)
        self.refusals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusals.setStyleSheet("QLabel { color: #b71c1c; }")
        self.refusals.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.refusals.hide()
        box = QVBoxLayout(self.plan_box)
        box.addWidget(self.plan_status)
        box.addWidget(self.standards)
        box.addWidget(self.refusals)
        box.addWidget(self.points, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.plan_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 5)
        split.setChildrenCollapsible(False)

        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.clicked.connect(self.cancelled)
        self.check_button = QPushButton()
        self.check_button.setObjectName("checkAgain")
        self.check_button.clicked.connect(self.check)
        self.start_button = QPushButton()
        self.start_button.setObjectName("start")
        self.start_button.setMinimumSize(150, 38)
        self.start_button.setStyleSheet(
            "QPushButton { background: #2e7d32; color: white; font-weight: bold; border-radius: 4px; "
            "padding: 6px 14px; } QPushButton:disabled { background: #cfd8dc; color: #90a4ae; }"
            "QPushButton:focus { border: 2px solid #ffca28; }")
        self.start_button.clicked.connect(self.start)
        self.start_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.start_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        self.setTabOrder(self.search, self.duts)

    # -- language ----------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.item_box.setTitle(tr("1  Item"))
        self.search_label.setText(tr("&Find:"))
        self.search.setPlaceholderText(tr("asset id, serial or model; scan the tag and press Enter"))
        self.new_item.setText(tr("&New item…"))
        self.duts.setHorizontalHeaderLabels([tr("Asset"), tr("Item"), tr("Serial"), tr("Owner")])
        self.procedure_box.setTitle(tr("2  Procedure"))
        self.show_all.setText(tr("Show &all procedures"))
        self.bench_box.setTitle(tr("3  Bench"))
        self.from_file.setText(tr("Bench &file:"))
        self.choose_bench.setText(tr("C&hoose…"))
        self.discover_button.setText(tr("&Discover…"))
        self.discover_note.setText(tr("or find the instruments that answer, and make the bench file from them:"))
        self.job_box.setTitle(tr("4  Customer and conditions"))
        self.customer_label.setText(tr("C&ustomer"))
        self.temperature_label.setText(tr("&Temperature (°C)"))
        self.humidity_label.setText(tr("H&umidity (%RH)"))
        self.plan_box.setTitle(tr("5  Plan check (nothing is energised)"))
        self.standards.setHorizontalHeaderLabels([tr("Role"), tr("Asset"), tr("Instrument"), tr("Calibration due"),
                                                  tr("Standing")])
        self.points.setHorizontalHeaderLabels(["#", tr("Function"), tr("Range"), tr("Nominal"), tr("Tolerance"),
                                               tr("Planned TUR"), tr("Specification")])
        self.cancel_button.setText(tr("Cancel"))
        self.check_button.setText(tr("Check &again"))
        self.start_button.setText(tr("&Start ▶"))
        self.start_button.setToolTip(tr("Start the run (Ctrl+Return): enabled once the plan check passed"))
        self._bench_text()
        self._show_search_note()
        self._fill_procedures()
        if self.plan is not None:
            self._show_plan(self.plan)
        else:
            self._show_status()

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    def hideEvent(self, event: QHideEvent | None) -> None:  # noqa: N802 - Qt's name
        """Out of sight (Cancel, another page, closed; not a minimised
        window) the screen talks to no instrument: a pending plan check is
        dropped and one in flight is not reported. It is made again when
        the screen is shown."""
        if (event is None or not event.spontaneous()) and (self._timer.isActive() or self._checking):
            self._timer.stop()
            self._task.cancel()
            self._checking = False
            self.check_button.setEnabled(True)
            self._check_when_shown = True
        super().hideEvent(event)

    def showEvent(self, event: QShowEvent | None) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._check_when_shown:
            self._check_when_shown = False
            self._changed()

    def _bench_text(self) -> None:
        title = ""
        cls = self._procedures.get(self.procedure_name())
        if cls is not None:
            try:
                title = load_topology(cls.simulated_bench or DEFAULT_BENCH).title
            except CalstationError:
                title = ""
        self.simulated.setText(tr("&Simulated bench: {title}").format(title=title) if title
                               else tr("&Simulated bench (the procedure's)"))

    # -- the register's lists --------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the items, customers and procedures again."""
        self._assets = [a for a in self.register.assets("dut") if a.status == "active"]
        self._procedures = library.available()
        current = self.customer.currentData()
        self.customer.blockSignals(True)
        self.customer.clear()
        self.customer.addItem(tr("(none)"), "")
        for c in self.register.customers():
            self.customer.addItem(f"{c.code}: {c.name}", c.code)
        self.customer.setCurrentIndex(max(0, self.customer.findData(current)))
        self.customer.blockSignals(False)
        self._fill_duts()
        self._fill_procedures()

    def _fill_duts(self) -> None:
        self._filling = True
        self.duts.setRowCount(len(self._assets))
        for r, a in enumerate(self._assets):
            self.duts.setItem(r, 0, table_item(a.asset_id, a.description))
            self.duts.setItem(r, 1, table_item(f"{a.manufacturer} {a.model}", a.description))
            self.duts.setItem(r, 2, table_item(a.serial))
            self.duts.setItem(r, 3, table_item(a.owner))
        self._filling = False
        self._filter(self.search.text())
        if self.dut is not None:
            self._select_asset(self.dut.asset_id)

    def _filter(self, text: str) -> None:
        words = [w for w in text.lower().split() if w]
        for r, a in enumerate(self._assets):
            hay = " ".join((a.asset_id, a.serial, a.manufacturer, a.model, a.description)).lower()
            self.duts.setRowHidden(r, not all(w in hay for w in words))
        self._search_note = None
        self._show_search_note()

    def visible_duts(self) -> list[str]:
        """The asset ids the item list shows now."""
        return [a.asset_id for r, a in enumerate(self._assets) if not self.duts.isRowHidden(r)]

    def _select_typed(self) -> None:
        """Enter in the search field (a scanned tag ends with one): the item whose
        asset id or serial is what was typed, or the only one the list shows."""
        tag = self.search.text().strip()
        exact = [a for a in self._assets if tag and tag.lower() in (a.asset_id.lower(), a.serial.lower())]
        shown = self.visible_duts()
        if len(exact) == 1:
            self._select_asset(exact[0].asset_id)
        elif len(shown) == 1:
            self._select_asset(shown[0])
        elif tag:
            self._search_note = lambda: tr("No single item matches “{tag}”: pick it in the list, or add it "
                                           "with New item.").format(tag=tag)
            self._show_search_note()
            return
        if self.dut is not None:
            self.procedures.setFocus()

    def _show_search_note(self) -> None:
        if self._search_note is not None:
            self.search_note.setText(self._search_note())
            self.search_note.setStyleSheet("QLabel { color: #c62828; }")
        elif self.dut is not None:
            a = self.dut
            self.search_note.setText(tr("Selected: {asset}, {item}, serial {serial}").format(
                asset=a.asset_id, item=f"{a.manufacturer} {a.model}", serial=a.serial))
            self.search_note.setStyleSheet("QLabel { color: #1b5e20; }")
        else:
            self.search_note.setText(tr("Pick the item to calibrate."))
            self.search_note.setStyleSheet("")

    def _select_asset(self, asset_id: str) -> None:
        for r, a in enumerate(self._assets):
            if a.asset_id == asset_id:
                self.duts.setRowHidden(r, False)
                self.duts.selectRow(r)
                self.duts.scrollToItem(self.duts.item(r, 0))
                return

    def _dut_chosen(self) -> None:
        if self._filling:
            return
        rows = {i.row() for i in self.duts.selectedItems()}
        self.dut = self._assets[min(rows)] if rows else None
        self._search_note = None
        self._show_search_note()
        if self.dut is not None and self.dut.owner:
            index = self.customer.findData(self.dut.owner)
            if index >= 0:
                self.customer.setCurrentIndex(index)
        self._fill_procedures()
        self._changed()

    def add_item(self) -> None:
        """A new item, added to the register as the signed-in user, then selected."""
        dialog = NewItemDialog(self.register, self.user, self.search.text().strip(), self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)

        def done(result: int) -> None:
            asset = dialog.asset
            dialog.deleteLater()
            if result == QDialog.DialogCode.Accepted and asset is not None:
                self.search.clear()
                self.dut = asset
                self.reload()
                self._select_asset(asset.asset_id)

        dialog.finished.connect(done)
        dialog.open()

    def _fill_procedures(self) -> None:
        chosen = self.procedure_name()
        model = self.dut.model if self.dut is not None else ""
        matching = [cls for cls in self._procedures.values() if procedure_matches(cls, model)]
        everything = self.show_all.isChecked() or not model or not matching
        shown = sorted(self._procedures.values() if everything else matching, key=lambda c: c.name)
        self.procedures.blockSignals(True)
        self.procedures.clear()
        for cls in shown:
            item = QListWidgetItem(f"{cls.title}  ({cls.name} {cls.version})")
            item.setData(Qt.ItemDataRole.UserRole, cls.name)
            item.setToolTip(cls.method)
            self.procedures.addItem(item)
        names = [cls.name for cls in shown]
        pick = chosen if chosen in names else (names[0] if len(names) == 1 or (matching and not everything) else "")
        if pick:
            self.procedures.setCurrentRow(names.index(pick))
        self.procedures.blockSignals(False)
        if model and not matching:
            self.procedure_note.setText(tr("No procedure names the model {model}: all are shown.").format(model=model))
        elif model and not self.show_all.isChecked():
            self.procedure_note.setText(tr("Procedures for the {model}.").format(model=model))
        else:
            self.procedure_note.setText("")
        if self.procedure_name() != chosen:
            self._changed()

    def procedure_name(self) -> str:
        item = self.procedures.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else ""

    def choose_bench_file(self) -> None:
        dialog = QFileDialog(self, tr("The bench file"), str(self.bench_file.parent if self.bench_file else
                                                            self.runs_dir), tr("Bench files (*.toml)"))
        dialog.setObjectName("benchFileDialog")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.fileSelected.connect(lambda name: self.use_bench_file(Path(name)))
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def discover_bench(self) -> None:
        """Find the instruments that answer (`gui.discover.DiscoverDialog`); the
        bench chosen there is written as a bench file and used."""
        cls = self._procedures.get(self.procedure_name())
        if cls is None or self.dut is None:
            self._show_status(tr("Choose the item and the procedure first: the bench is discovered for them."))
            return
        from gui.discover import DiscoverDialog

        dialog = DiscoverDialog(self.register, cls, self.dut, self.runs_dir, self)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.benchChosen.connect(self.use_bench_file)
        dialog.finished.connect(lambda _: dialog.deleteLater())
        dialog.open()

    def use_bench_file(self, path: Path) -> None:
        """Calibrate on the bench ``path`` describes: it is read (`BenchConfig.load`) at the plan check."""
        self.bench_file = path
        self.bench_path.setText(str(path))
        self.from_file.setChecked(True)
        self._changed()

    def _typed_conditions(self, _: str) -> None:
        self._ambient_typed = True

    # -- the plan check ------------------------------------------------------------------------------------
    def _changed(self) -> None:
        """Something the plan depends on changed: it is checked again shortly."""
        self._bench_text()
        self.plan = None
        self.start_button.setEnabled(False)
        self._timer.start()
        self._show_status()

    def _missing(self) -> str:
        if self.dut is None:
            return tr("Choose the item to calibrate.")
        if not self.procedure_name():
            return tr("Choose the procedure.")
        if self.from_file.isChecked() and self.bench_file is None:
            return tr("Choose the bench file, or the simulated bench.")
        return ""

    def _show_status(self, text: str = "") -> None:
        self.plan_status.setStyleSheet("")
        self.plan_status.setText(text or self._missing() or (tr("Checking the plan: identifying the instruments…")
                                                             if self._checking or self._timer.isActive() else ""))

    def check(self) -> None:
        """Check the plan now (on a thread of its own)."""
        self._timer.stop()
        if self._missing() or self.dut is None:
            self._show_status()
            self.standards.setRowCount(0)
            self.points.setRowCount(0)
            self.refusals.hide()
            return
        code = self.customer.currentData()
        customer = self.register.customer(str(code)) if code else None
        request = PlanRequest(self.register, self.procedure_name(), self.simulated.isChecked(),
                              self.bench_file if self.from_file.isChecked() else None, self.dut, customer,
                              self.user, self.runs_dir, self.today())
        self.plan = None
        self.check_error = ""
        self._checking = True
        self.start_button.setEnabled(False)
        self.check_button.setEnabled(False)
        self._show_status()
        self._task.start(lambda: plan_check(request))

    @property
    def checking(self) -> bool:
        return self._checking or self._timer.isActive()

    def _checked(self, result: PlanResult) -> None:
        self._checking = False
        self.check_button.setEnabled(True)
        self.plan = result
        if result.ambient is not None and not self._ambient_typed:
            self.temperature.setText(f"{result.ambient[0]:.1f}")
            self.humidity.setText(f"{result.ambient[1]:.0f}")
        self._show_plan(result)

    def _check_failed(self, message: str) -> None:
        self._checking = False
        self.check_button.setEnabled(True)
        self.plan = None
        self.check_error = message
        self.standards.setRowCount(0)
        self.points.setRowCount(0)
        self.plan_status.setText(tr("The plan could not be checked: {reason}").format(reason=message))
        self.plan_status.setStyleSheet("QLabel { color: #b71c1c; font-weight: bold; }")
        self.refusals.hide()
        self.start_button.setEnabled(False)

    @staticmethod
    def _fit_rows(table: QTableWidget, rows: int) -> None:
        """As tall as ``rows`` rows (and the header): no empty space, no scrolling."""
        header = table.horizontalHeader()
        height = (header.sizeHint().height() if header is not None else 24) + max(1, rows) * 22 + 4
        table.setFixedHeight(height)

    def _show_plan(self, result: PlanResult) -> None:
        self.standards.setRowCount(len(result.standings))
        self._fit_rows(self.standards, min(len(result.standings), 5))
        for r, s in enumerate(result.standings):
            state = tr("refused: {why}").format(why=s.why()) if s.refused else self._standing_text(s.state)
            cells = [tr_or_same(s.role), s.asset_id, s.instrument, s.due, state]
            for c, text in enumerate(cells):
                item = table_item(text, state)
                if s.refused:
                    item.setBackground(QBrush(REFUSED_BG))
                elif s.state.startswith("due"):
                    item.setBackground(QBrush(DUE_SOON_BG))
                self.standards.setItem(r, c, item)
        self.points.setRowCount(len(result.points))
        low = 0
        for r, pp in enumerate(result.points):
            p, tur, plan = pp.point, pp.tur, pp.plan
            nominal = format_level(p.nominal, p.unit, p.range)
            if p.frequency > 0:
                nominal += f", {format_frequency(p.frequency)}"
            cells = [str(r + 1), str(p.function), format_level(p.range, p.unit, p.range) if p.range > 0 else "—",
                     nominal, "± " + format_uncertainty(plan.tolerance, p.unit), format_tur(tur), plan.spec]
            for c, text in enumerate(cells):
                item = table_item(text)
                if c == 5 and tur < LOW_TUR:
                    item.setText(f"⚠ {text}")
                    item.setBackground(QBrush(LOW_TUR_BG))
                    item.setToolTip(tr("Planned TUR below 4:1: the standard's uncertainty is large against this "
                                       "point's tolerance"))
                if c == 5:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.points.setItem(r, c, item)
            low += tur < LOW_TUR
        if result.refusals:
            self.refusals.setText("\n".join(f"• {line}" for line in result.refusals))
            self.refusals.show()
            self.plan_status.setText(tr("The plan is refused: nothing was energised. Put right what is listed, "
                                        "then Check again."))
            self.plan_status.setStyleSheet("QLabel { color: #b71c1c; font-weight: bold; }")
        else:
            self.refusals.hide()
            text = tr("The plan passed: {n} points, every instrument identified, every standard in "
                      "calibration.").format(n=len(result.points))
            if low:
                text += " " + tr("{low} points have a planned TUR below 4:1 (marked ⚠).").format(low=low)
            self.plan_status.setText(text)
            self.plan_status.setStyleSheet("QLabel { color: #1b5e20; font-weight: bold; }")
        if result.ambient_error:
            self.ambient_note.setText(tr("The thermo-hygrometer {asset} could not be read ({reason}): type the "
                                         "conditions.").format(asset=result.ambient_asset,
                                                               reason=result.ambient_error))
        elif result.ambient_asset:
            self.ambient_note.setText(tr("Read from the thermo-hygrometer {asset} at the plan check; the run "
                                         "logs them as it goes.").format(asset=result.ambient_asset))
        else:
            self.ambient_note.setText(tr("No thermo-hygrometer on this bench: type the conditions."))
        self.start_button.setEnabled(result.ok)

    @staticmethod
    def _standing_text(state: str) -> str:
        if state == "in calibration":
            return tr("in calibration")
        if state.startswith("due "):
            return tr("due {date}").format(date=state.removeprefix("due "))
        return state

    # -- start ------------------------------------------------------------------------------------------------
    def conditions(self) -> tuple[str, str]:
        return self.temperature.text().strip(), self.humidity.text().strip()

    def start(self) -> None:
        """Hand the checked plan to the run screen."""
        plan = self.plan
        if plan is None or not plan.ok or self._checking or not self.start_button.isEnabled():
            return
        t, rh = self.conditions()
        if not (t and rh):
            self.plan_status.setText(tr("Type the temperature and the humidity of the laboratory."))
            self.plan_status.setStyleSheet("QLabel { color: #b71c1c; font-weight: bold; }")
            self.temperature.setFocus()
            return
        job = dataclasses.replace(plan.job, temperature_c=t, humidity_pct=rh)
        simulated = self.simulated.isChecked()
        try:
            path = new_run_path(self.runs_dir, plan.procedure)
        except OSError as e:
            self.plan_status.setText(tr("The run file cannot be made in {folder}: {reason}").format(
                folder=self.runs_dir, reason=e.strerror or e))
            return
        standards = ", ".join(f"{s.asset_id} ({tr('due {date}').format(date=s.due)})" for s in plan.standings)
        lines = [
            ("Procedure", tr("{title} ({name}), {n} points").format(title=plan.title, name=plan.procedure,
                                                                   n=len(plan.points))),
            ("DUT", tr("{asset}: {item}, serial {serial}").format(
                asset=job.dut_asset_id, item=f"{job.dut_manufacturer} {job.dut_model}", serial=job.dut_serial)),
            ("Customer", job.customer_name or "—"),
            ("Operator", job.operator),
            ("Bench", (tr("simulated: {title}").format(title=plan.bench_title) if simulated
                       else str(self.bench_file))),
            ("Standards", standards or "—"),
            ("Conditions", f"{t} °C, {rh} %RH"),
        ]
        session = CalibrationSession(plan.procedure, plan.bench, job, path, simulated, pace=self.pace, lines=lines)
        self.startRequested.emit(session)
