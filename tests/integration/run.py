#!/usr/bin/env python3
"""Integration tests of batond and baton: real processes on loopback.

    run.py --batond PATH --baton PATH [--examples DIR] TEST

ctest registers each TEST as integration.TEST (label "integration"). A
test starts its own daemons on free ports in a temporary directory and
stops everything it started, also on failure. Exit 0: passed; 1: failed.
Durations (failover, handover) are printed, never asserted. At the end
every daemon still running gets SIGTERM and must exit 0 with a clean
sanitizer log.
"""

import argparse
import base64
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Env, Failure, check, free_port, wait_until  # noqa: E402

TESTS = {}


def test(fn):
    TESTS[fn.__name__] = fn
    return fn


def cluster(env, n=3, profile="local", key=None, names=None):
    """n nodes n1..nn sharing one key, all joined, all seeing each other."""
    key = key or env.keygen()
    names = names or ["n%d" % (i + 1) for i in range(n)]
    nodes = []
    for i, name in enumerate(names):
        ring = env.keyring("%s.keys" % name, key)
        node = env.node(name, keyring=ring, profile=profile, join=nodes[:1])
        node.start()
        nodes.append(node)
    for node in nodes:
        wait_until(lambda node=node: node.alive() == sorted(names), 60,
                   "%s to see all of %s alive" % (node.name, names))
    return nodes, key


def agree(nodes, name, expect, timeout=60):
    wait_until(lambda: all(n.leader(name) == expect for n in nodes), timeout,
               "every node to see %s lead %s" % (expect, name))


def settle(nodes, leads, name, timeout=60):
    """Waits until what each `baton lead` printed last matches its node's
    term (`baton fence`). Campaigns started together may each lead for a
    moment; after this, an event a lead prints is news."""
    def settled():
        for n, lead in zip(nodes, leads):
            lead.drain()
            r = n.cli("fence", name)
            if lead.leads() != (r.returncode == 0):
                return False
            if r.returncode == 0 and int(r.stdout) != lead.fence():
                return False
        return True
    wait_until(settled, timeout, "every lead's last line to match its node's term")


# ---------------------------------------------------------------------------

@test
def three_agree(env):
    """Three nodes agree on the lowest node name; its token is its fence."""
    nodes, _ = cluster(env)
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")
    settle(nodes, leads, "jobs")
    check(leads[0].leads() and not leads[1].leads() and not leads[2].leads(), "who leads: %r" %
          [lead.msgs[-1] for lead in leads])
    token = leads[0].fence()
    # The whole term, for a guard: the token and the minting process.
    f = nodes[0].json("fence", "jobs")
    check(int(f["fence"]) == token and re.fullmatch(r"n1#[0-9a-f]{16}", f["minter"]) is not None,
          "fence --json: %r" % f)
    for n in nodes[1:]:
        r = n.cli("fence", "jobs")
        check(r.returncode == 3 and "not leader" in r.stderr, "fence on %s: %d %r" % (n.name, r.returncode, r.stderr))
    for n in nodes:
        c = n.json("candidates", "jobs")
        check(c["candidates"] == ["n1", "n2", "n3"], "candidates on %s: %r" % (n.name, c))
        hw = int(n.cli("high-water", "jobs").stdout)
        check(hw >= token, "high-water %d on %s below the token %d" % (hw, n.name, token))
    st = nodes[0].status()
    check([e["name"] for e in st["leading"]] == ["jobs"], "status leading: %r" % st["leading"])
    check(st["members"]["alive"] == 3, "status members: %r" % st["members"])
    print("leader n1, fence %d" % token)


@test
def failover_kill9(env):
    """SIGKILL of the leader's daemon: the next node leads with a greater token."""
    nodes, _ = cluster(env)
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")
    settle(nodes, leads, "jobs")
    old = leads[0].fence()
    t0 = time.monotonic()
    nodes[0].signal(signal.SIGKILL)
    ev = leads[1].wait_event("elected", timeout=120)
    took = time.monotonic() - t0
    new = int(ev["fence"])
    check(new > old, "new token %d not above the old %d" % (new, old))
    agree(nodes[1:], "jobs", "n2")
    settle(nodes[1:], leads[1:], "jobs")
    check(leads[1].fence() > old, "n2's term %d not above the old %d" % (leads[1].fence(), old))
    # The dead daemon's client notices and exits 1.
    rc = leads[0].proc.wait(timeout=60)
    check(rc == 1, "baton lead on the killed daemon exited %d, not 1" % rc)
    print("failover after SIGKILL: %.3f s (old token %d, new %d)" % (took, old, new))


