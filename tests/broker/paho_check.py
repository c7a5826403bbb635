#!/usr/bin/env python3
"""Checks flatline-broker with the paho MQTT client (python3-paho-mqtt 1.6):
QoS 0/1/2 both ways, retained messages, wildcards and wills, for MQTT 3.1.1
and 5.0. Usage: paho_check.py PORT. Exit 0 when every check passes."""
import sys
import threading
import time

import paho.mqtt.client as mqtt

PORT = int(sys.argv[1])
TIMEOUT = 10.0


class Recorder:
    def __init__(self):
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None
        self.subacked = 0

    def on_connect(self, client, userdata, flags, rc, properties=None):
        with self.cond:
            self.connack = (flags, rc, properties)
            self.cond.notify_all()

    def on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self.cond:
            self.subacked += 1
            self.cond.notify_all()

    def on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append((msg.topic, msg.payload.decode(), msg.qos, msg.retain))
            self.cond.notify_all()

    def wait(self, pred, what):
        end = time.monotonic() + TIMEOUT
        with self.cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for " + what)
                self.cond.wait(left)


def client(name, proto, clean=True, will=None):
    rec = Recorder()
    if proto == mqtt.MQTTv5:
        c = mqtt.Client(client_id=name, protocol=proto)
    else:
        c = mqtt.Client(client_id=name, clean_session=clean, protocol=proto)
    c.on_connect = rec.on_connect
    c.on_subscribe = rec.on_subscribe
    c.on_message = rec.on_message
    if will:
        c.will_set(will[0], will[1], qos=1)
    c.connect("127.0.0.1", PORT, keepalive=30)
    c.loop_start()
    rec.wait(lambda: rec.connack is not None, name + " CONNACK")
    return c, rec


def subscribe(c, rec, topic, qos):
    n = rec.subacked
    c.subscribe(topic, qos)
    rec.wait(lambda: rec.subacked > n, "SUBACK for " + topic)


def check(proto, tag):
    sub, srec = client("paho-sub-" + tag, proto)
    subscribe(sub, srec, tag + "/q/#", 2)
    pub, prec = client("paho-pub-" + tag, proto)
    for qos in (0, 1, 2):
        info = pub.publish("%s/q/%d" % (tag, qos), "payload-%d" % qos, qos=qos)
        info.wait_for_publish()
    srec.wait(lambda: len(srec.messages) >= 3, "3 messages")
    got = sorted((t, p, q) for t, p, q, r in srec.messages)
    want = [("%s/q/%d" % (tag, q), "payload-%d" % q, q) for q in (0, 1, 2)]
    assert got == want, "%s: got %r, want %r" % (tag, got, want)
    print(tag, "QoS 0/1/2 ok")

    # Retained: stored, delivered to a later subscriber with retain set.
    pub.publish(tag + "/r/x", "kept", qos=1, retain=True).wait_for_publish()
    late, lrec = client("paho-late-" + tag, proto)
    subscribe(late, lrec, tag + "/r/+", 1)
    lrec.wait(lambda: lrec.messages, "retained message")
    assert lrec.messages[0] == (tag + "/r/x", "kept", 1, True), lrec.messages
    print(tag, "retained ok")

    # Will: the socket closes without DISCONNECT.
    wsub, wrec = client("paho-watch-" + tag, proto)
    subscribe(wsub, wrec, tag + "/will/+", 1)
    dying, _ = client("paho-dying-" + tag, proto, will=(tag + "/will/dying", "bye"))
    dying.loop_stop()
    dying.socket().close()
    wrec.wait(lambda: wrec.messages, "will")
    assert wrec.messages[0][:2] == (tag + "/will/dying", "bye"), wrec.messages
    print(tag, "will ok")

    if proto == mqtt.MQTTv5:
        props = srec.connack[2]
        assert getattr(props, "ReceiveMaximum", None), "no Receive Maximum in CONNACK: %r" % props
        print(tag, "CONNACK properties ok")
    for c in (sub, pub, late, wsub):
        c.disconnect()
        c.loop_stop()


check(mqtt.MQTTv311, "v311")
check(mqtt.MQTTv5, "v5")
print("all ok")
