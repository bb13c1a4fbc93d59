"""Sub-commands of the `vgi` CLI.

Each module here defines ``register(subparsers)``, which adds its parser and sets ``handler`` (a
function taking the parsed namespace and returning the exit status) as the parser default.  Keep
heavy imports inside the handler so that ``vgi --help`` stays fast.
"""

# Order in which `vgi --help` lists the commands.
COMMAND_MODULES = (
    "run",
    "list",
    "lab",
    "analyze",
    "report",
    "merge",
    "diff",
    "repeatability",
    "verify",
    "sim",
    "exi",
    "pki",
)


class UsageError(Exception):
    """A problem with what the user asked for; `vgi` prints it as one line and exits 2."""
