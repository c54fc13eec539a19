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
          `override fun` in a class or an object expression implementing a generated interface
          matches a requirement.
  Both    `x.member.member(...)` (and Kotlin `x::member`) where `x` is declared in the file with a
          generated type (`screen: FixScreen`, `val state: FixState by ...`): each member exists
          on the type the step before gives, so a renamed method or field is caught; declare
          the type of a variable holding a screen model or a state so that it is checked.

It first runs its own cases (SELF_TEST_CASES: renamed initializer labels, methods, fields,
overrides, enum cases), so a change that stops it catching them fails as well.

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
    MOBILE / "ios/App",
    MOBILE / "ios/AppMain",
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


def base_type(text: str):
    """The type a declaration names, when it is one plain (optional) type: `kotlin.String?` →
    `String`; None for collections, functions and generics."""
    m = re.fullmatch(r"\s*(?:[\w]+\.)*([A-Z]\w*)\s*\??\s*", text.split("=")[0])
    return m.group(1) if m else None


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def typed_receivers(text: str, table, app, pattern: str) -> dict[str, set[str]]:
    """The app file's variables and parameters declared with a generated type (`x: Type`)."""
    typed: dict[str, set[str]] = {}
    for m in re.finditer(pattern, text):
        if m.group(2) in table.kinds and m.group(2) not in app.kinds:
            typed.setdefault(m.group(1), set()).add(m.group(2))
    return typed


def check_chains(text, typed, table, allowed, segment, bad):
    """`x.member.member(...)...` on a receiver of a generated type: each member exists on the
    type the step before gives (a field's or a method's declared type), until a type that is
    not generated or a name the app or the language adds (`let`, `map`, an extension)."""
    for name, types in typed.items():
        for m in re.finditer(rf"(?:(?<=\bself\.)|(?<=\bthis\.)|(?<![\w.])){re.escape(name)}\b", text):
            current, pos, path = set(types), m.end(), name
            while current:
                step = segment.match(text, pos)
                if not step or step.group(1) in allowed:
                    break
                member = step.group(1)
                known: dict[str, str | None] = {}
                for typ in current:
                    known.update(table.members_of(typ))
                if member not in known:
                    bad(m.start(), f"{path}.{member}: {'/'.join(sorted(current))} has no member "
                        f"{member} in the generated bindings")
                    break
                path, pos = f"{path}.{member}", step.end()
                if text.startswith("(", pos):
                    pos += len(call_body(text, pos)) + 2
                given = known[member]
                current = {given} if given and table.members_of(given) else set()
            if current and (ref := re.match(r"::(\w+)", text[m.end():])):
                known = {}
                for typ in current:
                    known.update(table.members_of(typ))
                if ref.group(1) not in known:
                    bad(m.start(), f"{name}::{ref.group(1)}: {'/'.join(sorted(current))} has no "
                        f"member {ref.group(1)} in the generated bindings")


# ---------------------------------------------------------------- Swift

# What every value has (Optional's map, Hashable's hashValue, ...): not looked up.
SWIFT_ANY = {"map", "flatMap", "self", "hashValue", "hash", "description", "debugDescription"}
SWIFT_TYPED = r"(?<![\w.])([a-z]\w*)\s*:\s*([A-Z]\w*)\??(?![\w(.<])"
SWIFT_STEP = re.compile(r"\s*[?!]?\.`?(\w+)`?")


def swift_param_labels(params: str) -> tuple[str, ...]:
    labels = []
    for p in split_args(params):
        # An enum case's unlabeled value (`case value(SecretString)`) is `_`, not its type.
        head = p.split(":", 1)[0].replace("`", "").split() if ":" in p else []
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
        # type -> property or method name -> the type it gives (None: not a plain type)
        self.types: dict[str, dict[str, str | None]] = {}
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
                    params = call_body(block, m.end() - 1) if m.group(2) else None
                    labels = swift_param_labels(params) if params is not None else ()
                    members.setdefault(member, set()).add(labels)
                    if params is not None and word == "func":
                        after = block[m.end() + len(params) + 1 :]
                        r = re.match(r"\s*(?:async\s*)?(?:throws\s*)?->\s*([\w.]+\??)", after)
                        self.types.setdefault(name, {})[member] = base_type(r.group(1)) if r else None
                    if kind == "protocol" and word == "func":
                        self.protocol_reqs.setdefault(name, []).append((member, labels))
                for v in re.finditer(r"^\s*(?:public |open )+(?:var|let)\s+`?(\w+)`?\s*:\s*([^\n{]+)", block, re.M):
                    self.types.setdefault(name, {})[v.group(1)] = base_type(v.group(2))

    def members_of(self, typ: str) -> dict[str, str | None]:
        """What `x.name` may name on a value of a generated type (its protocol's too), and the
        type each gives."""
        found: dict[str, str | None] = {}
        for t in (typ, typ + "Protocol"):
            found.update({m: None for m in self.members.get(t, {})})
            found.update(self.types.get(t, {}))
        return found

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
    # x.member... on a variable or parameter declared with a generated type.
    check_chains(text, typed_receivers(text, table, app, SWIFT_TYPED), table, SWIFT_ANY, SWIFT_STEP, bad)
    # A class conforming to a generated protocol implements each requirement.
    for m in re.finditer(r"\b(?:class|struct|actor)\s+(\w+)\s*:\s*([^{]*)\{", text):
        for proto in re.findall(r"\w+", m.group(2)):
            for member, labels in table.protocol_reqs.get(proto, []) if proto not in app.kinds else []:
                if labels not in app.members.get(m.group(1), {}).get(member, set()):
                    bad(m.start(), f"{m.group(1)} conforms to {proto} but has no "
                        f"func {member}{show(labels)}")
    return problems


