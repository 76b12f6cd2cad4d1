#!/usr/bin/env python3
"""Fault tests of batond on real processes: pause, restart, partition.

    faults.py --batond PATH --baton PATH TEST

ctest registers each TEST as faults.TEST (label "faults"). A test starts
its own daemons, in a temporary directory, and stops and deletes
everything it created, also on failure: processes (harness.Env) and, for
the partition test, the network namespaces, veth links and bridge it made.
Exit 0: passed; 1: failed; 77: skipped (the machine cannot create network
namespaces: not root, or no CAP_NET_ADMIN), with the reason printed.
Behaviour is asserted, never a wall-clock duration.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Failure, Node, check, wait_until  # noqa: E402
from run import agree, cluster, settle  # noqa: E402

SKIP = 77
TESTS = {}


class Skip(Exception):
    pass


def test(fn):
    TESTS[fn.__name__] = fn
    return fn


def tokens_of(lead):
    """Every token a `baton lead` printed, in order, with its line kind."""
    lead.drain()
    out = []
    for m in lead.msgs:
        if "fence" in m:
            kind = m.get("event") or m.get("role")
            out.append((kind, int(m["fence"])))
    return out


# ---------------------------------------------------------------------------

@test
def pause(env):
    """SIGSTOP of the leader's daemon past failure detection: the others
    elect a leader with a strictly greater token. SIGCONT: one leader
    again, and the old leader does not keep its old term: it is revoked,
    or starts a new term above every token the cluster minted meanwhile."""
    nodes, _ = cluster(env)
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")
    settle(nodes, leads, "jobs")
    old = leads[0].fence()
    n_old_lines = len(leads[0].msgs)
    nodes[0].signal(signal.SIGSTOP)
    try:
        ev = leads[1].wait_event("elected", timeout=120)
        new = int(ev["fence"])
        check(new > old, "n2's token %d not above n1's %d" % (new, old))
        agree(nodes[1:], "jobs", "n2")
        for n in nodes[1:]:
            wait_until(lambda n=n: n.members()["n1"]["state"] in ("dead", "suspect"), 60,
                       "%s to see n1 failed" % n.name)
        # Past failure detection: the survivors declare n1 dead.
        for n in nodes[1:]:
            wait_until(lambda n=n: n.members()["n1"]["state"] == "dead", 60,
                       "%s to declare n1 dead" % n.name)
    finally:
        nodes[0].signal(signal.SIGCONT)
    # One leader again. n1 outranks n2 (lower name), so it leads once it is
    # back; whoever leads, every node agrees.
    agree(nodes, "jobs", "n1", timeout=120)
    settle(nodes, leads, "jobs", timeout=120)
    final = leads[0].fence()
    check(final is not None and final > new,
          "n1 leads with %r, not above n2's term %d" % (final, new))
    # n1's output after SIGCONT: the old term ends (revoked) before any new
    # term, and every new term is above n2's.
    after = leads[0].msgs[n_old_lines:]
    check(after, "n1's lead printed nothing after SIGCONT")
    first = after[0]
    check(first.get("event") == "revoked" and int(first["fence"]) == old,
          "n1's first line after SIGCONT is %r, not the revocation of %d" % (first, old))
    for m in after:
        if m.get("event") == "elected":
            check(int(m["fence"]) > new, "n1 elected with %s, not above %d" % (m["fence"], new))
    # n2 saw its term end.
    kinds = [k for k, _ in tokens_of(leads[1])]
    check("revoked" in kinds, "n2 was never revoked: %r" % leads[1].msgs)
    for n in nodes:
        hw = int(n.cli("high-water", "jobs").stdout)
        check(hw == final, "%s's high-water %d is not the leader's token %d" % (n.name, hw, final))
    print("pause: old token %d, n2's %d, n1's new term %d" % (old, new, final))


@test
def restart(env):
    """kill -9 of a node and a restart under the same name: a new boot, none
    of its old candidacies come back, and the leader's term goes on."""
    nodes, key = cluster(env)
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    solo = nodes[2].lead("solo")  # a name only n3 campaigns for
    solo.first()
    agree(nodes, "jobs", "n1")
    agree(nodes, "solo", "n3")
    settle(nodes, leads, "jobs")
    term = leads[0].fence()
    n_lines = len(leads[0].msgs)
    revoked = nodes[0].status()["counters"]["revoked"]
    boot = nodes[0].members()["n3"]["boot_id"]
    n3 = nodes[2]
    n3.signal(signal.SIGKILL)
    n3.proc.wait(timeout=30)
    check(leads[2].proc.wait(timeout=60) == 1, "n3's baton lead did not exit 1")
    check(solo.proc.wait(timeout=60) == 1, "n3's baton lead solo did not exit 1")
    # Restart at once, same name, same address: probably before the others
    # declare the first boot dead.
    n3.start()
    for n in nodes:
        wait_until(lambda n=n: n.members()["n3"]["boot_id"] != boot and
                   n.members()["n3"]["state"] == "alive", 60,
                   "%s to see n3's new boot alive" % n.name)
    # The old boot's candidacies never come back: not while the new boot
    # joins, not afterwards.
    for n in nodes:
        wait_until(lambda n=n: n.json("candidates", "jobs")["candidates"] == ["n1", "n2"], 60,
                   "n3's old candidacy for jobs to vanish on %s" % n.name)
        wait_until(lambda n=n: n.leader("solo") is None, 60,
                   "n3's old candidacy for solo to vanish on %s" % n.name)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        for n in nodes:
            check(n.leader("solo") is None, "n3's old candidacy for solo came back on %s" % n.name)
            check(n.json("candidates", "jobs")["candidates"] == ["n1", "n2"],
                  "candidates on %s: %r" % (n.name, n.json("candidates", "jobs")))
        time.sleep(0.2)
    # The restarted node campaigns again; it does not outrank n1.
    again = n3.lead("jobs")
    check(again.first()["role"] == "follower", "the restarted n3 leads jobs")
    for n in nodes:
        wait_until(lambda n=n: n.json("candidates", "jobs")["candidates"] == ["n1", "n2", "n3"], 60,
                   "n3's new candidacy to reach %s" % n.name)
    agree(nodes, "jobs", "n1")
    # n1's term was never interrupted.
    leads[0].drain()
    check(len(leads[0].msgs) == n_lines, "n1's lead printed %r" % leads[0].msgs[n_lines:])
    check(int(nodes[0].cli("fence", "jobs").stdout) == term, "n1's term changed")
    check(nodes[0].status()["counters"]["revoked"] == revoked, "a revocation on n1")
    print("restart: n3 boot %s -> %s; n1's term %d kept" %
          (boot, nodes[0].members()["n3"]["boot_id"], term))


