"""`python -m bot <command>`: the assistant's command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import get_settings


def _cmd_init_env(_: argparse.Namespace) -> int:
    from bot.envfile import ensure_env_file

    root = get_settings().project_root
    if ensure_env_file(root):
        print(f"Created {root / '.env'} with a new random RASA_API_TOKEN.")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from bot.crisis.classifier import get_classifier
    from bot.training import train

    trained = train(get_settings(), force=args.force)
    print("Model trained." if trained else "Model is up to date; reusing it.")
    get_classifier()  # fits the crisis classifier into the cache unless it is there already
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from bot import stack
    from bot.envfile import ensure_env_file
    from bot.settings import build_settings
    from bot.training import train

    ensure_env_file(get_settings().project_root)
    settings = build_settings()
    if not settings.rasa_api_token:
        print("RASA_API_TOKEN is empty; set it in .env.", file=sys.stderr)
        return 1
    if not args.no_train:
        train(settings)
    print("Starting the action server, the Rasa server and the web page (Rasa takes about 30 s)...")
    try:
        with stack.running(settings, with_review=True) as started:
            print(
                "\nReady.\n"
                f"  Chat in your browser:  {settings.web_url}\n"
                f"  REST channel:          {settings.rasa_url}/webhooks/rest/webhook\n"
                f"  Rasa HTTP API:         {settings.rasa_url} (token: RASA_API_TOKEN in .env)\n"
                f"  Action server:         http://{settings.action_host}:{settings.action_port}\n"
                f"  Clinician review:      {settings.review_url} (add a user: python -m bot review add-user NAME)\n"
                "Press Ctrl-C to stop everything.",
                flush=True,
            )
            code = stack.supervise(started)
    except stack.StackError as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        return 1
    print("Stopped.")
    return code


def _cmd_nlu_report(args: argparse.Namespace) -> int:
    report = json.loads(Path(args.report).read_text(encoding="utf-8"))
    macro = float(report["macro avg"]["f1-score"])
    print(f"Intent macro-F1 on the held-out set: {macro:.3f} (minimum {args.min_f1:.2f})")
    weak = sorted(
        (name, values["f1-score"])
        for name, values in report.items()
        if isinstance(values, dict)
        and "f1-score" in values
        and name not in {"macro avg", "weighted avg", "micro avg"}
        and values["f1-score"] < args.min_f1
    )
    for name, score in weak:
        print(f"  below minimum: {name} {score:.3f}")
    return 0 if macro >= args.min_f1 else 1


def _cmd_crisis_check(args: argparse.Namespace) -> int:
    from bot.crisis.detector import get_detector

    detector = get_detector()
    for line in sys.stdin:
        text = line.rstrip("\n")
        verdict = detector.assess(text).as_dict()
        if not args.verbose:
            verdict.pop("signals")
        print(json.dumps({"text": text, **verdict} if args.echo else verdict), flush=True)
    return 0


def _cmd_anonymize(args: argparse.Namespace) -> int:
    from bot.review.anonymize import Pseudonyms, get_anonymizer

    anonymizer = get_anonymizer()
    pseudonyms = Pseudonyms()  # stdin is one conversation: the same person keeps one placeholder
    for line in sys.stdin:
        if args.each_line_apart:
            pseudonyms = Pseudonyms()
        print(anonymizer.anonymize(line.rstrip("\n"), pseudonyms), flush=True)
    return 0


def _cmd_scale(args: argparse.Namespace) -> int:
    from bot import scale
    from bot.envfile import ensure_env_file
    from bot.settings import build_settings
    from bot.training import train

    ensure_env_file(get_settings().project_root)
    scale.load_scale_env(Path(args.env_file))
    settings = build_settings()
    if not settings.rasa_api_token:
        print("RASA_API_TOKEN is empty; set it in .env.", file=sys.stderr)
        return 1
    if not args.no_train:
        train(settings)
    code = scale.main_run(settings)
    print("Stopped.")
    return code


def _cmd_haproxy_config(args: argparse.Namespace) -> int:
    from bot import scale

    def addresses(raw: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    topology = scale.Topology(addresses(args.rasa), addresses(args.actions))
    if not topology.rasa or not topology.actions:
        print("Name at least one Rasa server and one action server (host:port).", file=sys.stderr)
        return 2
    print(scale.render_haproxy(get_settings(), topology, bind_host=args.bind), end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("init-env", help="create .env from .env.example if missing").set_defaults(func=_cmd_init_env)

    train = sub.add_parser("train", help="train the model if its inputs changed")
    train.add_argument("--force", action="store_true", help="train even if the model is current")
    train.set_defaults(func=_cmd_train)

    run = sub.add_parser("run", help="start the action server, the Rasa server and the web page")
    run.add_argument("--no-train", action="store_true", help="do not check whether the model needs training")
    run.set_defaults(func=_cmd_run)

    scale_cmd = sub.add_parser(
        "scale", help="start the scale-out topology (HAProxy, several Rasa and action servers) as local processes"
    )
    scale_cmd.add_argument(
        "--env-file", default="deploy/scale.env", help="variables of the topology (the environment wins over them)"
    )
    scale_cmd.add_argument("--no-train", action="store_true", help="do not check whether the model needs training")
    scale_cmd.set_defaults(func=_cmd_scale)

    haproxy = sub.add_parser("haproxy-config", help="print HAProxy's configuration for given servers (containers)")
    haproxy.add_argument("--rasa", required=True, help="Rasa servers, comma-separated host:port")
    haproxy.add_argument("--actions", required=True, help="action servers, comma-separated host:port")
    haproxy.add_argument("--bind", default="0.0.0.0", help="address HAProxy listens on")  # noqa: S104 (containers)
    haproxy.set_defaults(func=_cmd_haproxy_config)

    crisis = sub.add_parser(
        "crisis-check", help="read messages (one per line) on stdin, print one JSON verdict per line"
    )
    crisis.add_argument("--verbose", action="store_true", help="include the matched phrases")
    crisis.add_argument("--echo", action="store_true", help="include the message text in each line")
    crisis.set_defaults(func=_cmd_crisis_check)

    anonymize = sub.add_parser(
        "anonymize", help="read lines on stdin, write them anonymized (placeholders consistent across the input)"
    )
    anonymize.add_argument("--each-line-apart", action="store_true", help="number placeholders afresh on every line")
    anonymize.set_defaults(func=_cmd_anonymize)

    from bot.review.cli import add_parser as add_review

    add_review(sub)

    from bot.directory.cli import add_parser as add_therapists

    add_therapists(sub)

    from bot.channels.telegram_cli import add_parser as add_telegram

    add_telegram(sub)

    nlu = sub.add_parser("nlu-report", help="check intent macro-F1 in a `rasa test` intent report")
    nlu.add_argument("report", help="path of intent_report.json")
    nlu.add_argument("--min-f1", type=float, default=0.90)
    nlu.set_defaults(func=_cmd_nlu_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))
