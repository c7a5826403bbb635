#!/usr/bin/env python3
"""Raw-packet conformance checks of flatline-broker over a real socket, one
case for each normative statement, with the exact bytes the broker must answer
(docs/broker.md, "Conformance"). Each answer was compared with Debian's
mosquitto 2.0.11 on loopback; where the two differ, docs/broker.md says why.
Usage: raw_conformance.py PATH/TO/flatline-broker. Exit 0 when all pass."""
import json
import socket
import struct
import subprocess
import sys

EOF_MARK = b"<EOF>"


def vbi(n):
    out = b""
    while True:
        d, n = n % 128, n // 128
        out += bytes([d | (0x80 if n else 0)])
        if not n:
            return out


def s(x):
    x = x.encode() if isinstance(x, str) else x
    return struct.pack(">H", len(x)) + x


def pkt(t, body):
    return bytes([t]) + vbi(len(body)) + body


def connect(cid, ver=4, flags=0x02, ka=60, props=b"", tail=b""):
    body = s("MQTT") + bytes([ver, flags]) + struct.pack(">H", ka)
    if ver == 5:
        body += vbi(len(props)) + props
    return pkt(0x10, body + s(cid) + tail)


def sub(pid, filt, opts, props=None):
    p = vbi(len(props)) + props if props is not None else b""
    return pkt(0x82, struct.pack(">H", pid) + p + s(filt) + bytes([opts]))


def pub(topic, payload, qos=0, retain=False, pid=1, props=None):
    h = 0x30 | (qos << 1) | (1 if retain else 0)
    p = vbi(len(props)) + props if props is not None else b""
    return pkt(h, s(topic) + (struct.pack(">H", pid) if qos else b"") + p + payload)


C4 = connect("c4")
CONNACK4 = "20 02 00 00"
C5 = connect("c5", 5)
# v5 CONNACK with the broker's defaults: Receive Maximum 20, Topic Alias
# Maximum 10, Subscription Identifier Available 1, Shared Subscription Available 1.
CONNACK5 = "20 0d 00 00 0a 21 00 14 22 00 0a 29 01 2a 01"
CLOSE = "<EOF>"

