"""The prompt channel: how the engine and procedures ask the operator.

Library code never reads stdin. It asks a `PromptChannel`; the CLI answers
on the terminal, the GUI with a dialog, ``--yes`` and tests automatically.
Every question and its answer is written to the run file's event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

ABORT = "Abort"
CONTINUE = "Continue"


@dataclass(frozen=True)
class Prompt:
    title: str
    message: str
    choices: tuple[str, ...] = (CONTINUE, ABORT)
    default: str = CONTINUE
    #: True when the terminals will carry a hazardous voltage.
    hazard: bool = False
    #: A picture shown with the prompt (how to connect the leads): a path
    #: relative to the folder of the procedure's module ("" for none).
    image: str = ""


class PromptChannel(Protocol):
    def ask(self, prompt: Prompt) -> str:
        """Show ``prompt`` and return one of its choices. Answering `ABORT`
        aborts the run (the engine handles it)."""
        ...


@runtime_checkable
class Cancellable(Protocol):
    def cancel(self) -> None:
        """Answer Abort to the prompt being asked now, if any, at once (the
        run is being stopped: Ctrl-C, SIGTERM, the window closing)."""
        ...


class AutoAnswer:
    """Answers every prompt with its default (``--yes``, CI, tests)."""

    def __init__(self) -> None:
        self.asked: list[Prompt] = []

    def ask(self, prompt: Prompt) -> str:
        self.asked.append(prompt)
        return prompt.default
