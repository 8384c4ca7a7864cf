#!/usr/bin/env python3
"""Peer reference results for adroit-learn: scikit-learn, LightGBM and mlxtend on shared data.

    python3 benches/learn_peers.py [--out crates/adroit-learn/tests/support] [--data ../shared/data] [--repeat 3]

What it does:

1. Makes sure numpy, pandas, scipy, scikit-learn, lightgbm and mlxtend are
   importable. If they are not, it creates a virtualenv at
   ${ADROIT_BENCH_VENV:-$HOME/.cache/adroit-bench-venv} (or reuses it), pip-installs
   the missing ones there (unpinned: whatever PyPI serves), and re-executes
   itself with that venv's python. The versions used are written into every
   JSON file.
2. Writes three JSON reference files into --out (default
   crates/adroit-learn/tests/support, relative to the repo root two levels above
   this file) that adroit-learn's Rust tests read. --data defaults to
   ../shared/data relative to the repo root. Every model uses random_state=0
   (the forest also 1..4 for its seed spread), so apart from the wall-clock
   seconds the files are reproducible for given package versions.

   bank_peers.json - classification on classification/bank-full.csv (UCI bank
     marketing, comma separated, 45,211 rows). `duration` is dropped; target is
     y == "yes". Data row i (0-based, file order) is a test row when i % 5 == 4,
     otherwise a train row. Features: age, balance, day, campaign, pdays,
     previous as numbers, then one-hot columns (all levels, none dropped) for
     job, marital, education, default, housing, loan, contact, month, poutcome,
     in file order, each column's levels sorted lexicographically and fitted on
     the train rows (a level seen only in test rows would encode as all zeros),
     named `col=level`. Models, fit on train and scored on test:
       logistic  StandardScaler (population std, fitted on train) then
                 LogisticRegression(penalty="l2", C=1.0, solver="lbfgs",
                 max_iter=10000, tol=1e-10); intercept and coefficients are in
                 the standardized space, with the scaler's means and scales;
                 also the objective's gradient at that solution and a
                 Newton-polished optimum (numpy) to show how far lbfgs stopped
       tree      DecisionTreeClassifier(criterion="entropy", max_depth=6,
                 min_samples_leaf=20, random_state=0), unscaled matrix
       forest    RandomForestClassifier(n_estimators=200, max_features="sqrt",
                 min_samples_leaf=5, bootstrap=True, random_state=0, n_jobs=-1),
                 unscaled; refitted with random_state 1..4 for the AUC spread
       gbdt      lightgbm.LGBMClassifier(n_estimators=200, learning_rate=0.05,
                 num_leaves=31, max_depth=-1, min_child_samples=20,
                 min_child_weight=1e-3, reg_lambda=0, reg_alpha=0, max_bin=255,
                 subsample=1, colsample_bytree=1, random_state=0, n_jobs=2,
                 verbose=-1) on the unscaled dense float64 matrix
     Test metrics per model: ROC AUC and average precision (PR AUC) of the
     predicted probability of class 1, log loss, and accuracy, precision, recall
     and F1 at threshold 0.5 (p >= 0.5 is positive, as sklearn's predict). Train
     seconds are time.perf_counter() around fit(), best of --repeat fits for
     logistic (scaler excluded), tree and gbdt; each forest seed is fitted once.
   advertising_peers.json - regression/Advertising.csv (200 rows, unnamed index
     column, TV, Radio, Newspaper -> Sales). The three features are standardized
     (population std); then LinearRegression(), Ridge(alpha=1), Lasso(alpha=0.1),
     ElasticNet(alpha=0.1, l1_ratio=0.5) (max_iter=1_000_000, tol=1e-12 where the
     estimator takes them) give intercept, standardized-space coefficients,
     training R^2 and the objective minimised. KMeans(n_clusters=k,
     init="k-means++", n_init=10, random_state=0, algorithm="lloyd") for k = 2..6
     on the RAW TV, Radio, Newspaper matrix gives inertia, silhouette score,
     cluster sizes (ascending) and centres (sorted by TV, then Radio, Newspaper).
   groceries_peers.json - mining/groceries.csv (one transaction per line, items
     comma separated, no header; items stripped, empty items and lines skipped).
     mlxtend TransactionEncoder -> fpgrowth(use_colnames=True) ->
     association_rules(metric="confidence") at (min_support 0.01, min_confidence
     0.3) and (0.005, 0.5). All frequent itemsets (sorted by size, then items)
     and all rules, multi-item consequents included (sorted by antecedent, then
     consequent); items within a set are sorted. A conviction of inf (confidence
     1) is written as null.
3. Prints a summary table: model, headline metric, train seconds.

JSON numbers are Python floats written with repr (round-trip exact); the files
contain no NaN or Infinity.
"""

