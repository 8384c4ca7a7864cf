#!/usr/bin/env python3
"""Independent reference numbers for adroit-attribution, computed with numpy.

    python3 benches/attribution_reference.py [--data ../shared/data] [--out crates/adroit-attribution/tests/support]

What it does:

1. Makes sure numpy is importable; if not, creates (or reuses) the venv at
   ${ADROIT_BENCH_VENV:-$HOME/.cache/adroit-bench-venv}, pip-installs numpy there and
   re-executes itself with that venv's python (ensure_modules from
   benches/learn_peers.py).
2. Reads attribution/channelattribution_paths.csv (ChannelAttribution's 10,000-row
   example: `path;total_conversions;total_conversion_value;total_null`, channels joined
   by " > "; 5,408 distinct paths, some rows repeat a path) with the csv module and writes channelattribution_reference.json into --out.
   Nothing here shares code with the Rust crate; the definitions are the crate's
   documented ones, implemented a second way:

   markov_order_1 - the first-order absorbing chain as a DENSE numpy system. States:
     (start), the 12 channels, (conversion), (null). Every path contributes weight
     conversions + nulls to (start) -> first channel and to each consecutive pair of
     touches, INCLUDING repeats (a > a is a self-loop here; the crate merges repeats
     like ChannelAttribution, which leaves every absorption probability unchanged, so
     agreement also checks that claim); the last touch sends its conversions to
     (conversion) and its nulls to (null). Q = transient-to-transient probabilities,
     h = solve(I - Q, P(-> conversion)), g = solve(I - Q, value leaving each state per
     journey leaving it). Removing channel c zeroes column c of Q (its incoming
     transitions go to (null)) and solves again. removal_effect = 1 - h'_start/h_start,
     value_removal_effect = 1 - g'_start/g_start; attributed conversions = total
     conversions * RE / sum RE, value likewise with the value removal effects.
     transition_matrix: the same probabilities with repeats merged (no self-loops), the
     matrix ChannelAttribution reports and the crate's `transitions`.
   rules - per channel credited conversions and value of first, last, linear (every
     touch 1/len, repeats counted), time_decay with half-life 1 touch (the k-th touch
     before the conversion, k = 0 for the last, weighs 2^-k, normalised) and
     position 40/20/40 (one touch: all; two: 50/50).
   shapley - conversions: the simplified Shapley value (each path's conversions split
     evenly over its DISTINCT channels); conversion_rate: the game
     v(S) = J * conv(paths with channel set inside S) / journeys(same paths), computed by
     brute force over all 2^12 coalitions with the factorial-weighted marginal formula.

JSON numbers are Python floats written with repr (round-trip exact).
"""

import argparse
import csv
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import REPO, die, ensure_modules, fnum, input_info, write_json  # noqa: E402

MODULES = ["numpy"]
PIP_NAMES = ["numpy"]
PATHS_FILE = Path("attribution") / "channelattribution_paths.csv"


