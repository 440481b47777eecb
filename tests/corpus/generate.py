#!/usr/bin/env python3
"""Writes the hostile-input corpus of tests/corpus (see docs/reliability.md).

    python3 tests/corpus/generate.py            # (re)write the inputs
    python3 tests/corpus/generate.py --record BIN
        # also run BIN on each input, drop any it accepts, and write
        # expected.tsv from its first error line (review the diff!)

expected.tsv columns: file, command (validate | snapshot | apply), the
location the error must carry (`LINE:COL`, or `-` for a whole-file error
that has none), and a substring of the message. The e2e test
(tests/e2e/corpus.rs) checks each row: exit 1, the file's path followed by
the location, the substring, no "panicked", bounded output.
"""
import json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
APP = "3f2a1d7e-8c4b-4e59-9a0f-1b2c3d4e5f60"
BASE = (
    "apiVersion: mailscope/v1\n"
    "tenant: contoso.onmicrosoft.com\n"
    "apps:\n"
    "  - name: invoice-mailer\n"
    f"    appId: {APP}\n"
    "    allow: [billing@contoso.com, invoices@contoso.com]\n"
    "  - name: crm-sync\n"
    "    appId: 7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d\n"
    "    deny: [ceo@contoso.com]\n"
)


def app(name="invoice-mailer", app_id=APP, extra="    allow: [billing@contoso.com]\n"):
    return ("apiVersion: mailscope/v1\ntenant: contoso.onmicrosoft.com\napps:\n"
            f"  - name: {name}\n    appId: {app_id}\n" + extra)