# ---------------------------------------------------------------------------
# Network namespaces: two bridges (one per side) in a switch namespace,
# joined by one veth pair, the trunk; each node in its own namespace with a
# veth to its side's bridge. Cutting the trunk partitions the sides.

class Netns:
    def __init__(self):
        self.tag = "bt%d" % (os.getpid() % 100000)
        self.namespaces = []

    def ip(self, *args, ns=None):
        argv = (["ip", "netns", "exec", ns] if ns else []) + ["ip"] + list(args)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise Failure("%s: %s" % (" ".join(argv), r.stderr.strip()))

    def add_ns(self, suffix):
        name = "%s-%s" % (self.tag, suffix)
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise Skip("cannot create network namespaces here (%s)" % r.stderr.strip())
        self.namespaces.append(name)
        self.ip("link", "set", "lo", "up", ns=name)
        return name

    def cleanup(self):
        # Deleting a namespace deletes the veth ends and bridges in it, and
        # with them their peers.
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        self.namespaces = []


class NsNode(Node):
    """A batond inside a network namespace, at its own address."""

    def __init__(self, env, name, ns, ip, **kw):
        super().__init__(env, name, **kw)
        self.ns = ns
        self.port = 7946
        self.addr = "%s:7946" % ip

    def argv(self):
        return ["ip", "netns", "exec", self.ns] + super().argv()


