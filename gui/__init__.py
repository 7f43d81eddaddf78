"""The calstation PyQt6 application: views over the engine, fed from its events.

- `gui.app.main` is the entry point (``calstation gui --simulated``);
- `gui.main_window.MainWindow` is the run window (Start, Pause/Resume,
  Abort, results table, error plot, prompts as dialogs, certificate);
- `gui.worker` runs the engine off the GUI thread and hands its events and
  prompts over to the GUI thread through queued Qt signals;
- `gui.widgets` holds the results table model, the error plot, the prompt
  dialog and the number formatting.

Nothing imports `gui`; `gui` imports `station` (and the simulators only
through `station.simulated`).
"""
