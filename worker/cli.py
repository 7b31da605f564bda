"""The ``complaints`` command (SPEC section 9: a stable contract; extend it, never change it).

Exit status 0 on success, 2 on bad input with a one-line reason on stderr; never a traceback for
a user's mistake.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy.exc import IntegrityError

from worker.domain.errors import ComplaintsError, ConfigurationError, TransientError, UserError

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and exit 2 (argparse prints usage, then exits 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2,
            f"complaints {self.prog.split(' ', 1)[-1]}: {message}\n".replace(
                "complaints complaints: ", "complaints: "
            ),
        )


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be 1 or more")
    return number


def _record_id(value: str) -> int:
    number = _positive_int(value)
    if number > 2**63 - 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a known number")
    return number


def _pounds(value: str) -> float:
    try:
        amount = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount in pounds") from None
    if not math.isfinite(amount) or amount < 0 or amount > 10_000_000:
        raise argparse.ArgumentTypeError(f"{value!r} is not an amount in pounds")
    return amount


# -- deadlines and working days --------------------------------------------------------------


def _calendar(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from worker.domain.working_days import Calendar

    try:
        return Calendar(args.nation, args.closure_day or ())
    except ValueError as exc:
        raise UserError(str(exc)) from None


def cmd_deadlines(args: argparse.Namespace) -> int:
    from worker.domain.timescales import deadlines_as_json, stage_deadlines

    calendar = _calendar(args)
    if args.stage == 1:
        if args.received is None:
            raise UserError("--received YYYY-MM-DD is required for --stage 1")
        start = args.received
    else:
        start = args.escalated or args.received
        if start is None:
            raise UserError("--escalated YYYY-MM-DD is required for --stage 2")
    if args.acknowledged is not None and args.acknowledged < start:
        raise UserError("--acknowledged cannot be before the day the complaint was received")
    try:
        deadlines = stage_deadlines(args.stage, start, calendar, acknowledged=args.acknowledged)
    except OverflowError:
        raise UserError(f"{start.isoformat()} is too far in the future for deadlines") from None
    print(json.dumps(deadlines_as_json(deadlines)))
    return 0


def cmd_working_days(args: argparse.Namespace) -> int:
    calendar = _calendar(args)
    try:
        count = calendar.working_days_between(args.from_, args.to)
    except OverflowError:
        raise UserError(
            f"{args.from_.isoformat()} to {args.to.isoformat()} is out of range"
        ) from None
    print(count)
    return 0


# -- pipeline ----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.demo import run_demo

    return run_demo(args.maildir, args.out)


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.run_worker import run_worker

    return run_worker(
        threads=args.threads, poll=not args.no_poller, once=args.once, procs=args.procs
    )


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from worker.adapters.db import Database
    from worker.settings import load_settings, redact_url

    settings = load_settings()
    db = Database(settings.database_url)
    db.upgrade()
    print(f"database at {redact_url(settings.database_url)} is up to date")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from worker.status import print_status

    return print_status(as_json=args.json)


def cmd_web(args: argparse.Namespace) -> int:
    from worker.web.app import serve

    return serve(args.host, args.port)


# -- triage model ------------------------------------------------------------------------------


def cmd_triage(args: argparse.Namespace) -> int:
    from classifiers.triage import main_triage

    return main_triage(["--input", args.input])


def cmd_train(args: argparse.Namespace) -> int:
    from classifiers.train import main_train

    return main_train(args.rest)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from classifiers.evaluate import main_evaluate

    return main_evaluate(args.rest)


# -- cases ---------------------------------------------------------------------------------------


def _staff() -> object:
    from worker.services import StaffService

    return StaffService.from_settings()


def cmd_case_show(args: argparse.Namespace) -> int:
    from worker.service.hazards import HazardService

    if args.ref.strip().upper().startswith("SR-"):
        # SPEC section 11: a service request reference prints the request with its hazards.
        print(json.dumps(HazardService.from_settings().show_service_request(args.ref), indent=2))
        return 0
    service = _staff()
    shown = service.show(args.ref)  # type: ignore[attr-defined]
    hazards = HazardService(service.app)  # type: ignore[attr-defined]
    with hazards.app.db.session() as session:
        from sqlalchemy import select

        from worker.adapters.db_models import Case

        case_id = session.scalar(select(Case.id).where(Case.ref == shown["ref"]))
        shown["hazards"] = hazards.for_case(session, case_id) if case_id else []
    print(json.dumps(shown, indent=2))
    return 0


# -- Awaab's Law hazards (SPEC section 11) --------------------------------------------------------


def _hazards() -> object:
    from worker.service.hazards import HazardService

    return HazardService.from_settings()


def cmd_hazard_list(args: argparse.Namespace) -> int:
    rows = _hazards().list(status=args.status or "", kind=args.kind or "")  # type: ignore[attr-defined]
    print(json.dumps(rows, indent=2))
    return 0


def cmd_hazard_show(args: argparse.Namespace) -> int:
    print(json.dumps(_hazards().show(args.hazard_id), indent=2))  # type: ignore[attr-defined]
    return 0


def cmd_hazard_record(args: argparse.Namespace) -> int:
    result = _hazards().record(  # type: ignore[attr-defined]
        args.hazard_id, args.event, by=args.by, reason=args.reason or "", at=args.at or ""
    )
    print(json.dumps(result, indent=2))
    return 0


def cmd_hazard_summary(args: argparse.Namespace) -> int:
    result = _hazards().send_summary(  # type: ignore[attr-defined]
        args.hazard_id,
        findings=args.findings,
        works=args.work or [],
        no_work_reason=args.no_work_reason or "",
        keep_safe=args.keep_safe,
        by=args.by,
    )
    print(json.dumps(result, indent=2))
    return 0


def cmd_case_assign(args: argparse.Namespace) -> int:
    service = _staff()
    result = service.assign(args.ref, args.handler_name, by=args.by, stage=args.stage)  # type: ignore[attr-defined]
    print(json.dumps(result))
    return 0


def cmd_case_extend(args: argparse.Namespace) -> int:
    service = _staff()
    result = service.extend(  # type: ignore[attr-defined]
        args.ref,
        days=args.days,
        reason=args.reason,
        by=args.by,
        good_reason=args.good_reason or "",
        approved_by=args.approved_by or "",
        next_contact=args.next_contact,
    )
    print(json.dumps(result))
    return 0


def _action(value: str) -> tuple[str, date]:
    text, sep, when = value.rpartition("@")
    if not sep or not text.strip():
        raise argparse.ArgumentTypeError(f'--action {value!r} must look like "TEXT@YYYY-MM-DD"')
    return text.strip(), _date(when.strip())


def cmd_case_respond(args: argparse.Namespace) -> int:
    service = _staff()
    result = service.respond(  # type: ignore[attr-defined]
        args.ref,
        decision=args.decision,
        reasons=args.reasons,
        remedy=args.remedy or "",
        no_remedy_reason=args.no_remedy_reason or "",
        actions=args.action or [],
        by=args.by,
        points=args.point or [],
        remedy_amount=args.remedy_amount,
    )
    print(json.dumps(result))
    return 0


def cmd_case_escalate(args: argparse.Namespace) -> int:
    service = _staff()
    result = service.escalate(args.ref, received=args.received, by=args.by)  # type: ignore[attr-defined]
    print(json.dumps(result))
    return 0


def cmd_case_complete_action(args: argparse.Namespace) -> int:
    service = _staff()
    result = service.complete_action(args.ref, args.action_id, by=args.by, on=args.on)  # type: ignore[attr-defined]
    print(json.dumps(result))
    return 0


def cmd_case_close(args: argparse.Namespace) -> int:
    service = _staff()
    print(json.dumps(service.close(args.ref, by=args.by, why=args.reason or "")))  # type: ignore[attr-defined]
    return 0


def cmd_case_decide(args: argparse.Namespace) -> int:
    service = _staff()
    result = service.decide_triage(  # type: ignore[attr-defined]
        args.ref,
        decision=args.decision,
        reason=args.reason,
        by=args.by,
        where_instead=args.where_instead or "",
        exclusion=args.exclusion or "",
    )
    print(json.dumps(result))
    return 0


def cmd_review_resolve(args: argparse.Namespace) -> int:
    # --address only when given, so the call is the same as before without it.
    extra = {"address": args.address} if args.address else {}
    result = _staff().resolve_review(  # type: ignore[attr-defined]
        args.item_id, outcome=args.outcome, reason=args.reason, by=args.by, **extra
    )
    print(json.dumps(result))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from worker.reports import main_report

    return main_report(args)


def cmd_letter_pdf(args: argparse.Namespace) -> int:
    """A letter kept for post as a print-ready PDF (issue 9; large print when the resident asked).
    Written to a temporary file and renamed, so a failed run leaves no half-written PDF."""
    import os
    from pathlib import Path

    from worker.adapters.letter_pdf import print_letter
    from worker.bootstrap import bootstrap

    out = Path(args.out)
    if not out.parent.is_dir():
        raise UserError(f"--out: the folder {out.parent} does not exist")
    printed = print_letter(bootstrap(), args.letter_id, by=_cli_user(args.by))
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_bytes(printed.pdf)
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UserError(f"--out: {out} could not be written ({exc.strerror or exc})") from exc
    print(
        json.dumps(
            {
                "letter_id": printed.letter_id,
                "ref": printed.ref,
                "status": printed.status,
                "large_print": printed.large_print,
                "out": str(out),
                "bytes": len(printed.pdf),
            }
        )
    )
    return 0


# -- parser --------------------------------------------------------------------------------------


# -- deadlines watch, calendar changes, residents ------------------------------------------------


def cmd_watch_deadlines(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.stages import watch_deadlines

    print(json.dumps(watch_deadlines.run_all(bootstrap()), indent=2))
    return 0


def cmd_calendar_add_closure(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.calendar_changes import add_closure_day

    lines = add_closure_day(bootstrap(), args.day, by=args.by)
    print(json.dumps({"closure_day": args.day.isoformat(), "changes": lines}, indent=2))
    print(
        "complaints: add this day to closure_days in the landlord profile too",
        file=sys.stderr,
    )
    return 0


def cmd_calendar_recompute(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.calendar_changes import recompute_all

    app = bootstrap()
    print(json.dumps({"changes": recompute_all(app, app.calendar, by=args.by)}, indent=2))
    return 0


def _residents() -> object:
    from worker.bootstrap import bootstrap
    from worker.residents import ResidentService

    return ResidentService(bootstrap())


def cmd_resident_show(args: argparse.Namespace) -> int:
    print(json.dumps(_residents().show(args.email), indent=2))  # type: ignore[attr-defined]
    return 0


def cmd_resident_adjustments(args: argparse.Namespace) -> int:
    result = _residents().record_adjustments(  # type: ignore[attr-defined]
        args.email,
        adjustments=args.adjustments,
        disclosed_disability=args.disability or "",
        large_print=args.large_print,
        preferred_channel=args.channel,
        review_on=args.review_on,
        by=args.by,
    )
    print(json.dumps(result))
    return 0


def cmd_resident_reviews_due(args: argparse.Namespace) -> int:
    service = _residents()
    result = {
        "adjustments": service.due_adjustment_reviews(args.on),  # type: ignore[attr-defined]
        "restrictions": service.due_restriction_reviews(args.on),  # type: ignore[attr-defined]
    }
    print(json.dumps(result, indent=2))
    return 0


def cmd_resident_representative(args: argparse.Namespace) -> int:
    result = _residents().set_representative(  # type: ignore[attr-defined]
        args.email, name=args.name, rep_email=args.rep_email, consent=args.consent, by=args.by
    )
    print(json.dumps(result))
    return 0


def cmd_resident_remove_representative(args: argparse.Namespace) -> int:
    result = _residents().remove_representative(args.email, reason=args.reason, by=args.by)  # type: ignore[attr-defined]
    print(json.dumps(result))
    return 0


def cmd_resident_add_email(args: argparse.Namespace) -> int:
    result = _residents().add_other_email(args.email, args.other, by=args.by)  # type: ignore[attr-defined]
    print(json.dumps(result))
    return 0


def cmd_resident_restrict(args: argparse.Namespace) -> int:
    result = _residents().record_restriction(  # type: ignore[attr-defined]
        args.email,
        description=args.description,
        reasons=args.reasons,
        review_on=args.review_on,
        by=args.by,
    )
    print(json.dumps(result))
    return 0


def cmd_resident_review_restriction(args: argparse.Namespace) -> int:
    result = _residents().review_restriction(  # type: ignore[attr-defined]
        args.restriction_id,
        outcome=args.outcome,
        reasons=args.reasons,
        next_review_on=args.next_review_on,
        by=args.by,
    )
    print(json.dumps(result))
    return 0


def cmd_resident_repeats(args: argparse.Namespace) -> int:
    print(json.dumps(_residents().repeat_candidates(args.email), indent=2))  # type: ignore[attr-defined]
    return 0


# -- staff accounts (issue 9) ----------------------------------------------------------------------

if TYPE_CHECKING:
    from worker.service.staff import Account, StaffAccounts


def _accounts() -> StaffAccounts:
    from worker.bootstrap import bootstrap
    from worker.service.staff import StaffAccounts

    return StaffAccounts(bootstrap().db)


def _cli_actor(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    import getpass

    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "command line"


def _password_from_stdin() -> str | None:
    """A password piped in (``echo ... | complaints staff add ...``); None at a terminal or when
    nothing came, so that a one-time password is made instead."""
    if sys.stdin is None or sys.stdin.isatty():
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    return line or None


def _print_account(account: Account, one_time: str | None) -> None:
    result = account.as_json()
    if one_time:
        result["one_time_password"] = one_time
        print(
            "complaints: give this one-time password to the person in person or by phone; it "
            "signs in once, to choose their own",
            file=sys.stderr,
        )
    print(json.dumps(result))


def cmd_staff_add(args: argparse.Namespace) -> int:
    account, one_time = _accounts().add(
        args.username,
        name=args.name,
        role=args.role,
        by=_cli_actor(args),
        password=_password_from_stdin(),
    )
    _print_account(account, one_time)
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    print(json.dumps([a.as_json() for a in _accounts().list()], indent=2))
    return 0


def cmd_staff_disable(args: argparse.Namespace) -> int:
    account = _accounts().disable(args.username, by=_cli_actor(args), reason=args.reason or "")
    print(json.dumps(account.as_json()))
    return 0


def cmd_staff_enable(args: argparse.Namespace) -> int:
    account = _accounts().enable(args.username, by=_cli_actor(args))
    print(json.dumps(account.as_json()))
    return 0


def cmd_staff_set_role(args: argparse.Namespace) -> int:
    account = _accounts().set_role(args.username, args.role, by=_cli_actor(args))
    print(json.dumps(account.as_json()))
    return 0


def cmd_staff_reset_password(args: argparse.Namespace) -> int:
    account, one_time = _accounts().reset_password(
        args.username, by=_cli_actor(args), password=_password_from_stdin()
    )
    _print_account(account, one_time)
    return 0


def cmd_staff_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    result = _accounts().import_file(Path(args.file), by=_cli_actor(args))
    print(json.dumps(result))
    return 0


def _staff_parser(add: Callable[..., argparse.ArgumentParser]) -> None:
    roles = ("handler", "manager", "operations")
    p = add("staff", lambda a: 0, "console accounts: add, list, disable, enable, set-role, ...")
    st_sub = p.add_subparsers(dest="staff_command", metavar="ACTION", parser_class=_Parser)
    st_sub.required = True

    def staff_cmd(
        name: str, handler: Handler, text: str, user: bool = True
    ) -> argparse.ArgumentParser:
        sp = st_sub.add_parser(name, help=text, description=text)
        sp.set_defaults(handler=handler)
        if user:
            sp.add_argument("username", metavar="USERNAME")
        sp.add_argument("--by", help="who is making the change (default: the system user)")
        return sp

    sp = staff_cmd(
        "add",
        cmd_staff_add,
        "add a console account; prints a one-time password, or reads one from stdin",
    )
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", required=True, choices=roles)
    staff_cmd("list", cmd_staff_list, "print every account as JSON", user=False)
    sp = staff_cmd("disable", cmd_staff_disable, "stop an account signing in (kept for the audit)")
    sp.add_argument("--reason")
    staff_cmd("enable", cmd_staff_enable, "let a disabled or locked account sign in again")
    sp = staff_cmd("set-role", cmd_staff_set_role, "change an account's role")
    sp.add_argument("--role", required=True, choices=roles)
    staff_cmd(
        "reset-password",
        cmd_staff_reset_password,
        "a new one-time password (or one read from stdin); lifts a lock",
    )
    sp = staff_cmd("import", cmd_staff_import, "copy the accounts of a TOML staff file", user=False)
    sp.add_argument("file", metavar="FILE")


def cmd_check_connection(args: argparse.Namespace) -> int:
    """One line per endpoint, ok or why not; exit 0 when all are ok, 2 otherwise."""
    from worker.service.connections import check_connections
    from worker.settings import load_settings

    results = check_connections(load_settings())
    for result in results:
        print(result.line(), flush=True)
    return 0 if all(r.ok for r in results) else 2


# -- data protection (SPEC section 10) ------------------------------------------------------------


def _cli_user(by: str | None) -> str:
    if by:
        return by
    import getpass

    try:
        return f"{getpass.getuser()} (command line)"
    except (KeyError, OSError):
        return "command line"


def cmd_case_hold(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.service.data_protection import place_hold

    print(json.dumps(place_hold(bootstrap(), args.ref, reason=args.reason, by=args.by)))
    return 0


def cmd_case_release_hold(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.service.data_protection import release_hold

    print(json.dumps(release_hold(bootstrap(), args.ref, reason=args.reason, by=args.by)))
    return 0


def cmd_resident_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from worker.bootstrap import bootstrap
    from worker.service.data_protection import export_resident

    result = export_resident(bootstrap(), args.email, Path(args.out), by=_cli_user(args.by))
    print(json.dumps(result, indent=2))
    return 0


def cmd_resident_erase(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.service.data_protection import erase_resident

    print(json.dumps(erase_resident(bootstrap(), args.email, reason=args.reason, by=args.by)))
    return 0


def cmd_retention_apply(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.service.data_protection import apply_retention

    result = apply_retention(bootstrap(), dry_run=args.dry_run, by=_cli_user(args.by))
    print(json.dumps(result, indent=2))
    return 0


def cmd_audit_access(args: argparse.Namespace) -> int:
    from worker.bootstrap import bootstrap
    from worker.service.data_protection import access_log

    print(json.dumps(access_log(bootstrap(), args.subject), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="complaints",
        description="The complaints intake worker: residents' complaints handled the way the "
        "Housing Ombudsman's Complaint Handling Code requires.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def calendar_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--nation", default="england", help="england, wales, scotland, northern_ireland"
        )
        p.add_argument(
            "--closure-day",
            type=_date,
            action="append",
            metavar="YYYY-MM-DD",
            help="an extra day the office is closed (repeatable)",
        )

    p = add("demo", cmd_demo, "run the whole pipeline on the embedded defaults")
    p.add_argument("--maildir", help="a Maildir to read (default: the bundled sample mailbox)")
    p.add_argument("--out", default="demo-out", help="output folder (default ./demo-out)")

    p = add("worker", cmd_worker, "run pollers and workers against the configured services")
    p.add_argument("--threads", type=_positive_int, help="worker threads (default 2)")
    p.add_argument(
        "--procs",
        type=_positive_int,
        default=None,
        help="worker processes, each with --threads threads (default: one per CPU core with "
        "Redis, else 1)",
    )
    p.add_argument("--no-poller", action="store_true", help="only process jobs; do not poll")
    p.add_argument("--once", action="store_true", help="poll once, finish the work, and exit")

    p = add("web", cmd_web, "serve the staff console, public form and operations endpoints")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_positive_int, default=8000)

    p = add("triage", cmd_triage, "triage JSON lines from a file; one JSON line out per input")
    p.add_argument("--input", required=True, metavar="FILE.jsonl")

    p = add("deadlines", cmd_deadlines, "print a stage's deadlines as JSON")
    p.add_argument("--stage", type=int, choices=(1, 2), required=True)
    p.add_argument("--received", type=_date, metavar="YYYY-MM-DD")
    p.add_argument("--escalated", type=_date, metavar="YYYY-MM-DD")
    p.add_argument("--acknowledged", type=_date, metavar="YYYY-MM-DD")
    calendar_options(p)

    p = add("working-days", cmd_working_days, "working days after FROM up to and including TO")
    p.add_argument("--from", dest="from_", type=_date, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", type=_date, required=True, metavar="YYYY-MM-DD")
    calendar_options(p)

    for name, handler, text in (
        ("train", cmd_train, "retrain the triage model from the shipped labelled data"),
        ("evaluate", cmd_evaluate, "evaluate the triage model on the held-out split"),
    ):
        p = add(name, handler, text)
        p.add_argument("rest", nargs=argparse.REMAINDER)

    p = add("case", lambda a: 0, "act on a case (show, assign, extend, respond, escalate)")
    case_sub = p.add_subparsers(dest="case_command", metavar="ACTION", parser_class=_Parser)
    case_sub.required = True

    def case_cmd(name: str, handler: Handler, text: str) -> argparse.ArgumentParser:
        cp = case_sub.add_parser(name, help=text, description=text)
        cp.set_defaults(handler=handler)
        cp.add_argument("ref", metavar="REF")
        return cp

    case_cmd("show", cmd_case_show, "print the case as JSON")
    cp = case_cmd("assign", cmd_case_assign, "assign a handler to the current stage")
    # dest differs from the name: "handler" is where each command keeps its function.
    cp.add_argument("--handler", dest="handler_name", required=True, metavar="NAME")
    cp.add_argument("--by", default="complaints manager")
    cp.add_argument("--stage", type=int, choices=(1, 2))
    cp = case_cmd("extend", cmd_case_extend, "extend the response date and send the notice")
    cp.add_argument("--days", type=_positive_int, required=True)
    cp.add_argument("--reason", required=True)
    cp.add_argument("--by", required=True)
    cp.add_argument("--good-reason")
    cp.add_argument("--approved-by")
    cp.add_argument("--next-contact", type=_date, metavar="YYYY-MM-DD")
    cp = case_cmd("respond", cmd_case_respond, "record the stage response and send the letter")
    cp.add_argument("--decision", required=True, choices=("upheld", "partly_upheld", "not_upheld"))
    cp.add_argument("--reasons", required=True)
    cp.add_argument("--remedy")
    cp.add_argument("--remedy-amount", type=_pounds, metavar="POUNDS")
    cp.add_argument("--no-remedy-reason")
    cp.add_argument("--action", type=_action, action="append", metavar="TEXT@YYYY-MM-DD")
    cp.add_argument("--point", action="append", metavar="POINT=DECISION")
    cp.add_argument("--by", required=True)
    cp = case_cmd("escalate", cmd_case_escalate, "record a stage 2 request and acknowledge it")
    cp.add_argument("--received", type=_date, metavar="YYYY-MM-DD")
    cp.add_argument("--by", default="staff")
    cp = case_cmd("complete-action", cmd_case_complete_action, "mark an action or remedy done")
    cp.add_argument("action_id", type=_record_id, metavar="ACTION_ID")
    cp.add_argument("--by", required=True)
    cp.add_argument("--on", type=_date, metavar="YYYY-MM-DD")
    cp = case_cmd("close", cmd_case_close, "close a case after its response")
    cp.add_argument("--by", required=True)
    cp.add_argument("--reason")
    cp = case_cmd("decide", cmd_case_decide, "decide a triage item: accept or refuse with reasons")
    cp.add_argument(
        "--decision",
        required=True,
        choices=("accept", "refuse", "service_request", "not_resident_mail"),
    )
    cp.add_argument("--reason", required=True)
    cp.add_argument("--exclusion", help="the exclusion reason when refusing")
    cp.add_argument("--where-instead")
    cp.add_argument("--by", required=True)
    cp = case_cmd("hold", cmd_case_hold, "put a case on legal hold: retention and erasure skip it")
    cp.add_argument("--reason", required=True)
    cp.add_argument("--by", required=True)
    cp = case_cmd("release-hold", cmd_case_release_hold, "release a case's legal hold")
    cp.add_argument("--reason", required=True)
    cp.add_argument("--by", required=True)

    p = add("review", lambda a: 0, "review items that are not a decision on a pending case")
    rv_sub = p.add_subparsers(dest="review_command", metavar="ACTION", parser_class=_Parser)
    rv_sub.required = True
    rv = rv_sub.add_parser(
        "resolve",
        help="record what a person found or did about a review item",
        description="record what a person found or did about a review item",
    )
    rv.set_defaults(handler=cmd_review_resolve)
    rv.add_argument("item_id", type=_record_id, metavar="ITEM_ID")
    rv.add_argument(
        "--outcome",
        required=True,
        choices=(
            "same_resident",
            "different_person",
            "done",
            "open_case",
            "no_action",
            "address_confirmed",
            "do_not_write",
        ),
    )
    rv.add_argument("--reason", required=True)
    rv.add_argument("--by", required=True)
    rv.add_argument(
        "--address",
        default="",
        metavar="ADDR",
        help="with --outcome address_confirmed: the corrected address to write to instead of "
        "the one the message gave (checked like any sender's: one deliverable mailbox)",
    )

    add("watch-deadlines", cmd_watch_deadlines, "raise due-soon and overdue deadline events once")

    cal = add("calendar", lambda a: 0, "working-day calendar changes")
    cal_sub = cal.add_subparsers(dest="calendar_command", metavar="ACTION", parser_class=_Parser)
    cal_sub.required = True
    cp = cal_sub.add_parser("add-closure", help="add a closure day and recompute open deadlines")
    cp.set_defaults(handler=cmd_calendar_add_closure)
    cp.add_argument("day", type=_date, metavar="YYYY-MM-DD")
    cp.add_argument("--by", required=True)
    cp = cal_sub.add_parser("recompute", help="recompute open deadlines under today's calendar")
    cp.set_defaults(handler=cmd_calendar_recompute)
    cp.add_argument("--by", default="system")

    p = add("resident", lambda a: 0, "adjustments, representative, addresses, restrictions")
    res_sub = p.add_subparsers(dest="resident_command", metavar="ACTION", parser_class=_Parser)
    res_sub.required = True

    def resident_cmd(
        name: str, handler: Handler, text: str, email: bool = True
    ) -> argparse.ArgumentParser:
        rp = res_sub.add_parser(name, help=text, description=text)
        rp.set_defaults(handler=handler)
        if email:
            rp.add_argument("email", metavar="EMAIL")
        return rp

    resident_cmd("show", cmd_resident_show, "print the resident's record as JSON")
    rp = resident_cmd(
        "adjustments", cmd_resident_adjustments, "record reasonable adjustments (5.10)"
    )
    rp.add_argument("--adjustments", required=True)
    rp.add_argument("--disability", help="a disability the resident disclosed")
    rp.add_argument("--large-print", action=argparse.BooleanOptionalAction, default=None)
    rp.add_argument("--channel", choices=("email", "post", "phone"))
    rp.add_argument("--review-on", type=_date, required=True, metavar="YYYY-MM-DD")
    rp.add_argument("--by", required=True)
    rp = resident_cmd(
        "reviews-due",
        cmd_resident_reviews_due,
        "adjustments and restrictions due for review",
        email=False,
    )
    rp.add_argument("--on", type=_date, metavar="YYYY-MM-DD")
    rp = resident_cmd(
        "representative", cmd_resident_representative, "record a representative (3.6)"
    )
    rp.add_argument("--name", required=True)
    rp.add_argument("--email", dest="rep_email", required=True)
    rp.add_argument("--consent", action=argparse.BooleanOptionalAction, required=True)
    rp.add_argument("--by", required=True)
    rp = resident_cmd(
        "remove-representative",
        cmd_resident_remove_representative,
        "letters go to the resident again",
    )
    rp.add_argument("--reason", required=True)
    rp.add_argument("--by", required=True)
    rp = resident_cmd("add-email", cmd_resident_add_email, "another address of the same resident")
    rp.add_argument("other", metavar="OTHER_EMAIL")
    rp.add_argument("--by", required=True)
    rp = resident_cmd("restrict", cmd_resident_restrict, "record a restriction (5.14, 5.15)")
    rp.add_argument("--description", required=True)
    rp.add_argument("--reasons", required=True)
    rp.add_argument("--review-on", type=_date, required=True, metavar="YYYY-MM-DD")
    rp.add_argument("--by", required=True)
    rp = resident_cmd(
        "review-restriction",
        cmd_resident_review_restriction,
        "continue or end a restriction",
        email=False,
    )
    rp.add_argument("restriction_id", type=_record_id, metavar="RESTRICTION_ID")
    rp.add_argument("--outcome", required=True, choices=("continue", "end"))
    rp.add_argument("--reasons", required=True)
    rp.add_argument("--next-review-on", type=_date, metavar="YYYY-MM-DD")
    rp.add_argument("--by", required=True)
    resident_cmd("repeats", cmd_resident_repeats, "closed cases of this resident (input to 5.14)")
    rp = resident_cmd(
        "export", cmd_resident_export, "everything held about one person (subject access)"
    )
    rp.add_argument("--out", required=True, metavar="DIR")
    rp.add_argument("--by", help="who asked for it (default: the account running the command)")
    rp = resident_cmd(
        "erase", cmd_resident_erase, "erase or anonymise one person's data where the law allows"
    )
    rp.add_argument("--reason", required=True)
    rp.add_argument("--by", required=True)

    p = add("retention", lambda a: 0, "the retention schedule of the landlord profile")
    ret_sub = p.add_subparsers(dest="retention_command", metavar="ACTION", parser_class=_Parser)
    ret_sub.required = True
    rp = ret_sub.add_parser(
        "apply",
        help="delete or anonymise what has expired; prints what it removes",
        description="delete or anonymise what has expired; prints what it removes",
    )
    rp.set_defaults(handler=cmd_retention_apply)
    rp.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    rp.add_argument("--by", help="who ran it (default: the account running the command)")

    p = add("audit", lambda a: 0, "read the audit log")
    aud_sub = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=_Parser)
    aud_sub.required = True
    rp = aud_sub.add_parser(
        "access",
        help="who viewed, exported or erased a case or a resident's records",
        description="who viewed, exported or erased a case or a resident's records",
    )
    rp.set_defaults(handler=cmd_audit_access)
    rp.add_argument("subject", metavar="REF_OR_EMAIL")

    _staff_parser(add)

    add(
        "check-connection",
        cmd_check_connection,
        "try every configured endpoint (IMAP, SMTP, database, Redis): one line each, ok or why "
        "not; exit 0 when all are ok, 2 otherwise",
    )

    p = add("status", cmd_status, "queue health in a terminal")
    p.add_argument("--json", action="store_true")

    p = add("report", cmd_report, "the reports of SPEC section 8")
    p.add_argument(
        "kind",
        nargs="?",
        default="tsm",
        choices=("tsm", "annual", "mrc", "self-assessment", "hazards"),
    )
    p.add_argument("--year", type=int)
    p.add_argument("--out")

    p = add("letter", lambda a: 0, "letters kept for post: print-ready PDFs")
    let_sub = p.add_subparsers(dest="letter_command", metavar="ACTION", parser_class=_Parser)
    let_sub.required = True
    lp = let_sub.add_parser(
        "pdf",
        help="write a letter as an A4 PDF to print and post (large print if the resident asked)",
        description="write a letter as an A4 PDF to print and post (large print if the resident "
        "asked); the printing is audited",
    )
    lp.set_defaults(handler=cmd_letter_pdf)
    lp.add_argument("letter_id", type=_record_id, metavar="LETTER_ID")
    lp.add_argument("--out", required=True, metavar="FILE.pdf")
    lp.add_argument("--by", help="who is printing it (default: your login name)")

    from worker.domain.hazards import EVENTS

    hz = add("hazard", lambda a: 0, "Awaab's Law hazards: list, show, record what was done")
    hz_sub = hz.add_subparsers(dest="hazard_command", metavar="ACTION", parser_class=_Parser)
    hz_sub.required = True
    hp = hz_sub.add_parser("list", help="hazards as JSON", description="hazards as JSON")
    hp.set_defaults(handler=cmd_hazard_list)
    hp.add_argument("--status", choices=("open", "confirmed", "dismissed", "closed"))
    hp.add_argument("--kind")
    hp = hz_sub.add_parser("show", help="one hazard with its clocks", description="one hazard")
    hp.set_defaults(handler=cmd_hazard_show)
    hp.add_argument("hazard_id", type=_record_id, metavar="HAZARD_ID")
    hp = hz_sub.add_parser(
        "record",
        help="record an event that confirms, dismisses or stops a clock",
        description="record an event that confirms, dismisses or stops a clock, with who and when",
    )
    hp.set_defaults(handler=cmd_hazard_record)
    hp.add_argument("hazard_id", type=_record_id, metavar="HAZARD_ID")
    hp.add_argument("--event", required=True, choices=tuple(EVENTS))
    hp.add_argument("--by", required=True)
    hp.add_argument("--reason", help="required to dismiss")
    hp.add_argument("--at", metavar="YYYY-MM-DD[THH:MM]", help="when it happened (default now)")
    hp = hz_sub.add_parser(
        "summary",
        help="send the written summary of the investigation (reg 9) and record it",
        description="send the written summary of the investigation (reg 9) and record it",
    )
    hp.set_defaults(handler=cmd_hazard_summary)
    hp.add_argument("hazard_id", type=_record_id, metavar="HAZARD_ID")
    hp.add_argument("--findings", required=True)
    hp.add_argument("--work", type=_action, action="append", metavar="TEXT@YYYY-MM-DD")
    hp.add_argument("--no-work-reason")
    hp.add_argument("--keep-safe", required=True)
    hp.add_argument("--by", required=True)

    db = add("db", lambda a: 0, "database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", parser_class=_Parser)
    db_sub.required = True
    up = db_sub.add_parser("upgrade", help="apply database migrations")
    up.set_defaults(handler=cmd_db_upgrade)
    return parser


# Commands whose own parser reads everything after their name (argparse's REMAINDER refuses an
# option such as ``--diagram`` as the first word after the command).
PASS_THROUGH = {"train": cmd_train, "evaluate": cmd_evaluate}


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] in PASS_THROUGH:
        return PASS_THROUGH[words[0]](argparse.Namespace(rest=words[1:]))
    parser = build_parser()
    args = parser.parse_args(words)
    try:
        return int(args.handler(args) or 0)
    except ConfigurationError as exc:
        print(f"complaints: configuration error: {exc}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"complaints: {exc}", file=sys.stderr)
        return 2
    except TransientError as exc:
        print(f"complaints: {exc} (try again when it is back)", file=sys.stderr)
        return 1
    except ComplaintsError as exc:
        print(f"complaints: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except IntegrityError:
        # Two people changed the same case at the same moment; the other change won.
        print(
            "complaints: someone else changed this case at the same moment; look at it again",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        # Output piped into `head` and the like: the reader left; that is not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