@test
def partition(env):
    """Cut the trunk between {n1,n2} and {n3,n4}: each side elects; restore
    it: one leader remains, with a token above every token either side
    minted, and the other side's leader is revoked."""
    net = Netns()
    env.netns = net
    sw = net.add_ns("sw")
    net.ip("link", "add", "br-a", "type", "bridge", ns=sw)
    net.ip("link", "add", "br-b", "type", "bridge", ns=sw)
    net.ip("link", "add", "trunk-a", "type", "veth", "peer", "name", "trunk-b", ns=sw)
    net.ip("link", "set", "trunk-a", "master", "br-a", ns=sw)
    net.ip("link", "set", "trunk-b", "master", "br-b", ns=sw)
    for dev in ("br-a", "br-b", "trunk-a", "trunk-b"):
        net.ip("link", "set", dev, "up", ns=sw)
    key = env.keygen()
    sides = {"n1": "br-a", "n2": "br-a", "n3": "br-b", "n4": "br-b"}
    nodes = []
    for i, (name, br) in enumerate(sorted(sides.items())):
        ns = net.add_ns(name)
        ip = "10.213.0.%d" % (i + 1)
        host, peer = "%s-%s" % (net.tag, name), "eth0"
        # Create the pair in the switch namespace, move one end to the node.
        net.ip("link", "add", host, "type", "veth", "peer", "name", "v" + name, ns=sw)
        net.ip("link", "set", "v" + name, "netns", ns, ns=sw)
        net.ip("link", "set", "v" + name, "name", peer, ns=ns)
        net.ip("addr", "add", ip + "/24", "dev", peer, ns=ns)
        net.ip("link", "set", peer, "up", ns=ns)
        net.ip("link", "set", host, "master", br, ns=sw)
        net.ip("link", "set", host, "up", ns=sw)
        node = NsNode(env, name, ns, ip, keyring=env.keyring("%s.keys" % name, key), join=nodes[:1])
        env.nodes.append(node)
        node.start()
        nodes.append(node)
    names = sorted(sides)
    for n in nodes:
        wait_until(lambda n=n: n.alive() == names, 60, "%s to see all of %s alive" % (n.name, names))
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")
    settle(nodes, leads, "jobs")
    before = leads[0].fence()

    # Cut.
    net.ip("link", "set", "trunk-a", "down", ns=sw)
    a, b = nodes[:2], nodes[2:]
    for side, other in ((a, b), (b, a)):
        for n in side:
            wait_until(lambda n=n, other=other: all(n.members()[o.name]["state"] == "dead" for o in other),
                       120, "%s to declare the other side dead" % n.name)
    agree(b, "jobs", "n3", timeout=60)
    agree(a, "jobs", "n1", timeout=60)
    settle(b, leads[2:], "jobs")
    settle(a, leads[:2], "jobs")
    b_term = leads[2].fence()
    check(b_term > before, "n3's term %d not above n1's %d" % (b_term, before))
    # A name first campaigned during the partition: each side elects.
    fresh = [n.lead("fresh") for n in nodes]
    for f in fresh:
        f.first()
    agree(a, "fresh", "n1")
    agree(b, "fresh", "n3")
    settle(a, fresh[:2], "fresh")
    settle(b, fresh[2:], "fresh")
    fresh_a, fresh_b = fresh[0].fence(), fresh[2].fence()

    # Restore.
    net.ip("link", "set", "trunk-a", "up", ns=sw)
    for n in nodes:
        wait_until(lambda n=n: n.alive() == names, 120, "%s to see every node alive again" % n.name)
    for name, ls in (("jobs", leads), ("fresh", fresh)):
        agree(nodes, name, "n1", timeout=120)
        settle(nodes, ls, name, timeout=120)
        seen = [t for lead in ls for _, t in tokens_of(lead)]
        final = ls[0].fence()
        check(final == max(seen), "%s: the leader's token %d is not the greatest seen (%d)" %
              (name, final, max(seen)))
        check(seen.count(final) == 1, "%s: the leader's token %d was printed twice" % (name, final))
        check(("revoked" in [k for k, _ in tokens_of(ls[2])]), "%s: n3 was never revoked" % name)
        for n in nodes:
            hw = int(n.cli("high-water", name).stdout)
            check(hw == final, "%s: %s's high-water %d is not the leader's %d" % (name, n.name, hw, final))
        # Every term a lead printed as elected/leader is above every term
        # that lead printed before it.
        for lead in ls:
            ts = [t for k, t in tokens_of(lead) if k in ("elected", "leader")]
            check(ts == sorted(set(ts)), "%s: %s's terms are not increasing: %r" % (name, lead.node.name, ts))
    check(leads[0].fence() > b_term, "jobs: n1's final term is not above n3's")
    print("partition: jobs %d -> n3 %d -> n1 %d; fresh: side A %d, side B %d -> n1 %d" %
          (before, b_term, leads[0].fence(), fresh_a, fresh_b, fresh[0].fence()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batond", required=True)
    ap.add_argument("--baton", required=True)
    ap.add_argument("test", choices=sorted(TESTS))
    a = ap.parse_args()
    env = Env(os.path.abspath(a.batond), os.path.abspath(a.baton), a.test)
    env.netns = None
    failed = True
    skipped = False
    try:
        TESTS[a.test](env)
        env.stop_nodes()
        failed = False
    except Skip as e:
        print("SKIP %s: %s" % (a.test, e))
        skipped, failed = True, False
    except Failure as e:
        print("FAIL %s: %s" % (a.test, e), file=sys.stderr)
    finally:
        # SIGKILL ends stopped processes too; continue them anyway so that
        # nothing is left stopped if a kill fails.
        for n in env.nodes:
            if n.proc is not None and n.proc.poll() is None:
                try:
                    n.proc.send_signal(signal.SIGCONT)
                except OSError:
                    pass
        env.cleanup(failed)
        if env.netns is not None:
            env.netns.cleanup()
    if skipped:
        return SKIP
    if not failed:
        print("PASS %s" % a.test)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
