"""The one exception type whose message is shown to users as-is, without a traceback."""


class LtbenchError(Exception):
    """A user-facing problem (missing file, unknown name, bad option) explained in one sentence."""