import argparse
import hashlib
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parent.parent
MODULES = ["numpy", "pandas", "scipy", "sklearn", "lightgbm", "mlxtend"]
PIP_NAMES = ["numpy", "pandas", "scipy", "scikit-learn", "lightgbm", "mlxtend"]

BANK_NUMERIC = ["age", "balance", "day", "campaign", "pdays", "previous"]
BANK_CATEGORICAL = ["job", "marital", "education", "default", "housing", "loan", "contact", "month", "poutcome"]
FOREST_SEEDS = [0, 1, 2, 3, 4]
ADV_FEATURES = ["TV", "Radio", "Newspaper"]
ADV_TARGET = "Sales"
KMEANS_KS = [2, 3, 4, 5, 6]
GROCERY_SETTINGS = [(0.01, 0.3), (0.005, 0.5)]


def die(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


# --- 1. environment ---------------------------------------------------------------


def importable(python: str, modules: list) -> bool:
    code = "import " + ", ".join(modules)
    return subprocess.run([python, "-c", code], capture_output=True).returncode == 0


def ensure_modules(modules: list = MODULES, pip_names: list = PIP_NAMES, script: str = __file__) -> None:
    """Import the peers, or bootstrap a venv with them and re-exec `script` in it.

    The other bench scripts call this with their own module lists and path.
    """
    try:
        for name in modules:
            __import__(name)
        return
    except Exception:  # ImportError, or OSError from lightgbm's shared library
        pass
    if os.environ.get("ADROIT_BENCH_REEXEC"):
        die(f"{', '.join(modules)} are still not all importable with {sys.executable}")
    venv = Path(os.environ.get("ADROIT_BENCH_VENV") or Path.home() / ".cache" / "adroit-bench-venv")
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"peer libraries not found; creating a venv at {venv}", file=sys.stderr)
        if subprocess.run([sys.executable, "-m", "venv", str(venv)]).returncode != 0:
            die("could not create the venv (on Debian/Ubuntu: apt-get install python3-venv)")
    if not importable(str(python), modules):
        print(f"installing {' '.join(pip_names)} into {venv}", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_names]
        if subprocess.run(pip).returncode != 0:
            die(f"pip install {' '.join(pip_names)} failed")
    os.environ["ADROIT_BENCH_REEXEC"] = "1"
    os.execv(str(python), [str(python), str(Path(script).resolve()), *sys.argv[1:]])


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def environment() -> dict:
    import lightgbm
    import mlxtend
    import numpy
    import pandas
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "mlxtend": mlxtend.__version__,
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
    }


# --- helpers ----------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def input_info(path: Path, data_dir: Path) -> dict:
    return {"path": str(Path("../shared/data") / path.relative_to(data_dir)), "sha256": sha256(path)}


def fnum(x):
    """numpy scalar -> JSON-safe Python number (None for NaN/inf)."""
    x = float(x)
    return x if math.isfinite(x) else None


def flist(xs) -> list:
    return [fnum(x) for x in xs]


def jsonable(value):
    """Estimator parameters -> plain JSON values."""
    import numpy as np

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return fnum(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return repr(value)


def params_of(model) -> dict:
    return {k: jsonable(v) for k, v in sorted(model.get_params(deep=False).items())}


def timed_fit(make, X, y, repeat: int):
    """Fits make() `repeat` times; returns (last fitted model, best seconds, all seconds)."""
    times, model = [], None
    for _ in range(repeat):
        model = make()
        t0 = time.perf_counter()
        model.fit(X, y)
        times.append(time.perf_counter() - t0)
    return model, min(times), times


def write_json(path: Path, doc: dict) -> None:
    text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False) + "\n"
    path.write_text(text)
    json.loads(text)
    print(f"wrote {path} ({len(text.encode()) / 1e3:,.1f} kB)")


