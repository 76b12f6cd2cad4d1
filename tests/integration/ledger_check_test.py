#!/usr/bin/env python3
"""`ledger.py check` finds what it is meant to find: journals with a stale
write, a claim that does not rise, a fence row that is not the last claim,
and an acknowledged write that is missing; and passes a sound journal.

    ledger_check_test.py  (exit 0: every case as expected)
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

LEDGER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "ledger", "ledger.py")


def case(tmp, label, rows, fence, acks, expect_ok, expect_text=""):
    db = os.path.join(tmp, label + ".db")
    r = subprocess.run([sys.executable, LEDGER, "init", db], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(db, isolation_level=None)
    for kind, token, holder, op in rows:
        con.execute("INSERT INTO journal (kind, token, holder, op, amount) VALUES (?, ?, ?, ?, 1)",
                    (kind, token, holder, op))
    con.execute("UPDATE fence SET high_water = ?, holder = ?", fence)
    con.close()
    log = os.path.join(tmp, label + ".log")
    with open(log, "w") as f:
        for op, token in acks:
            f.write("try %s %d\nack %s %d\n" % (op, token, op, token))
        f.write("try cut-by-a-kill")  # an unfinished line is ignored
    r = subprocess.run([sys.executable, LEDGER, "check", db, log], capture_output=True, text=True, timeout=60)
    s = json.loads(r.stdout)
    ok = r.returncode == 0 and s["ok"]
    if ok != expect_ok or (expect_text and expect_text not in " ".join(s["errors"])):
        print("FAIL %s: %r" % (label, s))
        return False
    print("ok %s" % label)
    return True


def main():
    tmp = tempfile.mkdtemp(prefix="baton-ledger-check-")
    try:
        good = [("claim", 10, "n1", None), ("write", 10, "n1", "a"), ("claim", 20, "n2", None),
                ("write", 20, "n2", "b")]
        results = [
            case(tmp, "sound", good, (20, "n2"), [("a", 10), ("b", 20)], True),
            case(tmp, "stale_write", good + [("write", 10, "n1", "c")], (20, "n2"), [], False,
                 "outside the current term"),
            case(tmp, "same_token_other_node", good + [("write", 20, "n3", "c")], (20, "n2"), [], False,
                 "outside the current term"),
            case(tmp, "claim_not_rising", good + [("claim", 20, "n3", None)], (20, "n3"), [], False,
                 "not above the previous claim"),
            case(tmp, "fence_row", good, (30, "n3"), [], False, "is not the last claim"),
            case(tmp, "lost_ack", good, (20, "n2"), [("a", 10), ("z", 20)], False, "not in the journal"),
            case(tmp, "ack_other_token", good, (20, "n2"), [("a", 20)], False, "not in the journal"),
        ]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
