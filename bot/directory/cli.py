"""`python -m bot therapists ...`: migrate, seed, import and search the directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.directory import db


def ensure_directory(url: str | None = None, total: int = 2000) -> int:
    """Migrate the directory and seed the fictional sample if it is empty (what `make run` does).

    Returns:
        Number of sample therapists added (0 when the directory already had entries).
    """
    from sqlalchemy import func, select

    from bot.directory.models import Therapist
    from bot.directory.seed import seed

    db.migrate(url)
    with db.session_scope(url) as session:
        if session.execute(select(func.count(Therapist.id))).scalar_one():
            return 0
        return seed(session, total)


def _term(group: str, raw: str | None) -> str | None:
    from bot.directory.importer import _lookup
    from bot.directory.vocab import get_vocab

    if raw is None:
        return None
    key = _lookup(get_vocab(), group).get(raw.strip().lower())
    if key is None:
        raise SystemExit(
            f"Unknown {group.rstrip('s').replace('_', ' ')} {raw!r}. Known: {', '.join(get_vocab().terms(group))}"
        )
    return key


def _state(raw: str) -> str:
    from bot.directory.vocab import get_vocab, zip_place

    vocab = get_vocab()
    if raw.strip().isdigit():
        place = zip_place(raw.strip())
        if place is None:
            raise SystemExit(f"Unknown ZIP code {raw!r}.")
        return place[0]
    code = raw.strip().upper()
    if code in vocab.state_codes:
        return code
    by_name = {vocab.label("states", c).lower(): c for c in vocab.state_codes}
    if raw.strip().lower() in by_name:
        return by_name[raw.strip().lower()]
    raise SystemExit(f"Unknown state {raw!r}: use a postal code such as TX, a state name or a ZIP code.")


def _cmd_migrate(args: argparse.Namespace) -> int:
    if args.down:
        db.downgrade(args.database, args.down)
        print(f"Directory database downgraded to {args.down}.")
    else:
        db.migrate(args.database)
        print("Directory database is at the newest migration.")
    return 0


def _cmd_seed(args: argparse.Namespace) -> int:
    from bot.directory.seed import seed

    db.migrate(args.database)
    try:
        with db.session_scope(args.database) as session:
            added = seed(session, args.count, seed_value=args.seed, replace=args.replace)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"Added {added} fictional sample therapists (marked as sample).")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from bot.directory.importer import import_csv

    path = Path(args.file)
    if not path.is_file():
        print(f"No such file: {path}", file=sys.stderr)
        return 1
    db.migrate(args.database)
    with db.session_scope(args.database) as session:
        report = import_csv(session, path)
        if not report.ok:
            session.rollback()
    for line, reason in report.errors:
        print(f"{path}:{line}: {reason}", file=sys.stderr)
    if not report.ok:
        print(f"Nothing imported: {len(report.errors)} bad row(s).", file=sys.stderr)
        return 1
    print(f"Imported {report.imported} therapists.")
    return 0


def _cmd_search(args: argparse.Namespace) -> int:
    from bot.directory.flow import card
    from bot.directory.search import ANY_METHOD, ATTACHMENT, Criteria, search

    criteria = Criteria(
        state=_state(args.state),
        format=args.format,
        population=_term("populations", args.who),
        needs=tuple(k for k in (_term("specialties", n) for n in args.need or []) if k),
        insurance=_term("insurances", args.insurance),
        budget=args.budget,
        method=ANY_METHOD if args.any_method else ATTACHMENT,
        language=_term("languages", args.language),
        gender=_term("genders", args.gender),
        license_type=_term("license_types", args.license),
    )
    db.migrate(args.database)
    with db.session_scope(args.database) as session:
        page = search(session, criteria=criteria, limit=args.limit)
        cards = [card(match, criteria) for match in page.matches]
    if args.json:
        result: dict[str, Any] = {"total": page.total, "results": cards}
        print(json.dumps(result, indent=2))
    else:
        print(f"{page.total} match(es).")
        for item in cards:
            print(f"\n#{item['id']} {item['text']}")
    return 0


def add_parser(sub: Any) -> None:
    """Add the `therapists` command and its sub-commands."""
    parser = sub.add_parser("therapists", help="the therapist directory: migrate, seed, import, search")
    parser.add_argument("--database", default=None, help="database URL (default: DATABASE_URL or var/directory.db)")
    commands = parser.add_subparsers(dest="therapists_command", required=True)

    migrate = commands.add_parser("migrate", help="apply the Alembic migrations (or --down REVISION)")
    migrate.add_argument("--down", metavar="REVISION", help="downgrade to this revision, e.g. base")
    migrate.set_defaults(func=_cmd_migrate)

    seed = commands.add_parser("seed", help="build the fictional sample directory")
    seed.add_argument("--count", type=int, default=2000)
    seed.add_argument("--seed", type=int, default=7, help="random seed (same seed, same directory)")
    seed.add_argument("--replace", action="store_true", help="replace an existing sample")
    seed.set_defaults(func=_cmd_seed)

    load = commands.add_parser("import", help="import a real directory from CSV (all rows or none)")
    load.add_argument("file")
    load.set_defaults(func=_cmd_import)

    find = commands.add_parser("search", help="search the directory")
    find.add_argument("--state", required=True, help="postal code, state name or ZIP")
    find.add_argument("--insurance")
    find.add_argument("--need", action="append", help="repeat for several")
    find.add_argument("--format", choices=("telehealth", "in_person", "either"), default="either")
    find.add_argument("--who", help="individuals, couples, families, groups, children")
    find.add_argument("--budget", type=int, help="self-pay budget per session, dollars")
    find.add_argument("--language")
    find.add_argument("--gender")
    find.add_argument("--license")
    find.add_argument("--any-method", action="store_true", help="not only attachment-based therapists")
    find.add_argument("--limit", type=int, default=3)
    find.add_argument("--json", action="store_true")
    find.set_defaults(func=_cmd_search)
