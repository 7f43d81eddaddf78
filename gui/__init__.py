"""The calstation PyQt6 application: views over the engine and the register,
fed from events (docs/gui.md).

- `gui.app.main` is the entry point (``calstation gui [--simulated] [--db URL]``):
  it checks for a display first, then shows the window;
- `gui.main_window.MainWindow` stacks the views: sign-in (`gui.signin`),
  home (`gui.home`), new calibration (`gui.newcal`), the run screen,
  review and approval (`gui.review`), the certificate (`gui.preview`) and
  the register (`gui.register_views`);
- `gui.worker` builds and runs the engine off the GUI thread and hands its
  events and prompts over in batches; `gui.jobs` runs other work (plan
  checks, register reads) on a thread and approvals in a separate process;
- `gui.widgets` holds the results table model, the error plot and the
  prompt dialog; numbers are written by `station.certificates.numbers`;
- `gui.i18n` translates every visible text (English, Simplified Chinese).

Nothing imports `gui`; `gui` imports `station` (and the simulators only
through `station.simulated`).
"""