# --- 2a. bank marketing -----------------------------------------------------------


def encode_bank(df, train_mask):
    """Numeric columns, then one-hot of every categorical column (levels sorted, from train)."""
    import numpy as np

    names, columns, levels = list(BANK_NUMERIC), [df[c].to_numpy(dtype=np.float64) for c in BANK_NUMERIC], {}
    for col in BANK_CATEGORICAL:
        values = df[col].to_numpy(dtype=object)
        col_levels = sorted(set(values[train_mask].tolist()))
        levels[col] = col_levels
        for level in col_levels:
            names.append(f"{col}={level}")
            columns.append((values == level).astype(np.float64))
    return np.column_stack(columns), names, levels


def classification_metrics(y_true, proba) -> dict:
    import numpy as np
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

    pred = (proba >= 0.5).astype(np.int64)
    return {
        "roc_auc": fnum(roc_auc_score(y_true, proba)),
        "pr_auc": fnum(average_precision_score(y_true, proba)),
        "log_loss": fnum(log_loss(y_true, proba, labels=[0, 1])),
        "accuracy": fnum(accuracy_score(y_true, pred)),
        "precision": fnum(precision_score(y_true, pred, zero_division=0)),
        "recall": fnum(recall_score(y_true, pred, zero_division=0)),
        "f1": fnum(f1_score(y_true, pred, zero_division=0)),
        "predicted_positive": int(pred.sum()),
    }


def logistic_optimality(Z, y, model, names) -> dict:
    """How far lbfgs stopped from the exact optimum: gradient there, and a Newton-polished solution."""
    import numpy as np

    A = np.column_stack([Z, np.ones(len(Z))])
    mask = np.r_[np.ones(Z.shape[1]), 0.0]  # the intercept is not penalised
    start = np.r_[model.coef_[0], model.intercept_[0]]
    theta, C = start.copy(), float(model.C)

    def gradient(t):
        p = 1.0 / (1.0 + np.exp(-(A @ t)))
        return C * (A.T @ (p - y)) + mask * t, p

    g0, _ = gradient(theta)
    for _ in range(8):
        g, p = gradient(theta)
        H = C * (A * (p * (1.0 - p))[:, None]).T @ A + np.diag(mask)
        step = np.linalg.lstsq(H, g, rcond=None)[0]
        theta -= step
        if np.abs(step).max() < 1e-15:
            break
    g1, _ = gradient(theta)
    return {
        "objective": "C * sum_i logloss(y_i, sigmoid(b + z_i.w)) + 0.5 * ||w||^2 (intercept b not penalised); "
        "sklearn minimises the same objective divided by n",
        "max_abs_gradient_sklearn": fnum(np.abs(g0).max()),
        "max_abs_gradient_polished": fnum(np.abs(g1).max()),
        "max_abs_diff_polished_vs_sklearn": fnum(np.abs(theta - start).max()),
        "newton_polished": {
            "note": "Newton iterations (numpy) started from sklearn's solution; the exact optimum to ~1e-12",
            "intercept": fnum(theta[-1]),
            "coefficients": {n: fnum(c) for n, c in zip(names, theta[:-1])},
        },
    }


