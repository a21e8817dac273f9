"""``qbosync matches [--json] [--accept ID...] [--reject ID...] [--settle GROUP=CHOICE...]``: match review.

``--settle`` answers, once, how a matched client's differing fields are settled at its first merge
(issue 15, :mod:`qbosync_desktop.sync.clients.settle`); ``--settle-record WORK_ID=CHOICE`` does it
for one client.

Lists the proposed links between existing QuickBooks customers/vendors and Work clients/contractors,
each with its score and reason; exact unambiguous ones are already accepted. Accepting links the two
records (the first sync then creates no second one); rejecting lets both sync on their own.

Cold start: the match review (store, engine) is imported when the handler runs.
"""

from __future__ import annotations

import argparse
from typing import Any

from qbosync_desktop.cli.common import add_json, symbol, sync_engine, workspace
from qbosync_desktop.cli.output import EXIT_OK, print_json

STATE_WORDS = {"accepted": "accepted", "rejected": "rejected", "proposed": "waiting for you"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("matches", help="review proposed links between existing QuickBooks and Work records")
    add_json(p)
    p.add_argument("--accept", metavar="ID", type=int, nargs="+", default=[], help="accept these proposals")
    p.add_argument("--reject", metavar="ID", type=int, nargs="+", default=[], help="reject these proposals")
    p.add_argument("--settle", metavar="GROUP=CHOICE", nargs="+", default=[],
                   help="how a matched client's differing fields are settled once, per field group "
                        "(name, email, phone, address, active) = quickbooks | work | as_is")
    p.add_argument("--settle-record", metavar="WORK_ID=CHOICE", nargs="+", default=[],
                   help="the same for one matched client (all its differing fields)")
    p.set_defaults(func=run)


def _row(m: Any) -> dict[str, Any]:
    return m.to_dict() if hasattr(m, "to_dict") else dict(m)


def run(args: argparse.Namespace) -> int:
    with workspace() as ws:
        ws.require_qbo()
        ws.require_work()
        engine = sync_engine(ws)
        rows = engine.matches()
        for match_id in args.accept:
            engine.accept_match(match_id)
        for match_id in args.reject:
            engine.reject_match(match_id)
        from qbosync_desktop.sync.clients import settle

        if args.settle or args.settle_record:
            settle.save(groups=_pairs(args.settle), records=_pairs(args.settle_record))
        if args.accept or args.reject:
            from qbosync_desktop.sync.onboarding.review import stored

            rows = stored()
        data = [_row(m) for m in rows]
        answers = settle.groups()
        if args.json:
            print_json({"matches": data, "settle": answers})
            return EXIT_OK
        if not data:
            print("No possible matches: no existing QuickBooks record looks like a Work record.")
            return EXIT_OK
        arrow = symbol("\u2194", "<->")
        for m in data:
            kind = "Client" if m["kind"] == "client" else "Contractor"
            print(f"#{m['id']:<4} {kind}: {m['work_name']} {arrow} QuickBooks: {m['qbo_name']}  "
                  f"(score {m['score']}, {STATE_WORDS.get(m['state'], m['state'])})")
            print(f"       {m['reason']}")
        print("Fields that differ on a matched client are settled once: "
              + ", ".join(f"{settle.GROUP_LABELS[g]}: {settle.CHOICE_LABELS[c]}" for g, c in answers.items())
              + " (change with 'qbosync matches --settle phone=work').")
        waiting = sum(1 for m in data if m["state"] == "proposed")
        if waiting:
            print(f"{waiting} waiting for your decision: 'qbosync matches --accept ID' or '--reject ID'. "
                  "Their records are held until you decide.")
        return EXIT_OK


def _pairs(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        key, _, value = spec.partition("=")
        out[key.strip()] = value.strip()
    return out
