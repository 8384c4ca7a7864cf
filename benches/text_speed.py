#!/usr/bin/env python3
"""Throughput of `adroit text analyze` (built-in back end) beside the Python stacks, in one run.

    python3 benches/text_speed.py [--adroit PATH] [--data ../shared/data] [--repeat 3]

Cases, each timed as the best of --repeat runs after one warm-up:
  zh  ChnSentiCorp_htl_all.csv (7,765 hotel reviews):
        adroit  `adroit text analyze --texts F --text-col review --keywords 5`: the whole
                command (process start, CSV load, jieba segmentation, sentiment,
                aspects, keywords, entities with jieba POS tags, JSON lines out)
        peer    jieba.lcut + SnowNLP(text).sentiments per review (sentiment only), on
                all reviews
  en  the 3,000 UCI sentences (amazon, yelp, imdb):
        adroit  the same command on them
        peer    VADER polarity_scores (sentiment only)
  en×20  the same sentences 20 times over (60,000): throughput once process start-up
        and the jieba dictionary load (~0.1 s) no longer weigh
ratio = adroit docs/s / peer docs/s. adroit does more per document than either peer.

Needs vaderSentiment, snownlp and jieba (bootstrapped into the bench venv as
benches/learn_peers.py does). --adroit defaults to building the release binary.
"""

import argparse
import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path

from learn_peers import REPO, cpu_model, die, ensure_modules

UCI = ["amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"]


def best_of(repeat: int, run) -> float:
    run()  # warm-up (page cache, jieba dictionary)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adroit")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_modules(["vaderSentiment", "snownlp", "jieba"], ["vaderSentiment", "snownlp", "jieba"], __file__)
    import jieba
    from snownlp import SnowNLP
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    binary = Path(args.adroit) if args.adroit else None
    if binary is None:
        if subprocess.run(["cargo", "build", "--release", "-p", "adroit-cli"], cwd=REPO).returncode != 0:
            die("cargo build --release failed")
        binary = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "release" / "adroit"
    text_dir = args.data.resolve() / "text"
    with open(text_dir / "ChnSentiCorp_htl_all.csv", encoding="utf-8", newline="") as f:
        zh = [r["review"] for r in csv.DictReader(f) if r["review"].strip()]
    en = []
    for name in UCI:
        for line in (text_dir / name).read_text(encoding="utf-8").split("\n"):
            if line.strip():
                en.append(line.rsplit("\t", 1)[0].strip())

    rows = []
    with tempfile.TemporaryDirectory(prefix="adroit-text-speed-") as tmp:
        for lang, docs in (("zh", zh), ("en", en), ("en×20", en * 20)):
            path = Path(tmp) / f"{lang.replace('×', 'x')}.csv"
            with open(path, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(["review"])
                w.writerows([d] for d in docs)
            out = Path(tmp) / f"{lang.replace('×', 'x')}.jsonl"
            cmd = [str(binary), "text", "analyze", "--texts", str(path), "--text-col", "review", "--out", str(out)]

            def run_adroit():
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    die(f"{' '.join(cmd)}: {r.stderr}")

            ours = best_of(args.repeat, run_adroit)
            if lang == "zh":
                label = "jieba + SnowNLP"

                def run_peer():
                    for d in docs:
                        jieba.lcut(d)
                        SnowNLP(d).sentiments

            else:
                label = "VADER"
                analyzer = SentimentIntensityAnalyzer()

                def run_peer():
                    for d in docs:
                        analyzer.polarity_scores(d)

            theirs = best_of(1 if lang == "zh" else args.repeat, run_peer)
            rows.append((lang, len(docs), label, len(docs) / ours, len(docs) / theirs))
            print(f"  {lang}: adroit {ours:.2f} s, {label} {theirs:.2f} s", flush=True)

    print()
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; adroit best of {args.repeat} (whole command); "
          f"SnowNLP timed once (it takes minutes), VADER best of {args.repeat}")
    print(f"{'lang':<5} {'docs':>6} {'peer':<16} {'adroit docs/s':>14} {'peer docs/s':>12} {'ratio':>7}")
    for lang, n, label, ours, theirs in rows:
        print(f"{lang:<5} {n:>6} {label:<16} {ours:>14,.0f} {theirs:>12,.0f} {ours / theirs:>7.1f}")


if __name__ == "__main__":
    main()