def bank(data_dir: Path, repeat: int, env: dict, summary: list) -> dict:
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    path = data_dir / "classification" / "bank-full.csv"
    df = pd.read_csv(path, sep=",", dtype={c: str for c in BANK_CATEGORICAL + ["y"]}, keep_default_na=False)
    if "duration" not in df.columns:
        die(f"{path}: no `duration` column")
    df = df.drop(columns=["duration"])
    y = (df["y"].to_numpy(dtype=object) == "yes").astype(np.int64)
    idx = np.arange(len(df))
    test_mask = idx % 5 == 4
    train_mask = ~test_mask
    X, names, levels = encode_bank(df, train_mask)
    Xtr, Xte, ytr, yte = X[train_mask], X[test_mask], y[train_mask], y[test_mask]
    print(f"bank: {len(df):,} rows, {X.shape[1]} encoded features, train {len(ytr):,}, test {len(yte):,}", flush=True)

    models = {}

    # logistic
    scaler = StandardScaler().fit(Xtr)
    Ztr, Zte = scaler.transform(Xtr), scaler.transform(Xte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # newer sklearn deprecates `penalty`; the brief fixes it
        make = lambda: LogisticRegression(penalty="l2", C=1.0, solver="lbfgs", max_iter=10000, tol=1e-10)  # noqa: E731
        logit, best, times = timed_fit(make, Ztr, ytr, repeat)
    proba = logit.predict_proba(Zte)[:, 1]
    models["logistic"] = {
        "estimator": "sklearn.linear_model.LogisticRegression",
        "params": params_of(logit),
        "preprocessing": "StandardScaler (population std) fitted on train, applied to all encoded columns",
        "train_seconds": best,
        "train_seconds_all": times,
        "n_iter": int(np.max(logit.n_iter_)),
        "test": classification_metrics(yte, proba),
        "test_proba_head": flist(proba[:10]),
        "scaler": {"mean": flist(scaler.mean_), "scale": flist(scaler.scale_)},
        "intercept": fnum(logit.intercept_[0]),
        "coefficients": {n: fnum(c) for n, c in zip(names, logit.coef_[0])},
        "optimality": logistic_optimality(Ztr, ytr, logit, names),
    }
    print(f"  logistic done ({best:.3f} s)", flush=True)

    # tree
    make = lambda: DecisionTreeClassifier(criterion="entropy", max_depth=6, min_samples_leaf=20, random_state=0)  # noqa: E731
    tree, best, times = timed_fit(make, Xtr, ytr, repeat)
    proba = tree.predict_proba(Xte)[:, 1]
    models["tree"] = {
        "estimator": "sklearn.tree.DecisionTreeClassifier",
        "params": params_of(tree),
        "preprocessing": "none (unscaled encoded matrix)",
        "train_seconds": best,
        "train_seconds_all": times,
        "depth": int(tree.get_depth()),
        "n_leaves": int(tree.get_n_leaves()),
        "test": classification_metrics(yte, proba),
        "test_proba_head": flist(proba[:10]),
        "feature_importances": {n: fnum(v) for n, v in zip(names, tree.feature_importances_)},
    }
    print(f"  tree done ({best:.3f} s)", flush=True)

    # forest: one fit per seed
    seeds = []
    forest_params = None
    for seed in FOREST_SEEDS:
        rf = RandomForestClassifier(n_estimators=200, max_features="sqrt", min_samples_leaf=5, bootstrap=True, random_state=seed, n_jobs=-1)
        t0 = time.perf_counter()
        rf.fit(Xtr, ytr)
        seconds = time.perf_counter() - t0
        proba = rf.predict_proba(Xte)[:, 1]
        metrics = classification_metrics(yte, proba)
        seeds.append({"random_state": seed, "roc_auc": metrics["roc_auc"], "pr_auc": metrics["pr_auc"], "log_loss": metrics["log_loss"], "train_seconds": seconds})
        if seed == 0:
            forest_params, forest_metrics, forest_head = params_of(rf), metrics, flist(proba[:10])
        print(f"  forest seed {seed} done ({seconds:.3f} s, AUC {metrics['roc_auc']:.5f})", flush=True)
        del rf
    aucs = np.array([s["roc_auc"] for s in seeds])
    models["forest"] = {
        "estimator": "sklearn.ensemble.RandomForestClassifier",
        "params": forest_params,
        "preprocessing": "none (unscaled encoded matrix)",
        "train_seconds": seeds[0]["train_seconds"],
        "train_seconds_note": "single fit per seed (not best of --repeat); train_seconds is random_state=0",
        "determinism_note": "n_jobs=-1 sums the trees' probabilities in a thread-dependent order, so reruns can "
        "differ in the last bits (~1e-16 relative)",
        "test": forest_metrics,
        "test_proba_head": forest_head,
        "seeds": seeds,
        "roc_auc_over_seeds": {
            "min": fnum(aucs.min()),
            "max": fnum(aucs.max()),
            "mean": fnum(aucs.mean()),
            "std": fnum(aucs.std(ddof=1)),
            "std_note": "sample standard deviation (ddof=1) over the 5 seeds",
        },
    }

    # gbdt
    make = lambda: lgb.LGBMClassifier(  # noqa: E731
        n_estimators=200, learning_rate=0.05, num_leaves=31, max_depth=-1, min_child_samples=20, min_child_weight=1e-3,
        reg_lambda=0.0, reg_alpha=0.0, max_bin=255, subsample=1.0, colsample_bytree=1.0, random_state=0, n_jobs=2, verbose=-1,
    )
    Xtr_c, Xte_c = np.ascontiguousarray(Xtr, dtype=np.float64), np.ascontiguousarray(Xte, dtype=np.float64)
    gbdt, best, times = timed_fit(make, Xtr_c, ytr, repeat)
    proba = gbdt.predict_proba(Xte_c)[:, 1]
    models["gbdt"] = {
        "estimator": "lightgbm.LGBMClassifier",
        "params": params_of(gbdt),
        "preprocessing": "none (unscaled encoded matrix, dense float64)",
        "train_seconds": best,
        "train_seconds_all": times,
        "test": classification_metrics(yte, proba),
        "test_proba_head": flist(proba[:10]),
        "feature_importances_split": {n: int(v) for n, v in zip(names, gbdt.booster_.feature_importance("split"))},
    }
    print(f"  gbdt done ({best:.3f} s)", flush=True)

    for name, m in models.items():
        summary.append((f"bank {name}", "test ROC AUC", m["test"]["roc_auc"], m["train_seconds"]))
    summary.append(("bank forest 5 seeds", "AUC max-min", fnum(aucs.max() - aucs.min()), None))

    return {
        "dataset": "UCI bank marketing (bank-full.csv)",
        "generated_by": "benches/learn_peers.py",
        "input": input_info(path, data_dir) | {"rows": int(len(df))},
        "environment": env,
        "target": 'y == "yes" -> 1, else 0',
        "dropped_columns": ["duration"],
        "split": {
            "rule": "0-based data row index i in file order; test if i % 5 == 4, else train",
            "train_rows": int(train_mask.sum()),
            "test_rows": int(test_mask.sum()),
            "train_positives": int(ytr.sum()),
            "test_positives": int(yte.sum()),
        },
        "encoding": {
            "numeric": BANK_NUMERIC,
            "categorical": BANK_CATEGORICAL,
            "rule": "numeric columns in file order, then for each categorical column in file order one 0/1 column per "
            "level (all levels, none dropped), levels sorted lexicographically, fitted on train rows; named col=level",
            "levels": levels,
            "feature_names": names,
        },
        "threshold": 0.5,
        "threshold_rule": "predicted positive iff p >= 0.5",
        "timing": f"time.perf_counter() around fit(); best of {repeat} fits except the forest (one fit per seed)",
        "models": models,
    }


# --- 2b. advertising --------------------------------------------------------------


def advertising(data_dir: Path, env: dict, summary: list) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
    from sklearn.metrics import silhouette_score
    from sklearn.preprocessing import StandardScaler

    path = data_dir / "regression" / "Advertising.csv"
    df = pd.read_csv(path, index_col=0)
    missing = [c for c in ADV_FEATURES + [ADV_TARGET] if c not in df.columns]
    if missing:
        die(f"{path}: missing columns {missing} (has {list(df.columns)})")
    X = df[ADV_FEATURES].to_numpy(dtype=np.float64)
    y = df[ADV_TARGET].to_numpy(dtype=np.float64)
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)

    specs = [
        ("ols", lambda: LinearRegression(), "||y - Xw - b||^2 (ordinary least squares)"),
        ("ridge", lambda: Ridge(alpha=1.0, max_iter=1_000_000, tol=1e-12), "||y - Xw - b||^2 + alpha * ||w||_2^2   (alpha = 1.0; intercept not penalised)"),
        ("lasso", lambda: Lasso(alpha=0.1, max_iter=1_000_000, tol=1e-12), "1/(2n) * ||y - Xw - b||^2 + alpha * ||w||_1   (alpha = 0.1; intercept not penalised)"),
        (
            "elastic_net",
            lambda: ElasticNet(alpha=0.1, l1_ratio=0.5, max_iter=1_000_000, tol=1e-12),
            "1/(2n) * ||y - Xw - b||^2 + alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2   "
            "(alpha = 0.1, l1_ratio = 0.5; intercept not penalised)",
        ),
    ]
    regressions = {}
    for name, make, objective in specs:
        model = make()
        t0 = time.perf_counter()
        model.fit(Z, y)
        seconds = time.perf_counter() - t0
        entry = {
            "estimator": f"sklearn.linear_model.{type(model).__name__}",
            "params": params_of(model),
            "objective": objective,
            "intercept": fnum(model.intercept_),
            "coefficients": {n: fnum(c) for n, c in zip(ADV_FEATURES, model.coef_)},
            "train_r2": fnum(model.score(Z, y)),
            "train_seconds": seconds,
        }
        if getattr(model, "n_iter_", None) is not None:
            entry["n_iter"] = int(np.max(model.n_iter_))
        regressions[name] = entry
        summary.append((f"advertising {name}", "train R^2", entry["train_r2"], seconds))

    kmeans = []
    for k in KMEANS_KS:
        km = KMeans(n_clusters=k, init="k-means++", n_init=10, random_state=0, algorithm="lloyd")
        t0 = time.perf_counter()
        km.fit(X)
        seconds = time.perf_counter() - t0
        sizes = np.bincount(km.labels_, minlength=k)
        centers = sorted(tuple(float(v) for v in c) for c in km.cluster_centers_)
        kmeans.append({
            "k": k,
            "params": params_of(km),
            "inertia": fnum(km.inertia_),
            "silhouette": fnum(silhouette_score(X, km.labels_)),
            "cluster_sizes_sorted": sorted(int(s) for s in sizes),
            "centers_sorted": [list(c) for c in centers],
            "n_iter": int(km.n_iter_),
            "train_seconds": seconds,
        })
        summary.append((f"advertising kmeans k={k}", "inertia", kmeans[-1]["inertia"], seconds))

    return {
        "dataset": "ISLR Advertising (Advertising.csv)",
        "generated_by": "benches/learn_peers.py",
        "input": input_info(path, data_dir) | {"rows": int(len(df))},
        "environment": env,
        "features": ADV_FEATURES,
        "target": ADV_TARGET,
        "scaler": {
            "note": "StandardScaler: z = (x - mean) / scale, scale = population std (ddof=0)",
            "mean": flist(scaler.mean_),
            "scale": flist(scaler.scale_),
        },
        "regression_space": "coefficients are for the standardized features; intercept is in sales units",
        "regressions": regressions,
        "kmeans_space": "raw (unscaled) TV, Radio, Newspaper",
        "kmeans_sizes_note": "cluster_sizes_sorted ascending; centers_sorted lexicographically by (TV, Radio, Newspaper)",
        "kmeans": kmeans,
    }


