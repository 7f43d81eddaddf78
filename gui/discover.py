"""Discover the bench: the instruments that answer, their drivers, their
register assets, and which role each plays in the procedure.

The technician names what to search (VISA's resources, the serial ports,
and addresses typed one per line, remembered on this computer), presses
Search, and sees every resource probed: what answered (maker, model,
serial), the driver, the register's asset, or why nothing was found (no
answer, in use by a run, no driver for that model). The roles are proposed
(`station.discovery.propose`: the item chosen is the DUT, registered
standards play the others) and can be changed in each row's Role box; Use
this bench writes it as a bench file beside the runs (``benches/``) and
hands it to New calibration, whose plan check then shows each standard's
standing and each point's TUR as for any bench file.

Probing runs on a thread of its own (`gui.worker.BackgroundTask`): the
window never waits on an instrument.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QEvent, QSettings, Qt, pyqtSignal
from PyQt6.QtGui import QBrush, QColor
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import tr
from gui.widgets import read_only_table, table_item, tr_or_same
from gui.worker import BackgroundTask
from station import discovery
from station.errors import CalstationError, one_line
from station.procedure import Procedure
from station.register.core import Asset, Register

PROBLEM_FG = QColor("#b71c1c")
#: Where the searched-for addresses and choices are remembered (QSettings keys).
SETTINGS = {"probe": "discovery/probe", "visa": "discovery/visa", "serial": "discovery/serial",
            "library": "discovery/visa_library"}


@dataclass(frozen=True)
class Search:
    """What to probe: ``visa_library`` None means VISA is not asked."""

    visa_library: str | None
    serial_ports: bool
    addresses: tuple[str, ...]
    library: str = "@py"  # opens VISA resources (also when VISA is not listed)


def search_bench(search: Search, register: Register, procedure: type[Procedure], dut: Asset | None,
                 timeout_s: float = discovery.PROBE_TIMEOUT_S) -> discovery.Survey:
    """List, probe, match to the register and propose the roles (slow: off the GUI thread)."""
    return discovery.survey(search.addresses, visa_list=search.visa_library, serial_ports=search.serial_ports,
                            visa_library=search.library, assets=register.assets(), procedure=procedure, dut=dut,
                            timeout_s=timeout_s)


class DiscoverDialog(QDialog):
    """``benchChosen(Path)``: the bench file written for the roles chosen."""

    benchChosen = pyqtSignal(object)  # noqa: N815 - Qt's naming; Path

    def __init__(self, register: Register, procedure: type[Procedure], dut: Asset | None, runs_dir: Path,
                 parent: QWidget | None = None, timeout_s: float = discovery.PROBE_TIMEOUT_S) -> None:
        super().__init__(parent)
        self.setObjectName("discoverBench")
        self.register = register
        self.procedure = procedure
        self.dut = dut
        self.runs_dir = Path(runs_dir)
        self.timeout_s = timeout_s
        self.discovered: discovery.Survey | None = None
        self.proposal: discovery.Proposal | None = None  # the roles as the Role boxes give them now
        self.proposed = discovery.Proposal(procedure.name, procedure.dut_role)  # as the search proposed them
        self.bench_path: Path | None = None
        self._roles = list(discovery.role_needs(procedure))
        self._duplicate = ""  # a role two rows were given
        self._task = BackgroundTask(self)
        self._task.done.connect(self._found)
        self._task.failed.connect(self._failed)

        settings = QSettings()
        self.addresses = QPlainTextEdit()
        self.addresses.setObjectName("probeAddresses")
        self.addresses.setTabChangesFocus(True)
        self.addresses.setPlainText(str(settings.value(SETTINGS["probe"], "") or ""))
        self.addresses.setMaximumHeight(70)
        self.addresses_label = QLabel()
        self.addresses_label.setBuddy(self.addresses)
        self.list_visa = QCheckBox()
        self.list_visa.setObjectName("listVisa")
        self.list_visa.setChecked(settings.value(SETTINGS["visa"], "true") in ("true", True))
        self.library = QLineEdit(str(settings.value(SETTINGS["library"], "@py") or "@py"))
        self.library.setObjectName("visaLibrary")
        self.library_label = QLabel()
        self.library_label.setBuddy(self.library)
        self.list_serial = QCheckBox()
        self.list_serial.setObjectName("listSerial")
        self.list_serial.setChecked(settings.value(SETTINGS["serial"], "true") in ("true", True))
        self.search_button = QPushButton()
        self.search_button.setObjectName("search")
        self.search_button.clicked.connect(self.search)
        self.search_button.setDefault(True)

        self.status = QLabel()
        self.status.setObjectName("discoverStatus")
        self.status.setWordWrap(True)
        self.table = read_only_table("found", 5)
        self.table.setAlternatingRowColors(False)
        rows = self.table.verticalHeader()
        assert rows is not None
        rows.setDefaultSectionSize(30)  # room for the Role boxes
        header = self.table.horizontalHeader()
        assert header is not None
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.missing = QLabel()
        self.missing.setObjectName("missingRoles")
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("QLabel { color: #b71c1c; }")
        self.missing.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.use_button = QPushButton()
        self.use_button.setObjectName("useBench")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self.use)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.clicked.connect(self.reject)

        grid = QGridLayout()
        grid.addWidget(self.addresses_label, 0, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.addresses, 0, 1, 1, 3)
        grid.addWidget(self.list_visa, 1, 1)
        grid.addWidget(self.library_label, 1, 2)
        grid.addWidget(self.library, 1, 3)
        grid.addWidget(self.list_serial, 2, 1)
        grid.addWidget(self.search_button, 2, 3)
        grid.setColumnStretch(1, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.use_button)
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.missing)
        layout.addLayout(buttons)
        self.resize(980, 520)
        self._built = True
        self.retranslate()

    # -- language ------------------------------------------------------------------------------
    def retranslate(self) -> None:
        self.setWindowTitle(tr("Discover the bench for {procedure}").format(procedure=self.procedure.name))
        self.addresses_label.setText(tr("&Addresses to probe\n(one per line)"))
        self.addresses.setPlaceholderText(tr("e.g. TCPIP::192.168.0.12::INSTR or COM3"))
        self.list_visa.setText(tr("List &VISA instruments (USB, GPIB, LAN)"))
        self.list_visa.setToolTip(tr("With pyvisa-py this also broadcasts on the LAN for VXI-11 instruments."))
        self.library_label.setText(tr("VISA &library"))
        self.list_serial.setText(tr("Probe the &serial ports"))
        self.search_button.setText(tr("&Search"))
        self.table.setHorizontalHeaderLabels([tr("Resource"), tr("Instrument"), tr("Driver"), tr("Register"),
                                              tr("Role")])
        self.use_button.setText(tr("&Use this bench"))
        self.cancel_button.setText(tr("Cancel"))
        if self.discovered is not None:
            self._show(self.discovered)
        elif not self._task.running:
            self.status.setText(tr("Search to ask every instrument who it is. Nothing is energised."))

    def changeEvent(self, event: QEvent | None) -> None:  # noqa: N802 - Qt's name
        if event is not None and event.type() == QEvent.Type.LanguageChange and getattr(self, "_built", False):
            self.retranslate()
        super().changeEvent(event)

    # -- searching -----------------------------------------------------------------------------
    def search_request(self) -> Search:
        addresses = tuple(line.strip() for line in self.addresses.toPlainText().splitlines() if line.strip())
        library = self.library.text().strip() or "@py"
        return Search(library if self.list_visa.isChecked() else None, self.list_serial.isChecked(), addresses,
                      library)

    def search(self) -> None:
        request = self.search_request()
        settings = QSettings()
        settings.setValue(SETTINGS["probe"], "\n".join(request.addresses))
        settings.setValue(SETTINGS["visa"], "true" if self.list_visa.isChecked() else "false")
        settings.setValue(SETTINGS["serial"], "true" if self.list_serial.isChecked() else "false")
        settings.setValue(SETTINGS["library"], request.library)
        self.discovered = None
        self.proposal = None
        self.table.setRowCount(0)
        self.missing.setText("")
        self.use_button.setEnabled(False)
        self.search_button.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(tr("Asking every instrument who it is…"))
        register, procedure, dut, timeout = self.register, self.procedure, self.dut, self.timeout_s
        self._task.start(lambda: search_bench(request, register, procedure, dut, timeout))

    @property
    def searching(self) -> bool:
        return self._task.running

    def _failed(self, message: str) -> None:
        self.search_button.setEnabled(True)
        self.status.setText(tr("The search failed: {reason}").format(reason=message))
        self.status.setStyleSheet("QLabel { color: #b71c1c; font-weight: bold; }")

    def _found(self, result: discovery.Survey) -> None:
        self.search_button.setEnabled(True)
        assert result.proposal is not None  # search_bench always names the procedure
        self.discovered, self.proposed = result, result.proposal
        self._show(result)
        for role, m in self.proposed.roles.items():
            self.set_role(m.found.resource, role)
        self._roles_changed()

    def _show(self, result: discovery.Survey) -> None:
        chosen = self.chosen() if self.table.rowCount() else {}
        answered = result.answered
        text = tr("{answered} of {n} resources answered as an instrument calstation has a driver for.").format(
            answered=answered, n=len(result.found))
        if not result.found:
            text = tr("Nothing to probe: VISA and the system list no instrument. Type the instruments' "
                      "addresses, one per line.")
        if result.notes:
            text += "\n" + "\n".join(result.notes)
        self.status.setText(text)
        self.status.setStyleSheet("" if answered else "QLabel { color: #b71c1c; font-weight: bold; }")
        matches = {m.found.resource: m for m in result.matches}
        # the item chosen, found by its model where it reports no serial number
        matches.update({m.found.resource: m for m in self.proposed.roles.values() if m.asset_id})
        self.table.blockSignals(True)
        self.table.setRowCount(len(result.found))
        for r, f in enumerate(result.found):
            m = matches.get(f.resource)
            if m is not None and m.asset_id:
                reg = f"{m.asset_id} ({tr_or_same(m.kind)})"
                if m.status == "retired":
                    reg += " — " + tr("retired")
            else:
                reg = tr("not in the register") if m is not None else ""
            cells = [f.resource, f.describe(), f.driver or "—", reg]
            for c, text in enumerate(cells):
                item = table_item(text, (m.note if m is not None and c == 3 and m.note else text))
                if not f.driver:
                    item.setForeground(QBrush(PROBLEM_FG))
                self.table.setItem(r, c, item)
            box = QComboBox()
            box.setObjectName(f"role:{f.resource}")
            box.addItem("—", "")
            for role in self._roles:
                box.addItem(tr_or_same(role), role)
            box.setEnabled(bool(f.driver))
            box.currentIndexChanged.connect(lambda _=0: self._roles_changed())
            self.table.setCellWidget(r, 4, box)
        self.table.blockSignals(False)
        for role, resource in chosen.items():
            self.set_role(resource, role)

    # -- roles ---------------------------------------------------------------------------------
    def _box(self, resource: str) -> QComboBox | None:
        """The Role box of the row listing ``resource`` (the rows shown now, not a box deleted with an earlier search)."""
        for r in range(self.table.rowCount()):
            item, box = self.table.item(r, 0), self.table.cellWidget(r, 4)
            if item is not None and item.text() == resource and isinstance(box, QComboBox):
                return box
        return None

    def set_role(self, resource: str, role: str) -> None:
        """Give the instrument at ``resource`` the role ``role`` ("" for none)."""
        box = self._box(resource)
        if box is not None:
            box.setCurrentIndex(max(0, box.findData(role)))

    def chosen(self) -> dict[str, str]:
        """Role -> resource, as the Role boxes say (the first row wins a role named twice)."""
        out: dict[str, str] = {}
        duplicate = ""
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            box = self.table.cellWidget(r, 4)
            if item is None or not isinstance(box, QComboBox):
                continue
            role = str(box.currentData() or "")
            if role and role in out:
                duplicate = role
            elif role:
                out[role] = item.text()
        self._duplicate = duplicate
        return out

    def _roles_changed(self) -> None:
        if self.discovered is None:
            return
        chosen = self.chosen()
        proposal = discovery.assign(self.discovered.matches, self.procedure, chosen, self.dut)
        if self._duplicate:
            proposal.missing[self._duplicate] = tr("two instruments are given the role {role}; give it one").format(
                role=tr_or_same(self._duplicate))
        reasons = self.proposed.missing  # why the search found none: better than "give it one"
        for role in proposal.missing:
            if role not in chosen and role in reasons:
                proposal.missing[role] = reasons[role]
        self.proposal = proposal
        if proposal.missing:
            self.missing.setText("\n".join(f"• {tr_or_same(role)}: {why}" for role, why in proposal.missing.items()))
        else:
            self.missing.setText("")
        self.use_button.setEnabled(proposal.complete)

    def use(self) -> None:
        """Write the bench file and hand it to New calibration."""
        proposal = self.proposal
        if proposal is None or not proposal.complete:
            return
        stem = f"discovered-{self.procedure.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
        folder = self.runs_dir / "benches"
        path = folder / f"{stem}.toml"
        n = 2
        while path.exists():
            path = folder / f"{stem}-{n}.toml"
            n += 1
        try:
            discovery.save_bench_file(path, proposal.bench_file(f"bench discovered for {self.procedure.name}"))
        except CalstationError as e:
            self.missing.setText(one_line(e))
            return
        self.bench_path = path
        self.benchChosen.emit(path)
        self.accept()

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        self._task.cancel()
        super().done(result)

