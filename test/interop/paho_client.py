"""Eclipse Paho (Python, 1.6.x) scenarios against a running broker, for the vitest interop suite.

Usage: /usr/bin/python3 paho_client.py <scenario> <host> <port> <311|5> [args...]
Prints one JSON object on the last line of stdout; the TypeScript test asserts on it.
"""
import json
import sys
import threading
import time
import uuid

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

SCENARIO, HOST, PORT, PROTO = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ARGS = sys.argv[5:]
V5 = PROTO == "5"
TIMEOUT = 5.0


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Conn:
    """A connected Paho client that records what it receives and waits on acks."""

    def __init__(self, client_id=None, clean=True, will=None, session_expiry=None, username=None, password=None):
        self.client_id = client_id or unique("paho")
        if V5:
            self.c = mqtt.Client(client_id=self.client_id, protocol=mqtt.MQTTv5)
        else:
            self.c = mqtt.Client(client_id=self.client_id, clean_session=clean, protocol=mqtt.MQTTv311)
        if username is not None:
            self.c.username_pw_set(username, password)
        if will:
            self.c.will_set(will["topic"], will["payload"], qos=will.get("qos", 1), retain=False)
        self.messages = []
        self.connack = threading.Event()
        self.subacked = threading.Event()
        self.session_present = None
        self.rc = None
        self.cond = threading.Condition()
        self.c.on_connect = self._on_connect
        self.c.on_message = self._on_message
        self.c.on_subscribe = self._on_subscribe
        kwargs = {}
        if V5:
            kwargs["clean_start"] = clean
            if session_expiry is not None:
                props = Properties(PacketTypes.CONNECT)
                props.SessionExpiryInterval = session_expiry
                kwargs["properties"] = props
        self.c.connect(HOST, PORT, keepalive=30, **kwargs)
        self.c.loop_start()
        if not self.connack.wait(TIMEOUT):
            raise RuntimeError("no CONNACK")

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        self.session_present = bool(flags.get("session present"))
        self.rc = rc.value if hasattr(rc, "value") else rc
        self.connack.set()

    def _on_subscribe(self, client, userdata, mid, granted, properties=None):
        self.subacked.set()

    def _on_message(self, client, userdata, msg):
        entry = {"topic": msg.topic, "payload": msg.payload.decode("utf-8", "replace"), "qos": msg.qos, "retain": bool(msg.retain)}
        props = getattr(msg, "properties", None)
        if props is not None and hasattr(props, "UserProperty"):
            entry["user_properties"] = [list(p) for p in props.UserProperty]
        with self.cond:
            self.messages.append(entry)
            self.cond.notify_all()

    def subscribe(self, topic, qos):
        self.subacked.clear()
        self.c.subscribe(topic, qos)
        if not self.subacked.wait(TIMEOUT):
            raise RuntimeError("no SUBACK")

    def publish(self, topic, payload, qos=0, retain=False, properties=None):
        info = self.c.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        info.wait_for_publish(TIMEOUT)
        if qos > 0 and not info.is_published():
            raise RuntimeError("publish not acknowledged")

    def wait_messages(self, n, timeout=TIMEOUT):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.messages) < n and time.time() < deadline:
                self.cond.wait(deadline - time.time())
        return list(self.messages)

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def drop(self):
        """Closes the TCP connection without DISCONNECT (as if the client died)."""
        self.c.loop_stop()
        self.c.socket().close()


def roundtrip():
    qos = int(ARGS[0])
    topic = unique("interop/paho/rt")
    sub = Conn()
    sub.subscribe(topic, 2)
    pub = Conn()
    for i in range(3):
        pub.publish(topic, f"m{i}-q{qos}", qos=qos)
    got = sub.wait_messages(3)
    time.sleep(0.2)
    pub.disconnect()
    sub.disconnect()
    return {"received": got}


def retained():
    topic = unique("interop/paho/retained")
    pub = Conn()
    pub.publish(topic, "kept", qos=1, retain=True)
    first = Conn()
    first.subscribe(topic, 1)
    got_first = first.wait_messages(1)
    first.disconnect()
    pub.publish(topic, b"", qos=1, retain=True)
    second = Conn()
    second.subscribe(topic, 1)
    got_second = second.wait_messages(1, timeout=1.0)
    second.disconnect()
    pub.disconnect()
    return {"first": got_first, "after_clear": got_second}


def will():
    topic = unique("interop/paho/will")
    watcher = Conn()
    watcher.subscribe(topic + "/#", 1)
    abrupt = Conn(will={"topic": topic + "/abrupt", "payload": "gone", "qos": 1})
    graceful = Conn(will={"topic": topic + "/graceful", "payload": "should-not-arrive", "qos": 1})
    graceful.disconnect()
    abrupt.drop()
    got = watcher.wait_messages(1)
    time.sleep(0.5)
    watcher.disconnect()
    return {"received": watcher.messages}


def session():
    topic = unique("interop/paho/session")
    client_id = unique("persistent")
    expiry = 300 if V5 else None
    first = Conn(client_id=client_id, clean=True, session_expiry=expiry)
    first.disconnect()
    second = Conn(client_id=client_id, clean=False, session_expiry=expiry)
    second.subscribe(topic, 1)
    second.disconnect()
    pub = Conn()
    for i in range(3):
        pub.publish(topic, f"offline-{i}", qos=1)
    pub.disconnect()
    third = Conn(client_id=client_id, clean=False, session_expiry=expiry)
    got = third.wait_messages(3)
    time.sleep(0.2)
    third.disconnect()
    return {
        "first_present": first.session_present,
        "second_present": second.session_present,
        "third_present": third.session_present,
        "received": got,
    }


def userprops():
    topic = unique("interop/paho/props")
    sub = Conn()
    sub.subscribe(topic, 1)
    pub = Conn()
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("colour", "blue"), ("size", "7"), ("colour", "green")]
    pub.publish(topic, "with-props", qos=1, properties=props)
    got = sub.wait_messages(1)
    pub.disconnect()
    sub.disconnect()
    return {"received": got}


def auth():
    """Connects with the given credentials and reports the CONNACK return/reason code."""
    user, password = ARGS[0], ARGS[1]
    try:
        c = Conn(username=user, password=password)
        rc = c.rc
        c.disconnect()
    except RuntimeError as err:
        return {"error": str(err)}
    return {"rc": rc}


SCENARIOS = {"roundtrip": roundtrip, "retained": retained, "will": will, "session": session, "userprops": userprops, "auth": auth}

if __name__ == "__main__":
    result = SCENARIOS[SCENARIO]()
    print(json.dumps(result))