@test
def priority(env):
    """A higher priority beats a lower node name."""
    nodes, _ = cluster(env)
    leads = [nodes[0].lead("jobs"), nodes[1].lead("jobs"), nodes[2].lead("jobs", "--priority", "5")]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n3")
    wait_until(lambda: (leads[2].drain() or True) and leads[2].leads(), 60, "n3 to lead")
    r = nodes[0].cli("leader", "jobs", "--json")
    j = json.loads(r.stdout)
    check(j["name"] == "jobs" and j["node"] == "n3" and j["candidate"], "leader --json: %r" % j)


@test
def client_killed(env):
    """Killing the `baton lead` client drops its candidacy."""
    nodes, _ = cluster(env)
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")
    settle(nodes, leads, "jobs")
    leads[0].proc.kill()
    leads[1].wait_event("elected", timeout=120)
    agree(nodes, "jobs", "n2")
    for n in nodes:
        wait_until(lambda n=n: n.json("candidates", "jobs")["candidates"] == ["n2", "n3"], 60,
                   "n1's candidacy to vanish on %s" % n.name)
    # A resign (SIGINT) also hands over, and `baton lead` exits 0.
    settle(nodes[1:], leads[1:], "jobs")
    leads[1].proc.send_signal(signal.SIGINT)
    check(leads[1].proc.wait(timeout=30) == 0, "baton lead did not exit 0 on SIGINT")
    leads[2].wait_event("elected", timeout=120)
    agree(nodes, "jobs", "n3")


@test
def duplicate(env):
    """A second candidacy for the same name on the same node is refused."""
    nodes, _ = cluster(env, n=1)
    first = nodes[0].lead("jobs")
    first.first()
    second = nodes[0].lead("jobs")
    rc = second.proc.wait(timeout=60)
    err = "\n".join(filter(None, [second.err.next(5)]))
    check(rc == 1, "duplicate lead exited %d" % rc)
    check("already_candidate" in err, "duplicate lead stderr: %r" % err)
    check(first.proc.poll() is None, "the first candidacy ended")


@test
def max_names(env):
    """--max-names caps the names a node holds: `lead` on a new name past it
    is refused with `limit`; status shows the cap."""
    key = env.keygen()
    node = env.node("n1", keyring=env.keyring("n1.keys", key), profile="local",
                    extra=["--max-names", "2"])
    node.start()
    leads = [node.lead("a"), node.lead("b")]
    for lead in leads:
        lead.first()
    third = node.lead("c")
    rc = third.proc.wait(timeout=60)
    err = "\n".join(filter(None, [third.err.next(5)]))
    check(rc == 1, "lead past the cap exited %d" % rc)
    check("limit" in err, "lead past the cap, stderr: %r" % err)
    st = node.status()
    check(st["counters"]["max_names"] == 2, "status max_names: %r" % st["counters"])
    check(st["counters"]["names"] == 2, "status names: %r" % st["counters"])


@test
def wrong_key(env):
    """A node holding the wrong key never appears in `baton members`."""
    nodes, _ = cluster(env, n=2)
    stranger = env.node("n0", keyring=env.keyring("n0.keys", env.keygen()), join=[nodes[0]])
    stranger.start()
    # Give it many join attempts (the local profile retries every 0.1-2 s).
    wait_until(lambda: nodes[0].status()["dropped"]["auth_failed"] > 0, 60,
               "n1 to refuse the stranger's packets")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for n in nodes:
            check("n0" not in n.members(), "the stranger shows in %s's members" % n.name)
        check(sorted(stranger.members()) == ["n0"], "the stranger sees %r" % sorted(stranger.members()))
        time.sleep(0.25)
    # The cluster still elects, and the stranger's candidacy is unknown to it.
    leads = [n.lead("jobs") for n in nodes] + [stranger.lead("jobs")]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")
    check(nodes[0].json("candidates", "jobs")["candidates"] == ["n1", "n2"], "candidates leak the stranger")


