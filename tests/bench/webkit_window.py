"""The floor for the desktop app's idle memory: a bare WebKitGTK window with one small page.

tests/bench/desktop.sh starts this beside paaf-desktop, in the same environment (Xvfb, the
same WEBKIT_* variables), and compares the idle RSS of both process trees: the same engine
(WebKitGTK 4.1, GTK 3, one web process and one network process) with nothing of paaf's in
it, so the ratio shows what paaf adds on top of the engine it is built on. It runs on
Debian's python3 with PyGObject (python3-gi, gir1.2-webkit2-4.1); the interpreter itself adds
~15 MB, which counts against the floor, not against paaf.
"""

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import Gtk, WebKit2  # noqa: E402

PAGE = "<!doctype html><meta charset=utf-8><title>floor</title><h1>Hello</h1><p>WebKitGTK</p>"


def main() -> None:
    window = Gtk.Window(title="webkitgtk floor")
    window.set_default_size(1280, 800)
    view = WebKit2.WebView()
    window.add(view)
    view.load_html(PAGE, "about:blank")
    window.connect("destroy", Gtk.main_quit)
    window.show_all()
    Gtk.main()


if __name__ == "__main__":
    main()
