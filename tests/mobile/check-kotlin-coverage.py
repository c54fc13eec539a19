#!/usr/bin/env python3
"""Checks that every exported method of paaf-mobile is called from the Kotlin tests.

The exports are the methods of the generated `...Interface` interfaces in
mobile/android/paaf/src/main/kotlin/dev/paaf/mobile/paaf_mobile.kt (one per uniffi object:
Paaf, the screen models, the operations). A method counts as tested when `.name(` or
`.name {` appears in tests/mobile/kotlin/*.kt outside comments, so an export added without a
JVM test against the real peers fails the test command.

It first runs its own cases (SELF_TEST_CASES), so a change that stops it catching a missing
call fails as well.

  tests/mobile/check-kotlin-coverage.py        (CI: scripts/test.sh)

Exit status 1 and one line per uncalled method (Interface.method) when something is missing.
"""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BINDINGS = REPO / "mobile/android/paaf/src/main/kotlin/dev/paaf/mobile/paaf_mobile.kt"
TESTS = REPO / "tests/mobile/kotlin"

INTERFACE = re.compile(r"^public interface (\w+)Interface \{\n(.*?)^\}", re.S | re.M)
METHOD = re.compile(r"^\s*(?:suspend )?fun `(\w+)`\(", re.M)


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def exports(bindings: str) -> list[tuple[str, str]]:
    """(object, method) for every method of a generated `...Interface`."""
    return [(m.group(1), name) for m in INTERFACE.finditer(bindings) for name in METHOD.findall(m.group(2))]


def uncalled(bindings: str, tests: str) -> list[str]:
    """`Object.method` of every export the tests never call."""
    code = strip_comments(tests)
    return [f"{obj}.{name}" for obj, name in exports(bindings)
            if not re.search(rf"\.{name}\s*[({{]", code)]


SELF_TEST_BINDINGS = """\
public interface PaafInterface {
    fun `about`(): About
    suspend fun `setFlag`(`target`: FlagTarget, `on`: kotlin.Boolean): FlagChange
    fun `servers`(): List<Server>
    companion object
}
public interface FixScreenInterface {
    fun `reload`()
}
"""
SELF_TEST_CASES = [
    ("paaf.about(); paaf.setFlag(t, true); paaf.servers(); screen.reload()", []),
    ("paaf.about(); paaf.setFlag(t, true); screen.reload()", ["Paaf.servers"]),
    ("paaf.about(); // paaf.servers()\n/* paaf.setFlag(t, true) */ screen.reload()",
     ["Paaf.setFlag", "Paaf.servers"]),
    ("paaf.about(); paaf.setFlagState(t); paaf.servers(); screen.reload()", ["Paaf.setFlag"]),
]


def self_test() -> list[str]:
    """The cases above that the checker gets wrong, in words."""
    wrong = []
    for n, (tests, expected) in enumerate(SELF_TEST_CASES):
        got = uncalled(SELF_TEST_BINDINGS, tests)
        if got != expected:
            wrong.append(f"case {n}: expected {expected}, got {got}")
    return wrong


def main() -> int:
    wrong = self_test()
    for w in wrong:
        print(f"check-kotlin-coverage self-test: {w}", file=sys.stderr)
    if wrong:
        return 1
    bindings = BINDINGS.read_text()
    tests = "\n".join(p.read_text() for p in sorted(TESTS.glob("*.kt")))
    total = len(exports(bindings))
    missing = uncalled(bindings, tests)
    for m in missing:
        print(f"{m}: exported but never called from {TESTS.relative_to(REPO)}/*.kt", file=sys.stderr)
    if missing:
        print(f"{len(missing)} of {total} exported methods have no Kotlin test: add one that calls "
              "each against the real peers", file=sys.stderr)
        return 1
    print(f"every exported method ({total}) is called from the Kotlin tests "
          f"(self-test: {len(SELF_TEST_CASES)} cases caught)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
