"""A test double of the Linux desktop on the E2E's private session bus, and a client for it.

Xvfb has no notification server and no tray. Run as a script (tests/e2e.sh starts it before the
app), this stands in for both, as their specifications describe them:

* org.freedesktop.Notifications (Desktop Notifications Specification 1.2): Notify,
  GetCapabilities, GetServerInformation, CloseNotification and the NotificationClosed signal;
* org.kde.StatusNotifierWatcher (StatusNotifierItem specification): RegisterStatusNotifierItem,
  RegisterStatusNotifierHost, the properties RegisteredStatusNotifierItems,
  IsStatusNotifierHostRegistered (true: this process is the host too) and ProtocolVersion, and the
  Registered / Unregistered signals; an item is dropped when its bus connection goes away.

Every Notify call and every item (un)registration is appended to a JSON-lines file, which the
test reads with `Desktop`. `TrayClient` is what a panel does with a registered item: read its
`Menu` property, `GetLayout` the com.canonical.dbusmenu tree, send `Event(id, "clicked")`.

Usage: python tests/desktop_bus.py RECORD_FILE   (runs until killed; writes {"event": "ready"}
once it owns both names). Needs jeepney (pure Python).
"""
import json
import os
import sys
import time

from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, message_bus
from jeepney import new_error, new_method_call, new_method_return, new_signal
from jeepney.io.blocking import open_dbus_connection

