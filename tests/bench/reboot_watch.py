#!/usr/bin/env python3
"""reboot_watch.py - time one verified reboot and see when its host's sshd answers again.

Usage:
  reboot_watch.py --port PORT [--notice-marker TEXT] -- COMMAND...

Runs COMMAND (a reboot of the sshd host on 127.0.0.1:PORT) and, meanwhile, knocks on the
port every 5 ms (a bare TCP connect, closed at once) to see it go down and answer again.
Each line COMMAND prints on stdout is timestamped as it arrives; the first one containing
--notice-marker (e.g. paaf's `"step":"back-up"` event: logged in again) is when the tool
noticed the host.

Prints one tab-separated line on stdout, times in milliseconds from the start:
  wall  sshd_back  noticed  finished_after_back
(noticed and sshd_back are "-" when not seen; noticed is relative to sshd_back).
Exit status 1 when COMMAND fails (its stderr and stdout are shown) or the port never went
down and came back.
"""

import argparse
import socket
import subprocess
import sys
import threading
import time

KNOCK_INTERVAL = 0.005


def parse():
    p = argparse.ArgumentParser(prog="reboot_watch.py")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--notice-marker", default=None)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    if a.command and a.command[0] == "--":
        a.command = a.command[1:]
    if not a.command:
        p.error("no command")
    return a


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def watch(port, stop, seen):
    """Records in seen['back'] the first moment the port answers after it refused."""
    was_down = False
    while not stop.is_set():
        up = port_open(port)
        if not up:
            was_down = True
        elif was_down:
            seen["back"] = time.perf_counter()
            return
        time.sleep(KNOCK_INTERVAL)


def main():
    a = parse()
    stop = threading.Event()
    seen = {}
    start = time.perf_counter()
    watcher = threading.Thread(target=watch, args=(a.port, stop, seen), daemon=True)
    watcher.start()
    proc = subprocess.Popen(
        a.command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    out = []
    noticed = None
    for line in proc.stdout:
        if noticed is None and a.notice_marker and a.notice_marker in line:
            noticed = time.perf_counter()
        out.append(line)
    rc = proc.wait()
    end = time.perf_counter()
    reader.join()
    stop.set()
    watcher.join(timeout=1)
    if rc != 0:
        sys.stderr.write("".join(err) + "".join(out)[-4000:])
        sys.stderr.write(f"reboot_watch.py: {a.command[0]} exited {rc}\n")
        return 1
    back = seen.get("back")
    if back is None:
        sys.stderr.write("reboot_watch.py: the port never went down and came back\n")
        return 1
    ms = lambda t: f"{(t - start) * 1000:.1f}"  # noqa: E731
    notice = "-" if noticed is None else f"{(noticed - back) * 1000:.1f}"
    print(f"{ms(end)}\t{ms(back)}\t{notice}\t{(end - back) * 1000:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