@test
def sigterm_handover(env):
    """SIGTERM of the leader's daemon hands over at once: the others see it
    leave (state left), not fail, and batond exits 0."""
    nodes, _ = cluster(env, profile="lan")
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1", timeout=120)
    settle(nodes, leads, "jobs", timeout=120)
    t0 = time.monotonic()
    nodes[0].signal(signal.SIGTERM)
    rc = nodes[0].proc.wait(timeout=30)
    exited = time.monotonic() - t0
    check(rc == 0, "batond exited %d on SIGTERM" % rc)
    leads[1].wait_event("elected", timeout=120)
    took = time.monotonic() - t0
    agree(nodes[1:], "jobs", "n2")
    for n in nodes[1:]:
        st = n.members()["n1"]["state"]
        check(st == "left", "%s sees n1 as %s, not left" % (n.name, st))
    check(nodes[0].sanitizer_clean(), "sanitizer report in n1's log")
    print("SIGTERM: batond exited after %.3f s; n2 elected after %.3f s (lan profile)" % (exited, took))


@test
def garbage(env):
    """Garbage on the client socket (and an oversized line) changes nothing."""
    nodes, _ = cluster(env)
    n1 = nodes[0]

    def talk(lines):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect(n1.sock)
        s.sendall(b"".join(lines))
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        s.close()
        return [json.loads(x) for x in out.split(b"\n") if x.strip()]

    replies = talk([b"\x00\xff\xfe garbage\n", b"{not json\n", b"[1,2]\n", b'{"op":5}\n',
                    b'{"op":"lead"}\n', b'{"op":"lead","name":""}\n', b'{"op":"lead","name":"x","priority":"high"}\n',
                    b'{"op":"nope","id":9}\n', b'{"op":"keyring_use","key":"abc"}\n',
                    b'{"op":"hello","id":1,"id":2}\n', b'\n', b'{"op":"hello","id":"last"}\n'])
    errs = [r.get("error") for r in replies]
    check(errs == ["bad_json", "bad_json", "bad_json", "bad_request", "bad_request", "bad_request",
                   "bad_request", "unknown_op", "invalid_argument", "bad_json", None],
          "replies to garbage: %r" % errs)
    check(replies[7]["id"] == 9 and replies[-1]["id"] == "last" and replies[-1]["ok"], "ids: %r" % replies)
    # An oversized line: line_too_long, then the daemon closes.
    replies = talk([b"{" + b"x" * 70000 + b"\n"])
    check([r.get("error") for r in replies] == ["line_too_long"], "oversized line: %r" % replies)
    # Random bytes, a lot of them.
    rnd = os.urandom(1 << 20)
    try:
        talk([rnd])
    except (OSError, ValueError):
        pass
    # Garbage on the cluster port too: UDP and TCP.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(200):
        u.sendto(os.urandom(1 + i * 7 % 1400), ("127.0.0.1", n1.port))
    u.close()
    t = socket.create_connection(("127.0.0.1", n1.port), timeout=10)
    try:
        t.sendall(os.urandom(100000))
    except OSError:
        pass
    t.close()
    check(n1.proc.poll() is None, "batond died")
    check(n1.alive() == ["n1", "n2", "n3"], "membership changed: %r" % n1.alive())
    st = n1.status()
    check(st["dropped"]["client_bad_requests"] >= 9 and st["dropped"]["client_long_lines"] >= 1,
          "client drops not counted: %r" % st["dropped"])
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")


