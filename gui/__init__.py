"""The calstation PyQt6 application: views over the engine, fed from its events.

- `gui.app.main` is the entry point (``calstation gui --simulated``);
- `gui.main_window.MainWindow` is the run window (Start, Pause/Resume,
  Abort, results table, error plot, prompts as dialogs, certificate);
- `gui.worker` builds and runs the engine off the GUI thread and hands its
  events and prompts over to the GUI thread in batches, behind one queued
  wake-up signal (at most 10 ms of events at a time);
- `gui.widgets` holds the results table model, the error plot and the prompt
  dialog; numbers are written by `station.certificates.numbers`.

Nothing imports `gui`; `gui` imports `station` (and the simulators only
through `station.simulated`).
"""
