#!/usr/bin/env python3
"""Generates src/bindings.rs from include/baracuda/flashinfer.h (no bindgen, no crate).

    gen_bindings.py            rewrite src/bindings.rs
    gen_bindings.py --check    fail (exit 1, with a diff) if src/bindings.rs is not what the
                               header gives: a symbol, a signature or a doc comment on one side
                               only.

The header is run through the C preprocessor (`$CC -E`, default `cc`) so macro-generated
declarations count. Every `baracuda_kernels_flashinfer_*` function becomes an `extern "C"`
declaration (`#[must_use]` when it returns a status); the `BARACUDA_FLASHINFER_*` enum values and
integer #defines become `pub const` (never a Rust enum: a newer library may return a value an
enum lacks). Each item carries the header's comment for it as rustdoc.

The parser is strict: a declaration it cannot read (an exported function it does not
understand, a name without the prefix, a type it does not know) is an error, never skipped.
The output is laid out as rustfmt lays it out (edition 2021, default width 100), so the
checked-in file stays `cargo fmt --check` clean.
"""
import argparse
import difflib
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_HEADER = os.path.join(HERE, "..", "..", "..", "include", "baracuda", "flashinfer.h")
OUT = os.path.join(HERE, "src", "bindings.rs")
PREFIX = "baracuda_kernels_flashinfer_"
MAX_WIDTH = 100  # rustfmt's default max_width

SCALARS = {
    "int32_t": "i32", "uint32_t": "u32", "int64_t": "i64", "uint64_t": "u64",
    "size_t": "usize", "float": "f32", "double": "f64", "int": "::core::ffi::c_int",
    "baracuda_flashinfer_stream_t": "baracuda_flashinfer_stream_t",
}
POINTEES = {"void": "::core::ffi::c_void", "char": "::core::ffi::c_char"}
POINTEES.update({k: v for k, v in SCALARS.items() if k not in ("int", "baracuda_flashinfer_stream_t")})


def fail(message):
    raise SystemExit(f"gen_bindings: {message}")


def rust_type(c):
    c = " ".join(c.replace("*", " * ").split())
    if c == "void":
        return None
    m = re.fullmatch(r"(const )?(\w+) \*", c)
    if m:
        base = m.group(2)
        if base not in POINTEES:
            fail(f"unsupported pointer type '{c}' (teach gen_bindings.py)")
        return ("*const " if m.group(1) else "*mut ") + POINTEES[base]
    if c in SCALARS:
        return SCALARS[c]
    fail(f"unsupported C type '{c}' (teach gen_bindings.py)")


def parse_param(p):
    p = " ".join(p.split())
    if p == "void":
        return None
    m = re.fullmatch(r"(.*?[\s*])(\w+)", p)
    if not m:
        fail(f"cannot parse parameter '{p}'")
    return m.group(2), rust_type(m.group(1).strip())


def structs(preprocessed):
    """Every `typedef struct NAME { fields } NAME;` of the preprocessed header, in order: (name,
    [(field, rust type)]). Fields must be scalars or pointers (no arrays, bit-fields, nesting)."""
    out = []
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{([^{}]*)\}\s*(\w+)\s*;", preprocessed):
        tag, body, name = m.groups()
        if tag != name:
            fail(f"typedef struct {tag} {{...}} {name}: the tag and the name must be the same")
        fields = []
        for decl in body.split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            f = re.fullmatch(r"(.*?[\s*])(\w+)", decl)
            if not f or "[" in decl or ":" in decl:
                fail(f"cannot parse field '{decl}' of struct {name}")
            fields.append((f.group(2), rust_type(f.group(1).strip())))
        out.append((name, fields))
    return out


EXPORT = re.compile(r"__attribute__\s*\(\(\s*visibility\s*\(\s*\"default\"\s*\)\s*\)\)")
DEPRECATED = re.compile(r'__attribute__\s*\(\(\s*deprecated\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)\s*\)\)')
# The header's BARACUDA_FLASHINFER_EXPERIMENTAL, marked for the parser by the preprocessor run.
EXPERIMENTAL = "__attribute__((bfi_experimental))"
EXPERIMENTAL_DEFINE = f"-DBARACUDA_FLASHINFER_EXPERIMENTAL=BARACUDA_FLASHINFER_API {EXPERIMENTAL}"