# (statement, or section where the statement has no number, packets sent, expected answer: hex bytes, then <EOF> when the
# broker must close). Each case runs on a fresh connection.
CASES = [
    ("MQTT-3.1.2-2 unsupported protocol level: CONNACK 0x01", [connect("x", 6)], "20 02 00 01 " + CLOSE),
    ("MQTT-3.1.2-1 protocol name MQIsdp (3.1): CONNACK 0x01",
     [pkt(0x10, s("MQIsdp") + bytes([3, 2]) + struct.pack(">H", 60) + s("x"))], "20 02 00 01 " + CLOSE),
    ("MQTT-3.1.2-3 reserved connect flag: close", [connect("x", 4, 0x03)], CLOSE),
    ("MQTT-3.1.3-8 empty client id, clean session 0: CONNACK 0x02", [connect("", 4, 0x00)], "20 02 00 02 " + CLOSE),
    ("MQTT-3.1.2-22 3.1.1 password without user name: close", [connect("x", 4, 0x42, tail=s("pw"))], CLOSE),
    ("MQTT-3.1.2-13 will QoS without will flag: close", [connect("x", 4, 0x0A)], CLOSE),
    ("3.1.3.3 will topic with a wildcard (a Topic Name): close", [connect("w", 4, 0x06, tail=s("a/#") + s("x"))], CLOSE),
    ("MQTT-3.1.0-2 second CONNECT: close", [C4, C4], CONNACK4 + " " + CLOSE),
    ("MQTT-3.1.0-1 first packet not CONNECT: close", [pkt(0xC0, b"")], CLOSE),
    ("MQTT-4.12.0-1 unsupported Authentication Method: CONNACK 0x8C",
     [connect("a5", 5, props=bytes([0x15]) + s("SCRAM-SHA-1"))], "20 03 00 8c 00 " + CLOSE),
    ("3.1.2.11.3 v5 Receive Maximum 0: CONNACK 0x82", [connect("x", 5, props=bytes([0x21, 0, 0]))],
     "20 03 00 82 00 " + CLOSE),
    ("3.1.2.11.4 v5 Maximum Packet Size 0: CONNACK 0x82", [connect("x", 5, props=bytes([0x27, 0, 0, 0, 0]))],
     "20 03 00 82 00 " + CLOSE),
    ("MQTT-3.12.4-1 PINGREQ: PINGRESP", [C4, pkt(0xC0, b"")], CONNACK4 + " d0 00"),
    ("MQTT-3.8.1-1 SUBSCRIBE header flags 0000: close", [C4, pkt(0x80, b"\x00\x01" + s("x") + b"\x00")],
     CONNACK4 + " " + CLOSE),
    ("MQTT-3-8.3-4 SUBSCRIBE QoS 3: close", [C4, sub(1, "x", 3)], CONNACK4 + " " + CLOSE),
    ("MQTT-3-8.3-4 SUBSCRIBE reserved option bits: close", [C4, sub(1, "x", 0x04)], CONNACK4 + " " + CLOSE),
    ("MQTT-4.7.1-2 filter a/#/b (3.1.1): close", [C4, sub(1, "a/#/b", 0)], CONNACK4 + " " + CLOSE),
    ("MQTT-3.3.2-2 PUBLISH topic with a wildcard: close", [C4, pub("a/+", b"x")], CONNACK4 + " " + CLOSE),
    ("MQTT-4.7.3-1 PUBLISH empty topic (3.1.1): close", [C4, pub("", b"x")], CONNACK4 + " " + CLOSE),
    ("MQTT-1.5.3-2 topic with U+0000: close", [C4, pub("a\x00b", b"x")], CONNACK4 + " " + CLOSE),
    ("MQTT-2.3.1-1 QoS 1 PUBLISH with packet id 0: close", [C4, pub("a", b"x", 1, pid=0)], CONNACK4 + " " + CLOSE),
    ("MQTT-3.6.1-1 PUBREL header flags 0000: close", [C4, pkt(0x60, b"\x00\x01")], CONNACK4 + " " + CLOSE),
    ("MQTT-3.10.1-1 UNSUBSCRIBE header flags 0000: close", [C4, pkt(0xA0, b"\x00\x01" + s("x"))],
     CONNACK4 + " " + CLOSE),
    ("MQTT-3.10.4-5 UNSUBSCRIBE of no subscription: UNSUBACK", [C4, pkt(0xA2, b"\x00\x03" + s("no/such"))],
     CONNACK4 + " b0 02 00 03"),
    ("3.14.4 nothing after DISCONNECT", [C4, pkt(0xE0, b""), pkt(0xC0, b"")], CONNACK4 + " " + CLOSE),
    ("4.3.3 PUBREL of an unknown id (3.1.1): PUBCOMP", [C4, pkt(0x62, b"\x00\x09")], CONNACK4 + " 70 02 00 09"),
    ("4.3.3 v5 PUBREL of an unknown id: PUBCOMP 0x92", [C5, pkt(0x62, b"\x00\x09")],
     CONNACK5 + " 70 03 00 09 92"),
    ("4.3.3 v5 PUBREC of an unknown id: PUBREL 0x92", [C5, pkt(0x50, b"\x00\x07")],
     CONNACK5 + " 62 03 00 07 92"),
    ("4.3.3 QoS 2 resend of a packet id before PUBREL: PUBREC again",
     [C5, pub("x", b"1", 2, pid=9, props=b""), pub("x", b"2", 2, pid=9, props=b"")],
     CONNACK5 + " 50 02 00 09 50 02 00 09"),
    ("3.11.3 v5 UNSUBSCRIBE of no subscription: 0x11", [C5, pkt(0xA2, b"\x00\x03\x00" + s("no/such"))],
     CONNACK5 + " b0 04 00 03 00 11"),
    ("MQTT-3.8.3-4 v5 No Local on a shared subscription: DISCONNECT 0x82", [C5, sub(1, "$share/g/x", 0x04, b"")],
     CONNACK5 + " e0 01 82 " + CLOSE),
    ("3.8.2.1.2 v5 Subscription Identifier 0: DISCONNECT 0x82", [C5, sub(1, "x", 0, bytes([0x0B, 0]))],
     CONNACK5 + " e0 01 82 " + CLOSE),
    ("4.7.1 v5 filter a/#/b: DISCONNECT 0x8F", [C5, sub(1, "a/#/b", 0, b"")],
     CONNACK5 + " e0 01 8f " + CLOSE),
    ("MQTT-3.3.2-9 v5 topic alias above the maximum: DISCONNECT 0x94",
     [C5, pub("a", b"x", 0, props=bytes([0x23, 0, 11]))], CONNACK5 + " e0 01 94 " + CLOSE),
    ("3.3.2.3.4 v5 empty topic without an alias: DISCONNECT 0x82", [C5, pub("", b"1", 0, props=b"")],
     CONNACK5 + " e0 01 82 " + CLOSE),
    ("MQTT-3.3.2-14 v5 Response Topic with a wildcard: DISCONNECT 0x82",
     [C5, pub("x", b"y", 1, pid=1, props=bytes([0x08]) + s("r/#"))], CONNACK5 + " e0 01 82 " + CLOSE),
    ("3.14.2.2.2 v5 DISCONNECT setting Session Expiry after 0: DISCONNECT 0x82",
     [C5, pkt(0xE0, b"\x00\x05\x11\x00\x00\x00\x0a")], CONNACK5 + " e0 01 82 " + CLOSE),
    ("4.12 v5 AUTH packet (no enhanced authentication): DISCONNECT 0x82", [C5, pkt(0xF0, b"\x00")],
     CONNACK5 + " e0 01 82 " + CLOSE),
]


def exchange(port, packets, wait=0.3):
    so = socket.create_connection(("127.0.0.1", port))
    for p in packets:
        so.sendall(p)
    so.settimeout(wait)
    data = b""
    try:
        while True:
            d = so.recv(65536)
            if not d:
                data += EOF_MARK
                break
            data += d
    except socket.timeout:
        pass
    so.close()
    return data


def show(data):
    closed = data.endswith(EOF_MARK)
    body = data[: -len(EOF_MARK)] if closed else data
    return " ".join(f"{b:02x}" for b in body) + (" " + CLOSE if closed else "")


def main():
    broker = subprocess.Popen([sys.argv[1], "--listen", "127.0.0.1:0", "--events", "-"], stdout=subprocess.PIPE,
                              text=True)
    try:
        port = None
        for line in broker.stdout:
            ev = json.loads(line)
            if ev.get("ev") == "listening":
                port = int(ev["addr"].rsplit(":", 1)[1])
                break
        if port is None:
            print("the broker did not listen")
            return 1
        failed = 0
        for name, packets, want in CASES:
            got = show(exchange(port, packets)).strip()
            ok = got == want.strip()
            print(f"{'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"\n     want {want}\n     got  {got}"))
            failed += not ok
        print(f"{len(CASES) - failed}/{len(CASES)} passed")
        return 1 if failed else 0
    finally:
        broker.terminate()
        broker.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