def desired():
    out = {}
    # Truncations of a valid file at many offsets (the recorder drops the
    # ones that still happen to be valid).
    for n in range(0, len(BASE), 4):
        out[f"trunc-{n:03}.yaml"] = BASE[:n]
    # Tabs in indentation, on each line.
    lines = BASE.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("  "):
            out[f"tab-line{i+1}.yaml"] = "".join(lines[:i] + ["\t" + line.lstrip(" ")] + lines[i+1:])
    # Duplicate keys.
    out["dup-apiversion.yaml"] = "apiVersion: mailscope/v1\n" + BASE
    out["dup-appid.yaml"] = app(extra=f"    appId: {APP}\n    allow: [billing@contoso.com]\n")
    out["dup-allow.yaml"] = app(extra="    allow: [a@contoso.com]\n    allow: [b@contoso.com]\n")
    out["dup-apps.yaml"] = BASE + "apps: []\n"
    out["dup-app-name.yaml"] = app() + "  - name: invoice-mailer\n    appId: 7d1e5b2a-4c3f-4a8e-9b6d-2e1f0a9c8b7d\n    allow: [x@contoso.com]\n"
    out["dup-app-id.yaml"] = app() + f"  - name: other\n    appId: {APP}\n    allow: [x@contoso.com]\n"
    # Alias bombs and alias misuse.
    bomb = "apiVersion: mailscope/v1\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in range(1, 10):
        bomb += f"x{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 9) + "]\n"
    out["alias-bomb.yaml"] = bomb + "apps: []\n"
    out["alias-bomb-in-allow.yaml"] = (
        "apiVersion: mailscope/v1\napps:\n  - name: a\n    appId: " + APP + "\n    allow: &l0 [a@contoso.com]\n"
        + "".join(f"  - name: a{i}\n    appId: {APP}\n    allow: &l{i} [*l{i-1}, *l{i-1}, *l{i-1}, *l{i-1}]\n" for i in range(1, 12)))
    out["alias-undefined.yaml"] = app(extra="    allow: *nope\n")
    out["alias-merge-key.yaml"] = app(extra="    <<: {allow: [a@contoso.com]}\n")
    # Deep nesting.
    for depth in (64, 1000, 20000):
        out[f"deep-seq-{depth}.yaml"] = app(extra="    allow: " + "[" * depth + "]" * depth + "\n")
        out[f"deep-map-{depth}.yaml"] = app(extra="    allow: " + "{a: " * depth + "1" + "}" * depth + "\n")
    # Unknown tags.
    for tag in ["!!python/object:os.system", "!Ref", "!!binary", "!include", "!!set", "!<tag:yaml.org,2002:str>"]:
        safe = re.sub(r"[^a-z]+", "-", tag.lower()).strip("-")
        out[f"tag-{safe}.yaml"] = app(extra=f"    allow: [{tag} billing@contoso.com]\n")
        out[f"tag-top-{safe}.yaml"] = f"apiVersion: {tag} mailscope/v1\napps: []\n"
    # Addresses: homoglyphs, IDN, trailing dots, controls, odd shapes.
    addresses = {
        "homoglyph-cyrillic-a": "billing@contоso.com".replace("о", "\u043e"),
        "homoglyph-cyrillic-local": "bill\u0456ng@contoso.com",
        "homoglyph-greek-omicron": "billing@c\u03bfntoso.com",
        "homoglyph-fullwidth-at": "billing\uff20contoso.com",
        "idn-domain": "billing@b\u00fccher.example",
        "idn-local": "b\u00efllíng@contoso.com",
        "idn-punycode-mixed": "billing@xn--bcher-kva.ex\u00e4mple",
        "trailing-dot-domain": "billing@contoso.com.",
        "trailing-dot-local": "billing.@contoso.com",
        "leading-dot-local": ".billing@contoso.com",
        "double-dot": "bill..ing@contoso.com",
        "double-at": "billing@@contoso.com",
        "two-ats": "a@b@contoso.com",
        "no-at": "billing.contoso.com",
        "no-domain": "billing@",
        "no-local": "@contoso.com",
        "space-inside": "bill ing@contoso.com",
        "zero-width-space": "bill\u200bing@contoso.com",
        "rtl-override": "bill\u202eing@contoso.com",
        "bom-inside": "bill\ufeffing@contoso.com",
        "nul": "bill\\0ing@contoso.com",
        "bell": "bill\\aing@contoso.com",
        "escape": "bill\\eing@contoso.com",
        "newline-escape": "bill\\ning@contoso.com",
        "del": "bill\\x7fing@contoso.com",
        "c1-control": "bill\\x85ing@contoso.com",
        "wildcard": "*@contoso.com",
        "angle": "<billing@contoso.com>",
        "display-name": "Billing <billing@contoso.com>",
        "quoted-local": "\\\"bil ling\\\"@contoso.com",
        "ip-literal": "billing@[127.0.0.1]",
        "very-long-local": "a" * 300 + "@contoso.com",
        "very-long-domain": "a@" + "b" * 300 + ".com",
        "empty": "",
        "only-space": " ",
        "comma": "a@contoso.com,b@contoso.com",
        "semicolon": "a@contoso.com;b@contoso.com",
        "percent-hack": "a%b@contoso.com",
        "opath-injection": "a@contoso.com' -or Name -like '*",
        "brace": "{a}@contoso.com",
    }
    for key, addr in addresses.items():
        out[f"addr-{key}.yaml"] = app(extra=f'    allow: ["{addr}"]\n')
        out[f"deny-{key}.yaml"] = app(extra=f'    deny: ["{addr}"]\n')
    # GUIDs.
    guids = {
        "braces": "{" + APP + "}", "parens": "(" + APP + ")", "nil": "00000000-0000-0000-0000-000000000000",
        "no-dashes": APP.replace("-", ""), "short": APP[:-1], "long": APP + "0", "non-hex": APP[:-1] + "g",
        "urn": "urn:uuid:" + APP, "spaces": " " + APP + "x", "number": "12345", "star": "'*'",
        "trailing-dot": APP + ".", "fullwidth-digit": "\uff13" + APP[1:], "null": "null", "true": "true",
        "list": "[" + APP + "]", "map": "{id: " + APP + "}", "empty": "''",
    }
    for key, g in guids.items():
        out[f"guid-{key}.yaml"] = app(app_id=g)
    # Names.
    names = {
        "empty": "''", "null": "null", "newline": '"a\\nb"', "nul": '"a\\0b"', "rtl": '"a\u202eb"',
        "very-long": "a" * 500, "forged-prefix": "mailscope-invoice", "forged-group": "MailScope-x",
        "slash": "a/b", "quote": "\"a'b\"", "list": "[a, b]", "map": "{a: b}", "number": "42",
        "control-tab": '"a\\tb"', "zero-width": '"a\u200bb"', "only-space": "' '",
    }
    for key, n in names.items():
        out[f"name-{key}.yaml"] = app(name=n)
    # Structure and types.
    out["empty.yaml"] = ""
    out["only-comment.yaml"] = "# nothing\n"
    out["null.yaml"] = "null\n"
    out["scalar.yaml"] = "hello\n"
    out["list-top.yaml"] = "- a\n- b\n"
    out["two-documents.yaml"] = BASE + "---\n" + BASE
    out["document-end-then-junk.yaml"] = BASE + "...\n]]]\n"
    out["bom-then-tab.yaml"] = "\ufeff\t" + BASE
    out["api-wrong.yaml"] = BASE.replace("mailscope/v1", "mailscope/v9")
    out["api-missing.yaml"] = BASE.replace("apiVersion: mailscope/v1\n", "")
    out["api-number.yaml"] = BASE.replace("mailscope/v1", "1")
    out["apps-scalar.yaml"] = "apiVersion: mailscope/v1\napps: 3\n"
    out["apps-map.yaml"] = "apiVersion: mailscope/v1\napps: {a: 1}\n"
    out["allow-scalar.yaml"] = app(extra="    allow: billing@contoso.com\n")
    out["allow-map.yaml"] = app(extra="    allow: {a: b}\n")
    out["allow-number.yaml"] = app(extra="    allow: [42]\n")
    out["allow-and-deny.yaml"] = app(extra="    allow: [a@contoso.com]\n    deny: [b@contoso.com]\n")
    out["unknown-field-top.yaml"] = BASE + "extra: 1\n"
    out["unknown-field-app.yaml"] = app(extra="    allow: [a@contoso.com]\n    permissions: [Mail.Send]\n")
    out["unknown-field-case.yaml"] = app(extra="    Allow: [a@contoso.com]\n")
    out["key-non-string.yaml"] = app(extra="    [a]: 1\n")
    out["key-null.yaml"] = app(extra="    ~: 1\n")
    out["unclosed-quote.yaml"] = app(extra='    allow: ["a@contoso.com]\n')
    out["unclosed-flow.yaml"] = app(extra="    allow: [a@contoso.com\n")
    out["bad-indent.yaml"] = app(extra="      allow: [a@contoso.com]\n  allow: x\n")
    out["directive.yaml"] = "%YAML 9.9\n---\n" + BASE
    out["long-line.yaml"] = app(extra="    description: " + "x" * 70000 + "\n    bogus: 1\n")
    out["many-apps-dup.yaml"] = "apiVersion: mailscope/v1\napps:\n" + "".join(
        f"  - name: app{i}\n    appId: {APP}\n    allow: [a@contoso.com]\n" for i in range(2000))
    out["crlf-with-error.yaml"] = app(app_id="nope").replace("\n", "\r\n")
    out["cr-only.yaml"] = BASE.replace("\n", "\r")
    return out


