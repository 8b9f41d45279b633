#!/usr/bin/env python3
"""Writes the seed corpora of the ingest fuzz targets (tests/fuzz/corpus/<name>/seed-*).

    python3 tests/fuzz/make_ingest_seeds.py [SHARED_DIR]

Word boxes for the PDF seeds come from `pdftotext -bbox` (poppler-utils) on the shared PDFs
when SHARED_DIR/data/pdfs exists; the other seeds are written out below. Findings of fuzzing
runs are added by hand as crash-*/timeout-* files and are never rewritten by this script.
"""
import os
import re
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(name, seed, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + seed), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def pdf_pages(path, max_pages=4):
    """[(words)] with words = [(x0, y0, x1, y1, text)] from pdftotext -bbox."""
    try:
        html = subprocess.run(["pdftotext", "-bbox", "-l", str(max_pages), path, "-"], capture_output=True,
                              check=True).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.CalledProcessError):
        return []
    pages = []
    for page in html.split("<page ")[1:]:
        words = []
        for m in re.finditer(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', page):
            words.append((float(m[1]), float(m[2]), float(m[3]), float(m[4]), m[5]))
        pages.append(words)
    return pages


def layout_seed(pages):
    """The fuzz_pdf_layout input format: per page u16 count, per word 4 u16 coords, flag, text."""
    out = b""
    for words in pages[:8]:
        words = words[:2047]
        out += struct.pack("<H", len(words))
        for x0, y0, x1, y1, text in words:
            for v in (x0, y0, x1, y1):
                out += struct.pack("<H", max(0, min(0xFFF, round((v + 100) / 0.75))))
            t = text.encode("utf-8")[:12]
            out += bytes([1]) + bytes([len(t)]) + t
    return out


def frame(kind, payload):
    return kind + struct.pack("<I", len(payload)) + payload


def page_frame(index, words):
    p = struct.pack("<II", index, len(words))
    for x0, y0, x1, y1, text in words:
        t = text.encode("utf-8")
        p += struct.pack("<dddd", x0, y0, x1, y1) + bytes([1]) + struct.pack("<I", len(t)) + t
    return frame(b"P", p)


def done_frame(status, encrypted, pages, detail=b""):
    return frame(b"D", bytes([status, encrypted]) + struct.pack("<I", pages) + struct.pack("<I", len(detail)) + detail)


def message_frame(text):
    return frame(b"M", struct.pack("<I", len(text)) + text)


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared")
    pdfs = os.path.join(shared, "data", "pdfs")
    real = {}
    for name in ("multicolumn.pdf", "pdflatex-4-pages.pdf", "habibi.pdf"):
        pages = pdf_pages(os.path.join(pdfs, name))
        if pages:
            real[name] = pages

    # pdf_layout
    for name, pages in real.items():
        put("pdf_layout", name.replace(".pdf", ""), layout_seed(pages))
    two_cols = [[(50 + 250 * (i % 2), 100 + 12 * (i // 2), 90 + 250 * (i % 2), 110 + 12 * (i // 2), "w%d" % i) for i in range(80)]]
    put("pdf_layout", "two-columns", layout_seed(two_cols))
    table = [[(50 + 60 * (i % 4), 100 + 14 * (i // 4), 80 + 60 * (i % 4), 110 + 14 * (i // 4), "c%d" % i) for i in range(48)]]
    put("pdf_layout", "table", layout_seed(table))
    put("pdf_layout", "non-finite", struct.pack("<H", 2) + struct.pack("<HHHH", 0xF000, 10, 20, 30) + b"\x01\x02ab" +
        struct.pack("<HHHH", 0xE001, 0xE000, 5, 5) + b"\x00\x01c")

    # html
    put("html", "page", "<!DOCTYPE html><html><head><title>T</title><style>p{}</style><script>x()</script></head>"
        "<body><h1>Title</h1><p>One &amp; <b>two</b> &lt;three&gt;</p><ul><li>a</li><li>b</li></ul>"
        "<pre>keep   spaces\n here</pre><table><tr><td>1</td><td>2</td></tr></table></body></html>")
    put("html", "broken", "<div><p>unclosed <b>bold <i>italic</div></p>&unknown; &#x1F600; &#99999999; <br/><svg><text>x</text></svg>")
    put("html", "nested", "<div>" * 300 + "deep" + "</div>" * 300)
    put("html", "entities", "&nbsp;&copy;&NotNestedGreaterGreater;&#0;&#xD800;" * 20)

    # records
    put("records", "jsonl", '{"text": "first record"}\n{"content": "second"}\n"a plain string"\n{"no": 1}\nnot json\n'
        '{"text": "esc \\u00e9 \\ud83d\\ude00 \\n"}\n')
    put("records", "json-array", '[{"text": "a"}, {"body": "b"}, "c", {"x": 1}]')
    put("records", "csv", 'id,text,label\n1,"hello, world",x\n2,"multi\nline ""quoted""",y\n3,plain,z\n4\n')
    put("records", "tsv", "id\ttext\n1\tone\n2\ttwo\twith extra\n")
    put("records", "deep-json", "[" * 5000 + "]" * 5000)

    # text_clean
    put("text_clean", "mixed", "caf\xc3\xa9 e\xcc\x81\r\nline\rnext\x01\x7f\t tab  \n\n\n\nend \xef\xac\x81 \xef\xbb\xbf".encode("latin-1"))
    put("text_clean", "invalid", b"ok \xff\xfe \xc3 \xe2\x82 \xf0\x9f\x98 \xed\xa0\x80 \xc0\xaf end")
    put("text_clean", "arabic", "\ufefb\ufe8d\ufee0\ufecc\ufeae\ufe91\ufef2\u202e bidi\u2066x\u2069".encode("utf-8"))
    put("text_clean", "blank-lines", "\n\n  \t\n a \n\n\n\n b\n\n")

    # gitignore: rules, NUL, paths
    put("gitignore", "rules", "# c\n*.log\n!keep.log\n/top.txt\nbuild/\ndocs/**/*.tmp\n\\#hash\n[a-c]?.md\n\0"
        "a.log\nkeep.log\ntop.txt\nx/top.txt\nbuild\ndocs/a/b/c.tmp\n#hash\nb1.md\n")
    put("gitignore", "pathological", "**/" * 30 + "x\n" + "*a" * 30 + "*b\n\0" + "/".join(["d"] * 60) + "\n" + "a" * 200 + "\n")
    put("gitignore", "classes", "[[:digit:]]*\n[!a-z]x\n[]]y\n[\\]]\n\0" + "7up\nQx\n]y\n]\n")

    # pdf_protocol: first byte picks the chunk size
    words = [(10.0, 20.0, 30.0, 28.0, "Hello"), (35.0, 20.0, 60.0, 28.0, "w\u00f6rld")]
    reply = page_frame(0, words) + message_frame(b"Syntax Warning: x") + page_frame(1, []) + done_frame(0, 0, 2)
    put("pdf_protocol", "reply", b"\x07" + reply)
    put("pdf_protocol", "encrypted", b"\x00" + done_frame(1, 0, 0, b"password protected"))
    put("pdf_protocol", "truncated", b"\x03" + reply[: len(reply) // 2])
    put("pdf_protocol", "request", b"Q" + struct.pack("<Q", 4 + 2 + 9) + struct.pack("<I", 2) + b"pw%PDF-1.4")
    for name, pages in list(real.items())[:1]:
        big = b"".join(page_frame(i, p[:500]) for i, p in enumerate(pages)) + done_frame(0, 0, len(pages))
        put("pdf_protocol", "real-" + name.replace(".pdf", ""), b"\x3f" + big)

    # config_files: first byte picks yaml (0), toml (1), xml (2)
    put("config_files", "yaml", b"\x00# service\nname: web\nports: [80, 443]\nenv:\n  - A: 1\n---\nsecond: doc\n")
    put("config_files", "yaml-anchors", b"\x00a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n")
    put("config_files", "toml", b"\x01# build\n[package]\nname = \"x\"\nversion = \"1.0\"\n[[bin]]\nname = \"y\"\n")
    put("config_files", "xml", b"\x02<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY e \"v\">]>\n<a x=\"1\"><!-- c --><b>&e;</b><![CDATA[z]]></a>\n")
    put("config_files", "xml-minified", b"\x02<r>" + b"".join(b"<i n=\"%d\">v</i>" % i for i in range(400)) + b"</r>")


if __name__ == "__main__":
    main()
