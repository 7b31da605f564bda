"""Queue health numbers (SPEC section 7), computed from the database when asked.

``collect(app)`` is the one computation: ``complaints status`` prints it and ``/metrics`` exposes
it through :class:`ComplaintsCollector`, a Prometheus collector that reads the database at scrape
time. Nothing is counted in process memory, so several web processes and workers always agree.

Metric names (all prefixed ``complaints_``):

=============================================  ==================================================
``inbound_queue_depth{status}``                 inbound items not yet done: stored, parsed, triaged
``inbound_queue_oldest_age_seconds{status}``    age of the oldest such item
``poll_lag_seconds{mailbox}``                   now minus the mailbox's last successful poll
``poll_failing{mailbox}``                       1 when the last poll recorded an error
``triaged_messages_total{label}``               inbound items by triage label
``triage_queue_open``                           open items in the staff triage queue
``outbox_pending`` / ``outbox_failed``          letters waiting to go / given up on
``outbox_oldest_pending_age_seconds``           age of the oldest pending letter
``outbox_letters{status}``                      letters by outbox status
``dead_letters{kind}``                          unresolved quarantine entries by kind
``loop_breaker_trips_total{reason}``            mail not answered automatically (RFC 3834) by reason
``letters_suppressed_total``                    automatic letters suppressed (sender cap, safety)
``letters_refused_total``                       letters refused for a missing required element
``oldest_unacknowledged_working_days``          oldest unacknowledged complaint's age ...
``acknowledgement_budget_working_days``         ... against its 5-day budget (6.2, 6.11)
``unacknowledged_cases``                        cases whose current stage is not acknowledged
``deadlines{risk}``                             open cases by their next deadline: on_track,
                                                due_soon (within 2 working days), overdue
``redis_queue_messages{queue,state}``           dramatiq queues (waiting, delayed, dead) with Redis
``hazards_open{severity,state}``                Awaab's Law hazards not yet closed, by severity and
                                                clock state (on_track, due_soon, overdue, complete:
                                                every clock stopped, awaiting closure) and
                                                alternative_accommodation_needed (SPEC section 11)
``database_up``                                 0 when the database could not be read
=============================================  ==================================================
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from worker.adapters.db_models import (
    AuditEvent,
    Case,
    CaseStage,
    InboundMessage,
    Letter,
    PollState,
    Quarantine,
    ReviewItem,
)
from worker.domain.cases import TERMINAL, next_deadline
from worker.domain.timescales import STAGE1_ACKNOWLEDGE_DAYS, at_risk_status
from worker.records import state_of
from worker.settings import redact_url

if TYPE_CHECKING:
    from worker.bootstrap import App

log = logging.getLogger(__name__)

# Inbound statuses that still have work ahead of them (see InboundMessage.status).
INBOUND_QUEUE_STATUSES = ("stored", "parsed", "triaged")
OUTBOX_STATUSES = (
    "pending",
    "sending",
    "transmitting",
    "sent",
    "failed",
    "uncertain",
    "suppressed",
    "no_address",
    "by_post",
    "by_phone",
)
RISKS = ("on_track", "due_soon", "overdue")
# Clock states of a hazard not yet closed ("complete": every clock stopped, not yet closed).
HAZARD_STATES = ("on_track", "due_soon", "overdue", "complete")
# The dramatiq queues of worker/actors.py (``complaints_<stage>``); others found in Redis are
# reported too.
DRAMATIQ_QUEUES = ("complaints_parse", "complaints_triage", "complaints_route", "complaints_send")
DRAMATIQ_NAMESPACE = "dramatiq"
_TERMINAL_VALUES = tuple(s.value for s in TERMINAL)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; they were stored as UTC.
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _age(now: datetime, moment: datetime | None) -> float | None:
    moment = _aware(moment)
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def _configured_mailbox_names(app: App) -> list[str]:
    settings = app.settings
    urls = getattr(settings, "imap_urls", ()) or ((settings.imap_url,) if settings.imap_url else ())
    if not urls:
        return []
    from worker.adapters.imap import parse_imap_url

    names = []
    for url in urls:
        try:
            names.append(parse_imap_url(url.reveal(), auth=settings.imap_auth).name)
        except Exception:  # noqa: BLE001 - a bad URL is reported by check-connection, not here
            continue
    return names


def poll_lags(app: App) -> dict[str, float | None]:
    """Mailbox name -> seconds since its last successful poll (None: never polled)."""
    now = app.clock.now()
    with app.db.session() as s:
        return {
            state.mailbox: _age(now, state.last_poll_at)
            for state in s.scalars(select(PollState).where(PollState.mailbox != "webform"))
        }


def collect(app: App) -> dict[str, Any]:
    """Every queue health number, as a JSON-ready dict (``complaints status --json``)."""
    now = app.clock.now()
    today = app.clock.today()
    calendar = app.calendar
    out: dict[str, Any] = {"generated_at": now.isoformat(timespec="seconds")}
    with app.db.session() as s:
        # -- inbound queue depth and age ------------------------------------------------------
        inbound: dict[str, dict[str, Any]] = {}
        for status in INBOUND_QUEUE_STATUSES:
            count, oldest = s.execute(
                select(func.count(InboundMessage.id), func.min(InboundMessage.stored_at)).where(
                    InboundMessage.status == status
                )
            ).one()
            inbound[status] = {"count": int(count), "oldest_age_seconds": _age(now, oldest)}
        out["inbound_queue"] = inbound

        # -- poll lag ---------------------------------------------------------------------------
        polls: dict[str, dict[str, Any]] = {}
        # The web form stores through the same code but is not polled: it has no lag to report.
        polled = select(PollState).where(PollState.mailbox != "webform")
        for state in s.scalars(polled.order_by(PollState.mailbox)):
            last = _aware(state.last_poll_at)
            polls[redact_url(state.mailbox)] = {
                "last_poll_at": last.isoformat(timespec="seconds") if last else None,
                "lag_seconds": _age(now, last),
                "last_error": state.last_error or "",
            }
        # Every configured mailbox is listed (several mailboxes, issue 8), even one never
        # polled yet: a mailbox whose login always fails must not vanish from the screen.
        for name in _configured_mailbox_names(app):
            polls.setdefault(
                redact_url(name), {"last_poll_at": None, "lag_seconds": None, "last_error": ""}
            )
        out["polls"] = polls

        # -- triage ------------------------------------------------------------------------------
        labels = s.execute(
            select(InboundMessage.label, func.count(InboundMessage.id))
            .where(InboundMessage.label != "")
            .group_by(InboundMessage.label)
        ).all()
        out["triage_labels"] = {label: int(n) for label, n in sorted(labels)}
        out["triage_queue_open"] = int(
            s.scalar(select(func.count(ReviewItem.id)).where(ReviewItem.status == "open")) or 0
        )

        # -- outbox ------------------------------------------------------------------------------
        by_status = dict(
            s.execute(select(Letter.status, func.count(Letter.id)).group_by(Letter.status)).all()
        )
        oldest_pending = s.scalar(
            select(func.min(Letter.created_at)).where(Letter.status == "pending")
        )
        out["outbox"] = {
            **{status: int(by_status.get(status, 0)) for status in OUTBOX_STATUSES},
            "oldest_pending_age_seconds": _age(now, oldest_pending),
        }

        # -- dead letters -----------------------------------------------------------------------
        dead = s.execute(
            select(Quarantine.kind, func.count(Quarantine.id))
            .where(Quarantine.resolved_at.is_(None))
            .group_by(Quarantine.kind)
        ).all()
        out["dead_letters"] = {kind: int(n) for kind, n in sorted(dead)}

        # -- loop breaker and refused letters --------------------------------------------------
        trips = s.execute(
            select(InboundMessage.reason, func.count(InboundMessage.id))
            .where(InboundMessage.label == "not_resident_mail")
            .group_by(InboundMessage.reason)
        ).all()
        out["loop_breaker"] = {
            "not_resident_mail": {(reason or "unknown"): int(n) for reason, n in sorted(trips)},
            "letters_suppressed": int(by_status.get("suppressed", 0)),
        }
        out["letters_refused"] = int(
            s.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "letter.refused"))
            or 0
        )

        # -- acknowledgements and deadlines -----------------------------------------------------
        open_cases = list(s.scalars(select(Case).where(Case.status.not_in(_TERMINAL_VALUES))))
        risks = dict.fromkeys(RISKS, 0)
        oldest: dict[str, Any] | None = None
        unacknowledged = 0
        for case in open_cases:
            if not case.stages:
                continue
            current: CaseStage = max(case.stages, key=lambda st: st.stage)
            if current.acknowledged is None:
                unacknowledged += 1
                age = _working_age(calendar, current.received, today)
                if oldest is None or age > oldest["working_days"]:
                    oldest = {
                        "ref": case.ref,
                        "stage": current.stage,
                        "status": case.status,
                        "received": current.received.isoformat(),
                        "acknowledge_by": (
                            current.acknowledge_by.isoformat() if current.acknowledge_by else None
                        ),
                        "working_days": age,
                    }
            try:
                due = next_deadline(state_of(case))
            except (KeyError, ValueError):  # a malformed row must not break the whole screen
                log.warning("case %s: cannot compute its deadline", case.ref)
                continue
            if due is not None:
                risks[at_risk_status(due, today, calendar)] += 1
        out["acknowledgement"] = {
            "budget_working_days": STAGE1_ACKNOWLEDGE_DAYS,
            "unacknowledged_cases": unacknowledged,
            "oldest": oldest,
        }
        out["deadlines"] = risks

        # -- hazards (Awaab's Law) ---------------------------------------------------------------
        from worker.service.hazards import HazardService

        out["hazards"] = [
            {"severity": severity, "state": state, "count": n}
            for (severity, state), n in sorted(HazardService(app).counts_by_state(s).items())
        ]
    out["redis_queues"] = redis_queue_depths(app)
    return out


def _working_age(calendar: Any, received: date, today: date) -> int:
    """Working days since a stage was received (day 0), as the 5-day clock counts them."""
    start = calendar.roll_forward(received)
    if today <= start:
        return 0
    return int(calendar.working_days_between(start, today))


def redis_queue_depths(app: App) -> dict[str, Any] | None:
    """Messages per dramatiq queue, read from Redis the way dramatiq's RedisBroker stores them.

    dramatiq keeps ``<ns>:<queue>`` (a list of waiting message ids), ``<ns>:<queue>.msgs`` (a
    hash of every message not yet acked, waiting or in flight), ``<ns>:<queue>.DQ`` (delayed:
    retries with backoff) and ``<ns>:<queue>.XQ`` (a sorted set of dead-lettered ids). None
    without Redis (jobs run in-process).
    """
    url = app.settings.redis_url.reveal()
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        queues = set(DRAMATIQ_QUEUES)
        for key in client.scan_iter(match=f"{DRAMATIQ_NAMESPACE}:*.msgs", count=500):
            name = key.decode() if isinstance(key, bytes) else str(key)
            name = name[len(DRAMATIQ_NAMESPACE) + 1 : -len(".msgs")]
            if name.endswith(".DQ") or name.endswith(".XQ"):
                name = name[:-3]
            queues.add(name)
        result: dict[str, Any] = {}
        for queue in sorted(queues):
            base = f"{DRAMATIQ_NAMESPACE}:{queue}"
            pipe = client.pipeline()
            pipe.llen(base)
            pipe.hlen(f"{base}.msgs")
            pipe.llen(f"{base}.DQ")
            pipe.zcard(f"{base}.XQ")
            waiting, unacked, delayed, dead = pipe.execute()
            result[queue] = {
                "waiting": int(waiting),
                "in_flight": max(0, int(unacked) - int(waiting)),
                "delayed": int(delayed),
                "dead": int(dead),
            }
        return result
    except redis.RedisError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        client.close()


class ComplaintsCollector(Collector):
    """Prometheus collector over :func:`collect`, evaluated at every scrape."""

    def __init__(self, app: App) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        # An empty describe keeps registration from running a (database) scrape.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "complaints_database_up", "1 when the database could be read for these metrics"
        )
        try:
            data = collect(self.app)
        except Exception as exc:  # noqa: BLE001 - a scrape reports the failure, never a 500
            log.warning("metrics: database not readable: %s: %s", type(exc).__name__, exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metric_families(data)


def metric_families(data: dict[str, Any]) -> Iterator[Metric]:
    """The Prometheus families for one :func:`collect` result."""
    depth = GaugeMetricFamily(
        "complaints_inbound_queue_depth",
        "Inbound items waiting for the next pipeline stage, by status",
        labels=["status"],
    )
    age = GaugeMetricFamily(
        "complaints_inbound_queue_oldest_age_seconds",
        "Age of the oldest inbound item at each status (0 when none)",
        labels=["status"],
    )
    for status, row in data["inbound_queue"].items():
        depth.add_metric([status], row["count"])
        age.add_metric([status], row["oldest_age_seconds"] or 0)
    yield depth
    yield age

    lag = GaugeMetricFamily(
        "complaints_poll_lag_seconds",
        "Seconds since the mailbox was last polled successfully",
        labels=["mailbox"],
    )
    failing = GaugeMetricFamily(
        "complaints_poll_failing", "1 when the last poll recorded an error", labels=["mailbox"]
    )
    for mailbox, row in data["polls"].items():
        if row["lag_seconds"] is not None:
            lag.add_metric([mailbox], row["lag_seconds"])
        failing.add_metric([mailbox], 1 if row["last_error"] else 0)
    yield lag
    yield failing

    labels = CounterMetricFamily(
        "complaints_triaged_messages", "Inbound items by triage label", labels=["label"]
    )
    for label, n in data["triage_labels"].items():
        labels.add_metric([label], n)
    yield labels
    yield GaugeMetricFamily(
        "complaints_triage_queue_open",
        "Open items in the staff triage queue",
        value=data["triage_queue_open"],
    )

    outbox = data["outbox"]
    yield GaugeMetricFamily(
        "complaints_outbox_pending", "Letters waiting to be sent", value=outbox["pending"]
    )
    yield GaugeMetricFamily(
        "complaints_outbox_failed",
        "Letters that failed permanently (see dead letters)",
        value=outbox["failed"],
    )
    yield GaugeMetricFamily(
        "complaints_outbox_oldest_pending_age_seconds",
        "Age of the oldest pending letter (0 when none)",
        value=outbox["oldest_pending_age_seconds"] or 0,
    )
    letters = GaugeMetricFamily(
        "complaints_outbox_letters", "Letters by outbox status", labels=["status"]
    )
    for status in OUTBOX_STATUSES:
        letters.add_metric([status], outbox[status])
    yield letters

    dead = GaugeMetricFamily(
        "complaints_dead_letters", "Unresolved dead letters (quarantine) by kind", labels=["kind"]
    )
    for kind in sorted({"unparsable", "poison", "smtp_permanent", "spam", *data["dead_letters"]}):
        dead.add_metric([kind], data["dead_letters"].get(kind, 0))
    yield dead

    trips = CounterMetricFamily(
        "complaints_loop_breaker_trips",
        "Mail recorded but never answered automatically (RFC 3834), by reason",
        labels=["reason"],
    )
    for reason in sorted(
        {"auto_reply", "bounce", "bulk", "spam", *data["loop_breaker"]["not_resident_mail"]}
    ):
        trips.add_metric([reason], data["loop_breaker"]["not_resident_mail"].get(reason, 0))
    yield trips
    yield CounterMetricFamily(
        "complaints_letters_suppressed",
        "Automatic letters suppressed before sending (sender cap, mail safety)",
        value=data["loop_breaker"]["letters_suppressed"],
    )
    yield CounterMetricFamily(
        "complaints_letters_refused",
        "Letters refused for a missing required element",
        value=data["letters_refused"],
    )

    ack = data["acknowledgement"]
    oldest = ack["oldest"]
    yield GaugeMetricFamily(
        "complaints_oldest_unacknowledged_working_days",
        "Working days since the oldest unacknowledged complaint was received (0 when none)",
        value=oldest["working_days"] if oldest else 0,
    )
    yield GaugeMetricFamily(
        "complaints_acknowledgement_budget_working_days",
        "The Code's budget for acknowledging a complaint (6.2, 6.11)",
        value=ack["budget_working_days"],
    )
    yield GaugeMetricFamily(
        "complaints_unacknowledged_cases",
        "Open cases whose current stage is not yet acknowledged (including triage)",
        value=ack["unacknowledged_cases"],
    )

    risk = GaugeMetricFamily(
        "complaints_deadlines",
        "Open cases by the status of their next deadline",
        labels=["risk"],
    )
    for name in RISKS:
        risk.add_metric([name], data["deadlines"][name])
    yield risk

    hazards = GaugeMetricFamily(
        "complaints_hazards_open",
        "Awaab's Law hazards not yet closed, by severity and clock state; state "
        "alternative_accommodation_needed counts those whose safety deadline will be missed",
        labels=["severity", "state"],
    )
    found = {(row["severity"], row["state"]): row["count"] for row in data.get("hazards", [])}
    # Every severity and clock state is exported, zeros included, so an alert on "overdue" has a
    # series to watch before the first hazard is late.
    for severity in ("emergency", "significant"):
        for state in (*HAZARD_STATES, "alternative_accommodation_needed"):
            hazards.add_metric([severity, state], found.pop((severity, state), 0))
    for (severity, state), n in sorted(found.items()):
        hazards.add_metric([severity, state], n)
    yield hazards

    queues = data.get("redis_queues")
    if queues:
        redis_up = GaugeMetricFamily("complaints_redis_up", "1 when Redis could be read")
        redis_up.add_metric([], 0 if "error" in queues else 1)
        yield redis_up
        family = GaugeMetricFamily(
            "complaints_redis_queue_messages",
            "Messages in each dramatiq queue on Redis",
            labels=["queue", "state"],
        )
        for queue, row in queues.items():
            if queue == "error":
                continue
            for state, n in row.items():
                family.add_metric([queue, state], n)
        yield family


def registry_for(app: App) -> CollectorRegistry:
    """A registry holding only this product's metrics (not the process defaults)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ComplaintsCollector(app))
    return registry