@test
def key_rotation(env):
    """install, use, remove across a running cluster: no member lost."""
    nodes, old = cluster(env)
    new = env.keygen()
    leads = [n.lead("jobs") for n in nodes]
    for lead in leads:
        lead.first()
    agree(nodes, "jobs", "n1")

    def all_alive():
        # Lost means dead, left or gone; a passing suspicion on a loaded
        # machine is not a loss (it would turn into a death if the keys
        # did not match).
        for n in nodes:
            states = {name: m["state"] for name, m in n.members().items()}
            check(sorted(states) == ["n1", "n2", "n3"] and
                  all(st in ("alive", "suspect") for st in states.values()),
                  "%s sees %r" % (n.name, states))

    for step, key in (("install", new), ("use", new), ("remove", old)):
        for n in nodes:
            r = n.cli("keyring", step, key)
            check(r.returncode == 0, "keyring %s on %s: %s" % (step, n.name, r.stderr))
            all_alive()
        # Let a few protocol periods pass with the new keyring in place.
        end = time.monotonic() + 2
        while time.monotonic() < end:
            all_alive()
            time.sleep(0.2)
    for n in nodes:
        wait_until(lambda n=n: n.alive() == ["n1", "n2", "n3"], 60, "%s to see all alive" % n.name)
    for n in nodes:
        keys = n.json("keyring", "list")["keys"]
        check(keys == [{"key": new, "primary": True}], "%s keyring: %r" % (n.name, keys))
        with open(n.keyring) as f:
            lines = [x.strip() for x in f if x.strip() and not x.startswith("#")]
        check(lines == [new], "%s keyring file: %r" % (n.name, lines))
        check(n.cli("keyring", "remove", new).returncode == 1, "removing the primary was accepted")
    agree(nodes, "jobs", "n1")
    # A newcomer with only the new key joins.
    n4 = env.node("n4", keyring=env.keyring("n4.keys", new), join=[nodes[1]])
    n4.start()
    wait_until(lambda: "n4" in nodes[0].alive(), 60, "n4 (new key only) to join")
    # SIGHUP reloads the file: add a third key to n1's file.
    extra = env.keygen()
    with open(nodes[0].keyring, "a") as f:
        f.write(extra + "\n")
    nodes[0].signal(signal.SIGHUP)
    wait_until(lambda: len(nodes[0].json("keyring", "list")["keys"]) == 2, 30, "SIGHUP to load the key")
    keys = nodes[0].json("keyring", "list")["keys"]
    check(keys[0] == {"key": new, "primary": True} and keys[1]["key"] == extra, "after SIGHUP: %r" % keys)
    # A keyring file that does not parse changes nothing.
    with open(nodes[1].keyring, "w") as f:
        f.write("this is not a key\n")
    nodes[1].signal(signal.SIGHUP)
    wait_until(lambda: "the keyring is unchanged" in open(nodes[1].log, errors="replace").read(), 30,
               "n2 to log the failed reload")
    check(nodes[1].json("keyring", "list")["keys"] == [{"key": new, "primary": True}],
          "a bad keyring file changed the keyring")
    check(nodes[1].proc.poll() is None, "n2 died on a bad keyring file")
    agree(nodes, "jobs", "n1")


@test
def name_conflict(env):
    """A second batond under a node name the cluster already has: of the two
    processes, the one with the greater boot id keeps the name (every node
    judges alike, docs/membership.md); the other stops with exit 1 and says
    why, and the cluster sees one n2, alive."""
    nodes, key = cluster(env, n=2)
    holder = nodes[1]
    lead = holder.lead("jobs", "--priority", "9")
    lead.first()
    agree(nodes, "jobs", "n2")
    boot = nodes[0].members()["n2"]["boot_id"]
    twin = env.node("n2", keyring=env.keyring("twin.keys", key), join=[nodes[0]], files="n2-twin")
    twin.start(wait=False)
    wait_until(lambda: holder.proc.poll() is not None or twin.proc.poll() is not None, 120,
               "one of the two n2 processes to stop")
    loser, survivor = (twin, holder) if twin.proc.poll() is not None else (holder, twin)
    check(loser.proc.wait(timeout=30) == 1, "the refused process exited %d, not 1" % loser.proc.returncode)
    with open(loser.log, errors="replace") as f:
        text = f.read()
    check("ECONFLICT" in text, "the refused process's log does not name the conflict")
    check(loser.sanitizer_clean(), "sanitizer report in the refused process's log")
    check(survivor.proc.poll() is None, "both n2 processes stopped")

    def one_n2():
        m = nodes[0].members()["n2"]
        same = m["boot_id"] == boot
        return m["state"] == "alive" and (same if survivor is holder else not same)

    wait_until(one_n2, 30, "n1 to see the surviving n2")
    if survivor is holder:
        agree(nodes, "jobs", "n2")
        check(lead.proc.poll() is None, "the holder's candidacy ended")
    else:  # the holder's daemon stopped, so its client's candidacy ended
        check(lead.proc.wait(timeout=30) == 1, "baton lead did not exit 1 when its daemon stopped")