def read_paths(path: Path) -> list:
    """[(channels list, conversions, value, nulls)] in file order."""
    rows = []
    with path.open(newline="") as f:
        reader = csv.reader(f, delimiter=";")
        header = next(reader)
        if header != ["path", "total_conversions", "total_conversion_value", "total_null"]:
            die(f"{path}: unexpected header {header}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            channels = [c.strip() for c in row[0].split(">")]
            if any(not c for c in channels):
                die(f"{path}:{line}: empty channel")
            rows.append((channels, float(row[1]), float(row[2]), float(row[3])))
    return rows


def markov_order_1(rows: list, names: list) -> dict:
    import numpy as np

    n = len(names)
    index = {name: i + 1 for i, name in enumerate(names)}  # 0 = (start)
    size = n + 1
    counts = np.zeros((size, size))  # transient -> transient, self-loops kept
    merged = np.zeros((size, size))  # same with repeats merged
    to_conv = np.zeros(size)
    to_null = np.zeros(size)
    value = np.zeros(size)
    for channels, conv, val, null in rows:
        weight = conv + null
        if weight == 0:
            continue
        states = [0] + [index[c] for c in channels]
        for a, b in zip(states, states[1:]):
            counts[a, b] += weight
            if a != b:
                merged[a, b] += weight
        to_conv[states[-1]] += conv
        to_null[states[-1]] += null
        value[states[-1]] += val

    def solve(counts):
        out = counts.sum(axis=1) + to_conv + to_null
        q = counts / out[:, None]
        a = np.eye(size) - q
        h = np.linalg.solve(a, to_conv / out)
        g = np.linalg.solve(a, value / out)
        return q, h, g

    q, h, g = solve(counts)
    _, h_merged, g_merged = solve(merged)
    print(f"self-loops kept vs merged: |dP| = {abs(h[0] - h_merged[0]):.2e}, |dE[value]| = {abs(g[0] - g_merged[0]):.2e}")
    p, ev = h[0], g[0]
    effects = {}
    for name in names:
        c = index[name]
        removed = counts.copy()
        removed[:, c] = 0.0  # into c -> (null): the row sums (out) stay as they were
        out = counts.sum(axis=1) + to_conv + to_null
        a = np.eye(size) - removed / out[:, None]
        h_c = np.linalg.solve(a, to_conv / out)
        g_c = np.linalg.solve(a, value / out)
        effects[name] = (1 - h_c[0] / p, 1 - g_c[0] / ev, h_c[0])
    total_conv = sum(r[1] for r in rows)
    total_value = sum(r[2] for r in rows)
    sum_re = sum(e[0] for e in effects.values())
    sum_vre = sum(e[1] for e in effects.values())
    channels = {
        name: {
            "removal_effect": fnum(re),
            "value_removal_effect": fnum(vre),
            "conversion_probability_without": fnum(pw),
            "conversions": fnum(total_conv * re / sum_re),
            "value": fnum(total_value * vre / sum_vre),
        }
        for name, (re, vre, pw) in effects.items()
    }
    labels = ["(start)"] + names
    out_merged = merged.sum(axis=1) + to_conv + to_null
    matrix = {}
    for i, a in enumerate(labels):
        row = {labels[j]: fnum(merged[i, j] / out_merged[i]) for j in range(size) if merged[i, j] > 0}
        if to_conv[i] > 0:
            row["(conversion)"] = fnum(to_conv[i] / out_merged[i])
        if to_null[i] > 0:
            row["(null)"] = fnum(to_null[i] / out_merged[i])
        matrix[a] = row
    return {
        "conversion_probability": fnum(p),
        "value_per_journey": fnum(ev),
        "channels": channels,
        "transition_matrix": matrix,
    }


def rule_weights(model: str, length: int) -> list:
    if model == "first":
        return [1.0] + [0.0] * (length - 1)
    if model == "last":
        return [0.0] * (length - 1) + [1.0]
    if model == "linear":
        return [1.0 / length] * length
    if model == "time_decay":
        w = [2.0 ** -(length - 1 - i) for i in range(length)]
        return [x / sum(w) for x in w]
    if model == "position":
        if length == 1:
            return [1.0]
        if length == 2:
            return [0.5, 0.5]
        return [0.4] + [0.2 / (length - 2)] * (length - 2) + [0.4]
    raise ValueError(model)


def rules(rows: list, names: list) -> dict:
    result = {}
    for model in ["first", "last", "linear", "time_decay", "position"]:
        credit = {name: [0.0, 0.0] for name in names}
        for channels, conv, val, _ in rows:
            if conv == 0:
                continue
            for c, w in zip(channels, rule_weights(model, len(channels))):
                credit[c][0] += w * conv
                credit[c][1] += w * val
        result[model] = {name: {"conversions": fnum(c), "value": fnum(v)} for name, (c, v) in credit.items()}
    return result


def shapley(rows: list, names: list) -> dict:
    import numpy as np

    n = len(names)
    bit = {name: 1 << i for i, name in enumerate(names)}
    simplified = {name: [0.0, 0.0] for name in names}
    masks, conv, val, journeys = [], [], [], []
    for channels, c, v, null in rows:
        distinct = sorted(set(channels))
        if c > 0:
            for name in distinct:
                simplified[name][0] += c / len(distinct)
                simplified[name][1] += v / len(distinct)
        masks.append(sum(bit[x] for x in distinct))
        conv.append(c)
        val.append(v)
        journeys.append(c + null)
    masks, conv, val, journeys = (np.array(x) for x in (masks, conv, val, journeys))
    total_journeys = journeys.sum()
    subsets = np.arange(1 << n)
    inside = (masks[None, :] & ~subsets[:, None]) == 0  # [S, path]: the path's set is within S
    j_in = inside @ journeys
    with np.errstate(invalid="ignore", divide="ignore"):
        v_conv = np.where(j_in > 0, total_journeys * (inside @ conv) / j_in, 0.0)
        v_val = np.where(j_in > 0, total_journeys * (inside @ val) / j_in, 0.0)
    sizes = np.array([bin(s).count("1") for s in range(1 << n)])
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) if s < n else 0.0 for s in range(n + 1)])
    rate = {}
    for name in names:
        b = bit[name]
        without = subsets[(subsets & b) == 0]
        w = weight[sizes[without]]
        rate[name] = {
            "conversions": fnum(np.sum(w * (v_conv[without | b] - v_conv[without]))),
            "value": fnum(np.sum(w * (v_val[without | b] - v_val[without]))),
        }
    return {
        "conversions": {name: {"conversions": fnum(c), "value": fnum(v)} for name, (c, v) in simplified.items()},
        "conversion_rate": rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-attribution" / "tests" / "support")
    args = parser.parse_args()
    ensure_modules(MODULES, PIP_NAMES, __file__)
    import numpy as np

    path = args.data / PATHS_FILE
    if not path.exists():
        die(f"{path} not found; pass --data")
    rows = read_paths(path)
    names = sorted({c for channels, *_ in rows for c in channels})
    doc = {
        "generator": "benches/attribution_reference.py",
        "input": input_info(path, args.data),
        "numpy": np.__version__,
        "totals": {
            "rows": len(rows),
            "distinct_paths": len({tuple(r[0]) for r in rows}),
            "conversions": fnum(sum(r[1] for r in rows)),
            "value": fnum(sum(r[2] for r in rows)),
            "nulls": fnum(sum(r[3] for r in rows)),
        },
        "markov_order_1": markov_order_1(rows, names),
        "rules": rules(rows, names),
        "shapley": shapley(rows, names),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "channelattribution_reference.json", doc)
    print(f"P(conversion) = {doc['markov_order_1']['conversion_probability']:.12f}")
    for name in names:
        m = doc["markov_order_1"]["channels"][name]
        print(f"  {name:8} removal effect {m['removal_effect']:.9f}  conversions {m['conversions']:12.6f}  value {m['value']:12.6f}")


if __name__ == "__main__":
    main()
