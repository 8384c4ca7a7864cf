#!/usr/bin/env python3
"""Peer reference results for adroit-learn's uplift module: scikit-uplift on Hillstrom.

    python3 benches/uplift_peers.py [--out crates/adroit-learn/tests/support] [--data ../shared/data]

What it does:

1. Makes sure numpy, pandas, scikit-learn and scikit-uplift are importable; if not,
   bootstraps the venv of benches/learn_peers.py (`ensure_modules`,
   ${ADROIT_BENCH_VENV:-$HOME/.cache/adroit-bench-venv}) with them, unpinned, and
   re-executes itself there. Versions are written into the JSON.
2. Reads uplift/hillstrom.csv (64,000 rows). The split rule, shared with the Rust test
   crates/adroit-learn/tests/uplift_hillstrom.rs: data row i (0-based, file order, over
   all 64,000 rows) is a TEST row when i % 10 < 3, otherwise a TRAIN row. For each
   e-mail ("Mens E-Mail", "Womens E-Mail") only the rows of that segment (treatment 1)
   and "No E-Mail" (treatment 0) are kept; outcome `visit`.
3. Features: recency, history, mens, womens, newbie as numbers, then one-hot columns
   (every level, sorted) of zip_code and channel (history_segment is dropped: it is
   history binned). All encoded columns are standardised with the population mean and
   std of the TRAIN rows of both arms together (as the Rust T-learner's shared encoder).
4. T-learner: LogisticRegression(penalty="l2", C=1.0, solver="lbfgs", max_iter=10000,
   tol=1e-10) fitted on the treated train rows and on the control train rows; uplift on
   the test rows = P(visit | treated model) - P(visit | control model). Reports
   sklift.metrics.qini_auc_score (negative_effect=True, the default) and
   uplift_auc_score on the test rows.
5. Metric check independent of any learner: the FIXED prediction vector on the test
   rows, u_k = ((k * 37) % 101) / 100 - 0.5 for the k-th test row (0-based, file order
   within the kept rows), with many ties. For it: qini_auc_score with
   negative_effect True and False, uplift_auc_score, the full qini_curve and
   uplift_curve, the perfect curves' areas, and uplift_by_percentile(bins=10,
   strategy="overall").
6. Average effects of each e-mail on visit, conversion and spend over ALL rows
   (group-mean differences).

Writes --out/uplift_reference.json (floats by repr, round-trip exact; NaN as null).
"""

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import ensure_modules  # noqa: E402

MODULES = ["numpy", "pandas", "sklearn", "sklift"]
PIP_NAMES = ["numpy", "pandas", "scikit-learn", "scikit-uplift"]

NUMERIC = ["recency", "history", "mens", "womens", "newbie"]
CATEGORICAL = ["zip_code", "channel"]
EMAILS = ["Mens E-Mail", "Womens E-Mail"]


