#!/usr/bin/env python3
"""Reference TreeSHAP values from the `shap` package, for adroit-learn's TreeSHAP test.

    python3 benches/shap_peers.py [--out crates/adroit-learn/tests/support] [--data ../shared/data]

The test needs the *same trees* on both sides, so this script fits small
scikit-learn tree models, writes each tree as the parallel arrays adroit's
`tree::Tree` holds (feature, threshold, left, right, value, cover; a row goes
left when x <= threshold, as in scikit-learn) and writes what
`shap.TreeExplainer` (path-dependent, the algorithm adroit implements) returns
for them: the expected value and one SHAP value per row and feature. The Rust
test rebuilds the trees from the arrays and compares its own TreeSHAP.

Models (all with random_state=0):
  advertising_tree    DecisionTreeRegressor(max_depth=5) on ISLR Advertising
                      (TV, Radio, Newspaper -> Sales), all 200 rows explained
  advertising_forest  RandomForestRegressor(n_estimators=5, max_depth=6,
                      bootstrap=True): covers are bootstrap weights, so they are
                      not row counts; the 200 rows explained
  bank_tree           DecisionTreeClassifier(criterion="entropy", max_depth=4,
                      min_samples_leaf=20) on the first 5,000 rows of UCI bank
                      marketing (numeric columns plus one-hot job, marital,
                      education, housing, loan, contact, poutcome; `duration`
                      dropped); the value is the probability of y == "yes";
                      the first 60 rows explained (SHAP of class 1)

Needs numpy, pandas, scikit-learn and shap; bootstraps them into the bench venv
as benches/learn_peers.py does.
"""

import argparse
from pathlib import Path

from learn_peers import REPO, die, ensure_modules, flist, fnum, input_info, write_json

MODULES = ["numpy", "pandas", "sklearn", "shap"]
PIP_NAMES = ["numpy", "pandas", "scikit-learn", "shap"]
BANK_NUMERIC = ["age", "balance", "day", "campaign", "pdays", "previous"]
BANK_ONE_HOT = ["job", "marital", "education", "housing", "loan", "contact", "poutcome"]


def tree_arrays(estimator, column: int) -> dict:
    """A fitted sklearn tree as adroit's parallel arrays (leaves: feature -1, children 0)."""
    t = estimator.tree_
    leaf = t.children_left < 0
    return {
        "feature": [-1 if is_leaf else int(f) for f, is_leaf in zip(t.feature, leaf)],
        "threshold": [0.0 if is_leaf else float(v) for v, is_leaf in zip(t.threshold, leaf)],
        "left": [0 if is_leaf else int(c) for c, is_leaf in zip(t.children_left, leaf)],
        "right": [0 if is_leaf else int(c) for c, is_leaf in zip(t.children_right, leaf)],
        "value": flist(t.value[:, 0, column]),
        "cover": flist(t.weighted_n_node_samples),
    }


def explained(model, X, trees: list, scale: float, class_index, names: list) -> dict:
    import numpy as np
    import shap

    # scikit-learn compares features as float32 with float64 thresholds; rows rounded
    # to float32 route identically in adroit's float64 trees.
    X = X.astype(np.float32).astype(np.float64)

    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(X, check_additivity=True))
    expected = np.atleast_1d(explainer.expected_value)
    if class_index is not None:
        values = values[:, :, class_index] if values.ndim == 3 and values.shape[-1] == 2 else values[class_index]
        expected = expected[class_index]
    else:
        expected = expected[0]
    prediction = model.predict_proba(X)[:, class_index] if class_index is not None else model.predict(X)
    return {
        "feature_names": names,
        "scale": scale,
        "trees": trees,
        "rows": [flist(r) for r in X],
        "prediction": flist(prediction),
        "expected_value": fnum(expected),
        "shap_values": [flist(r) for r in values],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-learn" / "tests" / "support")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    ensure_modules(MODULES, PIP_NAMES, __file__)

    import numpy as np
    import pandas as pd
    import shap
    import sklearn
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    data_dir = args.data.resolve()
    adv_path = data_dir / "regression" / "Advertising.csv"
    bank_path = data_dir / "classification" / "bank-full.csv"
    for path in (adv_path, bank_path):
        if not path.is_file():
            die(f"{path} does not exist")

    adv = pd.read_csv(adv_path, index_col=0)
    names = ["TV", "Radio", "Newspaper"]
    X = adv[names].to_numpy(dtype=np.float64)
    y = adv["Sales"].to_numpy(dtype=np.float64)
    models = {}

    tree = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, y)
    models["advertising_tree"] = explained(tree, X, [tree_arrays(tree, 0)], 1.0, None, names)

    forest = RandomForestRegressor(n_estimators=5, max_depth=6, bootstrap=True, random_state=0).fit(X, y)
    trees = [tree_arrays(e, 0) for e in forest.estimators_]
    models["advertising_forest"] = explained(forest, X, trees, 1.0 / len(trees), None, names)

    bank = pd.read_csv(bank_path, dtype=str, keep_default_na=False).head(5000)
    columns, bank_names = [bank[c].astype(np.float64).to_numpy() for c in BANK_NUMERIC], list(BANK_NUMERIC)
    for col in BANK_ONE_HOT:
        values = bank[col].to_numpy(dtype=object)
        for level in sorted(set(values.tolist())):
            bank_names.append(f"{col}={level}")
            columns.append((values == level).astype(np.float64))
    Xb = np.column_stack(columns)
    yb = (bank["y"].to_numpy(dtype=object) == "yes").astype(np.int64)
    clf = DecisionTreeClassifier(criterion="entropy", max_depth=4, min_samples_leaf=20, random_state=0).fit(Xb, yb)
    # Recent scikit-learn stores class fractions in tree_.value; older versions store
    # counts. Normalise to fractions so the arrays mean the same on every version.
    arrays = tree_arrays(clf, 1)
    totals = clf.tree_.value[:, 0, :].sum(axis=1)
    if not np.allclose(totals, 1.0):
        arrays["value"] = flist(clf.tree_.value[:, 0, 1] / totals)
    models["bank_tree"] = explained(clf, Xb[:60], [arrays], 1.0, 1, bank_names)

    doc = {
        "generated_by": "benches/shap_peers.py",
        "inputs": [input_info(adv_path, data_dir), input_info(bank_path, data_dir)],
        "versions": {"shap": shap.__version__, "sklearn": sklearn.__version__, "numpy": np.__version__},
        "algorithm": "shap.TreeExplainer(model, feature_perturbation='tree_path_dependent'); covers are "
        "tree_.weighted_n_node_samples; the model's value is scale * sum of tree values",
        "models": models,
    }
    write_json(args.out / "shap_peers.json", doc)
    for name, m in models.items():
        phi = np.array(m["shap_values"])
        print(f"{name}: {len(m['trees'])} trees, {len(m['rows'])} rows, max |phi| {np.abs(phi).max():.4f}")


if __name__ == "__main__":
    main()
