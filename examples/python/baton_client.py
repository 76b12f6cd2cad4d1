"""A client of batond's socket protocol (docs/protocol.md), standard library only.

    from baton_client import Client, BatonError

    with Client() as c:                      # the default socket, or Client("/path")
        r = c.lead("report-roller")          # {"name":..., "role": "leader"|"follower", ...}
        if r["role"] == "leader":
            work(int(r["fence"]))
        for ev in c.events():                # blocks; yields {"event": "elected", ...}
            ...

One Client is one connection, hence one session: its candidacies end when it
is closed or the process dies. Replies come back in order; events that arrive
while a reply is awaited are kept for events() / next_event(). Not
thread-safe: use one Client per thread.
"""

import json
import os
import socket

__all__ = ["BatonError", "Client", "default_socket_path"]

PROTOCOL_VERSION = 1


class BatonError(Exception):
    """A request the daemon refused: .error is the protocol's error name
    ("no_leader", "already_candidate", ...), .message the daemon's text."""

    def __init__(self, error, message=""):
        super().__init__("%s: %s" % (error, message) if message else error)
        self.error = error
        self.message = message


def default_socket_path():
    """BATON_SOCKET if set, else the daemon's default: /run/baton/baton.sock
    for root, $XDG_RUNTIME_DIR/baton.sock otherwise."""
    env = os.environ.get("BATON_SOCKET")
    if env:
        return env
    if os.geteuid() == 0:
        return "/run/baton/baton.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        raise BatonError("no_socket", "XDG_RUNTIME_DIR is not set; pass the socket path")
    return os.path.join(runtime, "baton.sock")


class Client:
    """A connection (= a session) to batond."""

    def __init__(self, path=None, timeout=30.0):
        self.path = path or default_socket_path()
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(self.path)
        self._buf = b""
        self._events = []
        self._next_id = 1

    # -- plumbing --------------------------------------------------------

    def close(self):
        """Closes the connection: the daemon withdraws every candidacy of
        this session."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send_line(self, data):
        """Sends raw bytes (a line the caller built). For tests and tools."""
        self._sock.sendall(data)

    def _read_message(self, timeout):
        """The next message from the daemon, or None on timeout. Raises
        ConnectionError when the daemon closed the connection."""
        while b"\n" not in self._buf:
            self._sock.settimeout(timeout)
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                raise ConnectionError("batond closed the connection")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        if not line.strip():
            return self._read_message(timeout)
        return json.loads(line)

    def request(self, op, **args):
        """Sends one request and returns its successful reply (a dict);
        raises BatonError for a failed one."""
        rid = self._next_id
        self._next_id += 1
        msg = dict(args, op=op, id=rid)
        self._sock.sendall(json.dumps(msg, separators=(",", ":")).encode() + b"\n")
        while True:
            m = self._read_message(self.timeout)
            if m is None:
                raise TimeoutError("no reply from batond to %s" % op)
            if "event" in m:
                self._events.append(m)
                continue
            if m.get("id") != rid:
                continue
            if not m.get("ok"):
                raise BatonError(m.get("error", "error"), m.get("message", ""))
            return m

    def next_event(self, timeout=None):
        """The next event (a dict with "event"), or None after timeout
        seconds (None: wait forever)."""
        if self._events:
            return self._events.pop(0)
        while True:
            m = self._read_message(timeout)
            if m is None or "event" in m:
                return m

    def events(self):
        """Yields events forever (until the connection closes)."""
        while True:
            yield self.next_event()

    # -- the requests of docs/protocol.md --------------------------------

    def hello(self):
        return self.request("hello")

    def lead(self, name, priority=0):
        return self.request("lead", name=name, priority=priority)

    def resign(self, name):
        return self.request("resign", name=name)

    def leader(self, name):
        """(node, candidate) or None when there is no leader."""
        try:
            r = self.request("leader", name=name)
        except BatonError as e:
            if e.error == "no_leader":
                return None
            raise
        return r["node"], r["candidate"]

    def is_leader(self, name):
        return self.request("is_leader", name=name)["leader"]

    def fence(self, name):
        """This node's token for name (an int), or None if it does not lead."""
        try:
            return int(self.request("fence", name=name)["fence"])
        except BatonError as e:
            if e.error == "not_leader":
                return None
            raise

    def candidates(self, name):
        return self.request("candidates", name=name)["candidates"]

    def high_water(self, name):
        try:
            return int(self.request("high_water", name=name)["token"])
        except BatonError as e:
            if e.error == "not_found":
                return None
            raise

    def observe_fence(self, name, token, minter=None):
        """Reports a resource's refusal: its mark's token and, if the resource
        knows it, the mark's minter ("<node>#<boot hex>", as "minter" in the
        replies and events)."""
        if minter is None:
            return self.request("observe_fence", name=name, token=str(token))
        return self.request("observe_fence", name=name, token=str(token), minter=minter)

    def names(self):
        return self.request("names")["names"]

    def members(self):
        return self.request("members")["members"]

    def status(self):
        return self.request("status")

    def watch(self, name):
        """Starts leader events for name; the first one (the current leader)
        follows at once."""
        return self.request("watch", name=name)

    def unwatch(self, name):
        return self.request("unwatch", name=name)

    def keyring_list(self):
        return self.request("keyring_list")["keys"]

    def keyring_install(self, key):
        return self.request("keyring_install", key=key)

    def keyring_use(self, key):
        return self.request("keyring_use", key=key)

    def keyring_remove(self, key):
        return self.request("keyring_remove", key=key)


if __name__ == "__main__":
    # python3 baton_client.py [SOCKET] NAME: campaign for NAME and print
    # what happens, one JSON line per change, until interrupted.
    import sys

    args = sys.argv[1:]
    if len(args) not in (1, 2):
        sys.exit("usage: baton_client.py [SOCKET] NAME")
    path = args[0] if len(args) == 2 else None
    name = args[-1]
    with Client(path) as c:
        print(json.dumps(c.lead(name)), flush=True)
        try:
            for ev in c.events():
                print(json.dumps(ev), flush=True)
        except KeyboardInterrupt:
            pass
