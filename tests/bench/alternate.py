#!/usr/bin/env python3
"""alternate.py - time two commands against each other, alternating them.

Usage:
  alternate.py [--runs N] [--warmup W] [--a-repeat K] [--b-repeat K] \
      [--a-label NAME] [--b-label NAME] -- A_ARGV... ::: B_ARGV...

One sample of a side is its command run K times in a row (K = --a-repeat or
--b-repeat, default 1), timed with time.perf_counter() around the whole batch.
Samples alternate A, B, A, B, ... for N rounds (default 30), after W (default 2)
untimed warm-up samples of each side. Every run has stdin and stdout on
/dev/null; stderr goes to a scratch file shown if the run fails, which aborts
everything with exit status 1.

Prints one tab-separated line on stdout, times in milliseconds:
  a_median  b_median  ratio(a/b)  a_min  a_max  b_min  b_max  a_mad  b_mad
(mad = median absolute deviation). Progress goes to stderr when it is a tty.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time

SEPARATOR = ":::"


def parse():
    p = argparse.ArgumentParser(
        prog="alternate.py",
        description="Alternate two commands and report their median wall times.",
    )
    p.add_argument("--runs", type=int, default=30, help="timed samples per side")
    p.add_argument("--warmup", type=int, default=2, help="untimed samples per side first")
    p.add_argument("--a-repeat", type=int, default=1, help="runs of A in one sample")
    p.add_argument("--b-repeat", type=int, default=1, help="runs of B in one sample")
    p.add_argument("--a-label", default="A")
    p.add_argument("--b-label", default="B")
    p.add_argument("argv", nargs=argparse.REMAINDER, help=f"-- A_ARGV {SEPARATOR} B_ARGV")
    args = p.parse_args()
    rest = args.argv
    if rest and rest[0] == "--":
        rest = rest[1:]
    if rest.count(SEPARATOR) != 1:
        p.error(f"give the two commands as: -- A_ARGV... {SEPARATOR} B_ARGV...")
    i = rest.index(SEPARATOR)
    args.a, args.b = rest[:i], rest[i + 1 :]
    if not args.a or not args.b:
        p.error("both commands must be non-empty")
    for name in ("runs", "a_repeat", "b_repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.warmup < 0:
        p.error("--warmup must not be negative")
    return args


def sample(label, argv, repeat, scratch):
    """Runs argv `repeat` times in a row; returns the elapsed seconds, or exits on failure."""
    start = time.perf_counter()
    for _ in range(repeat):
        scratch.seek(0)
        scratch.truncate()
        rc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=scratch
        ).returncode
        if rc != 0:
            scratch.seek(0)
            err = scratch.read().decode("utf-8", "replace").rstrip()
            print(f"alternate.py: {label} failed (exit {rc}): {' '.join(argv)}", file=sys.stderr)
            if err:
                print(err, file=sys.stderr)
            sys.exit(1)
    return time.perf_counter() - start


def mad(xs):
    m = statistics.median(xs)
    return statistics.median(abs(x - m) for x in xs)


def main():
    args = parse()
    sides = [
        (args.a_label, args.a, args.a_repeat, []),
        (args.b_label, args.b, args.b_repeat, []),
    ]
    progress = sys.stderr.isatty()
    with tempfile.TemporaryFile(prefix="alternate-stderr-") as scratch:
        for _ in range(args.warmup):
            for label, argv, repeat, _times in sides:
                sample(label, argv, repeat, scratch)
        for r in range(args.runs):
            for label, argv, repeat, times in sides:
                times.append(sample(label, argv, repeat, scratch))
            if progress:
                print(f"\r  round {r + 1}/{args.runs}", end="", file=sys.stderr, flush=True)
    if progress:
        print("\r" + " " * 30 + "\r", end="", file=sys.stderr, flush=True)

    a, b = (s[3] for s in sides)
    ms = lambda x: f"{x * 1000:.2f}"  # noqa: E731
    am, bm = statistics.median(a), statistics.median(b)
    fields = [am, bm, None, min(a), max(a), min(b), max(b), mad(a), mad(b)]
    out = [ms(x) if x is not None else f"{am / bm:.3f}" for x in fields]
    print("\t".join(out))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
