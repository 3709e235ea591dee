#!/usr/bin/env python3
# doc_commands.py: keeps the README and docs/*.md true. Every command line shown in a fenced
# block is checked: a `lathe` command's subcommand must exist and each of its flags must be
# listed by that subcommand's --help; `make T` needs target T; `bash F`, `python3 F` need F.
# Blocks marked `<!-- doc-test: run -->` (the line before the fence) are also executed, in
# order, in one scratch folder per markdown file (its build/ is the folder of the lathe under
# test; data/, examples/, scripts/, tests/ link to the repository's), and their shown output
# is compared with what the commands print.
#
# In a run block, a line starting with "$ " is a command (a trailing backslash continues it on
# the next line); other lines are the output shown for the command above them. Shown lines must
# appear in the command's output in the same order (other output lines may come between them);
# "..." inside a shown line matches any text, and a shown line that is only "..." stands for
# lines left out. Where output depends on timing (tokens/s, ETA), write "..." there.
# A block of "$ " lines must be a run block: "$ " promises the reader what they will see.
# In other blocks, command lines are the lines starting with "$ ", "lathe ", "build/lathe ",
# "make ", "bash " or "python3 " (after VAR=value prefixes).
#
# Usage: doc_commands.py [--list] [--check-only] [--loose-numbers] ROOT LATHE_BIN FILE.md...
#   --list           print each block with what is done with it and exit
#   --check-only     check commands and flags, run nothing
#   --loose-numbers  any number matches any number: for a build whose other optimisation
#                    (the sanitizer build) rounds floating point differently from Release
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

RUN_MARK = "<!-- doc-test: run -->"
SKIP_MARK = "<!-- doc-test: skip -->"   # a block that is not a command block (e.g. --help text)
CMD_TIMEOUT = 600
# Outside "$ " blocks, the lines that are commands.
CMD_START = r"^([A-Z_]+=\S+\s+)*((build/)?lathe|make|bash|/usr/bin/python3|python3)\s"


