#!/usr/bin/env python3
"""A fenced ledger: SQLite protected by baton's fencing tokens.

    ledger.py init DB [--name NAME]
    ledger.py serve DB --node NODE --log FILE [--socket PATH] [--name NAME] [--interval S]
    ledger.py check DB [LOG ...]

`serve` is meant to run under `baton run NAME -- ledger.py serve ...` on
every node of a cluster: baton runs it only while the node leads NAME and
passes the term's token in BATON_FENCE. It opens the term in the database
(the fence row: the token strictly above the high-water mark, and the
holder, in one transaction with a `claim` row of the journal), then appends
`write` rows, each in one BEGIN IMMEDIATE transaction with the check that
the fence row still holds its token and node (docs/guard.md, "A SQL
database"). When the database refuses the term (a greater token was
admitted, or the same token by another node) it hands the mark back to its
node with `observe_fence`, so that the node ends the term and, if it still
wins, starts one above the mark, and waits for baton run to stop it (an
orphaned serve, whose baton run was killed, exits instead).

Each serve process appends what it does to its LOG, one line per step,
written before or after the database call as stated:

    claim TOKEN          before the claim transaction
    claimed TOKEN        after it committed
    stale TOKEN MARK     the claim or a write was refused; MARK is the fence row's mark
    try OP TOKEN         before a write transaction
    ack OP TOKEN         after it committed: the ledger acknowledged OP

`check` verifies the database alone (claims strictly increasing, every
write made under the latest claim before it, so no write of a superseded
term after a later term's first write, and the fence row equal to the last
claim), then that every `ack` of the LOGs is in the journal with its token
and node. It prints a JSON summary and exits 0 when everything holds, 1
otherwise. Standard library only.
"""

import argparse
import json
import os
import signal
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SCHEMA = """
CREATE TABLE IF NOT EXISTS fence (
    name       TEXT    PRIMARY KEY,
    high_water INTEGER NOT NULL CHECK (high_water >= 0),
    holder     TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit order (one writer at a time)
    kind   TEXT    NOT NULL CHECK (kind IN ('claim', 'write')),
    token  INTEGER NOT NULL,
    holder TEXT    NOT NULL,
    op     TEXT    UNIQUE,                     -- writes only
    amount INTEGER
);
"""


def connect(db):
    con = sqlite3.connect(db, timeout=120, isolation_level=None)
    con.execute("PRAGMA synchronous=FULL")
    return con


def cmd_init(a):
    con = connect(a.db)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(SCHEMA)
    con.execute("INSERT OR IGNORE INTO fence VALUES (?, 0, '')", (a.name,))
    con.close()
    return 0


class Log:
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def __call__(self, *words):
        os.write(self.fd, (" ".join(str(w) for w in words) + "\n").encode())


def hand_back(a, mark):
    """Tells this node the resource's mark (observe_fence): its term ends."""
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
    try:
        from baton_client import BatonError, Client
        with Client(a.socket, timeout=10) as c:
            c.observe_fence(a.name, mark)
    except (OSError, ImportError, BatonError) as e:  # the daemon may be gone
        print("ledger: observe_fence: %s" % e, file=sys.stderr)


