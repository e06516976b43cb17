"""vmstate-manage db ...: schema migrations."""

from vmstate.cmd.manage import command  # noqa: F401