NOTIFICATIONS = ("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
WATCHER = ("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher")
PROPERTIES = "org.freedesktop.DBus.Properties"
ITEM = "org.kde.StatusNotifierItem"
DBUSMENU = "com.canonical.dbusmenu"
UNKNOWN_METHOD = "org.freedesktop.DBus.Error.UnknownMethod"

INTROSPECTION = {
    NOTIFICATIONS[1]: """<node><interface name="org.freedesktop.Notifications">
 <method name="GetCapabilities"><arg type="as" direction="out"/></method>
 <method name="Notify"><arg type="s"/><arg type="u"/><arg type="s"/><arg type="s"/><arg type="s"/>
  <arg type="as"/><arg type="a{sv}"/><arg type="i"/><arg type="u" direction="out"/></method>
 <method name="CloseNotification"><arg type="u"/></method>
 <method name="GetServerInformation"><arg type="s" direction="out"/><arg type="s" direction="out"/>
  <arg type="s" direction="out"/><arg type="s" direction="out"/></method>
 <signal name="NotificationClosed"><arg type="u"/><arg type="u"/></signal>
</interface></node>""",
    WATCHER[1]: """<node><interface name="org.kde.StatusNotifierWatcher">
 <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
 <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
 <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
 <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
 <property name="ProtocolVersion" type="i" access="read"/>
 <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
 <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
 <signal name="StatusNotifierHostRegistered"/>
</interface></node>""",
}


class DesktopDouble:
    """Serves both interfaces on one connection and records what the app asks for."""

    def __init__(self, record_path):
        self.record = open(record_path, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)
        self.conn = open_dbus_connection(bus="SESSION")
        self.next_id = 1
        self.items = {}  # "sender/path" -> sender

    def write(self, event, **fields):
        self.record.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")
        self.record.flush()

    def call(self, message):
        """Sends a call to the bus and serves whatever arrives until its reply does."""
        serial = next(self.conn.outgoing_serial)
        self.conn.send(message, serial=serial)
        while True:
            incoming = self.conn.receive()
            if incoming.header.fields.get(HeaderFields.reply_serial) == serial:
                return incoming
            self.handle(incoming)

    def serve(self):
        bus = message_bus
        self.call(bus.AddMatch(MatchRule(type="signal", sender="org.freedesktop.DBus",
                                         interface="org.freedesktop.DBus", member="NameOwnerChanged")))
        for name in (NOTIFICATIONS[0], WATCHER[0]):
            reply = self.call(bus.RequestName(name, 0x4))  # DO_NOT_QUEUE
            if reply.body != (1,):  # PRIMARY_OWNER
                raise SystemExit(f"desktop_bus: {name} is already owned on this bus")
        self.write("ready", pid=os.getpid())
        while True:
            self.handle(self.conn.receive())

    def handle(self, msg):
        fields = msg.header.fields
        if msg.header.message_type == MessageType.signal:
            if fields.get(HeaderFields.member) == "NameOwnerChanged":
                name, _old, new = msg.body
                if not new:
                    self.owner_gone(name)
            return
        if msg.header.message_type != MessageType.method_call:
            return
        path = fields.get(HeaderFields.path)
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        try:
            reply = self.dispatch(msg, path, interface, member)
        except Exception as error:  # noqa: BLE001 (answered as a D-Bus error, like a real server)
            reply = new_error(msg, "org.freedesktop.DBus.Error.Failed", "s", (repr(error),))
        if reply is None:
            reply = new_error(msg, UNKNOWN_METHOD, "s", (f"No method {interface}.{member} on {path}",))
        self.conn.send(reply)

    def dispatch(self, msg, path, interface, member):
        if interface == "org.freedesktop.DBus.Introspectable" and path in INTROSPECTION:
            return new_method_return(msg, "s", (INTROSPECTION[path],))
        if interface == "org.freedesktop.DBus.Peer" and member == "Ping":
            return new_method_return(msg)
        if path == NOTIFICATIONS[1] and interface in (NOTIFICATIONS[0], None):
            return self.notifications(msg, member)
        if path == WATCHER[1] and interface in (WATCHER[0], None):
            return self.watcher(msg, member)
        if path == WATCHER[1] and interface == PROPERTIES:
            props = self.watcher_properties()
            if member == "GetAll":
                return new_method_return(msg, "a{sv}", (props,))
            if member == "Get" and msg.body[1] in props:
                return new_method_return(msg, "v", (props[msg.body[1]],))
        return None

    def notifications(self, msg, member):
        if member == "Notify":
            app_name, replaces_id, icon, summary, body, actions, hints, timeout = msg.body
            nid = replaces_id or self.next_id
            self.next_id = max(self.next_id, nid) + 1
            sender = msg.header.fields.get(HeaderFields.sender)
            self.write("notify", id=nid, sender=sender, app_name=app_name, app_icon=icon,
                       summary=summary, body=body, actions=list(actions),
                       hints=sorted(hints), expire_timeout=timeout)
            return new_method_return(msg, "u", (nid,))
        if member == "GetCapabilities":
            return new_method_return(msg, "as", (["body"],))
        if member == "GetServerInformation":
            return new_method_return(msg, "ssss", ("crosswalk-e2e-desktop", "Crosswalk tests", "1", "1.2"))
        if member == "CloseNotification":
            (nid,) = msg.body
            self.conn.send(new_signal(DBusAddress(NOTIFICATIONS[1], interface=NOTIFICATIONS[0]),
                                      "NotificationClosed", "uu", (nid, 3)))
            return new_method_return(msg)
        return None

    def watcher(self, msg, member):
        sender = msg.header.fields.get(HeaderFields.sender)
        if member == "RegisterStatusNotifierItem":
            (service,) = msg.body
            # libappindicator passes its object path; others pass a bus name (path then fixed).
            if service.startswith("/"):
                owner, path = sender, service
            else:
                owner, path = service, "/StatusNotifierItem"
            key = f"{owner}{path}"
            self.items[key] = sender
            self.write("item", service=owner, path=path, sender=sender)
            self.conn.send(new_signal(DBusAddress(WATCHER[1], interface=WATCHER[0]),
                                      "StatusNotifierItemRegistered", "s", (key,)))
            return new_method_return(msg)
        if member == "RegisterStatusNotifierHost":
            return new_method_return(msg)
        return None

    def watcher_properties(self):
        return {
            "RegisteredStatusNotifierItems": ("as", sorted(self.items)),
            "IsStatusNotifierHostRegistered": ("b", True),
            "ProtocolVersion": ("i", 0),
        }

    def owner_gone(self, name):
        for key, sender in list(self.items.items()):
            if name in (sender, key.split("/", 1)[0]):
                del self.items[key]
                self.write("item-gone", key=key)
                self.conn.send(new_signal(DBusAddress(WATCHER[1], interface=WATCHER[0]),
                                          "StatusNotifierItemUnregistered", "s", (key,)))


class Desktop:
    """Reads what the double recorded (the test's view of the desktop)."""

    def __init__(self, record_path):
        self.path = record_path

    def records(self, event=None):
        try:
            with open(self.path, encoding="utf-8") as handle:
                rows = [json.loads(line) for line in handle if line.endswith("\n")]
        except FileNotFoundError:
            return []
        return [row for row in rows if event is None or row["event"] == event]

    def notifications(self):
        return self.records("notify")

    def wait_for(self, what, predicate, timeout):
        """The first record `predicate` accepts, polling until `timeout` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            found = [row for row in self.records() if predicate(row)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                seen = [(r["event"], r.get("summary") or r.get("service")) for r in self.records()]
                raise AssertionError(f"no {what} within {timeout:.0f}s; the desktop saw {seen}")
            time.sleep(0.2)


def _unwrap(variant):
    """A jeepney variant (signature, value) as its value."""
    return variant[1] if isinstance(variant, tuple) and len(variant) == 2 and isinstance(variant[0], str) else variant


class TrayClient:
    """What a panel does with a StatusNotifierItem: its properties and its dbusmenu."""

    def __init__(self):
        self.conn = open_dbus_connection(bus="SESSION")

    def close(self):
        self.conn.close()

    def _call(self, service, path, interface, member, signature=None, body=()):
        msg = new_method_call(DBusAddress(path, bus_name=service, interface=interface), member, signature, body)
        reply = self.conn.send_and_get_reply(msg, timeout=10)
        if reply.header.message_type == MessageType.error:
            raise RuntimeError(f"{interface}.{member} on {service}{path}: "
                               f"{reply.header.fields.get(HeaderFields.error_name)} {reply.body}")
        return reply.body

    def pid_of(self, service):
        """The process behind a bus connection (to tell one app's item from another's)."""
        return self._call("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixProcessID", "s", (service,))[0]

    def item_property(self, service, path, name):
        return _unwrap(self._call(service, path, PROPERTIES, "Get", "ss", (ITEM, name))[0])

    def menu(self, service, menu_path):
        """The menu's top-level entries as dicts: id, label, type, enabled, toggle-type/state."""
        self._call(service, menu_path, DBUSMENU, "AboutToShow", "i", (0,))
        _revision, (_root, _props, children) = self._call(service, menu_path, DBUSMENU, "GetLayout",
                                                          "iias", (0, -1, []))
        entries = []
        for child in children:
            item_id, props, _sub = _unwrap(child)
            props = {key: _unwrap(value) for key, value in props.items()}
            if props.get("visible", True):
                entries.append({"id": item_id, **props})
        return entries

    def click(self, service, menu_path, item_id):
        """The panel's "clicked" event on one entry (what the admin's click sends)."""
        self._call(service, menu_path, DBUSMENU, "Event", "isvu", (item_id, "clicked", ("i", 0), 0))


if __name__ == "__main__":
    DesktopDouble(sys.argv[1]).serve()