def functions(preprocessed):
    """Every exported declaration of the preprocessed header, in order. Strict: each declaration
    marked for export and each `baracuda_kernels_flashinfer_<name>(` must parse."""
    out = []
    for decl in preprocessed.split(";"):
        exported = EXPORT.search(decl) is not None
        experimental = EXPERIMENTAL in decl
        deprecated = DEPRECATED.search(decl)
        text = DEPRECATED.sub(" ", EXPORT.sub(" ", decl.replace(EXPERIMENTAL, " ")))
        text = " ".join(text.split())
        mentions = re.findall(rf"\b({PREFIX}\w+)\s*\(", text)
        if not exported and not mentions:
            continue
        if "__attribute__" in text:
            fail(f"unknown attribute (teach gen_bindings.py) in:\n    {text}")
        m = re.fullmatch(rf"(?:extern )?([\w\s\*]*?)\b({PREFIX}\w+)\s*\(([^()]*)\)", text)
        if not exported or not m or len(mentions) != 1:
            fail(f"cannot parse this declaration (an exported function must read "
                 f"'<type> {PREFIX}<name>(<params>)'):\n    {text}")
        ret = " ".join(m.group(1).split())
        params = [x for x in (parse_param(p) for p in m.group(3).split(",")) if x]
        attrs = {"experimental": experimental,
                 "deprecated": deprecated.group(1) if deprecated else None}
        out.append((m.group(2), params, rust_type(ret), attrs))
    names = [f[0] for f in out]
    if len(set(names)) != len(names):
        fail("a function is declared twice")
    if not out:
        fail("no function found: is this the right header?")
    return out


# ---------------------------------------------------------------------------------------------
# Doc comments, read from the raw header: each comment documents the next item; an item with no
# comment of its own points at the last item that had one. Section titles (a one-line comment
# between two dashed rules) name the section of every item after them.

