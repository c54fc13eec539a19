#!/usr/bin/env python3
"""Checks that the Swift and Kotlin app code uses only symbols the checked-in bindings declare.

Neither a Swift toolchain nor the Android SDK runs here, so the apps' sources are never
compiled in CI; this catches the drift that broke them once (`PaafError.Access(code:message:)`
where the generated case is `(code:reason:)`). It reads the generated bindings
(mobile/ios/Sources/Paaf/*.swift, mobile/android/paaf/src/main/kotlin/dev/paaf/**.kt, with the
hand-written PaafFlows.kt) and, in the app sources, checks:

  Swift   `Type.member(label: ...)` and `Type(label: ...)` of a generated type: the member exists
          and its labels match; `.member(label: ...)` and `x.method(label: ...)` whose name only
          the bindings declare (or the app too): the labels match one declaration; a class
          conforming to a generated protocol implements each requirement with its labels.
  Kotlin  `import dev.paaf...X` names a declaration; `Type.Member` of a generated type exists;
          named arguments of `Type.Member(...)`, `Type(...)` and generated methods exist;
          `override fun` in a class implementing a generated interface matches a requirement.

  tests/mobile/check-app-symbols.py            the apps under mobile/ (CI: scripts/test.sh)
  tests/mobile/check-app-symbols.py FILE...    only these app files

Exit status 1 and one line per unknown symbol (file:line: what) when something is missing.
"""

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MOBILE = REPO / "mobile"
SWIFT_BINDINGS = sorted((MOBILE / "ios/Sources/Paaf").glob("*.swift"))
KOTLIN_BINDINGS = sorted((MOBILE / "android/paaf/src/main/kotlin/dev/paaf").rglob("*.kt"))
APP_DIRS = [
    MOBILE / "ios/Example",
    MOBILE / "ios/App",
    MOBILE / "android/example/src",
    MOBILE / "android/app/src",
]


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def strip_strings(text: str) -> str:
    """String literals emptied (their interpolations too), lines kept."""
    text = re.sub(r'"""(.*?)"""', lambda m: '""' + "\n" * m.group(1).count("\n"), text, flags=re.S)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)


def split_args(body: str) -> list[str]:
    """Top-level comma-separated arguments of a call or parameter list."""
    args, depth, cur = [], 0, ""
    for ch in body:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            args.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        args.append(cur)
    return [a.strip() for a in args]


def call_body(text: str, open_paren: int) -> str:
    """The text between the parenthesis at `open_paren` and its match."""
    depth = 0
    for i in range(open_paren, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1 : i]
    return text[open_paren + 1 :]


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


# ---------------------------------------------------------------- Swift


def swift_param_labels(params: str) -> tuple[str, ...]:
    labels = []
    for p in split_args(params):
        head = p.split(":", 1)[0].replace("`", "").split()
        labels.append(head[0] if head else "_")
    return tuple(labels)


def swift_call_labels(args: str) -> tuple[str, ...]:
    labels = []
    for a in split_args(args):
        m = re.match(r"(\w+)\s*:(?!:)", a)
        labels.append(m.group(1) if m else "_")
    return tuple(labels)


SWIFT_DECL = re.compile(
    r"^(?:public |open |internal |fileprivate |private |final )*"
    r"(enum|struct|class|protocol|extension) `?(\w+)`?",
    re.M,
)
SWIFT_MEMBER = re.compile(
    r"\b(?:case|init|func)\s*`?(\w*)`?\s*(?:<[^>]*>)?\s*(\()?", re.M
)


class SwiftTable:
    def __init__(self, texts: list[str]):
        self.kinds: dict[str, str] = {}
        # type -> member name ("init" for initializers) -> label tuples
        self.members: dict[str, dict[str, set]] = {}
        self.protocol_reqs: dict[str, list[tuple[str, tuple]]] = {}
        for text in texts:
            text = strip_comments(re.sub(r"\b(public|open)\s*\n\s*", r"\1 ", text))
            decls = list(SWIFT_DECL.finditer(text))
            for i, d in enumerate(decls):
                kind, name = d.group(1), d.group(2)
                if kind != "extension":
                    self.kinds.setdefault(name, kind)
                end = decls[i + 1].start() if i + 1 < len(decls) else len(text)
                block = text[d.end() : end]
                members = self.members.setdefault(name, {})
                for m in SWIFT_MEMBER.finditer(block):
                    word = block[m.start() : m.start() + 4]
                    member = "init" if word == "init" else m.group(1)
                    if not member:
                        continue
                    labels = swift_param_labels(call_body(block, m.end() - 1)) if m.group(2) else ()
                    members.setdefault(member, set()).add(labels)
                    if kind == "protocol" and word == "func":
                        self.protocol_reqs.setdefault(name, []).append((member, labels))

    def any_member(self, name: str) -> set:
        found = set()
        for members in self.members.values():
            found |= members.get(name, set())
        return found