# --- 2c. groceries ----------------------------------------------------------------


def read_transactions(path: Path) -> list:
    transactions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        items = [item.strip() for item in line.split(",")]
        items = [item for item in items if item]
        if items:
            transactions.append(items)
    return transactions


def rules_call(frequent, n: int, min_confidence: float):
    """association_rules across mlxtend versions (>= 0.23.2 takes num_itemsets)."""
    from mlxtend.frequent_patterns import association_rules

    sig = inspect.signature(association_rules)
    kwargs = {"metric": "confidence", "min_threshold": min_confidence}
    if "num_itemsets" in sig.parameters:
        kwargs["num_itemsets"] = n
    return association_rules(frequent, **kwargs), "num_itemsets" in sig.parameters


def groceries(data_dir: Path, env: dict, summary: list) -> dict:
    import pandas as pd
    from mlxtend.frequent_patterns import fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    path = data_dir / "mining" / "groceries.csv"
    transactions = read_transactions(path)
    n = len(transactions)
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(transactions).transform(transactions), columns=te.columns_)
    print(f"groceries: {n:,} transactions, {len(te.columns_)} items", flush=True)

    settings = []
    for min_support, min_confidence in GROCERY_SETTINGS:
        t0 = time.perf_counter()
        frequent = fpgrowth(onehot, min_support=min_support, use_colnames=True)
        t_items = time.perf_counter() - t0
        t0 = time.perf_counter()
        rules, passed_num_itemsets = rules_call(frequent, n, min_confidence)
        t_rules = time.perf_counter() - t0

        itemsets = [
            {"items": sorted(row.itemsets), "support": fnum(row.support), "count": int(round(row.support * n))}
            for row in frequent.itertuples(index=False)
        ]
        itemsets.sort(key=lambda e: (len(e["items"]), e["items"]))
        rule_list = [
            {
                "antecedent": sorted(r["antecedents"]),
                "consequent": sorted(r["consequents"]),
                "support": fnum(r["support"]),
                "confidence": fnum(r["confidence"]),
                "lift": fnum(r["lift"]),
                "leverage": fnum(r["leverage"]),
                "conviction": fnum(r["conviction"]),
            }
            for r in rules.to_dict("records")
        ]
        rule_list.sort(key=lambda e: (e["antecedent"], e["consequent"]))
        sizes = {}
        for e in itemsets:
            sizes[str(len(e["items"]))] = sizes.get(str(len(e["items"])), 0) + 1
        settings.append({
            "min_support": min_support,
            "min_confidence": min_confidence,
            "min_count": math.ceil(min_support * n - 1e-9),
            "n_itemsets": len(itemsets),
            "itemsets_by_size": sizes,
            "n_rules": len(rule_list),
            "n_rules_single_consequent": sum(1 for r in rule_list if len(r["consequent"]) == 1),
            "association_rules_num_itemsets": n if passed_num_itemsets else None,
            "fpgrowth_seconds": t_items,
            "rules_seconds": t_rules,
            "itemsets": itemsets,
            "rules": rule_list,
        })
        summary.append((f"groceries s={min_support} c={min_confidence}", "itemsets/rules", f"{len(itemsets)}/{len(rule_list)}", t_items + t_rules))

    return {
        "dataset": "arules Groceries (groceries.csv)",
        "generated_by": "benches/learn_peers.py",
        "input": input_info(path, data_dir),
        "environment": env,
        "n_transactions": n,
        "n_items": len(te.columns_),
        "n_item_occurrences": int(sum(len(set(t)) for t in transactions)),
        "parsing": "one transaction per line, items split on ',', whitespace stripped, empty items and empty lines skipped",
        "algorithm": "mlxtend TransactionEncoder -> fpgrowth(min_support, use_colnames=True) -> "
        "association_rules(metric='confidence', min_threshold=min_confidence)",
        "definitions": {
            "support": "fraction of transactions containing the itemset (for a rule: antecedent ∪ consequent)",
            "count": "round(support * n_transactions)",
            "confidence": "support(A ∪ C) / support(A)",
            "lift": "confidence / support(C)",
            "leverage": "support(A ∪ C) - support(A) * support(C)",
            "conviction": "(1 - support(C)) / (1 - confidence); null when confidence == 1 (infinite)",
        },
        "sort": "itemsets by (size, items); rules by (antecedent, consequent); items within each list sorted lexicographically",
        "settings": settings,
    }