def comment_lines(body):
    """The text of a /* ... */ or /** ... */ comment, one string per line, margins removed."""
    body = re.sub(r"^/\*\*?<?", "", body)
    body = re.sub(r"\*/$", "", body)
    lines = [re.sub(r"^\s*\* ?", "", l) if i else l.strip() for i, l in enumerate(body.split("\n"))]
    lines = [l.rstrip() for l in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def header_docs(raw):
    """{item name: (doc lines or None, owner name or None, section)} for functions and
    constants; macro-generated functions are named through their macro's invocations."""
    tokens = []  # (position, kind, data)
    for m in re.finditer(r"/\*.*?\*/", raw, re.S):
        line_start = raw.rfind("\n", 0, m.start()) + 1
        trailing = raw[line_start:m.start()].strip() != ""
        lines = comment_lines(m.group(0))
        if trailing:  # continuation lines are aligned under the code, not under a '*'
            lines = [l.strip() for l in lines]
        tokens.append((m.start(), "trailing" if trailing else "comment", lines))
    code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), raw, flags=re.S)
    macros = {}
    for m in re.finditer(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", code, re.M):
        d = m.group(0)
        macro = re.match(r"\s*#\s*define\s+(BARACUDA_FLASHINFER_DECLARE_\w+)\(NAME\)", d)
        const = re.fullmatch(r"\s*#\s*define\s+(BARACUDA_FLASHINFER_\w+)\s+(\d+)\s*", d)
        if macro:
            patterns = re.findall(rf"{PREFIX}(\w*?)##NAME##(\w*)\s*\(", d)
            if not patterns:
                fail(f"macro {macro.group(1)} declares no {PREFIX}*##NAME## function")
            macros[macro.group(1)] = patterns
            tokens.append((m.start(), "macro", macro.group(1)))
        elif const:
            tokens.append((m.start(), "item", const.group(1)))
        else:
            tokens.append((m.start(), "consumer", None))
    body = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", lambda m: " " * len(m.group(0)), code,
                  flags=re.M)
    for m in re.finditer(r"^[ \t]*(BARACUDA_FLASHINFER_DECLARE_\w+)\((\w+)\)", body, re.M):
        tokens.append((m.start(), "invoke", (m.group(1), m.group(2))))
    for m in re.finditer(rf"\b({PREFIX}\w+)\s*\(", body):
        tokens.append((m.start(), "item", m.group(1)))
    for m in re.finditer(r"^\s*(BARACUDA_FLASHINFER_\w+)\s*=\s*-?\d+", body, re.M):
        tokens.append((m.start(1), "item", m.group(1)))
    for m in re.finditer(r"^[ \t]*typedef\b(?!\s+struct\s+\w+\s*\{)", body, re.M):
        tokens.append((m.start(), "consumer", None))
    for m in re.finditer(r"^[ \t]*typedef\s+struct\s+(\w+)\s*\{([^{}]*)\}", body, re.M):
        tokens.append((m.start(), "item", m.group(1)))
        for f in re.finditer(r"(\w+)\s*;", m.group(2)):
            tokens.append((m.start(2) + f.start(), "field", f"{m.group(1)}.{f.group(1)}"))
    tokens.sort(key=lambda t: t[0])

    docs, pending, section, owner, last_item = {}, [], None, None, None
    macro_docs, after_rule, title = {}, False, None
    for _, kind, data in tokens:
        if title is not None and not (kind == "comment" and re.fullmatch(r"-+", data[0])):
            pending.append([title])  # a one-line comment after a rule, but no closing rule
            title = None
        if kind == "comment":
            if len(data) == 1 and re.fullmatch(r"-+", data[0]):
                if title is not None:
                    section, owner, title = re.sub(r"\s*\(section owned by [^)]*\)", "", title), None, None
                else:
                    after_rule = True
                continue
            if after_rule and len(data) == 1:
                title, after_rule = data[0], False
                continue
            after_rule = False
            pending.append(data)
        elif kind == "trailing":
            if last_item is None:
                fail("a trailing comment follows no item")
            own, see, sec = docs[last_item]
            docs[last_item] = ((own or []) + ([""] if own else []) + data, see, sec)
        elif kind == "consumer":
            pending = []
        elif kind == "field":  # documented by its trailing comment, if any
            docs[data], last_item = (None, None, section), data
        elif kind == "macro":
            macro_docs[data] = (pending, section)
            pending = []
        else:
            names = ([PREFIX + a + data[1] + b for a, b in macros.get(data[0], [])]
                     if kind == "invoke" else [data])
            if kind == "invoke" and not names:
                fail(f"{data[0]}({data[1]}) invokes an unknown macro")
            if kind == "invoke":
                comments, sec = macro_docs.pop(data[0], (None, section))
                if comments is not None:  # the first invocation takes the macro's comment
                    pending = comments
                    macro_docs[data[0]] = (None, sec)
            for name in names:
                if name in docs:
                    fail(f"{name} is declared twice")
                if pending:
                    own = []
                    for c in pending:
                        own += ([""] if own else []) + c
                    docs[name], owner, pending = (own, None, section), name, []
                else:
                    docs[name] = (None, owner, section)
                last_item = name
    return docs


def doc_block(name, docs, indent):
    own, see, section = docs.get(name, (None, None, None))
    out = []
    if own:
        out += ["```text"] + own + ["```"]
    elif see:
        out.append(f"See [`{see}`].")
    where = f"From `baracuda/flashinfer.h`" + (f", section *{section}*." if section else ".")
    out += ([""] if out else []) + [where]
    return [(f"{indent}/// {l}" if l else f"{indent}///") for l in out]


def function_lines(name, params, ret):
    """One foreign fn the way rustfmt writes it: on one line if it fits, else one parameter per
    line."""
    tail = f" -> {ret};" if ret else ";"
    args = ", ".join(f"{n}: {t}" for n, t in params)
    one = f"    pub fn {name}({args}){tail}"
    if len(one) <= MAX_WIDTH:
        return [one]
    return [f"    pub fn {name}("] + [f"        {n}: {t}," for n, t in params] + [f"    ){tail}"]


def constants(raw):
    consts = []
    for m in re.finditer(r"^\s*(BARACUDA_FLASHINFER_\w+)\s*=\s*(-?\d+)", raw, re.M):
        consts.append((m.group(1), "i32", m.group(2)))
    for m in re.finditer(r"^#define\s+(BARACUDA_FLASHINFER_\w+)\s+(\d+)\s*$", raw, re.M):
        consts.append((m.group(1), "u32", m.group(2)))
    return consts