def labels_match(call: tuple, decl: tuple) -> bool:
    return len(call) == len(decl) and all(c == d or d == "_" and c == "_" for c, d in zip(call, decl))


def show(labels) -> str:
    return "(" + "".join(f"{l}:" for l in labels) + ")"


def check_swift(path: Path, table: SwiftTable, app: SwiftTable) -> list[str]:
    raw = path.read_text()
    text = strip_strings(strip_comments(raw))
    problems = []

    def bad(pos: int, what: str):
        problems.append(f"{shown(path)}:{line_of(text, pos)}: {what}")

    def labels_at(m) -> tuple:
        return swift_call_labels(call_body(text, m.end() - 1))

    # Type.member(labels) and Type.member of a generated type.
    for m in re.finditer(r"\b([A-Z]\w*)\.`?(\w+)`?(\s*\()?", text):
        typ, member = m.group(1), m.group(2)
        if typ not in table.kinds or typ in app.kinds:
            continue
        decls = table.members.get(typ, {}).get(member)
        if decls is None:
            bad(m.start(), f"{typ}.{member} is not in the generated bindings")
        elif m.group(3) and not any(labels_match(labels_at(m), d) for d in decls):
            bad(m.start(), f"{typ}.{member}{show(labels_at(m))} does not match the generated "
                + " / ".join(f"{member}{show(d)}" for d in sorted(decls)))
    # Type(labels): a generated record's or class's initializer.
    for m in re.finditer(r"(?<![\w.])([A-Z]\w*)\s*\(", text):
        typ = m.group(1)
        if table.kinds.get(typ) not in ("struct", "class") or typ in app.kinds:
            continue
        inits = table.members.get(typ, {}).get("init", set())
        if not any(labels_match(labels_at(m), d) for d in inits):
            bad(m.start(), f"{typ}{show(labels_at(m))}: no such initializer in the generated bindings")
    # .name(labels): an enum case or a method, checked when the bindings declare that name.
    for m in re.finditer(r"(?<![A-Z]\w)\.`?([a-z]\w*)`?\s*\(", text):
        name = m.group(1)
        generated = table.any_member(name)
        if not generated:
            continue
        known = generated | app.any_member(name)
        if not any(labels_match(labels_at(m), d) for d in known):
            bad(m.start(), f".{name}{show(labels_at(m))} matches no generated "
                + " / ".join(f"{name}{show(d)}" for d in sorted(generated)))
    # A class conforming to a generated protocol implements each requirement.
    for m in re.finditer(r"\b(?:class|struct|actor)\s+(\w+)\s*:\s*([^{]*)\{", text):
        for proto in re.findall(r"\w+", m.group(2)):
            for member, labels in table.protocol_reqs.get(proto, []) if proto not in app.kinds else []:
                if labels not in app.members.get(m.group(1), {}).get(member, set()):
                    bad(m.start(), f"{m.group(1)} conforms to {proto} but has no "
                        f"func {member}{show(labels)}")
    return problems


# ---------------------------------------------------------------- Kotlin

KOTLIN_DECL = re.compile(
    r"^([ \t]*)(?:@\w+(?:\([^)\n]*\))?\s+)*(?:public |internal |private |open |abstract |sealed |data |enum |annotation |"
    r"value |inner |override |suspend |inline |operator )*"
    r"(class|interface|object|fun|typealias|val)\s+(?:<[^>]*>\s*)?(?:[\w.<>?, ]+\.)?`?(\w+)`?",
    re.M,
)


class KotlinTable:
    def __init__(self, texts: list[str]):
        self.top: set[str] = set()
        self.kinds: dict[str, str] = {}
        self.members: dict[str, set[str]] = {}
        self.params: dict[str, list[set[str]]] = {}  # callable name -> param name sets
        self.interface_funs: dict[str, set[str]] = {}
        for text in texts:
            text = strip_comments(text)
            self._scan(text)

    def _scan(self, text: str):
        text = strip_strings(text)
        bodies: list[tuple[int, int, str]] = []  # (open brace, close brace, type name)
        for m in KOTLIN_DECL.finditer(text):
            kind, name = m.group(2), m.group(3)
            owners = [b for b in bodies if b[0] < m.start() < b[1]]
            owner = owners[-1][2] if owners else None
            if owner is None:
                self.top.add(name)
            else:
                self.members.setdefault(owner, set()).add(name)
            rest = text[m.end() : m.end() + 400]
            if kind in ("class", "fun"):
                paren = rest.find("(")
                stop = [i for i in (rest.find("{"), rest.find("\n"), rest.find("=")) if i >= 0]
                if 0 <= paren < min(stop, default=400):
                    names = {
                        a.split(":")[0].replace("`", "").split()[-1]
                        for a in split_args(call_body(rest, paren))
                        if ":" in a and a.split(":")[0].split()
                    }
                    self.params.setdefault(name, []).append(names)
            if kind in ("class", "interface", "object"):
                self.kinds.setdefault(name if owner is None else f"{owner}.{name}", kind)
                brace = text.find("{", m.end())
                head = text[m.end() : brace]
                if brace >= 0 and head.count("(") == head.count(")") and not re.search(
                    r"\n\s*(?:@|(?:\w+ )*(?:class|fun|val|var|object|interface|typealias)\b)", head
                ):
                    body = call_body(text.replace("{", "(").replace("}", ")"), brace)
                    bodies.append((brace, brace + len(body) + 1, name))
                    if "enum class" in m.group(0):
                        for entry in re.findall(r"^\s*([A-Z][A-Z0-9_]*)\b", body, re.M):
                            self.members.setdefault(name, set()).add(entry)
            if kind == "fun" and owner and self.kinds.get(owner) == "interface":
                self.interface_funs.setdefault(owner, set()).add(name)