# ---------------------------------------------------------------- Kotlin

# Scope functions and what every value has: not looked up.
KOTLIN_ANY = {"let", "also", "apply", "run", "takeIf", "takeUnless", "to", "toString", "equals",
              "hashCode", "copy", "name", "ordinal", "javaClass", "use", "compareTo"}
KOTLIN_TYPED = r"(?<![\w.])([a-z]\w*)\s*:\s*([A-Z]\w*)\b\??(?!\s*[<(.])"
KOTLIN_STEP = re.compile(r"\s*(?:\?|!!)?\.\s*`?(\w+)`?")
KOTLIN_EXTENSION = re.compile(r"\b(?:fun|val|var)\s+(?:<[^>]*>\s*)?[\w.<>*?, ]+\.`?(\w+)`?")

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
        # type -> property or method name -> the type it gives (None: not a plain type)
        self.types: dict[str, dict[str, str | None]] = {}
        self.extensions: set[str] = set()  # extension functions and properties (`fun T.name`)
        for text in texts:
            text = strip_comments(text)
            self.extensions |= set(KOTLIN_EXTENSION.findall(strip_strings(text)))
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
                    # The whole list: a record's constructor runs far past `rest`.
                    params = call_body(text, m.end() + paren)
                    names = set()
                    for a in split_args(params):
                        head, colon, typ = a.partition(":")
                        if not colon or not head.split():
                            continue
                        param = head.replace("`", "").split()[-1]
                        names.add(param)
                        if kind == "class" and re.search(r"\b(?:val|var)\b", head):
                            self.types.setdefault(name, {})[param] = base_type(typ)
                    self.params.setdefault(name, []).append(names)
                    if kind == "fun" and owner:
                        after = text[m.end() + paren + len(params) + 2 :]
                        r = re.match(r"\s*:\s*([\w.]+\??)", after)
                        self.types.setdefault(owner, {})[name] = base_type(r.group(1)) if r else None
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

    def members_of(self, typ: str) -> dict[str, str | None]:
        """What `x.name` may name on a value of a generated type (its interface's too), and the
        type each gives."""
        found: dict[str, str | None] = {}
        for t in (typ, typ + "Interface"):
            found.update({m: None for m in self.members.get(t, set())})
            found.update(self.types.get(t, {}))
        return found


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
    # x.member... and x::member on a variable or parameter declared with a generated type.
    check_chains(text, typed_receivers(text, table, app, KOTLIN_TYPED), table,
                 KOTLIN_ANY | app.extensions, KOTLIN_STEP, bad)
    # A class or an object expression implementing a generated interface.
    for m in re.finditer(r"\b(?:class\s+(\w+)[^{]*?|(object))\s*:\s*([^{]*)\{", text):
        interfaces = [i for i in re.findall(r"\w+", m.group(3)) if i in table.interface_funs]
        if not interfaces:
            continue
        required = set().union(*(table.interface_funs[i] for i in interfaces))
        block = call_body(text.replace("{", "(").replace("}", ")"), m.end() - 1)
        for o in re.finditer(r"override\s+(?:suspend\s+)?fun\s+(\w+)", block):
            if o.group(1) not in required:
                bad(m.start(), f"{m.group(1) or 'object'} overrides {o.group(1)}, which "
                    f"{'/'.join(interfaces)} does not declare")
    return problems

# ---------------------------------------------------------------- self-test