def generate(header, cc):
    raw = open(header).read()
    pre = subprocess.run(cc.split() + [EXPERIMENTAL_DEFINE, "-E", "-P", "-x", "c", header], check=True,
                         capture_output=True, text=True).stdout
    types = structs(pre)
    POINTEES.update({name: name for name, _ in types})
    funcs = functions(pre)
    docs = header_docs(raw)
    missing = [f[0] for f in funcs if f[0] not in docs]
    if missing:
        fail("declarations the doc scan did not find (a declaration form gen_bindings.py does "
             "not read): " + ", ".join(missing))
    extra = [n for n in docs if n.startswith(PREFIX) and n not in {f[0] for f in funcs}]
    if extra:
        fail("names the header mentions but the preprocessed header does not declare: "
             + ", ".join(extra))
    lines = [
        "// @generated by gen_bindings.py from include/baracuda/flashinfer.h. Do not edit:",
        "// change the header, then run `python3 gen_bindings.py` (tests fail while they differ).",
        "#![allow(non_camel_case_types)]",
        "",
        "/// Opaque CUDA stream (`struct CUstream_st`); ABI-identical to `cudaStream_t` and to the",
        "/// driver's `CUstream`.",
        "#[repr(C)]",
        "pub struct CUstream_st {",
        "    _private: [u8; 0],",
        "}",
        "/// A `cudaStream_t`. To this library NULL means the per-thread default stream",
        "/// (`cudaStreamPerThread`), not the legacy default stream.",
        "pub type baracuda_flashinfer_stream_t = *mut CUstream_st;",
    ]
    for name, ty, value in constants(raw):
        lines += [""] + doc_block(name, docs, "") + [f"pub const {name}: {ty} = {value};"]
    for name, fields in types:
        lines += [""] + doc_block(name, docs, "")
        # Raw pointers have no Default: zero such a struct with core::mem::zeroed().
        default = "" if any(ty.startswith("*") for _, ty in fields) else " Default,"
        lines += ["#[repr(C)]", f"#[derive(Copy, Clone, Debug,{default} PartialEq)]",
                  f"pub struct {name} {{"]
        for field, ty in fields:
            own = docs.get(f"{name}.{field}", (None, None, None))[0]
            # One line of prose: brackets escaped, so that "[Hq]" is no intra-doc link.
            text = (" ".join(own).replace("[", "\\[").replace("]", "\\]") if own
                    else f"`{field}`: see [`{name}`].")
            lines += [f"    /// {text}", f"    pub {field}: {ty},"]
        lines.append("}")
    lines += ["", 'extern "C" {']
    for i, (name, params, ret, attrs) in enumerate(funcs):
        if i:
            lines.append("")
        lines += doc_block(name, docs, "    ")
        if attrs["experimental"]:
            lines += ["    ///", "    /// **Experimental** (`BARACUDA_FLASHINFER_EXPERIMENTAL`): outside the",
                      "    /// SOVERSION's stability promise; it may change or go in any release."]
        if attrs["deprecated"] is not None:
            lines.append(f'    #[deprecated = "{attrs["deprecated"]}"]')
        if ret == "i32":
            lines.append("    #[must_use]")
        lines += function_lines(name, params, ret)
    lines += ["}", ""]
    for l in lines:
        if l != l.rstrip():
            fail(f"trailing whitespace in generated line: {l!r}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--header", default=DEFAULT_HEADER)
    ap.add_argument("--cc", default=os.environ.get("CC", "cc"))
    a = ap.parse_args()
    text = generate(a.header, a.cc)
    if a.check:
        old = open(OUT).read() if os.path.exists(OUT) else ""
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), text.splitlines(True), "src/bindings.rs (checked in)",
                "from flashinfer.h"))
            print("\nFAIL: src/bindings.rs and include/baracuda/flashinfer.h disagree; "
                  "run `python3 gen_bindings.py` and review the diff.")
            return 1
        print(f"OK: src/bindings.rs matches {os.path.normpath(a.header)}")
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