def check_kotlin(path: Path, table: KotlinTable, app: KotlinTable) -> list[str]:
    text = strip_strings(strip_comments(path.read_text()))
    problems = []

    def bad(pos: int, what: str):
        problems.append(f"{shown(path)}:{line_of(text, pos)}: {what}")

    def named_args(m) -> set[str]:
        return {
            a.group(1)
            for arg in split_args(call_body(text, m.end() - 1))
            if (a := re.match(r"(\w+)\s*=(?!=)", arg))
        }

    def check_named(pos, what, callee, m):
        names = named_args(m)
        decls = table.params.get(callee, [])
        if names and decls and not any(names <= d for d in decls):
            bad(pos, f"{what}: named arguments {sorted(names)} match no generated declaration")

    for m in re.finditer(r"^import\s+dev\.paaf\.(?:(?:core|mobile)\.)?(\w+)\s*$", text, re.M):
        if m.group(1) not in table.top:
            bad(m.start(), f"import of {m.group(1)}: not in the generated bindings")
    for m in re.finditer(r"\b([A-Z]\w*)\.([A-Za-z_]\w*)(\s*\()?", text):
        typ, member = m.group(1), m.group(2)
        if typ not in table.kinds or typ in app.kinds:
            continue
        if member not in table.members.get(typ, set()):
            bad(m.start(), f"{typ}.{member} is not in the generated bindings")
        elif m.group(3):
            check_named(m.start(), f"{typ}.{member}(...)", member, m)
    for m in re.finditer(r"(?<![\w.])([A-Z]\w*)\s*\(", text):
        if table.kinds.get(m.group(1)) == "class" and m.group(1) not in app.kinds:
            check_named(m.start(), f"{m.group(1)}(...)", m.group(1), m)
    for m in re.finditer(r"\.([a-z]\w*)\s*\(", text):
        if m.group(1) in table.params and m.group(1) not in app.params:
            check_named(m.start(), f".{m.group(1)}(...)", m.group(1), m)
    for m in re.finditer(r"\bclass\s+(\w+)[^{]*?:\s*([^{]*)\{", text):
        interfaces = [i for i in re.findall(r"\w+", m.group(2)) if i in table.interface_funs]
        if not interfaces:
            continue
        required = set().union(*(table.interface_funs[i] for i in interfaces))
        block = call_body(text.replace("{", "(").replace("}", ")"), m.end() - 1)
        for o in re.finditer(r"override\s+(?:suspend\s+)?fun\s+(\w+)", block):
            if o.group(1) not in required:
                bad(m.start(), f"{m.group(1)} overrides {o.group(1)}, which "
                    f"{'/'.join(interfaces)} does not declare")
    return problems


def main(argv: list[str]) -> int:
    if argv:
        files = [Path(a).resolve() for a in argv]
    else:
        files = [f for d in APP_DIRS if d.is_dir() for f in sorted(d.rglob("*")) if f.suffix in (".swift", ".kt")]
    swift_files = [f for f in files if f.suffix == ".swift"]
    kotlin_files = [f for f in files if f.suffix == ".kt"]
    swift = SwiftTable([p.read_text() for p in SWIFT_BINDINGS])
    kotlin = KotlinTable([p.read_text() for p in KOTLIN_BINDINGS])
    swift_app = SwiftTable([strip_strings(p.read_text()) for p in swift_files])
    kotlin_app = KotlinTable([strip_strings(p.read_text()) for p in kotlin_files])
    problems = []
    for f in swift_files:
        problems += check_swift(f, swift, swift_app)
    for f in kotlin_files:
        problems += check_kotlin(f, kotlin, kotlin_app)
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} symbol(s) the app code uses are not in the checked-in bindings: "
              "fix the app code (or regenerate the bindings: scripts/mobile-bindings.sh)", file=sys.stderr)
        return 1
    print(f"app code uses only generated symbols ({len(swift_files)} Swift, {len(kotlin_files)} Kotlin files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
