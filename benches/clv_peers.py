#!/usr/bin/env python3
"""Peer reference results for adroit-clv: the lifetimes package on the shared CLV data.

    python3 benches/clv_peers.py [--out crates/adroit-clv/tests/support/lifetimes_reference.json]
                                 [--data ../shared/data] [--time-budget 60]

What it does:

1. Makes sure numpy, pandas, scipy and lifetimes are importable. If not, it creates a
   virtualenv at ${ADROIT_CLV_VENV:-$HOME/.cache/adroit-clv-venv} (its own: lifetimes
   pins autograd and dill, which the other bench scripts do not need), pip-installs
   them there (lifetimes 0.11.3, the last release; it installs and runs on Python 3.11
   with numpy 2 / pandas 3 / scipy 1.17 as long as `T` columns are read as df["T"] —
   under pandas 3 `df.T` is the transpose) and re-executes itself with that python
   (ensure_modules from benches/learn_peers.py).
2. Fits, on ../shared/data/clv (PROVENANCE.md there):
     bgnbd, pareto_nbd, modified_bgnbd  cdnow_customers_summary.csv (frequency, recency,
         T in weeks): BetaGeoFitter(), ParetoNBDFitter() (Nelder-Mead, the package's
         only method, seeded start, tightened to tol=1e-12, maxiter=20000 so it
         converges to 4+ digits), ModifiedBetaGeoFitter().
     gamma_gamma  cdnow_customers_summary_with_transactions.csv, rows with x > 0,
         GammaGammaFitter().fit(x, zbar).
     bgbb  donations_bgbb.csv, BetaGeoBetaBinomFitter().fit(frequency, recency,
         periods, weights).
   For each: parameters, standard errors where lifetimes computes them
   (standard_errors_), and the log-likelihood in the data's own time unit, evaluated
   with lifetimes' own likelihood at the unscaled parameters (lifetimes fits the
   continuous-time models on T / max(T), so its reported objective differs by
   sum(x) * ln(max T)).
   Predictions for a handful of CDNOW customers (the rows listed in PRED_ROWS):
   conditional probability alive and expected purchases in the next 39 weeks under
   all three models; Gamma-Gamma conditional expected average profit and
   customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01, freq="W") (12 months
   of 4.345 weeks, 1% a month). For donations: conditional_probability_alive(1, ...)
   and conditional_expected_number_of_purchases_up_to_time(5, ...) per pattern.
3. Summaries from transactions: weekly periods (summary_data_from_transaction_data,
   freq="W", calibration end 1997-09-30) — column sums and the first 12 customers.
   Calibration/holdout (the BG/NBD paper's 39 + 39 weeks): lifetimes'
   calibration_and_holdout_data on CDNOW_sample.txt (customer = second column, date,
   dollar value; freq="D", freq_multiplier=7, calibration end 1997-09-30, observation
   end 1998-06-30), a BG/NBD fitted on the calibration columns, and per calibration
   frequency 0..6 and 7+: customers, mean actual and mean predicted holdout purchases.
4. Timing: BG/NBD customers simulated with numpy (r, alpha, a, b = the CDNOW
   estimates, T uniform on 13..52 weeks, seed 0), then lifetimes' BetaGeoFitter fit
   plus conditional_probability_alive and
   conditional_expected_number_of_purchases_up_to_time(39) on 10k, 30k, 100k, ...
   customers while a run stays under --time-budget seconds; seconds per size and the
   process's peak resident memory so far (ru_maxrss).
Writes one JSON file (numbers are Python floats; no NaN) and prints a summary.
"""

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import REPO, cpu_model, die, ensure_modules, fnum, input_info, write_json  # noqa: E402

MODULES = ["numpy", "pandas", "scipy", "lifetimes"]
PIP_NAMES = ["numpy", "pandas", "scipy", "lifetimes==0.11.3"]
# 0-based rows of cdnow_customers_summary(_with_transactions).csv to predict for:
# x = 0, 1, 2 and heavy buyers, long and short recencies.
PRED_ROWS = [0, 1, 2, 5, 8, 17, 99, 157, 1000, 1515, 2356]
TRUE_BGNBD = (0.243, 4.414, 0.793, 2.426)


