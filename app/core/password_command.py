"""A password command: its standard output is the password of one connection (tokens: RDS IAM, ...).

Run each time a connection is opened (tokens expire in minutes), without a shell: the command
is split as a POSIX shell would split words (shlex; on Windows the command line goes to the
program as it is, which parses it itself), and shell syntax (a pipe, `;`, `&&`,
redirections, `$(...)`) is refused with the fix named (`sh -c '...'`), so what runs is exactly
what is written. Its output is never stored, logged, cached or shown: a failure names the
program, its exit status and the first line of its standard error, never its standard output.
TIDEMARK_PASSWORD_COMMAND_TIMEOUT sets the timeout in seconds (default 30).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess

from app.core.errors import ConnectionFailed, UsageError

DEFAULT_TIMEOUT_S = 30.0
_SHELL_OPERATORS = ("|", "||", "&", "&&", ";", ";;", "<", ">", ">>", "<<", "(", ")")


class PasswordCommandFailed(ConnectionFailed):
    """The password command failed, timed out or printed nothing: no connection was tried."""


def split_command(command: str, where: str = "password command") -> list[str]:
    """The command's words; UsageError for an empty command or shell syntax."""
    try:
        lexer = shlex.shlex(command, posix=os.name != "nt", punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"{where}: cannot split {command!r} into words: {exc}") from None
    if not words:
        raise UsageError(f"{where}: the command is empty")
    operator = next((w for w in words if w in _SHELL_OPERATORS), None)
    if operator is None and any(w.startswith(("$(", "`")) or "$(" in w for w in words):
        operator = "$(...)"
    if operator is not None:
        raise UsageError(f"{where}: {operator!r} is shell syntax, and the command runs without a shell: wrap "
                         f"it as sh -c '...' if a shell is meant")
    return shlex.split(command, posix=os.name != "nt")


def timeout_s() -> float:
    """TIDEMARK_PASSWORD_COMMAND_TIMEOUT, or 30 s."""
    text = os.environ.get("TIDEMARK_PASSWORD_COMMAND_TIMEOUT")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"TIDEMARK_PASSWORD_COMMAND_TIMEOUT must be a number of seconds, not {text!r}") from None
    if not 0 < value < 86400:
        raise UsageError(f"TIDEMARK_PASSWORD_COMMAND_TIMEOUT must be more than 0 and under a day, not {text!r}")
    return value


def run_password_command(command: str, where: str) -> str:
    """Run the command; its stdout without the trailing newline. PasswordCommandFailed otherwise.

    `where` names whose command it is (e.g. "environment prod"), for the message.
    """
    words = split_command(command, f"{where}: password command")
    program = os.path.basename(words[0].strip('"'))
    # Windows programs parse their own command line (backslashes in paths are not escapes there)
    argv: str | list[str] = command if os.name == "nt" else words
    limit = timeout_s()
    try:
        # A group of its own: on timeout its children (a `sh -c` pipeline) end with it, and none
        # keeps the output pipe open after the command itself was killed.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                **({"process_group": 0} if os.name != "nt" else {}))
    except OSError as exc:
        raise PasswordCommandFailed(f"{where}: the password command cannot be run: {program}: "
                                    f"{exc.strerror or exc}") from None
    try:
        out, err = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _kill(proc)
        proc.communicate()
        raise PasswordCommandFailed(f"{where}: the password command ({program}) did not finish within {limit:g} s "
                                    "(is it waiting for a login or a prompt? run it in a terminal once)") from None
    except BaseException:  # Ctrl-C: the command must not outlive us
        _kill(proc)
        proc.communicate()
        raise
    if proc.returncode != 0:
        first = next((ln.strip() for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()), "")
        said = f": {first}" if first else " and said nothing on stderr"
        raise PasswordCommandFailed(f"{where}: the password command ({program}) failed with exit status "
                                    f"{_status(proc.returncode)}{said}")
    text = out.decode("utf-8", "replace")
    text = text[:-1] if text.endswith("\n") else text
    text = text[:-1] if text.endswith("\r") else text
    if not text:
        raise PasswordCommandFailed(f"{where}: the password command ({program}) printed no password")
    return text


def _status(code: int) -> str:
    if code < 0:
        try:
            return f"{code} (killed by {signal.Signals(-code).name})"
        except ValueError:
            return str(code)
    return str(code)


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "nt":
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