def blocks(path):
    """Yields (first_line_no, mark, lines) for every fenced block of a markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i, prev = 0, ""
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not m:
            if lines[i].strip():
                prev = lines[i].strip()
            i += 1
            continue
        lang, start, body = m.group(2), i + 1, []
        i += 1
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        mark = "run" if prev == RUN_MARK else "skip" if prev == SKIP_MARK else "check"
        if lang in ("", "sh", "bash", "console", "shell"):
            yield start + 1, mark, body
        prev = ""


def commands(body, dollar_only):
    """Splits a block into [(command, [shown output lines])]."""
    out, i = [], 0
    while i < len(body):
        line = body[i].rstrip()
        text = None
        if line.startswith("$ "):
            text = line[2:]
        elif not dollar_only and re.match(CMD_START, line):
            text = line
        if text is None:
            if out and dollar_only:
                out[-1][1].append(line)
            i += 1
            continue
        while text.endswith("\\") and i + 1 < len(body):
            i += 1
            text = text[:-1] + " " + body[i].strip()
        out.append((text, []))
        i += 1
    return out


_help_cache = {}


def help_text(lathe, words):
    key = tuple(words)
    if key not in _help_cache:
        r = subprocess.run([lathe] + words + ["--help"], capture_output=True, text=True)
        _help_cache[key] = (r.returncode, r.stdout + r.stderr)
    return _help_cache[key]


def check_lathe(lathe, argv):
    """Problems with one lathe command line: unknown subcommand or a flag its --help lacks."""
    rest = argv[1:]
    if not rest or rest[0] in ("--help", "-h", "--version"):
        return []
    words = [rest[0]]
    rc, text = help_text(lathe, words)
    if rc != 0:
        return [f"'lathe {rest[0]}' is not a command (lathe {rest[0]} --help exits {rc})"]
    # A second word is a subcommand when `lathe A B --help` names it.
    if len(rest) > 1 and re.match(r"^[a-z][a-z-]*$", rest[1]):
        rc2, text2 = help_text(lathe, words + [rest[1]])
        if rc2 == 0 and f"lathe {rest[0]} {rest[1]}" in text2:
            words, text = words + [rest[1]], text2
    known = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
    problems = []
    for tok in rest[len(words):]:
        if not tok.startswith("-") or tok in ("-", "--") or re.match(r"^-\d", tok):
            continue
        flag = tok.split("=", 1)[0]
        if flag not in known:
            problems.append(f"'lathe {' '.join(words)}' has no flag {flag} (not in its --help)")
    return problems


def check_command(root, lathe, text):
    """Problems with one shell command line (may hold several commands joined by && or |)."""
    problems = []
    try:
        argv_all = shlex.split(text, comments=True)
    except ValueError as e:
        return [f"cannot parse: {e}"]
    # Split on shell operators written as separate words.
    cmds, cur = [], []
    for tok in argv_all:
        if tok in ("&&", "||", "|", ";", "&"):
            cmds.append(cur)
            cur = []
        else:
            cur.append(tok)
    cmds.append(cur)
    for argv in cmds:
        while argv and re.match(r"^[A-Z_]+=", argv[0]):  # VAR=value prefixes
            argv = argv[1:]
        if not argv:
            continue
        prog = argv[0]
        if prog in ("lathe", "build/lathe"):
            problems += check_lathe(lathe, argv)
        elif prog == "make":
            targets = [a for a in argv[1:] if not a.startswith("-") and "=" not in a]
            mk = open(os.path.join(root, "Makefile"), encoding="utf-8").read()
            for t in targets:
                if not re.search(rf"^{re.escape(t)}\s*:", mk, re.M):
                    problems.append(f"make has no target '{t}'")
        elif prog in ("bash", "sh", "python3", "/usr/bin/python3"):
            if len(argv) > 1 and not argv[1].startswith("-"):
                if not os.path.exists(os.path.join(root, argv[1])):
                    problems.append(f"{argv[1]} does not exist")
    return problems


NUMBER = re.compile(r"\d[\d,]*(\.\d+)?")


def match_output(shown, actual, loose_numbers=False):
    """True when the shown lines appear, in order, among the actual lines. With loose_numbers,
    every number matches any number (a build with other optimisations rounds differently)."""
    actual = [a.rstrip() for a in actual]
    if loose_numbers:
        # Numbers of other widths shift the padding of aligned columns: spaces count as one.
        actual = [re.sub(r" +", " ", NUMBER.sub("0", a)) for a in actual]
        shown = [re.sub(r" +", " ", NUMBER.sub("0", s)) for s in shown]
    j = 0
    for s in shown:
        s = s.rstrip()
        if s.strip() in ("", "..."):
            continue
        pat = "^" + ".*".join(re.escape(p) for p in s.split("...")) + "$"
        while j < len(actual) and not re.match(pat, actual[j]):
            j += 1
        if j == len(actual):
            return False, s
        j += 1
    return True, None


def scratch(root, lathe):
    """A scratch folder whose build/ is the folder of the lathe under test (build-asan/ too)."""
    d = tempfile.mkdtemp(prefix="lathe-doc-")
    os.symlink(os.path.dirname(lathe), os.path.join(d, "build"))
    for name in ("data", "examples", "scripts", "tests", "web", "bench", "docs"):
        if os.path.exists(os.path.join(root, name)):
            os.symlink(os.path.join(root, name), os.path.join(d, name))
    return d


def main():
    args = sys.argv[1:]
    list_only = "--list" in args
    check_only = "--check-only" in args
    loose_numbers = "--loose-numbers" in args
    args = [a for a in args if not a.startswith("--")]
    if len(args) < 3:
        print(__doc__ or "usage: doc_commands.py [--list] [--check-only] ROOT LATHE FILE.md...")
        return 2
    root, lathe, files = os.path.abspath(args[0]), os.path.abspath(args[1]), args[2:]
    failures, n_checked, n_run, work = 0, 0, 0, None
    for f in files:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        work = None
        rel = os.path.relpath(f, root)
        for line_no, mark, body in blocks(f):
            if mark == "skip":
                if list_only:
                    print(f"{rel}:{line_no}: skip (marked)")
                continue
            has_dollar = any(l.startswith("$ ") for l in body)
            cmds = commands(body, dollar_only=has_dollar or mark == "run")
            if not cmds:
                continue
            if list_only:
                print(f"{rel}:{line_no}: {mark}, {len(cmds)} command(s): "
                      + "; ".join(c[0][:60] for c in cmds))
                continue
            if has_dollar and mark != "run":
                print(f"FAIL {rel}:{line_no}: a block of \"$ \" commands shows what to run and "
                      f"what it prints: mark it {RUN_MARK}, or drop the \"$ \" for a block "
                      "that is only checked")
                failures += 1
            for text, shown in cmds:
                n_checked += 1
                for p in check_command(root, lathe, text):
                    print(f"FAIL {rel}:{line_no}: {text}\n     {p}")
                    failures += 1
            if mark != "run" or check_only:
                continue
            if work is None:
                work = scratch(root, lathe)
            for text, shown in cmds:
                n_run += 1
                r = subprocess.run(["bash", "-c", text], cwd=work, capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
                out = (r.stdout + r.stderr).split("\n")
                if r.returncode != 0:
                    print(f"FAIL {rel}:{line_no}: {text}\n     exit {r.returncode}:\n"
                          + "\n".join("     | " + l for l in out[-15:]))
                    failures += 1
                    continue
                ok, missing = match_output(shown, out, loose_numbers)
                if not ok:
                    print(f"FAIL {rel}:{line_no}: {text}\n     shown line not in the output: "
                          f"{missing!r}\n     output was:\n"
                          + "\n".join("     | " + l for l in out[-25:]))
                    failures += 1
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    if not list_only:
        print(f"doc_commands: {n_checked} command lines checked, {n_run} run, "
              f"{failures} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