def cmd_serve(a):
    parent = os.getppid()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    token = int(os.environ["BATON_FENCE"])
    log = Log(a.log)
    con = connect(a.db)

    def stale():
        mark = con.execute("SELECT high_water FROM fence WHERE name = ?", (a.name,)).fetchone()[0]
        con.execute("ROLLBACK")
        log("stale", token, mark)
        if os.getppid() != parent:
            return 3  # orphaned (baton run was killed): no term to end
        hand_back(a, mark)
        # baton run stops us (SIGTERM) when the term ends; give up otherwise.
        deadline = time.monotonic() + 30
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.05)
        return 0 if stopping else 3

    log("claim", token)
    con.execute("BEGIN IMMEDIATE")
    cur = con.execute("UPDATE fence SET high_water = ?, holder = ? WHERE name = ? AND high_water < ?",
                      (token, a.node, a.name, token))
    if cur.rowcount != 1:
        return stale()
    con.execute("INSERT INTO journal (kind, token, holder) VALUES ('claim', ?, ?)", (token, a.node))
    con.execute("COMMIT")
    log("claimed", token)
    n = 0
    while not stopping:
        n += 1
        op = "%s-%d-%d" % (a.node, os.getpid(), n)
        log("try", op, token)
        con.execute("BEGIN IMMEDIATE")
        row = con.execute("SELECT 1 FROM fence WHERE name = ? AND high_water = ? AND holder = ?",
                          (a.name, token, a.node)).fetchone()
        if row is None:
            return stale()
        con.execute("INSERT INTO journal (kind, token, holder, op, amount) VALUES ('write', ?, ?, ?, ?)",
                    (token, a.node, op, n))
        con.execute("COMMIT")
        log("ack", op, token)
        time.sleep(a.interval)
    return 0


def cmd_check(a):
    con = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=120)
    errors = []
    claims = writes = 0
    current = None       # (token, holder) of the latest claim
    greatest = 0         # greatest token of any row so far
    ops = {}
    for seq, kind, token, holder, op in con.execute(
            "SELECT seq, kind, token, holder, op FROM journal ORDER BY seq"):
        if kind == "claim":
            claims += 1
            if current is not None and token <= current[0]:
                errors.append("claim %d (token %d by %s) not above the previous claim %d" %
                              (seq, token, holder, current[0]))
            current = (token, holder)
        else:
            writes += 1
            ops[op] = (token, holder)
            if current is None or (token, holder) != current:
                errors.append("write %d (token %d by %s) outside the current term %r" %
                              (seq, token, holder, current))
            if token < greatest:
                errors.append("write %d of token %d after token %d's first row" % (seq, token, greatest))
        greatest = max(greatest, token)
    mark = con.execute("SELECT high_water, holder FROM fence").fetchall()
    if current is not None and mark != [current]:
        errors.append("fence row %r is not the last claim %r" % (mark, current))
    logged = {"claim": 0, "claimed": 0, "stale": 0, "try": 0, "ack": 0}
    missing = 0
    for path in a.logs:
        with open(path, errors="replace") as f:
            for line in f:
                w = line.split()
                if not w or w[0] not in logged or (w[0] in ("try", "ack") and len(w) != 3):
                    continue  # a line cut by a kill -9 mid-write
                logged[w[0]] += 1
                if w[0] == "ack":
                    got = ops.get(w[1])
                    if got is None or got[0] != int(w[2]):
                        missing += 1
                        errors.append("acknowledged write %s (token %s) is not in the journal: %r" %
                                      (w[1], w[2], got))
    summary = {
        "ok": not errors,
        "journal": {"claims": claims, "writes": writes},
        "attempted": logged["try"], "acknowledged": logged["ack"],
        "refused": logged["stale"], "claims_attempted": logged["claim"],
        "claims_admitted": logged["claimed"], "acknowledged_missing": missing,
        "errors": errors[:20], "n_errors": len(errors),
    }
    print(json.dumps(summary))
    return 0 if not errors else 1


def main():
    ap = argparse.ArgumentParser(description="A ledger in SQLite fenced by baton's tokens.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init", help="create the database")
    p.add_argument("db")
    p.add_argument("--name", default="ledger", help="the baton campaign name (default: ledger)")
    p = sub.add_parser("serve", help="write while leading (run it under baton run)")
    p.add_argument("db")
    p.add_argument("--node", required=True, help="this node's name (the fence row's holder)")
    p.add_argument("--log", required=True, help="append what is done to this file")
    p.add_argument("--socket", default=None, help="batond's socket, for observe_fence")
    p.add_argument("--name", default="ledger")
    p.add_argument("--interval", type=float, default=0.02, help="seconds between writes (default 0.02)")
    p = sub.add_parser("check", help="verify the database and the logs")
    p.add_argument("db")
    p.add_argument("logs", nargs="*")
    a = ap.parse_args()
    return {"init": cmd_init, "serve": cmd_serve, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
