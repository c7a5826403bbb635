#!/usr/bin/env python3
"""Checks flatline-broker's MQTT 5 session features with third-party clients
over real sockets: paho (python3-paho-mqtt 1.6.1) and mosquitto_pub -V mqttv5.
Message Expiry, Session Present after a takeover, Subscription Identifiers,
Topic Aliases both ways, Shared Subscriptions, wills on takeover, and the
CONNACK a rejected v5 CONNECT gets. Usage: paho_v5_check.py PORT EVENTS
(the broker's event log, for what paho does not report). Exit 0 when every
check passes."""
import json
import socket
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

PORT = int(sys.argv[1])
EVENTS = sys.argv[2]
TIMEOUT = 10.0
V5 = mqtt.MQTTv5


class Rec:
    def __init__(self):
        self.cond = threading.Condition()
        self.messages = []
        self.connack = None
        self.subacks = []
        self.disconnects = []

    def on_connect(self, client, userdata, flags, rc, properties=None):
        with self.cond:
            self.connack = (flags, rc, properties)
            self.cond.notify_all()

    def on_subscribe(self, client, userdata, mid, granted, properties=None):
        with self.cond:
            self.subacks.append(granted)
            self.cond.notify_all()

    def on_message(self, client, userdata, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def on_disconnect(self, client, userdata, rc, properties=None):
        with self.cond:
            self.disconnects.append(rc)
            self.cond.notify_all()

    def wait(self, pred, what, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for " + what)
                self.cond.wait(left)


def client(name, proto=V5, clean=True, props=None, will=None, will_props=None):
    rec = Rec()
    if proto == V5:
        c = mqtt.Client(client_id=name, protocol=proto)
    else:
        c = mqtt.Client(client_id=name, clean_session=clean, protocol=proto)
    c.on_connect = rec.on_connect
    c.on_subscribe = rec.on_subscribe
    c.on_message = rec.on_message
    c.on_disconnect = rec.on_disconnect
    if will:
        c.will_set(will[0], will[1], qos=0, properties=will_props)
    if proto == V5:
        c.connect("127.0.0.1", PORT, keepalive=30, clean_start=clean, properties=props)
    else:
        c.connect("127.0.0.1", PORT, keepalive=30)
    c.loop_start()
    rec.wait(lambda: rec.connack is not None, name + " CONNACK")
    return c, rec


def connect_props(**kw):
    p = Properties(PacketTypes.CONNECT)
    for k, v in kw.items():
        setattr(p, k, v)
    return p


def subscribe(c, rec, topic, qos, sub_id=None):
    n = len(rec.subacks)
    props = None
    if sub_id is not None:
        props = Properties(PacketTypes.SUBSCRIBE)
        props.SubscriptionIdentifier = sub_id
    c.subscribe(topic, qos, properties=props)
    rec.wait(lambda: len(rec.subacks) > n, "SUBACK for " + topic)
    return rec.subacks[-1]


def stop(*clients):
    for c in clients:
        c.disconnect()
        c.loop_stop()


def kill(c):
    c.loop_stop()
    c.socket().close()


def mosquitto_pub(topic, msg, qos, *props):
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(PORT), "-V", "mqttv5", "-q", str(qos), "-t", topic,
            "-m", msg]
    for p in props:
        args += ["-D", "publish"] + list(p)
    subprocess.run(args, check=True, timeout=TIMEOUT)


def broker_event(ev, client_id, timeout=TIMEOUT):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(EVENTS) as f:
            for line in f:
                e = json.loads(line)
                if e.get("ev") == ev and e.get("client_id") == client_id:
                    return e
        time.sleep(0.05)
    raise AssertionError("no %s event for %s" % (ev, client_id))


def check_connack():
    _, rec = client("probe")
    props = rec.connack[2]
    assert getattr(props, "SubscriptionIdentifierAvailable", 1) == 1, props
    assert getattr(props, "SharedSubscriptionAvailable", 1) == 1, props
    assert props.TopicAliasMaximum == 10, props
    print("CONNACK advertises subscription identifiers, shared subscriptions, Topic Alias Maximum 10")


def check_expiry():
    durable = connect_props(SessionExpiryInterval=300)
    sub, rec = client("exp-sub", props=durable)
    subscribe(sub, rec, "exp/#", 1)
    stop(sub)
    mosquitto_pub("exp/short", "1s", 1, ("message-expiry-interval", "1"))
    mosquitto_pub("exp/long", "30s", 1, ("message-expiry-interval", "30"))
    time.sleep(2.2)
    sub, rec = client("exp-sub", clean=False, props=durable)
    assert rec.connack[0]["session present"] == 1
    rec.wait(lambda: rec.messages, "the queued message")
    time.sleep(0.3)
    got = [(m.topic, m.properties.MessageExpiryInterval) for m in rec.messages]
    assert len(got) == 1 and got[0][0] == "exp/long", "the 1 s message must have expired: %r" % got
    assert 27 <= got[0][1] <= 28, "30 s less the time it waited: %r" % got
    stop(sub)
    print("message expiry: the expired copy deleted, the other counted down to", got[0][1])


def check_session_present():
    for proto, tag in ((mqtt.MQTTv311, "v311"), (V5, "v5")):
        a, arec = client("sp-" + tag, proto=proto, clean=True)
        props = connect_props(SessionExpiryInterval=60) if proto == V5 else None
        b, brec = client("sp-" + tag, proto=proto, clean=False, props=props)
        assert brec.connack[0]["session present"] == 0, "%s: the clean session ended with its connection" % tag
        arec.wait(lambda: arec.disconnects, tag + " old connection closed")
        a.loop_stop()
        stop(b)
        if proto == V5:
            c, crec = client("sp-" + tag, proto=proto, clean=False, props=props)
            assert crec.connack[0]["session present"] == 1, "v5: a session with expiry 60 is resumed"
            stop(c)
    print("session present 0 after a takeover of a clean session (3.1.1 and 5.0)")


def check_subscription_ids():
    sub, rec = client("sid-sub")
    subscribe(sub, rec, "sid/+", 1, sub_id=5)
    subscribe(sub, rec, "sid/b", 1, sub_id=7)
    pub, _ = client("sid-pub")
    pub.publish("sid/b", "both", qos=1).wait_for_publish()
    pub.publish("sid/c", "one", qos=1).wait_for_publish()
    rec.wait(lambda: len(rec.messages) >= 2, "2 messages")
    ids = {m.topic: sorted(m.properties.SubscriptionIdentifier) for m in rec.messages}
    assert ids == {"sid/b": [5, 7], "sid/c": [5]}, ids
    stop(sub, pub)
    print("subscription identifiers:", ids)


def check_topic_alias():
    sub, srec = client("ta-sub", props=connect_props(TopicAliasMaximum=2))
    subscribe(sub, srec, "ta/#", 0)
    pub, _ = client("ta-pub")
    alias = Properties(PacketTypes.PUBLISH)
    alias.TopicAlias = 1
    pub.publish("ta/x", "set", properties=alias).wait_for_publish()
    pub.publish("", "by alias", properties=alias).wait_for_publish()
    srec.wait(lambda: len(srec.messages) >= 2, "2 aliased messages")
    # client to server: the broker resolved alias 1 to ta/x
    assert [m.payload for m in srec.messages] == [b"set", b"by alias"], srec.messages
    # server to client: the first with topic and alias, the second with the alias only
    a0, a1 = (m.properties.TopicAlias for m in srec.messages)
    assert srec.messages[0].topic == "ta/x" and a0 == a1 == 1, [(m.topic, a0, a1) for m in srec.messages]
    assert srec.messages[1].topic == "", "the second time only the alias"
    # an alias above the broker's maximum: DISCONNECT 0x94
    bad = Properties(PacketTypes.PUBLISH)
    bad.TopicAlias = 11
    p2, p2rec = client("ta-bad")
    p2.publish("ta/y", "too high", properties=bad)
    p2rec.wait(lambda: p2rec.disconnects, "DISCONNECT for alias 11")
    # paho 1.6.1 drops the reason code of a DISCONNECT without properties
    # (it reads it only past 2 bytes), so the broker's log tells which it sent.
    close = broker_event("close", "ta-bad")
    assert close["reason"] == "protocol_error" and close["reason_code"] == 0x94, close
    p2.loop_stop()
    stop(sub, pub)
    print("topic aliases: both ways; alias 11 refused with 0x94")


def check_shared():
    members = [client("sh-%d" % i) for i in range(2)]
    for c, rec in members:
        subscribe(c, rec, "$share/grp/sh/#", 1)
    pub, _ = client("sh-pub")
    for i in range(6):
        pub.publish("sh/%d" % i, str(i), qos=1).wait_for_publish()
    for c, rec in members:
        rec.wait(lambda: len(rec.messages) >= 3, "3 shared messages")
    time.sleep(0.3)
    counts = [len(rec.messages) for _, rec in members]
    assert counts == [3, 3], "round-robin: %r" % counts
    every = sorted(m.payload for _, rec in members for m in rec.messages)
    assert every == [str(i).encode() for i in range(6)], every
    stop(pub, *(c for c, _ in members))
    print("shared subscription: 6 messages, 3 to each member")


def check_will_on_takeover():
    w, wrec = client("will-watch")
    subscribe(w, wrec, "wt/#", 0)
    durable = connect_props(SessionExpiryInterval=300)
    delayed = Properties(PacketTypes.WILLMESSAGE)
    delayed.WillDelayInterval = 3
    a, arec = client("wt-dev", props=durable, will=("wt/dev", "delayed"), will_props=delayed)
    b, brec = client("wt-dev", clean=False, props=durable, will=("wt/dev", "at once"))
    arec.wait(lambda: arec.disconnects, "takeover")
    a.loop_stop()
    time.sleep(3.5)
    assert not wrec.messages, "durable session, Will Delay 3: no will (%r)" % [m.payload for m in wrec.messages]
    c, _ = client("wt-dev", clean=False, props=durable)
    wrec.wait(lambda: wrec.messages, "the Will Delay 0 will at the takeover")
    assert wrec.messages[0].payload == b"at once"
    b.loop_stop()
    stop(c, w)
    print("wills on takeover: delayed one cancelled, undelayed one published")


def check_rejected_connect():
    # A v5 CONNECT with Receive Maximum 0: a protocol error. Raw bytes, since
    # no client library sends it.
    s = socket.create_connection(("127.0.0.1", PORT), timeout=TIMEOUT)
    s.sendall(bytes([0x10, 16, 0, 4]) + b"MQTT" + bytes([5, 2, 0, 0, 3, 0x21, 0, 0, 0, 0]))
    data = b""
    while True:
        chunk = s.recv(64)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data == bytes([0x20, 3, 0, 0x82, 0]), data.hex()
    print("rejected v5 CONNECT: CONNACK 0x82, then the close")


check_connack()
check_expiry()
check_session_present()
check_subscription_ids()
check_topic_alias()
check_shared()
check_will_on_takeover()
check_rejected_connect()
print("all ok")
