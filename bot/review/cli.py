"""`python -m bot review ...` and `python -m bot retention purge`."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from bot.settings import get_settings


def _serve(_: argparse.Namespace) -> int:
    from bot.review.service import serve

    serve(get_settings())
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from bot.review import store
    from bot.review.anonymize import get_anonymizer
    from bot.review.ingest import Ingestor, ingest_sql_broker

    settings = get_settings()
    store.migrate(settings.review_database_url)
    count = ingest_sql_broker(Ingestor(get_anonymizer()), settings.event_broker_url, settings.review_database_url)
    print(f"Ingested {count} conversation events into the review store.")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from bot.review import store

    url = get_settings().review_database_url
    if args.down:
        store.downgrade(url, args.down)
    else:
        store.migrate(url)
    return 0


def _add_user(args: argparse.Namespace) -> int:
    from bot.review import store
    from bot.review.auth import add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password (12 characters or more): ")
        if getpass.getpass("Repeat it: ") != password:
            print("The passwords differ; nothing was changed.", file=sys.stderr)
            return 1
    url = get_settings().review_database_url
    store.migrate(url)
    try:
        with store.session_scope(url) as session:
            add_user(session, args.username, password, args.role)
    except ValueError as exc:
        print(f"Not added: {exc}", file=sys.stderr)
        return 1
    print(f"Added {args.role} {args.username!r}.")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from bot.retention import purge

    settings = get_settings()
    days = args.days if args.days is not None else settings.retention_days
    try:
        report = purge(settings.tracker_store_url, settings.event_broker_url, days)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(
        f"Deleted {report.conversations} conversations older than {days} days "
        f"({report.tracker_events} tracker events, {report.broker_events} waiting broker events)."
    )
    return 0


def add_parser(sub: Any) -> None:
    """Add the `review` and `retention` commands to the top-level parser."""
    review = sub.add_parser("review", help="the clinicians' review store and app")
    commands = review.add_subparsers(dest="review_command", required=True)
    commands.add_parser("serve", help="run the review app and the ingest (what make run starts)").set_defaults(
        func=_serve
    )
    commands.add_parser("ingest", help="move the waiting broker events into the review store once").set_defaults(
        func=_ingest
    )
    migrate = commands.add_parser("migrate", help="create or upgrade the review store")
    migrate.add_argument("--down", help="downgrade to this revision instead (base: empty)")
    migrate.set_defaults(func=_migrate)
    user = commands.add_parser("add-user", help="add a clinician or an administrator of the review app")
    user.add_argument("username")
    user.add_argument("--role", choices=["clinician", "admin"], default="clinician")
    user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user.set_defaults(func=_add_user)

    retention = sub.add_parser("retention", help="raw conversation retention")
    retention_commands = retention.add_subparsers(dest="retention_command", required=True)
    purge = retention_commands.add_parser("purge", help="delete conversations older than RETENTION_DAYS")
    purge.add_argument("--days", type=int, help="override RETENTION_DAYS")
    purge.set_defaults(func=_purge)
