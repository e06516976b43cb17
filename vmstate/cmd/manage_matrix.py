"""vmstate-manage matrix ...: show and check the effective matrix."""

from vmstate.cmd.manage import command  # noqa: F401
