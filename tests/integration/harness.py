"""Test harness: real batond and baton processes on loopback.

Every process a test starts is registered here and killed at the end, even
when the test fails or the harness itself is killed (each child has
PR_SET_PDEATHSIG = SIGKILL and its own process group). Ports are picked
free at run time. Waits are polls with generous timeouts; no test asserts
a wall-clock duration.
"""

import ctypes
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _child_setup():
    # Die with the harness, whatever kills it (a ctest timeout included).
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 right now."""
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            t.close()
            u.close()
            continue
        t.close()
        u.close()
        return port
    raise RuntimeError("no free port")


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_until(pred, timeout, what, interval=0.1):
    """Polls pred() until it returns a true value (returned) or timeout
    seconds pass (Failure)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - report the last one
            last_exc = e
        if time.monotonic() > deadline:
            extra = " (last error: %r)" % (last_exc,) if last_exc else ""
            raise Failure("timed out after %gs waiting for %s%s" % (timeout, what, extra))
        time.sleep(interval)


class LineReader:
    """Collects the lines of a pipe on a thread."""

    def __init__(self, pipe):
        self.q = queue.Queue()
        self.lines = []
        t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        t.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            self.q.put(raw.decode(errors="replace").rstrip("\n"))
        self.q.put(None)

    def next(self, timeout):
        """The next line, or None at end of stream; Failure on timeout."""
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            raise Failure("no output line within %gs" % timeout)
        if line is not None:
            self.lines.append(line)
        return line


class Env:
    def __init__(self, batond, baton, name):
        self.batond = batond
        self.baton = baton
        self.dir = tempfile.mkdtemp(prefix="baton-it-%s-" % name)
        self.procs = []
        self.nodes = []

    def spawn(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, preexec_fn=_child_setup, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def keygen(self):
        r = subprocess.run([self.baton, "keygen"], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, "baton keygen failed: %s" % r.stderr)
        return r.stdout.strip()

    def keyring(self, fname, *keys):
        p = self.path(fname)
        with open(p, "w") as f:
            for k in keys:
                f.write(k + "\n")
        os.chmod(p, 0o600)
        return p

    def node(self, name, **kw):
        n = Node(self, name, **kw)
        self.nodes.append(n)
        return n

    def stop_nodes(self):
        """SIGTERM to every daemon still running: each must exit 0 with no
        sanitizer report in its log (leaks included). Raises Failure."""
        running = [n for n in self.nodes if n.proc is not None and n.proc.poll() is None]
        for n in running:
            n.proc.send_signal(signal.SIGTERM)
        for n in running:
            try:
                rc = n.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise Failure("batond %s did not exit within 30 s of SIGTERM" % n.name)
            check(rc == 0, "batond %s exited %d on SIGTERM" % (n.name, rc))
        for n in self.nodes:
            if n.proc is not None:
                check(n.sanitizer_clean(), "sanitizer report in %s's log" % n.name)

    def cleanup(self, failed):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if failed:
            for n in self.nodes:
                try:
                    with open(n.log, errors="replace") as f:
                        lines = f.readlines()
                except OSError:
                    continue
                sys.stderr.write("---- last lines of %s's log ----\n" % n.name)
                sys.stderr.writelines(lines[-40:])
            sys.stderr.write("(work dir kept: %s)\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class Node:
    """One batond."""

    def __init__(self, env, name, keyring=None, insecure=False, profile="local", join=(),
                 extra=(), port=None, files=None):
        self.env = env
        self.name = name
        self.port = port or free_port()
        self.addr = "127.0.0.1:%d" % self.port
        files = files or name  # the stem of its socket and log file names
        self.sock = env.path("%s.sock" % files)
        self.log = env.path("%s.log" % files)
        self.keyring = keyring
        self.insecure = insecure
        self.profile = profile
        self.join = list(join)
        self.extra = list(extra)
        self.proc = None

    def argv(self):
        a = [self.env.batond, "--name", self.name, "--bind", self.addr, "--socket", self.sock,
             "--profile", self.profile, "--log-level", "debug"]
        for j in self.join:
            a += ["--join", j.addr if isinstance(j, Node) else j]
        if self.keyring:
            a += ["--keyring", self.keyring]
        if self.insecure:
            a += ["--insecure-no-encryption"]
        return a + self.extra

    def start(self, wait=True):
        logf = open(self.log, "ab")
        self.proc = self.env.spawn(self.argv(), stdout=logf, stderr=subprocess.STDOUT)
        logf.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        def ready():
            if self.proc.poll() is not None:
                raise Failure("batond %s exited with %s" % (self.name, self.proc.returncode))
            r = self.cli("status", "--json")
            return r.returncode == 0
        wait_until(ready, timeout, "batond %s to answer" % self.name)

    def cli(self, *args, timeout=60):
        return subprocess.run([self.env.baton, "--socket", self.sock] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def json(self, *args):
        r = self.cli(*args, "--json")
        check(r.returncode == 0, "baton %s on %s: exit %d: %s" % (" ".join(args), self.name,
                                                                 r.returncode, r.stderr))
        return json.loads(r.stdout)

    def leader(self, name):
        r = self.cli("leader", name)
        return r.stdout.strip() if r.returncode == 0 else None

    def members(self):
        return {m["name"]: m for m in self.json("members")["members"]}

    def alive(self):
        return sorted(n for n, m in self.members().items() if m["state"] == "alive")

    def status(self):
        return self.json("status")

    def lead(self, name, *args):
        return Lead(self, name, *args)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def sanitizer_clean(self):
        with open(self.log, errors="replace") as f:
            text = f.read()
        return "AddressSanitizer" not in text and "runtime error:" not in text and \
            "LeakSanitizer" not in text


class Lead:
    """A running `baton lead NAME` and the JSON lines it prints."""

    def __init__(self, node, name, *args):
        self.node = node
        self.name = name
        self.proc = node.env.spawn([node.env.baton, "--socket", node.sock, "lead", name] + list(args),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = LineReader(self.proc.stdout)
        self.err = LineReader(self.proc.stderr)
        self.msgs = []

    def next(self, timeout=60):
        line = self.out.next(timeout)
        if line is None:
            return None
        m = json.loads(line)
        self.msgs.append(m)
        return m

    def first(self, timeout=60):
        m = self.next(timeout)
        check(m is not None, "baton lead %s on %s printed nothing" % (self.name, self.node.name))
        check(m.get("name") == self.name and m.get("role") in ("leader", "follower"),
              "unexpected first line %r" % m)
        return m

    def wait_event(self, event, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("no %s event on %s within %gs" % (event, self.node.name, timeout))
            m = self.next(left)
            if m is None:
                raise Failure("baton lead on %s ended while waiting for %s" % (self.node.name, event))
            if m.get("event") == event:
                return m

    def leads(self):
        """Whether the last line says this candidacy leads."""
        if not self.msgs:
            return False
        m = self.msgs[-1]
        return m.get("role") == "leader" or m.get("event") == "elected"

    def fence(self):
        for m in reversed(self.msgs):
            if "fence" in m and (m.get("role") == "leader" or m.get("event") == "elected"):
                return int(m["fence"])
        return None

    def drain(self, timeout=0.05):
        """Reads what is already printed."""
        while True:
            try:
                line = self.out.q.get(timeout=timeout)
            except queue.Empty:
                return
            if line is None:
                self.out.q.put(None)
                return
            self.out.lines.append(line)
            self.msgs.append(json.loads(line))
