#!/usr/bin/env python3
"""A client that connects with a short keep-alive and a will, subscribes,
prints "ready" and keeps running; the test then SIGSTOPs it so that its TCP
connection stays open but silent. Usage: paho_silent.py PORT ID KEEPALIVE 4|5"""
import sys
import threading
import time

import paho.mqtt.client as mqtt

port, cid, keepalive, version = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
proto = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
ready = threading.Event()
c = mqtt.Client(client_id=cid, protocol=proto)
c.will_set("will/" + cid, cid + " is gone", qos=1)
c.on_subscribe = lambda *args: ready.set()
c.connect("127.0.0.1", port, keepalive=keepalive)
c.loop_start()
c.subscribe("nothing", 0)
if not ready.wait(10):
    sys.exit("no SUBACK")
print("ready", flush=True)
time.sleep(3600)
