#!/usr/bin/env python3
"""adroit model train vs scikit-learn / LightGBM on UCI bank marketing: AUC and training time side by side.

    python3 benches/learn_speed.py [--adroit PATH] [--data ../shared/data] [--repeat 3] [--algos logistic,tree,forest,gbdt]

Same data, split and settings as benches/learn_peers.py (bank-full.csv without
`duration`; row i is a test row when i % 5 == 4; logistic C=1 on standardized
one-hot features; entropy tree of depth 6 with 20-row leaves; forest of 200
trees, sqrt features, 5-row leaves; GBDT 200 trees, learning rate 0.05, 31
leaves, LightGBM with n_jobs=2). The split is written to two CSV files in a
temporary folder and `adroit model train --data train.csv --holdout test.csv`
trains on one and scores the other.

Times, best of --repeat fits:
  adroit  `train_seconds` from metrics.json: encoding the frame (one-hot,
          binning) plus the fit; loading the CSV, evaluation and importance are
          not in it. The wall time of the whole command is printed too.
  peer    time.perf_counter() around fit() on the already encoded numpy
          matrix (the peer's encoding is not timed).
ratio = peer seconds / adroit seconds (above 1: adroit is faster).

--adroit defaults to building `cargo build --release -p adroit-cli` and
using the binary from $CARGO_TARGET_DIR (or target/) release/.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from learn_peers import MODULES, PIP_NAMES, REPO, classification_metrics, die, encode_bank, ensure_modules, environment, timed_fit

ALGOS = ["logistic", "tree", "forest", "gbdt"]


def adroit_binary(given) -> Path:
    if given:
        path = Path(given)
        if not path.is_file():
            die(f"--adroit {path}: no such file")
        return path
    print("building adroit (cargo build --release -p adroit-cli)", flush=True)
    if subprocess.run(["cargo", "build", "--release", "-p", "adroit-cli"], cwd=REPO).returncode != 0:
        die("cargo build --release failed")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    path = target / "release" / "adroit"
    if not path.is_file():
        die(f"built, but {path} does not exist")
    return path


def adroit_fit(binary: Path, train: Path, test: Path, algo: str, out: Path):
    """One `adroit model train`; returns (metrics.json, wall seconds)."""
    cmd = [
        str(binary), "model", "train", "--data", str(train), "--holdout", str(test), "--target", "y",
        "--positive", "yes", "--task", "classify", "--algo", algo, "--out", str(out),
    ]
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if run.returncode != 0:
        die(f"{' '.join(cmd)} failed:\n{run.stderr}")
    return json.loads((out / "metrics.json").read_text()), wall


def peer_models():
    import lightgbm as lgb
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    return {
        "logistic": ("sklearn LogisticRegression(lbfgs)", lambda: LogisticRegression(C=1.0, solver="lbfgs", max_iter=10000, tol=1e-10), True),
        "tree": ("sklearn DecisionTreeClassifier", lambda: DecisionTreeClassifier(criterion="entropy", max_depth=6, min_samples_leaf=20, random_state=0), False),
        "forest": (
            "sklearn RandomForestClassifier",
            lambda: RandomForestClassifier(n_estimators=200, max_features="sqrt", min_samples_leaf=5, bootstrap=True, random_state=0, n_jobs=-1),
            False,
        ),
        "gbdt": (
            "lightgbm LGBMClassifier",
            lambda: lgb.LGBMClassifier(
                n_estimators=200, learning_rate=0.05, num_leaves=31, max_depth=-1, min_child_samples=20, min_child_weight=1e-3,
                reg_lambda=0.0, reg_alpha=0.0, max_bin=255, subsample=1.0, colsample_bytree=1.0, random_state=0, n_jobs=2, verbose=-1,
            ),
            False,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adroit", help="adroit binary (default: build it with cargo --release)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3, help="fits per model; the best time counts (default 3)")
    parser.add_argument("--algos", default=",".join(ALGOS), help=f"comma-separated subset of {','.join(ALGOS)}")
    args = parser.parse_args()
    algos = [a for a in args.algos.split(",") if a]
    unknown = [a for a in algos if a not in ALGOS]
    if unknown or args.repeat <= 0:
        parser.error(f"unknown algos {unknown}" if unknown else "--repeat must be positive")
    ensure_modules(MODULES, PIP_NAMES, __file__)
    binary = adroit_binary(args.adroit)

    import numpy as np
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    path = args.data.resolve() / "classification" / "bank-full.csv"
    if not path.is_file():
        die(f"{path} does not exist")
    df = pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=["duration"])
    test_mask = np.arange(len(df)) % 5 == 4
    y = (df["y"].to_numpy(dtype=object) == "yes").astype(np.int64)
    X, _, _ = encode_bank(df, ~test_mask)
    Xtr, Xte, ytr, yte = X[~test_mask], X[test_mask], y[~test_mask], y[test_mask]
    peers = peer_models()

    rows = []
    with tempfile.TemporaryDirectory(prefix="adroit-learn-speed-") as tmp:
        tmp = Path(tmp)
        train_csv, test_csv = tmp / "train.csv", tmp / "test.csv"
        df[~test_mask].to_csv(train_csv, index=False)
        df[test_mask].to_csv(test_csv, index=False)
        print(f"bank: train {int((~test_mask).sum()):,} rows, test {int(test_mask.sum()):,} rows, {X.shape[1]} encoded features", flush=True)
        for algo in algos:
            fits = [adroit_fit(binary, train_csv, test_csv, algo, tmp / f"{algo}-{r}") for r in range(args.repeat)]
            ours_auc = fits[0][0]["holdout"]["roc_auc"]
            ours_s = min(m["train_seconds"] for m, _ in fits)
            ours_wall = min(w for _, w in fits)

            label, make, scaled = peers[algo]
            a, b = Xtr, Xte
            if scaled:
                scaler = StandardScaler().fit(Xtr)
                a, b = scaler.transform(Xtr), scaler.transform(Xte)
            model, peer_s, _ = timed_fit(make, a, ytr, args.repeat)
            peer_auc = classification_metrics(yte, model.predict_proba(b)[:, 1])["roc_auc"]
            rows.append((algo, label, ours_auc, peer_auc, ours_s, ours_wall, peer_s))
            print(f"  {algo}: adroit {ours_s:.3f} s, {label} {peer_s:.3f} s", flush=True)

    env = environment()
    print()
    print(f"machine: {env['cpu_count']} cores, {env['cpu_model']}; scikit-learn {env['sklearn']}, lightgbm {env['lightgbm']}; best of {args.repeat}")
    print(f"{'algo':<9} {'peer':<34} {'AUC adroit':>10} {'AUC peer':>9} {'diff':>8} {'adroit s':>9} {'(wall)':>8} {'peer s':>8} {'ratio':>6}")
    for algo, label, ours_auc, peer_auc, ours_s, wall, peer_s in rows:
        print(
            f"{algo:<9} {label:<34} {ours_auc:>10.4f} {peer_auc:>9.4f} {ours_auc - peer_auc:>+8.4f} "
            f"{ours_s:>9.3f} {wall:>8.2f} {peer_s:>8.3f} {peer_s / ours_s:>6.2f}"
        )
    print("ratio = peer seconds / adroit train seconds (above 1: adroit faster); AUC on the i % 5 == 4 test rows")


if __name__ == "__main__":
    sys.exit(main())
