#!/usr/bin/env python3
"""baton's benchmarks, with etcd measured in the same run.

    bench.py --build DIR [--trials N] [--big N] [--out DIR] [--readme FILE] [--no-etcd]
    bench.py --build DIR --kill-only [--trials N]   (baton's crash failover alone)

DIR holds release builds of batond, baton and leadbench (make bench makes
them in build-bench/). Everything runs on loopback in a temporary
directory, and is stopped and deleted at the end. Measured:

- crash failover: SIGKILL of the leader's daemon (5 batond, local
  profile), from the signal until every survivor's watch reports the new
  leader; the daemon is restarted under its name between trials;
- graceful handover: SIGTERM of the leader's daemon, and `resign` of the
  leading session, measured the same way;
- propagation: a new candidacy on one node, until every node's watch
  reports it, on 5 and on --big daemons;
- lead+resign operations per second through the daemon (one client
  session) and through the C API (bench/leadbench.c, a sixth node);
- RSS and CPU of each daemon, idle and with 10 000 names;
- etcd (a 3-member cluster on loopback, heartbeat 10 ms, election
  timeout 100 ms): `etcdctl lock --ttl 1` (the shortest session TTL
  etcdctl takes, in whole seconds) crash failover (SIGKILL of the holder,
  until a waiter prints that it holds the lock) and handover (SIGTERM of
  the holder); `etcdctl elect` handover (SIGTERM of the leader) and crash
  failover (SIGKILL; etcdctl elect has no --ttl, so its lease is etcd's
  60 s default: --elect-kill-trials, 3 by default), until every member's
  `etcdctl elect -l` observer prints the new leader.

Writes bench/results/<date>.json (machine, date, commit, every figure and
every sample), bench/results/failover.svg (the distributions side by
side) and replaces the table between the bench markers of the README.
"""

import argparse
import datetime
import json
import os
import platform
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples", "python"))
from baton_client import BatonError, Client  # noqa: E402

procs = []


