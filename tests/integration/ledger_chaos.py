#!/usr/bin/env python3
"""The fenced ledger (examples/ledger/) under random faults.

    ledger_chaos.py --batond PATH --baton PATH [--nodes N] [--duration S] [--seed N]

Starts N batond (local profile) on loopback and, on every node, a client
`baton run ledger -- ledger.py serve ...` writing to one SQLite database.
For DURATION seconds it injects faults at random: kill -9 of a daemon
(restarted under its name a moment later), SIGSTOP/SIGCONT of a daemon,
kill -9 of a `baton run` client (its ledger process lives on, orphaned,
with its token), SIGTERM of a client, kill -9 and SIGSTOP/SIGCONT of a
ledger process. Dead clients are started again. Then every fault is
lifted, the ledger must make progress once more, everything is stopped,
and `ledger.py check` verifies the database and the acknowledgements.
Prints the writes attempted, acknowledged and refused and the faults
injected (a JSON line starting "ledger-chaos:"). Two faults in three hit the
node that holds the database's current term. Exit 0: every check held.
The choices are drawn from --seed; their timing is not reproducible.
"""

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Failure, check, wait_until  # noqa: E402
from run import cluster  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LEDGER = os.path.join(ROOT, "examples", "ledger", "ledger.py")


def serve_pids(db, node=None):
    """The pids of the ledger serve processes writing db (for node, if
    given)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 3 and argv[1].endswith(b"ledger.py") and argv[2] == b"serve" and \
                argv[3] == db.encode() and (node is None or node.encode() in argv):
            out.append(int(d))
    return out


def signal_pid(pid, sig):
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False


class Chaos:
    def __init__(self, env, nodes, db, rng):
        self.env, self.nodes, self.db, self.rng = env, nodes, db, rng
        self.clients = {n.name: None for n in nodes}
        self.n_clients = 0
        self.logs = []
        self.faults = {}
        self.paused = {}         # pid -> resume time
        self.down = {}           # node name -> restart time
        self.stopped_daemons = {}  # node name -> resume time

    def count(self, kind):
        self.faults[kind] = self.faults.get(kind, 0) + 1

    def start_client(self, node):
        self.n_clients += 1
        log = self.env.path("ledger-%s-%d.log" % (node.name, self.n_clients))
        self.logs.append(log)
        p = self.env.spawn([self.env.baton, "--socket", node.sock, "run", "ledger", "--grace", "2", "--",
                            sys.executable, LEDGER, "serve", self.db, "--node", node.name, "--log", log,
                            "--socket", node.sock],
                           stdout=subprocess.DEVNULL, stderr=open(self.env.path("clients.err"), "ab"))
        self.clients[node.name] = p

    def daemon_up(self, node):
        return node.proc.poll() is None and node.name not in self.stopped_daemons

    def tick(self, now):
        # Lift the faults whose time has come.
        for pid, at in list(self.paused.items()):
            if now >= at:
                signal_pid(pid, signal.SIGCONT)
                del self.paused[pid]
        for name, at in list(self.stopped_daemons.items()):
            if now >= at:
                self.node(name).signal(signal.SIGCONT)
                del self.stopped_daemons[name]
        for name, at in list(self.down.items()):
            if now >= at:
                self.node(name).start()
                del self.down[name]
        # Clients that ended start again where their daemon runs.
        for n in self.nodes:
            c = self.clients[n.name]
            if (c is None or c.poll() is not None) and self.daemon_up(n) and n.name not in self.down:
                self.start_client(n)

    def holder(self):
        """The node the fence row names, or None."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=60)
        try:
            row = con.execute("SELECT holder FROM fence").fetchone()
        finally:
            con.close()
        return row[0] if row and row[0] in self.clients else None

    def node(self, name):
        return next(n for n in self.nodes if n.name == name)

    def inject(self, now):
        rng = self.rng
        kind = rng.choice(["kill_daemon", "stop_daemon", "kill_client", "term_client", "kill_ledger",
                           "stop_ledger"])
        # Two faults in three hit the node whose term the database holds.
        holder = self.holder()
        if holder is not None and rng.random() < 2 / 3:
            n = self.node(holder)
        else:
            n = rng.choice(self.nodes)
        if kind == "kill_daemon":
            if not self.daemon_up(n) or n.name in self.down:
                return
            n.signal(signal.SIGKILL)
            n.proc.wait(timeout=30)
            self.down[n.name] = now + rng.uniform(0.2, 2.0)
        elif kind == "stop_daemon":
            if not self.daemon_up(n) or n.name in self.down:
                return
            n.signal(signal.SIGSTOP)
            self.stopped_daemons[n.name] = now + rng.uniform(0.2, 2.0)
        elif kind in ("kill_client", "term_client"):
            c = self.clients[n.name]
            if c is None or c.poll() is not None:
                return
            c.send_signal(signal.SIGKILL if kind == "kill_client" else signal.SIGTERM)
        else:
            pids = [p for p in serve_pids(self.db, n.name) if p not in self.paused]
            if not pids:
                return
            pid = rng.choice(pids)
            if kind == "kill_ledger":
                if not signal_pid(pid, signal.SIGKILL):
                    return
            else:
                if not signal_pid(pid, signal.SIGSTOP):
                    return
                self.paused[pid] = now + rng.uniform(0.2, 2.0)
        self.count(kind)

    def lift_all(self):
        for pid in list(self.paused):
            signal_pid(pid, signal.SIGCONT)
        self.paused.clear()
        for name in list(self.stopped_daemons):
            self.node(name).signal(signal.SIGCONT)
        self.stopped_daemons.clear()
        for name in list(self.down):
            self.node(name).start()
        self.down.clear()