@test
def python_client(env):
    """The standard-library Python client speaks the whole protocol."""
    sys.path.insert(0, env.examples)
    from baton_client import BatonError, Client

    n1 = env.node("n1", insecure=True).start()
    with Client(n1.sock) as a, Client(n1.sock) as b, Client(n1.sock) as w:
        h = a.hello()
        check(h["node"] == "n1" and h["protocol"] == 1, "hello: %r" % h)
        w.watch("jobs")
        ev = w.next_event(30)
        check(ev == {"event": "leader", "name": "jobs", "node": None}, "first watch event: %r" % ev)
        r = wait_until(lambda: a.lead("jobs"), 30, "lead to answer")
        if r["role"] == "follower":  # sync before minting: elected comes later
            ev = a.next_event(60)
            check(ev["event"] == "elected", "expected elected, got %r" % ev)
            token = int(ev["fence"])
        else:
            token = int(r["fence"])
        check(a.fence("jobs") == token, "fence differs from the term's token")
        check(a.leader("jobs") == ("n1", h["session"]), "leader: %r" % (a.leader("jobs"),))
        check(b.is_leader("jobs") is True, "is_leader")
        ev = w.next_event(30)
        check(ev["event"] == "leader" and ev["node"] == "n1" and ev["candidate"] == h["session"],
              "watch event: %r" % ev)
        try:
            b.lead("jobs")
            raise Failure("a duplicate lead was accepted")
        except BatonError as e:
            check(e.error == "already_candidate", "duplicate: %s" % e.error)
        check(a.candidates("jobs") == ["n1"], "candidates")
        check("jobs" in a.names(), "names")
        check(a.high_water("jobs") >= token, "high_water")
        check(a.high_water("nothing") is None, "high_water of an unknown name")
        check([m["name"] for m in a.members()] == ["n1"], "members")
        st = a.status()
        check(st["node"] == "n1" and st["encrypted"] is False and st["leading"][0]["name"] == "jobs",
              "status: %r" % st)
        try:
            b.resign("jobs")
            raise Failure("resign from another session was accepted")
        except BatonError as e:
            check(e.error == "not_candidate", "resign elsewhere: %s" % e.error)
        a.resign("jobs")
        ev = w.next_event(30)
        check(ev == {"event": "leader", "name": "jobs", "node": None}, "after resign: %r" % ev)
        check(a.fence("jobs") is None and a.leader("jobs") is None, "still a leader after resign")
        try:
            a.keyring_list()
            raise Failure("keyring on an insecure node")
        except BatonError as e:
            check(e.error == "invalid_argument", "keyring insecure: %s" % e.error)
        # b campaigns now and leads; closing b's connection ends it.
        b.lead("jobs", priority=3)
        wait_until(lambda: a.leader("jobs") is not None, 30, "b to lead")
    with Client(n1.sock) as c:
        wait_until(lambda: c.leader("jobs") is None, 30, "the closed session's candidacy to end")
        # A resource refused our token and reports its mark: the term ends
        # and a new one above the mark follows.
        r = c.lead("fenced")
        if r["role"] == "follower":
            token = int(c.next_event(60)["fence"])
        else:
            token = int(r["fence"])
        c.observe_fence("fenced", token)
        ev = c.next_event(60)
        check(ev["event"] == "revoked" and int(ev["fence"]) == token, "after observe_fence: %r" % ev)
        ev = c.next_event(60)
        check(ev["event"] == "elected" and int(ev["fence"]) > token, "after the revoke: %r" % ev)
        # The minter names this process: the node, '#', its boot in hex.
        minter = ev.get("minter", "")
        check(re.fullmatch(r"n1#[0-9a-f]{16}", minter) is not None, "minter %r" % minter)
        # The same token admitted from a twin (another process claiming the
        # name n1, another boot): the term ends and one above it follows.
        token = int(ev["fence"])
        twin = "n1#%016x" % (int(minter[3:], 16) ^ 1)
        c.observe_fence("fenced", token, minter=twin)
        ev = c.next_event(60)
        check(ev["event"] == "revoked" and int(ev["fence"]) == token, "after a twin's mark: %r" % ev)
        ev = c.next_event(60)
        check(ev["event"] == "elected" and int(ev["fence"]) > token, "after the twin: %r" % ev)
        for bad in ("n1", "n1#0000000000000000", "n1#00000000000000FF", 7):
            try:
                c.observe_fence("fenced", token, minter=bad)
                raise Failure("minter %r was accepted" % (bad,))
            except BatonError as e:
                check(e.error == "bad_request", "minter %r: %s" % (bad, e.error))
        # A mark far ahead of the local clock is refused.
        far = (int(time.time() * 1000) + 3600 * 1000) << 16
        try:
            c.observe_fence("fenced", far)
            raise Failure("a mark an hour ahead was accepted")
        except BatonError as e:
            check(e.error == "clock_ahead", "far mark: %s" % e.error)