SNAP = json.load(open(os.path.join(HERE, "..", "..", "policies", "contoso.snapshot.json"), encoding="utf-8"))


def snapshots():
    base = json.dumps(SNAP, indent=1)
    out = {}
    for n in range(0, len(base), max(1, len(base) // 40)):
        out[f"snap-trunc-{n:06}.json"] = base[:n]
    out["snap-empty.json"] = ""
    out["snap-null.json"] = "null"
    out["snap-list.json"] = "[]"
    out["snap-yaml.json"] = "formatVersion: 1\n"
    for v in (0, 2, -1, 1e300, "1", None):
        d = dict(SNAP); d["formatVersion"] = v
        out[f"snap-version-{str(v).replace('-', 'minus').replace('+', '')}.json"] = json.dumps(d)
    d = dict(SNAP); d["extra"] = 1
    out["snap-unknown-field.json"] = json.dumps(d)
    out["snap-deep.json"] = '{"formatVersion": 1, "recipients": ' + "[" * 20000 + "]" * 20000 + "}"
    out["snap-dup-key.json"] = '{"formatVersion": 1, "formatVersion": 1}'
    out["snap-nan.json"] = '{"formatVersion": NaN}'
    out["snap-huge-int.json"] = '{"formatVersion": 99999999999999999999999999}'
    out["snap-bad-escape.json"] = '{"formatVersion": 1, "x": "\\ud800"}'
    out["snap-trailing-comma.json"] = '{"formatVersion": 1,}'
    out["snap-comment.json"] = '// hi\n{"formatVersion": 1}'
    for key in SNAP:
        if key != "formatVersion":
            d = dict(SNAP); d[key] = 42
            out[f"snap-wrong-type-{key}.json"] = json.dumps(d)
    return out


PLAN = {"saved_plan_version": 1, "tool_version": "0.0.0-corpus", "desired_file": "policies/contoso.yaml",
        "desired_sha256": "0" * 64, "remove_unlisted": False, "live_fingerprint": "0" * 64}


def plans():
    base = json.dumps(PLAN)
    out = {}
    for n in range(1, len(base), 8):
        out[f"plan-trunc-{n:04}.json"] = base[:n]
    for v in (0, 2, -1, "1", None, 1.5):
        d = dict(PLAN); d["saved_plan_version"] = v
        out[f"plan-version-{str(v).replace('-', 'minus')}.json"] = json.dumps(d)
    d = dict(PLAN); d["extra"] = 1
    out["plan-unknown-field.json"] = json.dumps(d)
    out["plan-other-tool.json"] = base
    out["plan-deep.json"] = '{"saved_plan_version": 1, "plan": ' + "[" * 20000 + "]" * 20000 + "}"
    out["plan-dup-key.json"] = '{"saved_plan_version": 1, "saved_plan_version": 1}'
    out["plan-nul.json"] = base.replace("policies", "poli\\u0000cies")
    out["plan-path-traversal.json"] = base.replace("policies/contoso.yaml", "../../../../etc/passwd")
    return out


def main():
    groups = {"desired": desired(), "snapshots": snapshots(), "plans": plans()}
    # Byte-level inputs that no str can hold.
    raw = {
        "desired/non-utf8-name.yaml": app(name="inv\udcffoice").encode("utf-8", "surrogateescape"),
        "desired/non-utf8-latin1-address.yaml": app(extra="    allow: [b\u00e9@contoso.com]\n").encode("latin-1"),
        "desired/utf16.yaml": BASE.encode("utf-16"),
        "desired/nul-byte.yaml": BASE.encode() + b"\x00",
        "snapshots/snap-non-utf8.json": b'{"formatVersion": 1, "x": "\xff"}',
        "plans/plan-non-utf8.json": b'{"saved_plan_version": 1, "tool_version": "\xff"}',
    }
    written = []
    for group, files in groups.items():
        os.makedirs(os.path.join(HERE, group), exist_ok=True)
        for name, text in files.items():
            written.append((f"{group}/{name}", text.encode("utf-8")))
    written += list(raw.items())
    for rel, data in written:
        with open(os.path.join(HERE, rel), "wb") as f:
            f.write(data)
    if len(sys.argv) == 3 and sys.argv[1] == "--record":
        record(sys.argv[2], [rel for rel, _ in written])


def command(rel, path):
    if rel.startswith("desired/"):
        return "validate", ["validate", path]
    if rel.startswith("snapshots/"):
        return "snapshot", ["plan", "policies/contoso.yaml", "--snapshot", path]
    return "apply", ["apply", path, "--tenant", "sim:/nonexistent/corpus-state.json", "--auto-approve"]


def record(binary, rels):
    root = os.path.abspath(os.path.join(HERE, "..", ".."))
    rows = []
    for rel in sorted(rels):
        path = f"tests/corpus/{rel}"
        kind, args = command(rel, path)
        p = subprocess.run([binary, *args], cwd=root, capture_output=True, env={**os.environ, "NO_COLOR": "1"})
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode == 0:
            os.remove(os.path.join(HERE, rel))
            continue
        m = re.search(re.escape(path) + r":(\d+:\d+): ([^\n]*)", err)
        if m:
            loc, msg = m.group(1), m.group(2)
        elif re.search(r"at line \d+ column \d+", err):
            loc = re.search(r"line \d+ column \d+", err).group(0)
            first = next((l for l in err.splitlines() if path in l), err.splitlines()[0])
            msg = first.split(path, 1)[-1].lstrip(": ")
        elif re.search(r"from index \d+", err):
            loc = re.search(r"index \d+", err).group(0)
            msg = "as UTF-8 text"
        else:
            loc = "-"
            first = next((l for l in err.splitlines() if path in l), err.splitlines()[0] if err else "")
            msg = first.split(path, 1)[-1].lstrip(": ") if path in first else first
        msg = msg.replace("error: ", "")[:60].replace("\t", " ")
        rows.append(f"{rel}\t{kind}\t{loc}\t{msg}")
    with open(os.path.join(HERE, "expected.tsv"), "w", encoding="utf-8") as f:
        f.write("# file\tcommand\tlocation\tmessage substring (written by generate.py --record; reviewed)\n")
        f.write("\n".join(rows) + "\n")
    print(f"{len(rows)} rejected inputs recorded")


if __name__ == "__main__":
    main()
