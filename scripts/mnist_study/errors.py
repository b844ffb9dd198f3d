"""The pipeline's own error types: what went wrong, and what the user can do about it.

A rule script that stops on one of these shows one line on the console and at the top
of its log (the message and the advice); the traceback goes to the log only, below
that line (`runtime.run_rule`). Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class PipelineError(Exception):
    """An error the user can act on. `advice` says how; the message says what and where."""

    advice = ""

    def line(self) -> str:
        """The message and the advice as one line (a multi-line message joined with '; ')."""
        text = "; ".join(part.strip() for part in str(self).splitlines() if part.strip())
        return f"{text}. {self.advice}" if self.advice else text