def series_dict(s) -> dict:
    return {k: fnum(v) for k, v in s.items()}


def fit_continuous(data_dir: Path) -> dict:
    import numpy as np
    import pandas as pd
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

    path = data_dir / "clv" / "cdnow_customers_summary.csv"
    d = pd.read_csv(path)
    x, tx, T = d["frequency"].to_numpy(float), d["recency"].to_numpy(float), d["T"].to_numpy(float)
    ones = np.ones_like(x)
    out = {"input": input_info(path, data_dir), "prediction_rows": PRED_ROWS, "horizon": 39.0}

    bgf = BetaGeoFitter().fit(x, tx, T)
    p = bgf.params_
    ll = -BetaGeoFitter._negative_log_likelihood(np.log(p[["r", "alpha", "a", "b"]].to_numpy()), x, tx, T, ones, 0) * len(x)
    out["bgnbd"] = {"params": series_dict(p), "standard_errors": series_dict(bgf.standard_errors_), "log_likelihood": fnum(ll)}

    np.random.seed(0)
    pnf = ParetoNBDFitter().fit(x, tx, T, tol=1e-12, maxiter=20000)
    p = pnf.params_
    ll = ParetoNBDFitter._conditional_log_likelihood(p[["r", "alpha", "s", "beta"]].to_numpy(), x, tx, T).sum()
    out["pareto_nbd"] = {"params": series_dict(p), "log_likelihood": fnum(ll)}

    mbg = ModifiedBetaGeoFitter().fit(x, tx, T)
    p = mbg.params_
    ll = -ModifiedBetaGeoFitter._negative_log_likelihood(np.log(p[["r", "alpha", "a", "b"]].to_numpy()), x, tx, T, ones, 0) * len(x)
    out["modified_bgnbd"] = {"params": series_dict(p), "standard_errors": series_dict(mbg.standard_errors_), "log_likelihood": fnum(ll)}

    rows = PRED_ROWS
    px, ptx, pT = x[rows], tx[rows], T[rows]
    out["predictions"] = {
        "frequency": px.tolist(),
        "recency": ptx.tolist(),
        "T": pT.tolist(),
    }
    for name, m in [("bgnbd", bgf), ("pareto_nbd", pnf), ("modified_bgnbd", mbg)]:
        out["predictions"][name] = {
            "probability_alive": [fnum(v) for v in np.atleast_1d(m.conditional_probability_alive(px, ptx, pT))],
            "expected_purchases": [fnum(v) for v in m.conditional_expected_number_of_purchases_up_to_time(39.0, px, ptx, pT)],
            "expected_purchases_new": fnum(m.expected_number_of_purchases_up_to_time(39.0)),
        }
    return out, bgf


def fit_gamma_gamma(data_dir: Path, bgf) -> dict:
    import pandas as pd
    from lifetimes import GammaGammaFitter

    path = data_dir / "clv" / "cdnow_customers_summary_with_transactions.csv"
    d = pd.read_csv(path)
    buyers = d[d["x"] > 0]
    ggf = GammaGammaFitter().fit(buyers["x"], buyers["zbar"])
    p = ggf.params_
    ll = -GammaGammaFitter._negative_log_likelihood(
        __import__("numpy").log(p[["p", "q", "v"]].to_numpy()),
        buyers["x"].to_numpy(float), buyers["zbar"].to_numpy(float), __import__("numpy").ones(len(buyers)), 0,
    ) * len(buyers)
    rows = d.iloc[PRED_ROWS]
    spend = ggf.conditional_expected_average_profit(rows["x"], rows["zbar"])
    clv = ggf.customer_lifetime_value(bgf, rows["x"], rows["t_x"], rows["T"], rows["zbar"], time=12, discount_rate=0.01, freq="W")
    return {
        "input": input_info(path, data_dir),
        "customers": int(len(buyers)),
        "params": series_dict(p),
        "standard_errors": series_dict(ggf.standard_errors_),
        "log_likelihood": fnum(ll),
        "predictions": {
            "rows": PRED_ROWS,
            "frequency": rows["x"].astype(float).tolist(),
            "monetary": rows["zbar"].astype(float).tolist(),
            "expected_spend": [fnum(v) for v in spend],
            "clv": {"periods": 12, "period_length": 4.345, "discount_rate": 0.01, "values": [fnum(v) for v in clv]},
        },
    }


