"""Exit codes of the ``calstation`` command (docs/cli.md), in one light module."""

EXIT_OK = 0  # completed, every point passed; or a command that succeeded
EXIT_ERROR = 1  # bad input: unknown procedure, missing or corrupt file, bad bench or job file
EXIT_USAGE = 2  # usage error (argparse)
EXIT_PLAN_REFUSED = 3  # the plan check refused the run: nothing was energised, no file written
EXIT_ABORTED = 4  # aborted: the operator, a prompt answered Abort, Ctrl-C, SIGTERM, SIGHUP
EXIT_FAILED = 5  # failed: instrument fault, procedure error, the run file could not be written
EXIT_OUT_OF_TOLERANCE = 6  # completed, the DUT out of tolerance at one or more points
EXIT_VERIFY_FAILED = 7  # `verify` or `certificate`: the run file is altered or damaged