@test
def run_command(env):
    """`baton run`: CMD only while leading, restarted with the new token."""
    key = env.keygen()
    n1 = env.node("n1", keyring=env.keyring("n1.keys", key)).start()
    n2 = env.node("n2", keyring=env.keyring("n2.keys", key), join=[n1]).start()
    wait_until(lambda: n1.alive() == ["n1", "n2"] and n2.alive() == ["n1", "n2"], 60, "two nodes")
    log = env.path("cmd.log")
    script = ('echo "start $BATON_NAME $BATON_FENCE $BATON_MINTER" >> %s; trap \'echo term >> %s; exit 0\' TERM; '
              'while :; do sleep 0.1; done' % (log, log))
    run = env.spawn([env.baton, "--socket", n2.sock, "run", "jobs", "--grace", "5", "--", "sh", "-c", script],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def log_lines():
        try:
            with open(log) as f:
                return [x.split() for x in f]
        except OSError:
            return []
    wait_until(lambda: len(log_lines()) >= 1, 60, "the command to start")
    first = log_lines()[0]
    check(first[:2] == ["start", "jobs"] and int(first[2]) > 0, "first start: %r" % first)
    check(len(first) == 4 and re.fullmatch(r"n2#[0-9a-f]{16}", first[3]) is not None,
          "first start's minter: %r" % first)
    # n1 campaigns with a higher priority: n2 is revoked, CMD gets SIGTERM.
    boss = n1.lead("jobs", "--priority", "10")
    boss.first()
    wait_until(lambda: len(log_lines()) >= 2, 60, "the command to be stopped")
    check(log_lines()[1] == ["term"], "after revoke: %r" % log_lines())
    # n1 resigns: n2 leads again, CMD restarts with a greater token.
    boss.proc.send_signal(signal.SIGINT)
    check(boss.proc.wait(timeout=30) == 0, "baton lead did not exit 0")
    wait_until(lambda: len(log_lines()) >= 3 and log_lines()[-1][0] == "start", 60, "the command to restart")
    third = log_lines()[-1]
    check(int(third[2]) > int(first[2]), "restart: %r after %r" % (third, first))
    # SIGTERM to baton run: CMD stopped, exit 0.
    run.send_signal(signal.SIGTERM)
    check(run.wait(timeout=30) == 0, "baton run did not exit 0 on SIGTERM")
    check(log_lines()[-1] == ["term"], "CMD not stopped: %r" % log_lines())
    wait_until(lambda: n1.leader("jobs") is None, 30, "the resign to reach n1")
    # CMD exiting on its own: baton exits with its status.
    r = subprocess.run([env.baton, "--socket", n1.sock, "run", "once", "--", "sh", "-c", "exit 7"],
                       capture_output=True, timeout=120)
    check(r.returncode == 7, "run of exit 7 returned %d: %s" % (r.returncode, r.stderr))
    wait_until(lambda: n1.leader("once") is None, 30, "run to resign after CMD exited")
    # The daemon going away: CMD is stopped and baton run exits 1.
    pidfile = env.path("pid")
    run = env.spawn([env.baton, "--socket", n1.sock, "run", "svc", "--", "sh", "-c",
                     "echo $$ > %s; exec sleep 1000" % pidfile],
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 60, "svc to start")
    pid = int(open(pidfile).read())
    n1.signal(signal.SIGKILL)
    check(run.wait(timeout=60) == 1, "baton run did not exit 1 when the daemon went away")
    wait_until(lambda: not os.path.exists("/proc/%d" % pid) or
               open("/proc/%d/stat" % pid).read().split()[2] == "Z", 30, "CMD to be stopped")


@test
def cli_contract(env):
    """Help, usage errors, exit codes, keygen, the socket's mode, the config
    file and metrics."""
    b = env.baton

    def run(*args, **kw):
        return subprocess.run([b] + list(args), capture_output=True, text=True, timeout=60, **kw)
    r = run("--help")
    check(r.returncode == 0 and "usage: baton" in r.stdout, "baton --help")
    for cmd in ("keygen", "lead", "run", "leader", "candidates", "fence", "high-water", "names",
                "members", "status", "watch", "keyring"):
        r = run(cmd, "--help")
        check(r.returncode == 0 and r.stdout.startswith("usage: baton " + cmd), "%s --help: %r" % (cmd, r.stdout[:80]))
        r2 = run("help", cmd)
        check(r2.stdout == r.stdout, "help %s differs from %s --help" % (cmd, cmd))
    for args in (["nope"], ["leader"], ["leader", "a", "b"], ["lead", "x", "--priority", "high"],
                 ["run", "x"], ["fence", "x", "--grace", "1"], ["keyring", "spin"], []):
        r = run(*args)
        check(r.returncode == 2, "usage error %r exited %d" % (args, r.returncode))
    r = run("keygen")
    key = r.stdout.strip()
    check(r.returncode == 0 and len(key) == 44 and len(base64.b64decode(key)) == 32, "keygen: %r" % r.stdout)
    check(run("keygen").stdout.strip() != key, "two keygens gave the same key")
    missing = env.path("nobody.sock")
    r = run("--socket", missing, "leader", "x")
    check(r.returncode == 1 and "cannot reach batond" in r.stderr, "unreachable: %d %r" % (r.returncode, r.stderr))
    r = run("leader", "x", env={"BATON_SOCKET": missing, "PATH": os.environ.get("PATH", "")})
    check(r.returncode == 1 and missing in r.stderr, "BATON_SOCKET ignored: %r" % r.stderr)
    # batond refuses to start without a key.
    r = subprocess.run([env.batond, "--name", "x", "--bind", "127.0.0.1:1"], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 2 and "without a key" in r.stderr, "batond without a key: %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([env.batond, "--help"], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and "usage: batond" in r.stdout, "batond --help")
    # A config file, with a flag over it.
    mport = free_port()
    conf = env.path("batond.conf")
    port = free_port()
    with open(conf, "w") as f:
        f.write("[batond]\nname = from-file\nbind = 127.0.0.1:%d\nprofile = local\n"
                "insecure-no-encryption = true\nsocket = %s\nmetrics = 127.0.0.1:%d\n"
                % (port, env.path("conf.sock"), mport))
    n = env.node("from-flag", port=port, extra=["--config", conf])
    n.argv = lambda: [env.batond, "--config", conf, "--name", "from-flag", "--log-level", "debug"]
    n.sock = env.path("conf.sock")
    n.start()
    st = n.status()
    check(st["node"] == "from-flag" and st["profile"] == "local" and st["address"].endswith(":%d" % port),
          "config + flags: %r" % st)
    mode = stat.S_IMODE(os.stat(n.sock).st_mode)
    check(mode == 0o600, "socket mode %o" % mode)
    # The example config in dist/ parses (everything machine-specific overridden).
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    dport = free_port()
    d = env.node("dist-example", port=dport)
    d.argv = lambda: [env.batond, "--config", os.path.join(root, "dist", "batond.conf"),
                      "--name", "dist-example", "--bind", "127.0.0.1:%d" % dport,
                      "--advertise", "127.0.0.1:%d" % dport, "--join", n.addr,
                      "--keyring", env.keyring("dist.keys", env.keygen()), "--socket", d.sock,
                      "--metrics", "127.0.0.1:%d" % free_port()]
    d.start()
    check(d.status()["profile"] == "lan", "dist/batond.conf: profile %r" % d.status()["profile"])
    d.signal(signal.SIGTERM)
    check(d.proc.wait(timeout=30) == 0, "the dist-example daemon did not exit 0")
    # Empty answers exit 3.
    for args, msg in ((["leader", "none"], "no leader"), (["fence", "none"], "not leader"),
                      (["high-water", "none"], "no high-water mark"), (["candidates", "none"], "no candidates")):
        r = n.cli(*args)
        check(r.returncode == 3 and msg in r.stderr, "%r: %d %r" % (args, r.returncode, r.stderr))
    check(n.cli("names").returncode == 0, "names")
    r = n.cli("members")
    check(r.returncode == 0 and "from-flag" in r.stdout and "alive" in r.stdout, "members: %r" % r.stdout)
    r = n.cli("status")
    check(r.returncode == 0 and "from-flag" in r.stdout and "dropped" in r.stdout, "status: %r" % r.stdout)
    # A second daemon on the same socket refuses to start.
    r = subprocess.run([env.batond, "--name", "twin", "--bind", "127.0.0.1:%d" % free_port(),
                        "--insecure-no-encryption", "--socket", n.sock], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 1 and "another batond" in r.stderr, "second daemon: %d %r" % (r.returncode, r.stderr))
    # Metrics over HTTP.
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=30).read().decode()
    for line in ('baton_members{state="alive"} 1', "baton_terms_minted_total", "baton_packets_in_total",
                 'baton_dropped_total{cause="auth_failed"}', "baton_pushpulls_total",
                 "baton_clock_refusals_total", "baton_leaders_held", "baton_names", "baton_revocations_total"):
        check(line in body, "metrics lack %r" % line)
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % mport, timeout=30)
        raise Failure("/other answered")
    except urllib.error.HTTPError as e:
        check(e.code == 404, "/other: %d" % e.code)
    # watch pushes the current leader, then changes.
    w = env.spawn([b, "--socket", n.sock, "watch", "w"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    from harness import LineReader
    out = LineReader(w.stdout)
    check(json.loads(out.next(30)) == {"name": "w", "node": None}, "first watch line")
    lead = n.lead("w")
    lead.first()
    j = json.loads(out.next(60))
    check(j["name"] == "w" and j["node"] == "from-flag", "watch after lead: %r" % j)
    lead.proc.send_signal(signal.SIGTERM)
    check(lead.proc.wait(timeout=30) == 0, "lead exit on SIGTERM")
    check(json.loads(out.next(60)) == {"name": "w", "node": None}, "watch after resign")
    w.send_signal(signal.SIGINT)
    check(w.wait(timeout=30) == 0, "watch exit on SIGINT")
    n.signal(signal.SIGTERM)
    check(n.proc.wait(timeout=30) == 0, "batond exit on SIGTERM")
    check(not os.path.exists(n.sock), "socket left behind")
    check(n.sanitizer_clean(), "sanitizer report in the log")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batond", required=True)
    ap.add_argument("--baton", required=True)
    ap.add_argument("--examples", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..", "..", "examples", "python"))
    ap.add_argument("test", choices=sorted(TESTS))
    a = ap.parse_args()
    env = Env(os.path.abspath(a.batond), os.path.abspath(a.baton), a.test)
    env.examples = os.path.abspath(a.examples)
    failed = True
    try:
        TESTS[a.test](env)
        env.stop_nodes()
        failed = False
    except Failure as e:
        print("FAIL %s: %s" % (a.test, e), file=sys.stderr)
    finally:
        env.cleanup(failed)
    if not failed:
        print("PASS %s" % a.test)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
