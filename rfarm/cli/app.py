"""The ``rfarm`` command: a thin Typer shell over the library.

Exit codes: 0 success, 1 the work failed, 2 bad usage or bad input, 3 a
service is unreachable, 4 not allowed, 130 interrupted. Every :class:`RfarmError` becomes
one ``Error: ...`` line on stderr; nothing else is printed for it.
"""
from __future__ import annotations

import sys

from rfarm import __version__


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rfarm`` console script and ``python -m rfarm``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args in (["--version"], ["-V"]):
        print(f"rfarm {__version__}")
        return
    sys.exit(run(args))


def run(args: list[str]) -> int:
    """Run one command line; returns its exit code."""
    from rfarm.cli.commands import build_app
    from rfarm.cli.output import documents_written, error, print_json
    from rfarm.errors import (
        AnalysisError,
        Cancelled,
        ConfigError,
        IntegrityError,
        JobFailed,
        NotAllowedError,
        RfarmError,
        ServiceError,
        UsageError,
        first_line,
    )

    exit_codes: dict[type[BaseException], int] = {
        UsageError: 2, AnalysisError: 2, ConfigError: 2, JobFailed: 1,
        IntegrityError: 1, ServiceError: 3, NotAllowedError: 4, Cancelled: 130, RfarmError: 1,
    }
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    wants_json = "--json" in args[: args.index("--")] if "--" in args else "--json" in args
    written = documents_written()
    configure_logging(debug=debug)
    command = build_app()
    interruptible(command)
    clicks = click_exceptions()

    def failed(code: int, kind: str, message: str) -> int:
        """One ``Error:`` line, and with ``--json`` the error as the command's one document."""
        error(message)
        if wants_json and documents_written() == written:  # a task's final document already said it
            print_json({"error": {"type": kind, "message": " ".join(message.split())}, "exit_code": code})
        return code

    try:
        result = command.main(args=args, prog_name="rfarm", standalone_mode=False)
    except clicks.NoArgsIsHelpError as exc:
        exc.show()
        return 2
    except clicks.ClickException as exc:
        return failed(2, "UsageError", exc.format_message())
    except typer_exit() as exc:
        return int(exc.exit_code)
    except (typer_abort(), KeyboardInterrupt):
        return failed(130, "Cancelled", "interrupted")
    except RfarmError as exc:
        if debug:
            raise
        code = next(code for cls in type(exc).__mro__ if (code := exit_codes.get(cls)) is not None)
        return failed(code, type(exc).__name__, str(exc))
    except Exception as exc:
        if debug or not is_database_error(exc):
            raise
        return failed(3, "ServiceError", f"database: {first_line(exc)}")  # the database failed under a command
    return result if isinstance(result, int) else 0


def interruptible(command) -> None:  # type: ignore[no-untyped-def]
    """Ctrl+C under any command becomes :class:`Cancelled`, so it ends as every rfarm error does
    (``Error: interrupted``, exit 130): Typer's own handler would turn it into a silent exit 130."""
    from rfarm.errors import Cancelled

    invoke = command.invoke

    def invoke_interruptibly(ctx):  # type: ignore[no-untyped-def]
        try:
            return invoke(ctx)
        except KeyboardInterrupt:
            raise Cancelled("interrupted") from None

    command.invoke = invoke_interruptibly


def click_exceptions():  # type: ignore[no-untyped-def]
    """Click's exception module as Typer uses it (vendored in newer Typer releases)."""
    try:
        from typer._click import exceptions
    except ImportError:  # Typer that depends on click
        from click import exceptions  # type: ignore[no-redef]
    return exceptions


def typer_exit() -> type[Exception]:
    import typer

    return typer.Exit


def typer_abort() -> type[BaseException]:
    import typer

    return typer.Abort


def configure_logging(*, debug: bool) -> None:
    """Library warnings as one line each on stderr; oss2's own error dumps are left to rfarm's messages."""
    import logging

    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")
    if not debug:
        logging.getLogger("oss2").setLevel(logging.CRITICAL)


def is_database_error(exc: BaseException) -> bool:
    """Whether peewee raised ``exc`` (looked up, not imported: a command that never loaded peewee did not)."""
    peewee = sys.modules.get("peewee")
    return peewee is not None and isinstance(exc, peewee.PeeweeException)
