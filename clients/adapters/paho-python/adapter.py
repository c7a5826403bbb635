#!/usr/bin/python3
"""flatline-adapter-paho-python: N paho-mqtt 1.6 clients in one process
(docs/clients.md), speaking flatline-swarm's interface: --config FILE (the
swarm's JSON; fields paho has no equivalent for exit 2 naming the field),
--events, --control fd:N, the swarm's event lines and exit codes.

One poll loop drives every client's socket with loop_read/loop_write, and
loop_misc (paho's own keep-alive: _check_keepalive sends PINGREQ and closes
with MQTT_ERR_KEEPALIVE) runs every MISC_TICK_S, as Client.loop(timeout=1.0)
does in loop_forever. paho's reconnect lives in loop_forever (a loop a
client), so the adapter replays its rule: a delay starting at min_delay,
doubled up to max_delay (reconnect_delay_set), from the group's `reconnect`.
Run it with Debian's /usr/bin/python3: another python3 on PATH may lack paho."""
import json
import os
import resource
import select
import signal
import socket
import sys
import threading
import time

import paho.mqtt.client as mqtt

NAME = "paho-python"
MISC_TICK_S = 1.0
FD_OVERHEAD = 32
EXIT_USAGE, EXIT_MACHINE, EXIT_BROKEN = 2, 3, 4

REFUSED = {
    "strategy": "runs paho's own keep-alive rule (Client._check_keepalive); tune it with keepalive",
    "tcp": "paho sets no TCP keep-alive or user timeout",
    "workload": "publishing is not mapped yet; the adapter's clients are idle",
}
GROUP_KEYS = {"name", "clients", "id_pattern", "version", "keepalive", "clean", "reconnect", "will", "role",
              "subscribe", "client", "client_options"}
OPTIONS = {}  # client_options this adapter takes: none yet


class Usage(Exception):
    pass


def fail(path, why):
    raise Usage("%s: %s" % (path, why))


