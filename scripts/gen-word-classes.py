#!/usr/bin/env python3
"""Generate the character tables that make `stance`'s tokenizer match scikit-learn exactly.

scikit-learn's default analyzer lowercases with Python's `str.lower()` and tokenises with
`(?u)\\b\\w\\w+\\b`, where `\\w` is `str.isalnum()` or `_` under the Unicode database of the
running Python (14.0.0 for Python 3.11). Rust's `char` predicates follow a newer Unicode and
a different definition (Alphabetic includes combining marks such as U+0345), so the tables
are read from Python itself:

- src/features/word_classes.rs: word characters, lowercase mappings, the "cased" and
  "case-ignorable" classes that Python's final-sigma rule uses (probed through `str.lower()`
  itself, since Python does not expose them), and `str.isspace()` (for `char_wb`).
- src/features/stop_words.rs: scikit-learn's ENGLISH_STOP_WORDS, sorted.

Run from the repository root: `python3 scripts/gen-word-classes.py`. The output is committed;
tests and builds never need Python.
"""

import random
import re
import sys
import unicodedata

import sklearn
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

CAPITAL_SIGMA = 0x03A3
DOTTED_CAPITAL_I = 0x0130


def code_points():
    return (cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)


def ranges(predicate, start=0x80):
    """Inclusive (first, last) runs of code points >= start where predicate holds."""
    out = []
    for cp in code_points():
        if cp < start or not predicate(cp):
            continue
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def is_word(cp):
    c = chr(cp)
    return c.isalnum() or c == "_"


def sigma_class(cp):
    """'ignorable', 'cased' or None, as Python's final-sigma rule sees `cp`.

    Python lowers U+03A3 to final sigma when a cased letter precedes it (skipping
    case-ignorable characters) and none follows it (same skipping). A character that is
    both cased and case-ignorable is always skipped, so only these three classes matter.
    """
    c = chr(cp)
    alone_before = (c + "\u03a3").lower()[-1] == "\u03c2"  # not ignorable and cased
    after_cased = ("A" + c + "\u03a3").lower()[-1] == "\u03c2"  # ignorable or cased
    if alone_before:
        return "cased"
    if after_cased:
        return "ignorable"
    return None


def emulate_lower(s, lower_map, cased, ignorable):
    """Python's str.lower() rebuilt from the tables, to check the tables."""
    out = []
    for i, c in enumerate(s):
        cp = ord(c)
        if cp == CAPITAL_SIGMA:
            j = i - 1
            while j >= 0 and ord(s[j]) in ignorable:
                j -= 1
            final = j >= 0 and ord(s[j]) in cased
            if final:
                j = i + 1
                while j < len(s) and ord(s[j]) in ignorable:
                    j += 1
                final = j == len(s) or ord(s[j]) not in cased
            out.append("\u03c2" if final else "\u03c3")
        elif cp == DOTTED_CAPITAL_I:
            out.append("i\u0307")
        else:
            out.append(chr(lower_map.get(cp, cp)))
    return "".join(out)


def rust_ranges(name, doc, rs):
    lines = [f"/// {doc}", "#[rustfmt::skip]", f"pub(super) static {name}: [(u32, u32); {len(rs)}] = ["]
    for a, b in rs:
        lines.append(f"    (0x{a:04X}, 0x{b:04X}),")
    lines.append("];")
    return "\n".join(lines)


def main():
    word_re = re.compile(r"\w")
    for cp in code_points():
        assert bool(word_re.match(chr(cp))) == is_word(cp), hex(cp)

    lower_map = {}
    for cp in code_points():
        low = chr(cp).lower()
        if cp in (CAPITAL_SIGMA, DOTTED_CAPITAL_I):
            continue
        assert len(low) == 1, f"unexpected multi-character lowercase for U+{cp:04X}"
        if ord(low) != cp:
            lower_map[cp] = ord(low)
    assert chr(DOTTED_CAPITAL_I).lower() == "i\u0307"

    classes = {cp: sigma_class(cp) for cp in code_points()}
    cased = {cp for cp, k in classes.items() if k == "cased"}
    ignorable = {cp for cp, k in classes.items() if k == "ignorable"}

    # Check the tables reproduce str.lower() on random strings rich in sigma and its context.
    rng = random.Random(0)
    pool = sorted(cased)[:2000] + sorted(ignorable)[:2000] + [CAPITAL_SIGMA] * 400
    pool += [0x20, 0x2E, 0x41, 0x61, 0x130, 0x3A3, 0x300, 0x2019, 0xDF, 0x1E9E]
    for _ in range(20000):
        s = "".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 8)))
        assert emulate_lower(s, lower_map, cased, ignorable) == s.lower(), repr(s)

    ascii_word = [is_word(cp) for cp in range(0x80)]
    assert ascii_word == [chr(c).isascii() and (chr(c).isalnum() or chr(c) == "_") for c in range(0x80)]
    lower_pairs = sorted((cp, low) for cp, low in lower_map.items() if cp >= 0x80)
    assert all(chr(cp).lower() == chr(cp + 32) for cp in range(0x41, 0x5B))

    head = f"""//! Character classes of Python {sys.version.split()[0]} (Unicode {unicodedata.unidata_version}), as
//! scikit-learn {sklearn.__version__} sees them. Generated by `scripts/gen-word-classes.py`; do not edit.
//!
//! Ranges are inclusive and sorted; the tokenizer builds its ASCII fast-path tables from them."""
    parts = [
        head,
        rust_ranges(
            "WORD",
            "Code points matched by Python's `\\w`: `str.isalnum()` (letters and numerics).",
            ranges(is_word, start=0),
        ),
        rust_ranges(
            "SPACE",
            "Code points for which `str.isspace()` holds (`str.split()` separators).",
            ranges(lambda cp: chr(cp).isspace(), start=0),
        ),
        rust_ranges(
            "CASED",
            "Code points the final-sigma rule counts as cased (and not case-ignorable).",
            ranges(lambda cp: cp in cased, start=0),
        ),
        rust_ranges(
            "CASE_IGNORABLE",
            "Code points the final-sigma rule skips over.",
            ranges(lambda cp: cp in ignorable, start=0),
        ),
        "/// Non-ASCII one-to-one lowercase mappings `(from, to)`, sorted by `from`; U+0130 and\n"
        "/// U+03A3 are handled by the caller (two characters; context-dependent).\n"
        "#[rustfmt::skip]\n"
        f"pub(super) static LOWER: [(u32, u32); {len(lower_pairs)}] = [\n"
        + "\n".join(f"    (0x{a:04X}, 0x{b:04X})," for a, b in lower_pairs)
        + "\n];",
    ]
    with open("src/features/word_classes.rs", "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts) + "\n")

    words = sorted(ENGLISH_STOP_WORDS)
    with open("src/features/stop_words.rs", "w", encoding="utf-8") as f:
        f.write(
            f"//! scikit-learn {sklearn.__version__}'s `ENGLISH_STOP_WORDS` ({len(words)} words), sorted.\n"
            "//! Generated by `scripts/gen-word-classes.py`; do not edit.\n\n"
            "#[rustfmt::skip]\n"
            f"pub(super) static ENGLISH: [&str; {len(words)}] = [\n"
            + "\n".join(f'    "{w}",' for w in words)
            + "\n];\n"
        )


if __name__ == "__main__":
    main()