# Small bindings in the generators' shapes, and app code that must pass or be caught: the
# checker runs these first, so a change that stops it catching a rename fails too.
SELF_TEST_KOTLIN = """
package dev.paaf.mobile
data class ErrorInfo (
    var `code`: ErrorCode
    ,
    var `message`: kotlin.String
){
    companion object
}
enum class ErrorCode {
    SECRET,
    OTHER;
    companion object
}
public interface FixListener {
    fun `onState`(`state`: FixState)
    companion object
}
public interface FixScreenInterface {
    fun `ask`(`name`: kotlin.String)
    fun `state`(): FixState
    companion object
}
open class FixScreen: Disposable, AutoCloseable, FixScreenInterface {
    override fun `ask`(`name`: kotlin.String) {
    }
    override fun `state`(): FixState {
        return FixState(null)
    }
}
data class FixState (
    var `error`: ErrorInfo?
){
    companion object
}
"""
SELF_TEST_SWIFT = """
public protocol FixListener: AnyObject, Sendable {
    func onState(state: FixState)
}
public protocol FixScreenProtocol: AnyObject, Sendable {
    func ask(name: String)
    func state() -> FixState
}
open class FixScreen: FixScreenProtocol, @unchecked Sendable {
open func ask(name: String) {
}
open func state() -> FixState {
}
}
public struct FixState: Equatable, Hashable {
    public var error: ErrorInfo?
    public init(error: ErrorInfo?) {
    }
}
public struct ErrorInfo: Equatable, Hashable {
    public var code: ErrorCode
    public var message: String
    public init(code: ErrorCode, message: String) {
    }
}
public enum ErrorCode {
    case secret
    case other
}
public enum PaafError: Swift.Error {
    case Access(code: ErrorCode, reason: String)
}
public enum SecretInput: Equatable, Hashable {
    case value(SecretString
    )
    case reference(String
    )
}
"""
# (language, app code, what the problem says; None: no problem)
SELF_TEST_CASES = [
    ("kt", """import dev.paaf.mobile.FixScreen
fun show(screen: FixScreen) {
    screen.ask(name = "web-1")
    screen.state().error?.let { println(it.message) }
    val seen = object : FixListener { override fun onState(state: FixState) {} }
    println(ErrorInfo(code = ErrorCode.SECRET, message = "").message)
}""", None),
    ("kt", "import dev.paaf.mobile.FixScreens", "import of FixScreens"),
    ("kt", "fun f(screen: FixScreen) = screen.asks(name = \"web-1\")", "FixScreen has no member asks"),
    ("kt", "fun f(screen: FixScreen) = screen.ask(host = \"web-1\")", "named arguments ['host']"),
    ("kt", "val e = ErrorInfo(code = ErrorCode.SECRET, reason = \"\")", "named arguments ['code', 'reason']"),
    ("kt", "fun f(screen: FixScreen) = screen.state().eror", "FixState has no member eror"),
    ("kt", "fun f(screen: FixScreen) = screen::refresh", "FixScreen has no member refresh"),
    ("kt", "val e = ErrorCode.SECRETS", "ErrorCode.SECRETS is not in the generated bindings"),
    ("kt", "val l = object : FixListener { override fun onStates(state: FixState) {} }",
     "object overrides onStates"),
    ("swift", """func show(screen: FixScreen) throws {
    screen.ask(name: "web-1")
    _ = screen.state().error.map { $0.message }
    _ = ErrorInfo(code: .secret, message: "")
    throw PaafError.Access(code: .secret, reason: "")
}
final class Seen: FixListener { func onState(state: FixState) {} }""", None),
    ("swift", "let s: SecretInput = .value(\"x\")\nlet r = SecretInput.reference(\"keyring:x\")", None),
    ("swift", "let s: SecretInput = .value(v: \"x\")", ".value(v:) matches no generated value(_:)"),
    ("swift", "func f() throws { throw PaafError.Access(code: .secret, message: \"\") }",
     "PaafError.Access(code:message:) does not match"),
    ("swift", "let e = ErrorInfo(code: .secret, reason: \"\")", "ErrorInfo(code:reason:): no such initializer"),
    ("swift", "func f(screen: FixScreen) { screen.asks(name: \"web-1\") }", "FixScreen has no member asks"),
    ("swift", "func f(screen: FixScreen) { screen.ask(host: \"web-1\") }", ".ask(host:) matches no generated"),
    ("swift", "func f(screen: FixScreen) { _ = screen.state().eror }", "FixState has no member eror"),
    ("swift", "final class Seen: FixListener { func onStates(state: FixState) {} }",
     "Seen conforms to FixListener but has no func onState(state:)"),
]


def self_test() -> list[str]:
    """The cases above that the checker gets wrong, in words."""
    import tempfile

    tables = {"kt": KotlinTable([SELF_TEST_KOTLIN]), "swift": SwiftTable([SELF_TEST_SWIFT])}
    wrong = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (lang, code, expected) in enumerate(SELF_TEST_CASES):
            path = Path(tmp) / f"case{n}.{lang}"
            path.write_text(code)
            if lang == "kt":
                got = check_kotlin(path, tables[lang], KotlinTable([strip_strings(code)]))
            else:
                got = check_swift(path, tables[lang], SwiftTable([strip_strings(code)]))
            caught = [p for p in got if expected and expected in p]
            if (expected is None and got) or (expected and (not caught or len(got) != 1)):
                wrong.append(f"case {n} ({lang}): expected {expected or 'no problem'!r}, got {got}")
    return wrong


def main(argv: list[str]) -> int:
    wrong = self_test()
    for w in wrong:
        print(f"check-app-symbols self-test: {w}", file=sys.stderr)
    if wrong:
        return 1
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
    print(f"app code uses only generated symbols ({len(swift_files)} Swift, {len(kotlin_files)} Kotlin "
          f"files; self-test: {len(SELF_TEST_CASES)} cases caught)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
