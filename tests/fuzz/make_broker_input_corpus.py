#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_broker_input (corpus/broker_input/): short
programs in the fuzzer's operation language (see fuzz_broker_input.c) that
reach sessions, takeovers, QoS 1/2 flows, wills, keep-alive and idle deadlines,
and raw CONNECT bytes fed in pieces. Run it again rather than editing files."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "broker_input")

ACCEPT, FEED, BIG, SMALL, LOST, CONNECT, SUB, PUB, CTRL = 0, 1, 3, 4, 5, 6, 7, 8, 9


def op(kind, slot=0, arg=None):
    b = bytes([slot * 10 + kind])
    return b if arg is None else b + bytes([arg])


def feed(slot, data):
    out = b""
    for i in range(0, len(data), 255):
        chunk = data[i:i + 255]
        out += op(FEED, slot, len(chunk)) + chunk
    return out


def connect_flags(v5=False, clean=True, cid=0, ka=2, will=False, will_qos1=False):
    return (1 if v5 else 0) | (2 if clean else 0) | (cid << 2) | (ka << 4) | (64 if will else 0) | (128 if will_qos1 else 0)


# A v3.1.1 CONNECT "x", keep-alive 5, clean; and a v5 one with no properties.
RAW_V3 = bytes([0x10, 13, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 5, 0, 1]) + b"x"
RAW_V5 = bytes([0x10, 14, 0, 4]) + b"MQTT" + bytes([5, 2, 0, 5, 0, 0, 1]) + b"y"
PINGREQ = bytes([0xC0, 0])


def packet(first, body):
    n, rl = len(body), b""
    while True:
        b = n % 128
        n //= 128
        rl += bytes([b | (128 if n else 0)])
        if not n:
            return bytes([first]) + rl + body


def s16(b):
    return len(b).to_bytes(2, "big") + b


# MQTT 5 sessions (issue 16): a v5 CONNECT "z" with Topic Alias Maximum 5 and
# Session Expiry 60, SUBSCRIBEs with Subscription Identifiers (one shared),
# PUBLISHes with topic aliases and Message Expiry.
V5_ALIAS = packet(0x10, s16(b"MQTT") + bytes([5, 2, 0, 5, 8, 0x22, 0, 5, 0x11, 0, 0, 0, 60]) + s16(b"z"))
SUB_SHARED = packet(0x82, bytes([0, 1, 2, 0x0B, 7]) + s16(b"$share/g/a/#") + bytes([1]))
SUB_ID = packet(0x82, bytes([0, 2, 2, 0x0B, 9]) + s16(b"a/+") + bytes([0]))
PUB_ALIAS = packet(0x30, s16(b"a/b") + bytes([3, 0x23, 0, 1]) + b"p")
PUB_BY_ALIAS = packet(0x32, s16(b"") + bytes([0, 3, 3, 0x23, 0, 1]) + b"q")
PUB_EXPIRY = packet(0x32, s16(b"a/c") + bytes([0, 4, 5, 0x02, 0, 0, 0, 1]) + b"e")

seeds = {
    "v3-connect-expire": bytes([0]) + op(ACCEPT) + op(CONNECT, 0, connect_flags(ka=2)) + op(BIG, 0, 40),
    "v5-connect-ping": bytes([0]) + op(ACCEPT) + op(CONNECT, 0, connect_flags(v5=True, ka=1))
    + op(SMALL, 0, 200) + op(CTRL, 0, 4) + op(BIG, 0, 10) + op(CTRL, 0, 5),
    "raw-v3-split": bytes([0]) + op(ACCEPT) + feed(0, RAW_V3[:5]) + feed(0, RAW_V3[5:]) + feed(0, PINGREQ)
    + op(BIG, 0, 30),
    "raw-v5": bytes([0]) + op(ACCEPT, 1) + feed(1, RAW_V5 + PINGREQ) + op(BIG, 1, 30),
    "no-connect-timeout": bytes([0]) + op(ACCEPT) + op(BIG, 0, 255) + op(BIG, 0, 255),
    "takeover": bytes([0]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(cid=1, will=True))
    + op(ACCEPT, 1) + op(CONNECT, 1, connect_flags(cid=1)) + op(BIG, 0, 20),
    "reject-duplicate": bytes([1]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(cid=1))
    + op(ACCEPT, 1) + op(CONNECT, 1, connect_flags(cid=1)),
    "qos-flows": bytes([4]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(cid=0, clean=False))
    + op(SUB, 0, 0 + 6 * 2) + op(ACCEPT, 1) + op(CONNECT, 1, connect_flags(v5=True, cid=1))
    + op(PUB, 1, 0 + 6 * 1) + op(PUB, 1, 1 + 6 * 2) + op(CTRL, 1, 2) + op(PUB, 1, 0 + 6 * 2)
    + op(CTRL, 0, 0) + op(CTRL, 0, 1) + op(CTRL, 0, 3) + op(LOST, 0, 0) + op(ACCEPT, 2)
    + op(CONNECT, 2, connect_flags(cid=0, clean=False)),
    "will-delivered": bytes([0]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(cid=2))
    + op(SUB, 0, 5) + op(ACCEPT, 1) + op(CONNECT, 1, connect_flags(v5=True, cid=1, will=True, will_qos1=True))
    + op(LOST, 1, 1) + op(BIG, 0, 12),
    "retained": bytes([0]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(cid=0)) + op(PUB, 0, 128 + 1)
    + op(ACCEPT, 1) + op(CONNECT, 1, connect_flags(cid=1)) + op(SUB, 1, 1) + op(SUB, 1, 128 + 1),
    "idle-and-limits": bytes([8 | 16 | 128]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(ka=3))
    + op(SUB, 0, 0) + op(SUB, 0, 1) + op(SUB, 0, 3) + op(PUB, 0, 5) + op(BIG, 0, 20),
    "small-max-packet": bytes([2]) + op(ACCEPT, 0) + op(CONNECT, 0, connect_flags(v5=True))
    + feed(0, bytes([0x30, 120, 0, 1]) + b"t" + b"p" * 117),
    "v5-sub-ids-aliases-shared": bytes([0]) + op(ACCEPT, 0)
    + feed(0, V5_ALIAS + SUB_SHARED + SUB_ID + PUB_ALIAS + PUB_BY_ALIAS + PUB_EXPIRY)
    + op(ACCEPT, 1) + feed(1, V5_ALIAS) + op(BIG, 0, 30) + op(LOST, 1, 0) + op(BIG, 0, 30),
    "v5-bad-connect": bytes([0]) + op(ACCEPT, 0)
    + feed(0, packet(0x10, s16(b"MQTT") + bytes([5, 2, 0, 5, 3, 0x21, 0, 0]) + s16(b"r"))),
    "garbage": bytes([0]) + op(ACCEPT) + feed(0, bytes([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])),
}

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