def num(v, path, lo=0, hi=None, integer=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        fail(path, "must be a number")
    if integer and v != int(v):
        fail(path, "must be an integer")
    if v < lo or (hi is not None and v > hi):
        fail(path, "must be %s..%s" % (lo, hi if hi is not None else "inf"))
    return int(v) if integer else float(v)


def check_pattern(p, path, allow_id):
    names = {"n", "i", "group", "host", "pid"} | ({"id"} if allow_id else set())
    i = 0
    while i < len(p):
        if p.startswith("{{", i) or p.startswith("}}", i):
            i += 2
            continue
        if p[i] == "{":
            j = p.find("}", i)
            if j < 0 or p[i + 1:j] not in names:
                fail(path, "unknown placeholder in '%s'" % p)
            i = j + 1
            continue
        i += 1


def expand(p, v):
    out, i = [], 0
    while i < len(p):
        if p.startswith("{{", i) or p.startswith("}}", i):
            out.append(p[i])
            i += 2
        elif p[i] == "{":
            j = p.find("}", i)
            out.append(str(v[p[i + 1:j]]))
            i = j + 1
        else:
            out.append(p[i])
            i += 1
    return "".join(out)


def parse_reconnect(r, path):
    if r is None:
        return None
    if not isinstance(r, dict) or r.get("kind") not in ("none", "fixed", "backoff"):
        fail(path + ".kind", "must be none, fixed or backoff")
    if r["kind"] == "none":
        return None
    if r["kind"] == "fixed":
        d = num(r.get("delay", 1), path + ".delay")
        return (d, d)
    return (num(r.get("base", 0.5), path + ".base"), num(r.get("cap", 30), path + ".cap"))


def parse_config(path):
    try:
        with open(path) as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        raise Usage("%s: %s" % (path, e))
    if not isinstance(cfg, dict):
        fail("config", "must be a JSON object")
    for k in cfg:
        if k in ("inflight", "connect_rate", "connect_timeout"):
            fail(k, NAME + ": the library connects each client on its own; there is no shared connect ramp")
        if k not in ("broker", "seed", "sources", "groups"):
            fail(k, "unknown field")
    if not isinstance(cfg.get("broker"), str):
        fail("broker", "must be ADDR:PORT")
    groups = cfg.get("groups")
    if not isinstance(groups, list) or not groups:
        fail("groups", "must be a non-empty array")
    out = []
    for gi, g in enumerate(groups):
        p = "groups[%d]" % gi
        if not isinstance(g, dict):
            fail(p, "must be an object")
        for k in g:
            if k in REFUSED:
                fail("%s.%s" % (p, k), "%s %s" % (NAME, REFUSED[k]))
            if k not in GROUP_KEYS:
                fail("%s.%s" % (p, k), "unknown field")
        if g.get("client", NAME) != NAME:
            fail(p + ".client", "this program is the %s adapter" % NAME)
        for k in (g.get("client_options") or {}):
            if k not in OPTIONS:
                fail("%s.client_options.%s" % (p, k), "%s has no such option" % NAME)
        if g.get("version", 4) != 4:
            fail(p + ".version", "%s runs MQTT 3.1.1 (4) only" % NAME)
        grp = {
            "name": g.get("name", p),
            "clients": num(g.get("clients"), p + ".clients", 0, 1000000, True) if "clients" in g else fail(
                p + ".clients", "required"),
            "id_pattern": g.get("id_pattern", "{host}-{pid}-{group}-{n}"),
            "keepalive": num(g.get("keepalive", 60), p + ".keepalive", 0, 65535, True),
            "clean": g.get("clean", True),
            "reconnect": parse_reconnect(g.get("reconnect"), p + ".reconnect"),
            "will": g.get("will"),
            "role": g.get("role", "device"),
        }
        if grp["role"] not in ("device", "watcher"):
            fail(p + ".role", "must be device or watcher")
        grp["subscribe"] = g.get("subscribe", ["will/#"] if grp["role"] == "watcher" else [])
        check_pattern(grp["id_pattern"], p + ".id_pattern", False)
        for si, s in enumerate(grp["subscribe"]):
            check_pattern(s, "%s.subscribe[%d]" % (p, si), True)
        if grp["will"] is not None:
            w = grp["will"]
            for k in ("topic", "payload"):
                if not isinstance(w.get(k), str):
                    fail("%s.will.%s" % (p, k), "must be a pattern string")
                check_pattern(w[k], "%s.will.%s" % (p, k), True)
        out.append(grp)
    host, _, port = cfg["broker"].rpartition(":")
    if not host or not port.isdigit():
        fail("broker", "'%s' is not ADDR:PORT" % cfg["broker"])
    return host.strip("[]"), int(port), cfg.get("sources") or [], out


class Adapter:
    def __init__(self, events_fd, log_pings):
        self.fd = events_fd
        self.log_pings = log_pings
        self.lock = threading.Lock()
        self.stop = False
        self.ever = 0
        self.connected = 0
        self.dead = 0
        self.reconnects = 0
        self.wills = 0
        self.ready_sent = False

    def emit(self, t, ev, **fields):
        line = json.dumps(dict(t=t, src="swarm", ev=ev, **fields), separators=(",", ":")) + "\n"
        if self.fd is not None:
            with self.lock:
                os.write(self.fd, line.encode())


class C:
    """One paho client and what the adapter knows about it."""
    __slots__ = ("m", "id", "group", "n", "index", "conn", "connected", "ever", "attempt", "retry_at", "delay")


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="flatline-adapter-" + NAME)
    ap.add_argument("--config", required=True)
    ap.add_argument("--events")
    ap.add_argument("--control")
    ap.add_argument("--broker")
    ap.add_argument("--seed")
    ap.add_argument("--log-pings", action="store_true")
    ap.add_argument("--duration", type=float)
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else 0
    try:
        bhost, bport, sources, groups = parse_config(args.config)
        if args.broker:
            bhost, _, p = args.broker.rpartition(":")
            bhost, bport = bhost.strip("[]"), int(p)
        ev_fd = None
        if args.events == "-":
            ev_fd = 1
        elif args.events and args.events.startswith("fd:"):
            ev_fd = int(args.events[3:])
            os.fstat(ev_fd)
        elif args.events:
            ev_fd = os.open(args.events, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        ctl_fd = None
        if args.control:
            if not args.control.startswith("fd:"):
                fail("--control", "'%s' is not fd:N" % args.control)
            ctl_fd = int(args.control[3:])
            os.fstat(ctl_fd)
    except Usage as e:
        print("flatline-adapter-%s: %s" % (NAME, e), file=sys.stderr)
        return EXIT_USAGE
    except (OSError, ValueError) as e:
        print("flatline-adapter-%s: --events/--control/--broker: %s" % (NAME, e), file=sys.stderr)
        return EXIT_USAGE

    total = sum(g["clients"] for g in groups)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = total + FD_OVERHEAD
    if need > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
            soft = min(need, hard)
        except (ValueError, OSError):
            pass
    if need > soft:
        print("flatline-adapter-%s: %d clients + %d descriptors of overhead = %d > RLIMIT_NOFILE %d (hard %d); "
              "split the swarm: at most %d clients a process" % (NAME, total, FD_OVERHEAD, need, soft, hard,
                                                                 max(0, soft - FD_OVERHEAD)), file=sys.stderr)
        return EXIT_MACHINE

    a = Adapter(ev_fd, args.log_pings)
    stop_at = time.monotonic() + args.duration if args.duration else None

    def on_signal(sig, frame):
        a.stop = True
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def control():
        buf = b""
        while True:
            try:
                d = os.read(ctl_fd, 256)
            except InterruptedError:
                continue
            if not d:
                return  # EOF ends the commands, not the adapter
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                cmd = line.strip().decode(errors="replace")
                if cmd == "stop":
                    a.stop = True
                elif cmd == "kill":
                    os._exit(0)
                elif cmd == "counters":
                    counters()
    if ctl_fd is not None:
        threading.Thread(target=control, daemon=True).start()

    def counters():
        a.emit(time.monotonic_ns(), "counters", clients=total, connected=a.connected,
               connecting=total - a.connected, dead=a.dead, reconnects=a.reconnects, wills=a.wills, library=NAME)

    hostname = socket.gethostname()
    pid = os.getpid()
    clients = []
    fdmap = {}

    def on_connect(m, c, flags, rc):
        t = time.monotonic_ns()
        if rc != 0:
            return
        g = groups[c.group]
        try:
            c.conn = "%s:%d" % m.socket().getsockname()[:2]
        except (OSError, AttributeError):
            c.conn = "?"
        c.connected = True
        c.delay = None
        a.connected += 1
        a.emit(t, "connected", client_id=c.id, conn=c.conn, broker="%s:%d" % (bhost, bport),
               keepalive=g["keepalive"], group=g["name"], attempt=c.attempt)
        if c.ever:
            a.reconnects += 1
            a.emit(t, "reconnected", client_id=c.id, conn=c.conn, attempt=c.attempt)
        else:
            c.ever = True
            a.ever += 1
            if a.ever == total and not a.ready_sent:
                a.ready_sent = True
                a.emit(t, "ready", clients=total)
        for s in g["subscribe"]:
            m.subscribe(expand(s, vars_of(c)), 1)

    def on_disconnect(m, c, rc):
        t = time.monotonic_ns()
        if a.stop:
            return
        if not c.connected:
            # A failed attempt (no CONNACK in time, refused): the next one. 1.6.1
            # also calls on_disconnect twice for one loss; the first scheduled it.
            if c.retry_at is None and c.m.socket() is None:
                schedule(c)
            return
        if c.connected:
            c.connected = False
            a.connected -= 1
            a.dead += 1
            reason = {mqtt.MQTT_ERR_KEEPALIVE: "ping_timeout", mqtt.MQTT_ERR_CONN_LOST: "eof",
                      mqtt.MQTT_ERR_CONN_REFUSED: "refused", mqtt.MQTT_ERR_PROTOCOL: "protocol_error"}.get(rc, "eof")
            a.emit(t, "dead_detected", client_id=c.id, conn=c.conn, reason=reason,
                   library_reason="rc %d (%s)" % (rc, mqtt.error_string(rc)), group=groups[c.group]["name"])
            schedule(c)

    def on_message(m, c, msg):
        if groups[c.group]["role"] == "watcher":
            a.wills += 1
            a.emit(time.monotonic_ns(), "will_received", client_id=c.id, conn=c.conn, group=groups[c.group]["name"],
                   whose=msg.payload.decode(errors="replace"), topic=msg.topic, retained=bool(msg.retain))

    def on_log(m, c, level, text):
        if text == "Received PINGRESP":
            a.emit(time.monotonic_ns(), "pingresp", client_id=c.id, conn=c.conn, group=groups[c.group]["name"])

    def vars_of(c):
        return {"n": c.n, "i": c.index, "id": c.id, "group": groups[c.group]["name"], "host": hostname, "pid": pid}

    def schedule(c):
        r = groups[c.group]["reconnect"]
        if r is None:
            c.retry_at = None
            return
        lo, hi = r
        # paho's loop_forever rule (_reconnect_wait): min_delay, doubled each failure, up to max_delay.
        c.delay = lo if c.delay is None else min(c.delay * 2, hi)
        c.retry_at = time.monotonic() + c.delay
        c.attempt += 1
        a.emit(time.monotonic_ns(), "reconnect_attempt", client_id=c.id, conn=c.conn, group=groups[c.group]["name"],
               attempt=c.attempt, delay=int(c.delay * 1e9))

    def connect(c):
        c.retry_at = None
        try:
            c.m.reconnect()
        except (OSError, socket.error):
            schedule(c)
            return
        fdmap[c.m.socket().fileno()] = c

    index = 0
    for gi, g in enumerate(groups):
        for n in range(g["clients"]):
            c = C()
            c.group, c.n, c.index, c.conn = gi, n, index, "?"
            c.connected = c.ever = False
            c.attempt, c.retry_at, c.delay = 0, None, None
            c.id = expand(g["id_pattern"], {"n": n, "i": index, "group": g["name"], "host": hostname, "pid": pid})
            m = mqtt.Client(client_id=c.id, clean_session=g["clean"], userdata=c, protocol=mqtt.MQTTv311)
            m.on_connect, m.on_disconnect, m.on_message = on_connect, on_disconnect, on_message
            if args.log_pings:
                m.on_log = on_log
            if g["will"]:
                v = vars_of(c)
                m.will_set(expand(g["will"]["topic"], v), expand(g["will"]["payload"], v),
                           int(g["will"].get("qos", 0)), bool(g["will"].get("retain", False)))
            src = sources[index % len(sources)] if sources else ""
            m.connect_async(bhost, bport, g["keepalive"], bind_address=src)
            c.m = m
            clients.append(c)
            index += 1
    for c in clients:
        connect(c)

    poller = select.poll()
    registered = {}
    next_misc = time.monotonic()
    while not a.stop:
        if stop_at and time.monotonic() >= stop_at:
            break
        live = {}
        for c in clients:
            s = c.m.socket()
            if s is None:
                continue
            fd = s.fileno()
            mask = select.POLLIN | (select.POLLOUT if c.m.want_write() else 0)
            live[fd] = c
            if registered.get(fd) != mask:
                if fd in registered:
                    poller.modify(fd, mask)
                else:
                    poller.register(fd, mask)
                registered[fd] = mask
        for fd in list(registered):
            if fd not in live:
                try:
                    poller.unregister(fd)
                except (KeyError, ValueError):
                    pass
                del registered[fd]
        wait = max(0.0, next_misc - time.monotonic())
        for fd, evmask in poller.poll(wait * 1000):
            c = live.get(fd)
            if c is None:
                continue
            if evmask & (select.POLLIN | select.POLLERR | select.POLLHUP):
                c.m.loop_read()
            if evmask & select.POLLOUT and c.m.socket() is not None:
                c.m.loop_write()
        now = time.monotonic()
        if now >= next_misc:
            next_misc = now + MISC_TICK_S
            for c in clients:
                if c.m.socket() is not None:
                    c.m.loop_misc()
                elif c.retry_at is not None and now >= c.retry_at:
                    connect(c)
    a.stop = True
    for c in clients:
        if c.m.socket() is not None:
            c.m.disconnect()
            c.m.loop_write()
    counters()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