def fit_bgbb(data_dir: Path) -> dict:
    import pandas as pd
    from lifetimes import BetaGeoBetaBinomFitter

    path = data_dir / "clv" / "donations_bgbb.csv"
    d = pd.read_csv(path)
    f = BetaGeoBetaBinomFitter().fit(d["frequency"], d["recency"], d["periods"], d["weights"])
    p = f.params_
    ll = (BetaGeoBetaBinomFitter._loglikelihood(p[["alpha", "beta", "gamma", "delta"]].to_numpy(), d["frequency"].to_numpy(), d["recency"].to_numpy(), d["periods"].to_numpy()) * d["weights"].to_numpy()).sum()
    x, tx, n = d["frequency"].to_numpy(), d["recency"].to_numpy(), d["periods"].to_numpy()
    return {
        "input": input_info(path, data_dir),
        "params": series_dict(p),
        "standard_errors": series_dict(f.standard_errors_),
        "log_likelihood": fnum(ll),
        "predictions": {
            "probability_alive_next": [fnum(v) for v in f.conditional_probability_alive(1, x, tx, n)],
            "expected_purchases_5": [fnum(v) for v in f.conditional_expected_number_of_purchases_up_to_time(5, x, tx, n)],
        },
    }


def holdout(data_dir: Path) -> dict:
    import numpy as np
    import pandas as pd
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import calibration_and_holdout_data

    path = data_dir / "clv" / "CDNOW_sample.txt"
    tx = pd.read_csv(path, sep=r"\s+", header=None, names=["id1", "customer", "date", "cds", "value"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    ch = calibration_and_holdout_data(
        tx, "customer", "date", calibration_period_end="1997-09-30", observation_period_end="1998-06-30",
        freq="D", freq_multiplier=7, monetary_value_col="value",
    )
    bgf = BetaGeoFitter().fit(ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
    duration = float(ch["duration_holdout"].iloc[0])
    pred = bgf.conditional_expected_number_of_purchases_up_to_time(duration, ch["frequency_cal"], ch["recency_cal"], ch["T_cal"])
    bucket = np.minimum(ch["frequency_cal"].to_numpy().astype(int), 7)
    rows = []
    for k in range(8):
        m = bucket == k
        rows.append({
            "frequency": k,
            "customers": int(m.sum()),
            "actual": fnum(ch["frequency_holdout"].to_numpy()[m].mean()),
            "predicted": fnum(np.asarray(pred)[m].mean()),
        })
    return {
        "input": input_info(path, data_dir),
        "duration": duration,
        "bgnbd_params": series_dict(bgf.params_),
        "rows": rows,
        "actual_total": fnum(ch["frequency_holdout"].sum()),
        "predicted_total": fnum(np.asarray(pred).sum()),
    }


def weekly_summary(data_dir: Path) -> dict:
    """summary_data_from_transaction_data with weekly periods (freq="W", Monday-Sunday)."""
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    path = data_dir / "clv" / "CDNOW_sample.txt"
    tx = pd.read_csv(path, sep=r"\s+", header=None, names=["id1", "customer", "date", "cds", "value"], dtype={"date": str})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    s = summary_data_from_transaction_data(tx, "customer", "date", monetary_value_col="value", observation_period_end="1997-09-30", freq="W")
    s = s.sort_index()
    head = s.head(12)
    return {
        "calibration_end": "1997-09-30",
        "customers": int(len(s)),
        "frequency_sum": fnum(s["frequency"].sum()),
        "recency_sum": fnum(s["recency"].sum()),
        "T_sum": fnum(s["T"].sum()),
        "monetary_sum": fnum(s["monetary_value"].sum()),
        "head": {
            "customer": [int(i) for i in head.index],
            "frequency": head["frequency"].tolist(),
            "recency": head["recency"].tolist(),
            "T": head["T"].tolist(),
            "monetary": head["monetary_value"].tolist(),
        },
    }


def simulate(n: int, rng) -> tuple:
    """BG/NBD draws: (x, t_x, T) for n customers."""
    import numpy as np

    r, alpha, a, b = TRUE_BGNBD
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(13.0, 52.0, n)
    x = np.zeros(n)
    tx = np.zeros(n)
    t = np.zeros(n)
    active = np.arange(n)
    while active.size:
        t_next = t[active] + rng.exponential(1.0, active.size) / lam[active]
        buys = t_next < T[active]
        idx = active[buys]
        t[idx] = t_next[buys]
        x[idx] += 1
        tx[idx] = t_next[buys]
        survive = rng.random(idx.size) > p[idx]
        active = idx[survive]
    return x, tx, T


def timing(budget: float) -> dict:
    import numpy as np
    from lifetimes import BetaGeoFitter

    rng = np.random.default_rng(0)
    runs = []
    for n in [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000]:
        x, tx, T = simulate(n, rng)
        start = time.perf_counter()
        f = BetaGeoFitter().fit(x, tx, T)
        fitted = time.perf_counter()
        f.conditional_probability_alive(x, tx, T)
        f.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, T)
        done = time.perf_counter()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        runs.append({
            "customers": n,
            "fit_seconds": fitted - start,
            "predict_seconds": done - fitted,
            "total_seconds": done - start,
            "microseconds_per_customer": (done - start) * 1e6 / n,
            "peak_rss_mb": peak,
            "params": series_dict(f.params_),
        })
        print(
            f"lifetimes BG/NBD on {n:,} customers: fit {fitted - start:.2f}s, predict {done - fitted:.2f}s, "
            f"{(done - start) * 1e6 / n:.2f} us/customer, peak RSS {peak:.0f} MB",
            flush=True,
        )
        if (done - start) * 3.2 > budget:
            break
    return {"simulated": {"r": TRUE_BGNBD[0], "alpha": TRUE_BGNBD[1], "a": TRUE_BGNBD[2], "b": TRUE_BGNBD[3], "T": "uniform 13..52"}, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "crates" / "adroit-clv" / "tests" / "support" / "lifetimes_reference.json")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--time-budget", type=float, default=60.0, help="seconds one lifetimes timing run may take")
    args = parser.parse_args()
    os.environ["ADROIT_BENCH_VENV"] = os.environ.get("ADROIT_CLV_VENV") or str(Path.home() / ".cache" / "adroit-clv-venv")
    ensure_modules(MODULES, PIP_NAMES, __file__)
    import warnings

    warnings.filterwarnings("ignore")
    import lifetimes
    import numpy
    import pandas
    import scipy

    data_dir = args.data.resolve()
    if not (data_dir / "clv").is_dir():
        die(f"{data_dir / 'clv'} not found (pass --data)")
    continuous, bgf = fit_continuous(data_dir)
    doc = {
        "generated_by": "benches/clv_peers.py",
        "environment": {
            "python": platform.python_version(),
            "lifetimes": lifetimes.__version__,
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
            "scipy": scipy.__version__,
            "cpu_count": os.cpu_count(),
            "cpu_model": cpu_model(),
        },
        "cdnow": continuous,
        "gamma_gamma": fit_gamma_gamma(data_dir, bgf),
        "bgbb": fit_bgbb(data_dir),
        "holdout": holdout(data_dir),
        "weekly_summary": weekly_summary(data_dir),
        "timing": timing(args.time_budget),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, doc)
    for name in ["bgnbd", "pareto_nbd", "modified_bgnbd"]:
        m = continuous[name]
        print(f"{name:15} " + " ".join(f"{k}={v:.4f}" for k, v in m["params"].items()) + f"  LL={m['log_likelihood']:.2f}")
    for name in ["gamma_gamma", "bgbb"]:
        m = doc[name]
        print(f"{name:15} " + " ".join(f"{k}={v:.4f}" for k, v in m["params"].items()) + f"  LL={m['log_likelihood']:.2f}")
    h = doc["holdout"]
    print(f"holdout: actual {h['actual_total']:.0f}, BG/NBD predicted {h['predicted_total']:.1f} over {h['duration']:.0f} weeks")


if __name__ == "__main__":
    main()