def run(env, a):
    rng = random.Random(a.seed)
    db = env.path("ledger.db")
    r = subprocess.run([sys.executable, LEDGER, "init", db], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "ledger init: %s" % r.stderr)
    nodes, _ = cluster(env, n=a.nodes)
    for n in nodes:  # a restarted node joins through any other
        n.join = [o for o in nodes if o is not n]
    chaos = Chaos(env, nodes, db, rng)
    now = time.monotonic()
    chaos.tick(now)
    end = now + a.duration
    next_fault = now + 2.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if now >= next_fault:
            chaos.inject(now)
            next_fault = now + rng.uniform(0.2, 1.5)
        chaos.tick(now)
        time.sleep(0.05)
    chaos.lift_all()
    for n in nodes:
        n.wait_ready()

    def journal_rows():
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=60)
        try:
            return con.execute("SELECT count(*) FROM journal WHERE kind = 'write'").fetchone()[0]
        finally:
            con.close()
    # Once the faults stop, some node leads and its ledger writes again.
    base = journal_rows()
    wait_until(lambda: (chaos.tick(time.monotonic()) or True) and journal_rows() > base + 10, 120,
               "the ledger to write again after the faults")
    # Stop the clients (SIGTERM: resign), then stray ledger processes.
    for c in chaos.clients.values():
        if c is not None and c.poll() is None:
            c.send_signal(signal.SIGTERM)
    for c in chaos.clients.values():
        if c is not None:
            try:
                c.wait(timeout=30)
            except subprocess.TimeoutExpired:
                c.kill()
    for pid in serve_pids(db):  # orphans still waiting to be refused
        signal_pid(pid, signal.SIGKILL)
    wait_until(lambda: not serve_pids(db), 30, "every ledger process to end")
    r = subprocess.run([sys.executable, LEDGER, "check", db] + [p for p in chaos.logs if os.path.exists(p)], capture_output=True, text=True,
                       timeout=300)
    try:
        summary = json.loads(r.stdout)
    except ValueError:
        raise Failure("ledger check printed %r (%s)" % (r.stdout, r.stderr))
    summary["faults"] = chaos.faults
    summary["faults_total"] = sum(chaos.faults.values())
    summary["clients_started"] = chaos.n_clients
    summary["seed"] = a.seed
    summary["duration_s"] = a.duration
    print("ledger-chaos: " + json.dumps(summary, sort_keys=True))
    check(r.returncode == 0 and summary["ok"], "ledger check failed: %r" % summary["errors"])
    check(summary["acknowledged"] > 0 and summary["journal"]["claims"] > 1,
          "the ledger did not work: %r" % summary)
    check(summary["faults_total"] > 0, "no fault injected")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batond", required=True)
    ap.add_argument("--baton", required=True)
    ap.add_argument("--nodes", type=int, default=3)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of faults (default 60)")
    ap.add_argument("--seed", type=int, default=None, help="default: drawn and printed")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1 << 31)
    env = Env(os.path.abspath(a.batond), os.path.abspath(a.baton), "ledger")
    failed = True
    try:
        run(env, a)
        env.stop_nodes()
        failed = False
    except Failure as e:
        print("FAIL ledger (seed %d): %s" % (a.seed, e), file=sys.stderr)
    finally:
        for n in env.nodes:
            if n.proc is not None and n.proc.poll() is None:
                n.signal(signal.SIGCONT)
        env.cleanup(failed)
    if not failed:
        print("PASS ledger (seed %d)" % a.seed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