def clean(v):
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def main() -> None:
    ensure_modules(MODULES, PIP_NAMES, __file__)
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    import numpy as np
    import pandas as pd
    import sklearn
    import sklift
    from sklearn.linear_model import LogisticRegression
    from sklift.metrics import (
        perfect_qini_curve,
        perfect_uplift_curve,
        qini_auc_score,
        qini_curve,
        uplift_auc_score,
        uplift_by_percentile,
        uplift_curve,
    )
    from sklearn.metrics import auc

    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(root / "crates/adroit-learn/tests/support"))
    ap.add_argument("--data", default=str(root.parent / "shared/data"))
    args = ap.parse_args()

    df = pd.read_csv(Path(args.data) / "uplift/hillstrom.csv")
    df["row"] = np.arange(len(df))
    df["test"] = df["row"] % 10 < 3

    out = {
        "versions": {
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__,
            "scikit-uplift": sklift.__version__,
        },
        "split": "data row i (0-based, file order) is a test row when i % 10 < 3",
        "features": NUMERIC + CATEGORICAL,
        "average_effects": {},
        "emails": {},
    }

    for email in EMAILS:
        effects = {}
        for outcome in ["visit", "conversion", "spend"]:
            t = df.loc[df.segment == email, outcome].to_numpy(dtype=float)
            c = df.loc[df.segment == "No E-Mail", outcome].to_numpy(dtype=float)
            effects[outcome] = {
                "treated": int(len(t)),
                "control": int(len(c)),
                "treated_mean": float(t.mean()),
                "control_mean": float(c.mean()),
                "effect": float(t.mean() - c.mean()),
            }
        out["average_effects"][email] = effects

        d = df[df.segment.isin([email, "No E-Mail"])].reset_index(drop=True)
        treat = (d.segment == email).to_numpy().astype(int)
        y = d["visit"].to_numpy().astype(int)
        cols = [d[NUMERIC].astype(float)]
        for c in CATEGORICAL:
            for level in sorted(d[c].unique()):
                cols.append((d[c] == level).astype(float).rename(f"{c}={level}"))
        X = pd.concat(cols, axis=1).to_numpy()
        test = d["test"].to_numpy()
        train = ~test
        mean = X[train].mean(axis=0)
        sd = X[train].std(axis=0)
        sd[sd <= 1e-12 * np.maximum(np.abs(mean), 1.0)] = 1.0
        Xs = (X - mean) / sd

        def logit():
            return LogisticRegression(penalty="l2", C=1.0, solver="lbfgs", max_iter=10000, tol=1e-10)

        m1 = logit().fit(Xs[train & (treat == 1)], y[train & (treat == 1)])
        m0 = logit().fit(Xs[train & (treat == 0)], y[train & (treat == 0)])
        u = m1.predict_proba(Xs[test])[:, 1] - m0.predict_proba(Xs[test])[:, 1]
        yt, tt = y[test], treat[test]

        k = np.arange(int(test.sum()))
        fixed = ((k * 37) % 101) / 100 - 0.5
        qx, qy = qini_curve(yt, fixed, tt)
        ux, uy = uplift_curve(yt, fixed, tt)
        pqx, pqy = perfect_qini_curve(yt, tt, negative_effect=True)
        pux, puy = perfect_uplift_curve(yt, tt)
        table = uplift_by_percentile(yt, fixed, tt, strategy="overall", bins=10)

        out["emails"][email] = {
            "rows": int(len(d)),
            "train_rows": int(train.sum()),
            "test_rows": int(test.sum()),
            "t_learner_logistic": {
                "qini_auc_score": float(qini_auc_score(yt, u, tt)),
                "uplift_auc_score": float(uplift_auc_score(yt, u, tt)),
                "uplift_first": [float(v) for v in u[:5]],
                "uplift_mean": float(u.mean()),
            },
            "fixed_predictions": {
                "rule": "u_k = ((k * 37) % 101) / 100 - 0.5, k = 0-based test row",
                "qini_auc_score": float(qini_auc_score(yt, fixed, tt, negative_effect=True)),
                "qini_auc_score_no_negative": float(qini_auc_score(yt, fixed, tt, negative_effect=False)),
                "uplift_auc_score": float(uplift_auc_score(yt, fixed, tt)),
                "qini_curve": {"x": [float(v) for v in qx], "y": [float(v) for v in qy]},
                "uplift_curve": {"x": [float(v) for v in ux], "y": [float(v) for v in uy]},
                "perfect_qini_area": float(auc(pqx, pqy)),
                "perfect_uplift_area": float(auc(pux, puy)),
                "uplift_by_percentile": [
                    {
                        "percentile": str(p),
                        "n_treatment": int(r.n_treatment),
                        "n_control": int(r.n_control),
                        "response_rate_treatment": clean(float(r.response_rate_treatment)),
                        "response_rate_control": clean(float(r.response_rate_control)),
                        "uplift": clean(float(r.uplift)),
                    }
                    for p, r in table.iterrows()
                ],
            },
        }
        r = out["emails"][email]
        print(
            f"{email}: T-learner (logistic) qini {r['t_learner_logistic']['qini_auc_score']:.6f} "
            f"auuc {r['t_learner_logistic']['uplift_auc_score']:.6f}; fixed qini "
            f"{r['fixed_predictions']['qini_auc_score']:.6f}"
        )

    path = Path(args.out) / "uplift_reference.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
