"""User-facing errors: one readable message that names the file, the place and the fix."""

import os
import sys
import traceback


class PipelineError(Exception):
    """A problem the user can fix; printed without a traceback.

    ``where`` names the file (and row, member or key) at fault, ``fix`` says what to do about it.
    """

    def __init__(self, problem, where=None, fix=None):
        self.problem = problem
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self):
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


def debug_enabled():
    return os.environ.get("LINEREC_DEBUG", "") not in ("", "0", "false")


def run_main(main, argv=None):
    """Runs a stage entry point; a failure becomes one message and exit code 2 (1 for a bug).

    Set LINEREC_DEBUG=1 for the full traceback.
    """
    try:
        main(sys.argv[1:] if argv is None else argv)
    except PipelineError as error:
        if debug_enabled():
            raise
        print(f"error: {error.render()}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as error:  # an unexpected failure: still one line, with a way to see more
        if debug_enabled():
            raise
        last = traceback.extract_tb(error.__traceback__)[-1]
        print(
            f"error: {type(error).__name__}: {error}\n"
            f"  at {last.filename}:{last.lineno}\n"
            "  (unexpected; re-run with LINEREC_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
