"""The two exception families of rscctl, each mapped to its own exit code by the CLI.

UserError: the user's input is wrong (exit 2). CheckFailed: the input is valid but the plan it
gives breaks a named property (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class RscctlError(Exception):
    """Root of every error rscctl reports to a user without a traceback."""

    exit_code = EXIT_BAD_INPUT


class UserError(RscctlError):
    """Bad input: a declaration, a path or an option the user can fix. Exit 2."""

    exit_code = EXIT_BAD_INPUT


class MissingTool(UserError):
    """A program rscctl drives is not installed. Exit 2, with how to install it."""


@dataclass(frozen=True)
class Finding:
    """One broken property: which check, which devices, what is wrong and what to change."""

    check: str
    devices: tuple[str, ...]
    message: str
    fix: str

    def __str__(self) -> str:
        devs = ", ".join(self.devices[:6]) + (" ..." if len(self.devices) > 6 else "")
        return f"[{self.check}] {self.message} (devices: {devs}); fix: {self.fix}"


@dataclass
class CheckFailed(RscctlError):
    """A valid declaration whose plan breaks a named property. Exit 1."""

    findings: list[Finding] = field(default_factory=list)
    exit_code = EXIT_CHECK_FAILED

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.findings)
