"""A StatusNotifierWatcher on the test's D-Bus session bus: what a desktop panel (KDE's, GNOME's
AppIndicator extension, XFCE's) runs so that apps can show tray icons. The app's tray
(libayatana-appindicator, through Tauri) registers with it; the test then reads the icon's
properties and its menu over D-Bus, the way a panel draws them.

Specs: https://www.freedesktop.org/wiki/Specifications/StatusNotifierItem/StatusNotifierWatcher/
and the com.canonical.dbusmenu interface (libdbusmenu's dbus-menu.xml).
"""

import asyncio
import threading

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"


class TrayWatcher:
    """Runs its own asyncio loop in a thread; methods block until the bus answers."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []  # (the app's bus name, its item's object path)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bus = self._run(self._connect())

    def _run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self) -> MessageBus:
        bus = await MessageBus(bus_type=BusType.SESSION).connect()
        bus.add_message_handler(self._handle)
        await bus.request_name(WATCHER)
        return bus

    def _props(self) -> dict[str, Variant]:
        return {
            "IsStatusNotifierHostRegistered": Variant("b", True),
            "ProtocolVersion": Variant("i", 0),
            "RegisteredStatusNotifierItems": Variant("as", [f"{s}{p}" for s, p in self.items]),
        }

    def _handle(self, msg: Message):
        if msg.message_type != MessageType.METHOD_CALL or msg.path != WATCHER_PATH:
            return None
        if msg.interface == WATCHER and msg.member == "RegisterStatusNotifierItem":
            # The argument is an object path (libayatana) or a bus name (others).
            service = msg.body[0]
            if service.startswith("/"):
                self.items.append((msg.sender, service))
            else:
                self.items.append((service, "/StatusNotifierItem"))
            return Message.new_method_return(msg)
        if msg.interface == WATCHER and msg.member == "RegisterStatusNotifierHost":
            return Message.new_method_return(msg)
        if msg.interface == "org.freedesktop.DBus.Properties":
            props = self._props()
            if msg.member == "Get" and msg.body[1] in props:
                return Message.new_method_return(msg, "v", [props[msg.body[1]]])
            if msg.member == "GetAll":
                return Message.new_method_return(msg, "a{sv}", [props])
        return None

    def item_properties(self) -> dict[str, object]:
        """The registered item's StatusNotifierItem properties (the newest item)."""
        sender, path = self.items[-1]
        return self._run(self._item_properties(sender, path))

    async def _item_properties(self, sender: str, path: str) -> dict[str, object]:
        reply = await self.bus.call(
            Message(destination=sender, path=path, interface="org.freedesktop.DBus.Properties",
                    member="GetAll", signature="s", body=[ITEM])
        )
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"GetAll on the tray item: {reply.error_name} {reply.body}")
        return {k: v.value for k, v in reply.body[0].items()}

    def menu_labels(self) -> list[tuple[str, bool]]:
        """The item's menu as a panel shows it: (label, enabled) of every entry, in order."""
        sender, _ = self.items[-1]
        menu_path = self.item_properties()["Menu"]
        return self._run(self._menu_labels(sender, menu_path))

    async def _menu_labels(self, sender: str, path: str) -> list[tuple[str, bool]]:
        reply = await self.bus.call(
            Message(destination=sender, path=path, interface=MENU, member="GetLayout",
                    signature="iias", body=[0, -1, []])
        )
        if reply.message_type == MessageType.ERROR:
            raise RuntimeError(f"GetLayout on the tray menu: {reply.error_name} {reply.body}")
        out: list[tuple[str, bool]] = []

        def walk(node) -> None:
            _id, props, children = node
            if "label" in props:
                enabled = props["enabled"].value if "enabled" in props else True
                out.append((props["label"].value, enabled))
            for child in children:
                walk(child.value)

        walk(reply.body[1])
        return out

    def close(self) -> None:
        try:
            self.bus.disconnect()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
