#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_mqtt_decode into corpus/mqtt_decode/.

Each seed is: a version byte (0 unknown, 1 = 3.1.1, 2 = 5.0), a split-seed
byte, then a stream of packets. The packets are the hand-checked vectors of
tests/mqtt/. Run it again after editing; the files are committed."""
import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "mqtt_decode")

V3_PACKETS = [
    "10 18 00 04 4d 51 54 54 04 02 00 1e 00 0c 66 6c 61 74 6c 69 6e 65 2d 70 75 62",  # mosquitto_pub CONNECT
    "10 29 00 04 4d 51 54 54 04 ec 00 3c 00 02 63 31 00 07 64 65 61 64 2f 63 31 00 04 67 6f 6e 65"
    " 00 04 75 73 65 72 00 04 70 61 73 73",  # will + credentials
    "20 02 01 00",  # CONNACK
    "20 02 00 05",
    "33 09 00 03 61 2f 62 00 0a 68 69",  # PUBLISH QoS 1 retain
    "30 05 00 03 61 2f 62",
    "3c 07 00 03 61 2f 62 00 0b",  # QoS 2 dup
    "40 02 00 0a", "50 02 00 0b", "62 02 00 0b", "70 02 00 0b",
    "82 08 00 01 00 03 61 2f 23 01",  # SUBSCRIBE
    "90 03 00 01 01", "90 06 00 02 00 01 02 80",
    "a2 0b 00 02 00 01 61 00 04 62 2f 2f 63",  # UNSUBSCRIBE
    "b0 02 00 02",
    "c0 00", "d0 00", "e0 00",
]

V5_PACKETS = [
    "10 21 00 04 4d 51 54 54 05 02 00 1e 08 11 00 00 00 78 21 00 14 00 0c 66 6c 61 74 6c 69 6e 65 2d 70 75 62",
    "10 24 00 04 4d 51 54 54 05 02 00 3c 17 26 00 02 6b 31 00 02 76 31 11 00 00 00 0a"
    " 26 00 02 6b 32 00 02 76 32 00 00",  # interleaved user properties
    "10 1a 00 04 4d 51 54 54 05 06 00 3c 00 00 01 63 05 18 00 00 00 05 00 01 77 00 01 78",  # will delay
    "20 09 01 00 06 13 00 14 22 00 0a",  # CONNACK server keep alive
    "20 03 00 87 00",
    "30 10 00 01 74 09 02 00 00 00 05 0b 01 0b 02 78 79 7a",  # two subscription ids
    "30 06 00 00 03 23 00 01",  # topic alias, empty topic
    "32 0d 00 01 61 00 07 05 01 01 23 00 02 7b 7d",
    "40 04 00 0a 10 00", "40 03 00 0a 97", "62 03 00 0a 92", "70 02 00 0a",
    "82 0d 00 01 00 00 03 61 2f 23 2e 00 01 2b 00",
    "82 0a 00 01 03 0b 80 01 00 01 61 01",
    "90 05 00 01 00 00 8f",
    "a2 06 00 01 00 00 01 61",
    "b0 04 00 01 00 11",
    "c0 00", "d0 00",
    "e0 00", "e0 01 8d", "e0 01 8e", "e0 06 8b 04 1f 00 01 78",
    "f0 00", "f0 0b 18 09 15 00 06 53 43 52 41 4d 31",
]

MALFORMED = [
    (1, "00 00"), (1, "30 ff ff ff ff 01"), (1, "c0 80 00"), (2, "38 04 00 01 61 00"),
    (1, "10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00"), (1, "10 0e 00 04 4d 51 54 54 04 02 00 3c 00 02 c0 af"),
    (2, "30 0e 00 01 61 0a 02 00 00 00 01 02 00 00 00 02"), (2, "82 07 00 01 00 00 01 61 30"),
]


def write(name, version, split, hexes):
    data = bytes([version, split]) + b"".join(bytes.fromhex(h) for h in hexes)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    for i, h in enumerate(V3_PACKETS):
        write(f"v3-{i:02d}", 1, i, [h])
    for i, h in enumerate(V5_PACKETS):
        write(f"v5-{i:02d}", 2, 0x80 | i, [h])
    # whole sessions: the stream learns the version from CONNECT
    write("session-v3", 0, 0x81, V3_PACKETS[:1] + V3_PACKETS[2:])
    write("session-v5", 0, 0x07, V5_PACKETS)
    for i, (v, h) in enumerate(MALFORMED):
        write(f"bad-{i:02d}", v, i, ["c0 00", h])
    digest = hashlib.sha256(b"".join(open(os.path.join(OUT, n), "rb").read() for n in sorted(os.listdir(OUT))))
    print(f"{len(os.listdir(OUT))} seeds in {OUT} (sha256 {digest.hexdigest()[:12]})")


if __name__ == "__main__":
    main()