def spawn(argv, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    procs.append(p)
    return p


def free_port():
    while True:
        t = socket.socket()
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()


def wait_until(pred, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, BatonError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(interval)


def pct(xs, p):
    s = sorted(xs)
    if not s:
        return None
    k = (len(s) - 1) * p / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summary(xs):
    return {"n": len(xs), "p50_ms": round(pct(xs, 50) * 1000, 2), "p99_ms": round(pct(xs, 99) * 1000, 2),
            "max_ms": round(max(xs) * 1000, 2), "min_ms": round(min(xs) * 1000, 2)}


# ---------------------------------------------------------------------------
# baton

class Daemon:
    def __init__(self, cl, name):
        self.cl, self.name = cl, name
        self.port = free_port()
        self.sock = os.path.join(cl.dir, name + ".sock")
        self.log = os.path.join(cl.dir, name + ".log")
        self.proc = None

    def start(self, join):
        argv = [self.cl.batond, "--name", self.name, "--bind", "127.0.0.1:%d" % self.port, "--socket",
                self.sock, "--profile", "local", "--keyring", self.cl.keyring, "--log-level", "warn"]
        for j in join:
            argv += ["--join", "127.0.0.1:%d" % j.port]
        with open(self.log, "ab") as f:
            self.proc = spawn(argv, stdout=f, stderr=subprocess.STDOUT)
        wait_until(lambda: self.client(2).close() or True, 30, "batond %s" % self.name)

    def client(self, timeout=30):
        return Client(self.sock, timeout=timeout)


class Cluster:
    def __init__(self, bindir, top, n):
        self.batond = os.path.join(bindir, "batond")
        self.dir = tempfile.mkdtemp(prefix="baton-bench-", dir=top)
        key = subprocess.run([os.path.join(bindir, "baton"), "keygen"], capture_output=True, text=True,
                             check=True).stdout
        self.keyring = os.path.join(self.dir, "keyring")
        with open(self.keyring, "w") as f:
            f.write(key)
        os.chmod(self.keyring, 0o600)
        self.nodes = [Daemon(self, "n%02d" % (i + 1)) for i in range(n)]
        for i, d in enumerate(self.nodes):
            d.start(self.nodes[:1] if i else [])
        for d in self.nodes:
            with d.client() as c:
                wait_until(lambda c=c: sum(m["state"] == "alive" for m in c.members()) == n, 120,
                           "%s to see %d alive" % (d.name, n))

    def stop(self):
        for d in self.nodes:
            if d.proc and d.proc.poll() is None:
                d.proc.send_signal(signal.SIGTERM)
        for d in self.nodes:
            if d.proc:
                try:
                    d.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    d.proc.kill()


class Watcher:
    """Watches NAME on one daemon; records (monotonic time, node) of every
    leader event after the first."""

    def __init__(self, daemon, name):
        self.c = daemon.client()
        self.c.watch(name)
        self.c.next_event(30)  # the current leader
        self.events = []
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            while True:
                ev = self.c.next_event(None)
                if ev is None:
                    return
                if ev.get("event") == "leader":
                    self.events.append((time.monotonic(), ev.get("node")))
        except (OSError, BatonError, ValueError, AttributeError):
            return

    def reported(self, node, since):
        for t, n in self.events:
            if t >= since and n == node:
                return t
        return None

    def close(self):
        try:
            self.c.close()
        except OSError:
            pass


def agree(nodes, name, leader, timeout=60):
    def ok():
        for d in nodes:
            with d.client(5) as c:
                if c.leader(name) is None or c.leader(name)[0] != leader:
                    return False
        return True
    wait_until(ok, timeout, "every node to see %s lead %s" % (leader, name), interval=0.05)


def until_all_report(watchers, node, t0, timeout=60):
    def done():
        ts = [w.reported(node, t0) for w in watchers]
        return max(ts) if all(t is not None for t in ts) else None
    t = wait_until(done, timeout, "every watcher to report %s" % node, interval=0.005)
    return t - t0


def bench_failover(cl, mode, trials, log):
    """mode: kill (SIGKILL of the leader's daemon), term (SIGTERM), resign."""
    name = "jobs"
    cands = {}
    for d in cl.nodes:
        c = d.client()
        c.lead(name)
        cands[d.name] = c
    first, second = cl.nodes[0], cl.nodes[1]
    out = []
    for i in range(trials):
        agree(cl.nodes, name, first.name)
        survivors = cl.nodes[1:] if mode != "resign" else cl.nodes
        watchers = [Watcher(d, name) for d in survivors]
        time.sleep(random.uniform(0.05, 0.25))  # not in step with the protocol period
        t0 = time.monotonic()
        if mode == "kill":
            first.proc.send_signal(signal.SIGKILL)
        elif mode == "term":
            first.proc.send_signal(signal.SIGTERM)
        else:
            cands[first.name].resign(name)
        took = until_all_report(watchers, second.name, t0)
        out.append(took)
        for w in watchers:
            w.close()
        if mode == "resign":
            cands[first.name].lead(name)
        else:
            first.proc.wait(timeout=30)
            cands[first.name].close()
            first.start(cl.nodes[1:2])
            c = first.client()
            c.lead(name)
            cands[first.name] = c
        log("  %s trial %d: %.1f ms" % (mode, i + 1, took * 1000))
    for c in cands.values():
        c.close()
    return out


def bench_propagation(cl, trials):
    out = []
    for i in range(trials):
        name = "prop-%d" % i
        watchers = [Watcher(d, name) for d in cl.nodes]
        src = random.choice(cl.nodes)
        c = src.client()
        time.sleep(random.uniform(0.05, 0.25))
        t0 = time.monotonic()
        c.lead(name)
        out.append(until_all_report(watchers, src.name, t0))
        for w in watchers:
            w.close()
        c.close()
    return out


def bench_ops_daemon(cl, seconds):
    with cl.nodes[0].client() as c:
        n = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            c.lead("ops")
            c.resign("ops")
            n += 1
        dt = time.monotonic() - t0
    return {"ops": n, "seconds": round(dt, 3), "ops_per_s": round(n / dt, 1)}


def bench_ops_capi(cl, bindir, seconds):
    exe = os.path.join(bindir, "bench", "leadbench")
    if not os.path.exists(exe):
        exe = os.path.join(bindir, "leadbench")
    r = subprocess.run([exe, "capi", "127.0.0.1:%d" % free_port(), str(seconds),
                        "--seed", "127.0.0.1:%d" % cl.nodes[0].port, "--key-file", cl.keyring],
                       capture_output=True, text=True, timeout=seconds + 120)
    if r.returncode != 0:
        raise RuntimeError("leadbench: %s" % r.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def proc_usage(pids, seconds):
    tck = os.sysconf("SC_CLK_TCK")

    def cpu(pid):
        with open("/proc/%d/stat" % pid) as f:
            w = f.read().rsplit(")", 1)[1].split()
        return int(w[11]) + int(w[12])

    def rss(pid):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0
    c0 = {p: cpu(p) for p in pids}
    t0 = time.monotonic()
    time.sleep(seconds)
    dt = time.monotonic() - t0
    out = []
    for p in pids:
        out.append({"rss_kib": rss(p), "cpu_pct": round(100.0 * (cpu(p) - c0[p]) / tck / dt, 2)})
    return out


def bench_resources(cl, names, seconds):
    pids = [d.proc.pid for d in cl.nodes]
    idle = proc_usage(pids, seconds)
    holder = cl.nodes[0].client(120)
    t0 = time.monotonic()
    for i in range(names):
        holder.lead("name-%05d" % i)
    led = time.monotonic() - t0
    for d in cl.nodes:
        with d.client(120) as c:
            wait_until(lambda c=c: len(c.names()) >= names, 900, "%s to know %d names" % (d.name, names),
                       interval=0.5)
    known = time.monotonic() - t0
    loaded = proc_usage(pids, seconds)
    holder.close()
    return {"idle": idle, "names": names, "with_names": loaded, "lead_all_s": round(led, 2),
            "all_nodes_know_s": round(known, 2)}


# ---------------------------------------------------------------------------
# etcd

class Etcd:
    def __init__(self, top, n=3):
        self.dir = tempfile.mkdtemp(prefix="etcd-bench-", dir=top)
        self.members = []
        for i in range(n):
            self.members.append(("e%d" % (i + 1), free_port(), free_port()))
        initial = ",".join("%s=http://127.0.0.1:%d" % (m, p) for m, _, p in self.members)
        self.procs = []
        for m, cport, pport in self.members:
            argv = ["etcd", "--name", m, "--data-dir", os.path.join(self.dir, m),
                    "--listen-client-urls", "http://127.0.0.1:%d" % cport,
                    "--advertise-client-urls", "http://127.0.0.1:%d" % cport,
                    "--listen-peer-urls", "http://127.0.0.1:%d" % pport,
                    "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % pport,
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--initial-cluster-token", "bench-%d" % os.getpid(),
                    "--heartbeat-interval", "10", "--election-timeout", "100",
                    "--logger", "zap", "--log-level", "error"]
            with open(os.path.join(self.dir, m + ".log"), "ab") as f:
                self.procs.append(spawn(argv, stdout=f, stderr=subprocess.STDOUT))
        self.endpoints = ["127.0.0.1:%d" % c for _, c, _ in self.members]
        wait_until(lambda: self.ctl("endpoint", "health", "--endpoints", ",".join(self.endpoints)).returncode == 0,
                   60, "etcd to be healthy", interval=0.2)

    def env(self):
        e = dict(os.environ)
        e["ETCDCTL_API"] = "3"
        return e

    def ctl(self, *args):
        return subprocess.run(["etcdctl"] + list(args), capture_output=True, text=True, timeout=60, env=self.env())

    def spawn_ctl(self, endpoint, *args):
        p = spawn(["etcdctl", "--endpoints", endpoint] + list(args), stdout=subprocess.PIPE,
                  stderr=subprocess.DEVNULL, env=self.env())
        q = queue.Queue()

        def reader():
            for raw in iter(p.stdout.readline, b""):
                q.put((time.monotonic(), raw.decode(errors="replace").strip()))
            q.put((time.monotonic(), None))
        threading.Thread(target=reader, daemon=True).start()
        return p, q

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def etcd_lock(etcd, mode, trials, log):
    """Contenders `etcdctl lock --ttl 1`, one per member. The holder prints
    the lock's key. kill: SIGKILL of the holder; term: SIGTERM. Until a
    waiter prints its key."""
    name = "jobs-lock-%s" % mode
    cont = []
    for i, ep in enumerate(etcd.endpoints):
        cont.append(etcd.spawn_ctl(ep, "lock", "--ttl", "1", name))
        time.sleep(0.1)

    def holder(timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, (p, q) in enumerate(cont):
                try:
                    t, line = q.get_nowait()
                except queue.Empty:
                    continue
                if line:
                    return i, t
            time.sleep(0.001)
        raise RuntimeError("no lock holder")
    h, _ = holder(30)
    out = []
    for k in range(trials):
        time.sleep(random.uniform(0.3, 0.6))
        p, _ = cont[h]
        t0 = time.monotonic()
        p.send_signal(signal.SIGKILL if mode == "kill" else signal.SIGTERM)
        nh, t1 = holder(120)
        out.append(t1 - t0)
        p.wait(timeout=30)
        cont[h] = etcd.spawn_ctl(etcd.endpoints[h], "lock", "--ttl", "1", name)
        log("  etcd lock %s trial %d: %.1f ms" % (mode, k + 1, (t1 - t0) * 1000))
        h = nh
    for p, _ in cont:
        p.kill()
    return out


def etcd_elect(etcd, mode, trials, log):
    """Contenders `etcdctl elect NAME pN`, one per member, and one observer
    `etcdctl elect -l NAME` per member. SIGTERM (mode term) or SIGKILL
    (kill) of the leader, until every observer prints the new leader's
    proposal. etcdctl elect has no --ttl: its session lease is etcd's
    default (60 s), so a kill -9 waits for that lease to expire."""
    name = "jobs-elect-%s" % mode
    props = {}
    seq = [0]

    def contender(i):
        seq[0] += 1
        prop = "p%d" % seq[0]
        props[i] = (etcd.spawn_ctl(etcd.endpoints[i], "elect", name, prop), prop)

    for i in range(len(etcd.endpoints)):
        contender(i)
        time.sleep(0.1)
    observers = [etcd.spawn_ctl(ep, "elect", "-l", name) for ep in etcd.endpoints]
    seen = [[] for _ in observers]

    def pump():
        for k, (_, q) in enumerate(observers):
            while True:
                try:
                    t, line = q.get_nowait()
                except queue.Empty:
                    break
                if line:
                    seen[k].append((t, line))

    def leader_now():
        pump()
        lasts = [s[-1][1] if s else None for s in seen]
        if lasts[0] is not None and all(x == lasts[0] for x in lasts):
            return lasts[0]
        return None
    out = []
    for k in range(trials):
        cur = wait_until(leader_now, 60, "etcd observers to agree")
        time.sleep(random.uniform(0.3, 0.6))
        h = next(i for i, (_, prop) in props.items() if prop == cur)
        p = props[h][0][0]
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM if mode == "term" else signal.SIGKILL)

        def all_moved():
            pump()
            ts = []
            for s in seen:
                t = next((t for t, line in s if t >= t0 and line in [pr for _, pr in props.values()] and
                          line != cur), None)
                if t is None:
                    return None
                ts.append(t)
            return max(ts)
        t1 = wait_until(all_moved, 120, "etcd observers to report a new leader", interval=0.002)
        out.append(t1 - t0)
        p.wait(timeout=30)
        contender(h)
        log("  etcd elect %s trial %d: %.1f ms" % (mode, k + 1, (t1 - t0) * 1000))
    for (p, _), _ in props.values():
        p.kill()
    for p, _ in observers:
        p.kill()
    return out


# ---------------------------------------------------------------------------
# output

COLORS = {"baton kill -9": "#c0392b", "baton SIGTERM": "#2980b9", "baton resign": "#27ae60",
          "etcd lock kill -9": "#8e44ad", "etcd lock SIGTERM": "#d35400", "etcd elect SIGTERM": "#7f8c8d",
          "etcd elect kill -9": "#000000"}


def svg_cdf(series, path):
    """Cumulative distributions of the failover samples, log-scaled x."""
    import math
    w, h, left, right, top, bottom = 760, 420, 70, 210, 30, 50
    allv = [v * 1000 for xs in series.values() for v in xs]
    lo = 10 ** math.floor(math.log10(max(min(allv), 0.01)))
    hi = 10 ** math.ceil(math.log10(max(allv)))

    def x(ms):
        return left + (math.log10(max(ms, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * \
            (w - left - right)

    def y(f):
        return top + (1 - f) * (h - top - bottom)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
           'font-size="12">' % (w, h), '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="18" font-size="14">Failover and handover, 5 batond (local profile) and 3-member '
           'etcd, loopback: CDF</text>' % left]
    d = lo
    while d <= hi * 1.0001:
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x(d), top, x(d), h - bottom))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%g ms</text>' % (x(d), h - bottom + 16, d))
        d *= 10
    for f in (0, 0.5, 0.99, 1):
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (left, y(f), w - right, y(f)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (left - 6, y(f) + 4, f))
    out.append('<text x="%d" y="%d" text-anchor="middle">from the signal until every survivor reports '
               'the new leader (log scale)</text>' % ((left + w - right) // 2, h - 12))
    for k, (label, xs) in enumerate(series.items()):
        s = sorted(v * 1000 for v in xs)
        pts = []
        for i, v in enumerate(s):
            pts.append("%.1f,%.1f" % (x(v), y(i / len(s))))
            pts.append("%.1f,%.1f" % (x(v), y((i + 1) / len(s))))
        col = COLORS.get(label, "#000")
        out.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (col, " ".join(pts)))
        ly = top + 10 + 20 * k
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>' %
                   (w - right + 12, ly, w - right + 32, ly, col))
        out.append('<text x="%d" y="%d">%s (n=%d)</text>' % (w - right + 38, ly + 4, label, len(s)))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def table(res, cmd):
    f = res["failover"]
    lines = ["Made by `%s` on %s, commit `%s` (%s, %d cores, load average %s at the start)." %
             (cmd, res["date"], res["commit"], res["machine"]["cpu"], res["machine"]["cores"],
              res["machine"]["loadavg"]), "",
             "| measurement | p50 | p99 | max | trials |", "|---|---|---|---|---|"]
    for label, s in f.items():
        lines.append("| %s | %.1f ms | %.1f ms | %.1f ms | %d |" % (label, s["p50_ms"], s["p99_ms"], s["max_ms"], s["n"]))
    ratios = res.get("ratios", {})
    if ratios:
        lines.append("")
        lines.append("| ratio (etcd / baton) | p50 | p99 |")
        lines.append("|---|---|---|")
        for label, r in ratios.items():
            lines.append("| %s | %.1f× | %.1f× |" % (label, r["p50"], r["p99"]))
    lines.append("")
    lines.append("| other | value |")
    lines.append("|---|---|")
    for label, s in res["propagation"].items():
        lines.append("| new candidacy to every node, %s | p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d trials) |" %
                     (label, s["p50_ms"], s["p99_ms"], s["max_ms"], s["n"]))
    lines.append("| lead+resign through batond (one session) | %.0f ops/s |" % res["ops"]["daemon"]["ops_per_s"])
    lines.append("| lead+resign through the C API | %.0f ops/s |" % res["ops"]["c_api"]["ops_per_s"])
    r = res["resources"]
    lines.append("| %d leads in one session, one after another | %.1f s (%.0f/s); every node knows them after %.1f s |" %
                 (r["names"], r["lead_all_s"], r["names"] / r["lead_all_s"], r["all_nodes_know_s"]))
    for key, label in (("idle", "idle"), ("with_names", "%d names" % r["names"])):
        rss = [x["rss_kib"] for x in r[key]]
        cpu = [x["cpu_pct"] for x in r[key]]
        lines.append("| per daemon, %s: RSS | %.1f–%.1f MiB |" % (label, min(rss) / 1024, max(rss) / 1024))
        lines.append("| per daemon, %s: CPU | %.1f–%.1f %% of a core |" % (label, min(cpu), max(cpu)))
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"host": platform.node(), "kernel": platform.release(), "cpu": cpu, "cores": os.cpu_count(),
            "loadavg": " ".join("%.2f" % x for x in os.getloadavg()),
            "etcd": subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
            if shutil.which("etcd") else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--big", type=int, default=50, help="daemons for the large propagation run")
    ap.add_argument("--names", type=int, default=10000)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    ap.add_argument("--no-etcd", action="store_true")
    ap.add_argument("--elect-kill-trials", type=int, default=3,
                    help="trials of etcdctl elect under kill -9 (each waits out a 60 s lease; default 3)")
    ap.add_argument("--command", default="make bench", help="the command named in the README")
    ap.add_argument("--kill-only", action="store_true",
                    help="measure only baton's crash failover (kill -9, 5 daemons) and print its summary; "
                         "writes no results and leaves the README alone")
    a = ap.parse_args()
    bindir = os.path.abspath(a.build)
    log = lambda s: print(s, flush=True)  # noqa: E731
    top = tempfile.mkdtemp(prefix="baton-bench-")
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "commit": commit, "machine": machine(), "trials": a.trials, "profile": "local"}
    samples = {}
    if a.kill_only:
        try:
            log("5 batond, local profile; load average %s" % res["machine"]["loadavg"])
            cl = Cluster(bindir, top, 5)
            kills = bench_failover(cl, "kill", a.trials, log)
            cl.stop()
        finally:
            for p in procs:
                if p.poll() is None:
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except OSError:
                        pass
            shutil.rmtree(top, ignore_errors=True)
        print(json.dumps({"baton kill -9": summary(kills), "commit": commit,
                          "loadavg_end": " ".join("%.2f" % x for x in os.getloadavg())}))
        return 0
    try:
        log("5 batond, local profile")
        cl = Cluster(bindir, top, 5)
        samples["baton kill -9"] = bench_failover(cl, "kill", a.trials, log)
        samples["baton SIGTERM"] = bench_failover(cl, "term", a.trials, log)
        samples["baton resign"] = bench_failover(cl, "resign", a.trials, log)
        prop5 = bench_propagation(cl, a.trials)
        res["ops"] = {"daemon": bench_ops_daemon(cl, 5), "c_api": bench_ops_capi(cl, bindir, 5)}
        log("  ops: %r" % res["ops"])
        res["resources"] = bench_resources(cl, a.names, 10)
        log("  resources: %r" % res["resources"])
        cl.stop()
        log("%d batond" % a.big)
        big = Cluster(bindir, top, a.big)
        propbig = bench_propagation(big, a.trials)
        big.stop()
        res["propagation"] = {"5 daemons": summary(prop5), "%d daemons" % a.big: summary(propbig)}
        samples["propagation 5"] = prop5
        samples["propagation %d" % a.big] = propbig
        if not a.no_etcd:
            log("etcd, 3 members")
            etcd = Etcd(top)
            samples["etcd lock kill -9"] = etcd_lock(etcd, "kill", a.trials, log)
            samples["etcd lock SIGTERM"] = etcd_lock(etcd, "term", a.trials, log)
            samples["etcd elect SIGTERM"] = etcd_elect(etcd, "term", a.trials, log)
            if a.elect_kill_trials:
                samples["etcd elect kill -9"] = etcd_elect(etcd, "kill", a.elect_kill_trials, log)
            etcd.stop()
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(top, ignore_errors=True)
    fail = {k: v for k, v in samples.items() if not k.startswith("propagation")}
    res["failover"] = {k: summary(v) for k, v in fail.items()}
    ratios = {}
    for e, b in (("etcd lock kill -9", "baton kill -9"), ("etcd lock SIGTERM", "baton SIGTERM"),
                 ("etcd elect SIGTERM", "baton SIGTERM")):
        if e in res["failover"]:
            ratios["%s vs %s" % (e, b)] = {
                "p50": round(res["failover"][e]["p50_ms"] / res["failover"][b]["p50_ms"], 2),
                "p99": round(res["failover"][e]["p99_ms"] / res["failover"][b]["p99_ms"], 2)}
    res["ratios"] = ratios
    res["samples_s"] = {k: [round(x, 6) for x in v] for k, v in samples.items()}
    os.makedirs(a.out, exist_ok=True)
    stamp = res["date"].replace(":", "").replace("-", "")
    with open(os.path.join(a.out, "%s.json" % stamp), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    svg_cdf(fail, os.path.join(a.out, "failover.svg"))
    md = table(res, a.command)
    print(md)
    if a.readme and os.path.exists(a.readme):
        with open(a.readme) as f:
            text = f.read()
        begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
        if begin in text and end in text:
            text = re.sub(re.escape(begin) + ".*?" + re.escape(end),
                          lambda _: begin + "\n" + md + "\n" + end, text, flags=re.S)
            with open(a.readme, "w") as f:
                f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