# --- 3. report --------------------------------------------------------------------


def report(summary: list, env: dict) -> None:
    print()
    print(f"python {env['python']}, numpy {env['numpy']}, scikit-learn {env['sklearn']}, lightgbm {env['lightgbm']}, mlxtend {env['mlxtend']}")
    print(f"machine: cpu_count {env['cpu_count']}, {env['cpu_model']}")
    print()
    print(f"{'model':<34} {'metric':<16} {'value':>12} {'seconds':>10}")
    for model, metric, value, seconds in summary:
        shown = f"{value:.5f}" if isinstance(value, float) else str(value)
        secs = "" if seconds is None else f"{seconds:.3f}"
        print(f"{model:<34} {metric:<16} {shown:>12} {secs:>10}")


# --- main -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-learn" / "tests" / "support", help="output folder (default crates/adroit-learn/tests/support)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="shared data folder (default ../shared/data from the repo root)")
    parser.add_argument("--repeat", type=int, default=3, help="fits per timed model; the best wall time counts (default 3)")
    args = parser.parse_args()
    if args.repeat <= 0:
        parser.error("--repeat must be positive")
    ensure_modules()

    data_dir = args.data.resolve()
    if not data_dir.is_dir():
        die(f"data folder {data_dir} does not exist")
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment()
    summary = []
    write_json(args.out / "bank_peers.json", bank(data_dir, args.repeat, env, summary))
    write_json(args.out / "advertising_peers.json", advertising(data_dir, env, summary))
    write_json(args.out / "groceries_peers.json", groceries(data_dir, env, summary))
    report(summary, env)


if __name__ == "__main__":
    main()
