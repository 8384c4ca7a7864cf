#!/usr/bin/env python3
"""The Bayesian MMM, adroit vs PyMC-Marketing, on PyMC-Marketing's own example (issue 11).

    python3 benches/mmm_bayes_pymc.py [--data ../shared/data] [--no-build] [--skip-pymc]

What it does:

1. Makes a venv under /tmp (ADROIT_PYMC_VENV, default /tmp/adroit-pymc-venv) and
   pip-installs pymc-marketing into it, once: later runs reuse it.
2. Builds adroit in release mode (`cargo build --release -p adroit-cli`; --no-build uses
   the binary already in the target folder).
3. Fits the same model with both, 4 chains x 1000 draws after 1000 tuning, target
   acceptance 0.9 (adroit's default; PyMC's own default is 0.8):
   y on x1, x2 with geometric adstock (l_max 8, normalised weights) and logistic
   saturation, the events event_1 and event_2, a linear trend (PyMC-Marketing's
   example passes `t` as a control; adroit's trend is t scaled to 0..1) and yearly
   seasonality with 2 Fourier pairs -- the spec of PyMC-Marketing's example notebook
   (`docs/source/notebooks/mmm/mmm_example.ipynb`; see
   ../shared/data/mmm/PROVENANCE.md). Priors: PyMC-Marketing's defaults on both sides
   (the notebook's hand-set priors are not used). PyMC-Marketing runs its default
   sampler (PyMC's NUTS on the PyTensor C backend) with chains on all cores, adroit
   its NUTS (nuts-rs, low-rank mass matrix) with chains on all cores.
4. Prints side by side: wall seconds (whole process; PyMC's model build + compile +
   sampling also separately), min bulk ESS and ESS/s (over the sampled parameters and
   both ROAS), max R-hat, divergences, x1/x2 ROAS posterior means and 90 % intervals
   against the truth of the generating process, and the speed ratios.

If PyMC-Marketing cannot be installed or run, the reason (the error text) is printed in
its column and adroit's side is still reported.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("ADROIT_PYMC_VENV", "/tmp/adroit-pymc-venv")
CHAINS, DRAWS, TUNE, TARGET_ACCEPT, SEED = 4, 1000, 1000, 0.9, 1

# The PyMC-Marketing side, run inside the venv; prints one JSON line at the end.
PYMC_FIT = r"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import numpy as np, pandas as pd, arviz as az
from pymc_marketing.mmm import GeometricAdstock, LogisticSaturation
from pymc_marketing.mmm.multidimensional import MMM
import pymc_marketing
path, chains, draws, tune, target_accept, seed = sys.argv[1], *map(int, sys.argv[2:5]), float(sys.argv[5]), int(sys.argv[6])
df = pd.read_csv(path, parse_dates=["date_week"])
X = df.drop(columns=["y"])
y = df["y"]
mmm = MMM(
    date_column="date_week",
    channel_columns=["x1", "x2"],
    control_columns=["event_1", "event_2", "t"],
    adstock=GeometricAdstock(l_max=8),
    saturation=LogisticSaturation(),
    yearly_seasonality=2,
    target_column="y",
)
t_import = time.perf_counter() - t0
t1 = time.perf_counter()
mmm.build_model(X, y)
mmm.add_original_scale_contribution_variable(var=["channel_contribution"])
idata = mmm.fit(X, y, chains=chains, draws=draws, tune=tune, target_accept=target_accept,
                random_seed=seed, progressbar=False, cores=min(chains, os.cpu_count()))
fit_s = time.perf_counter() - t1
post = idata.posterior
contrib = post["channel_contribution_original_scale"]  # chain, draw, date, channel
spend = df[["x1", "x2"]].sum().to_numpy()
roas = {}
for j, ch in enumerate(["x1", "x2"]):
    roas[ch] = (contrib.sel(channel=ch).sum("date") / spend[j]).values  # chain x draw
# Sampled parameters (no per-date deterministics) and both ROAS.
free = {rv.name for rv in mmm.model.free_RVs}
names = [v for v in post.data_vars if v in free]
ess, rhat = {}, {}
for v in names:
    e = np.asarray(az.ess(post[[v]], method="bulk")[v].values).ravel()
    r = np.asarray(az.rhat(post[[v]])[v].values).ravel()
    ess[v], rhat[v] = float(np.min(e)), float(np.max(r))
import xarray as xr
for ch, a in roas.items():
    ds = xr.Dataset({"r": (("chain", "draw"), a)})
    ess[ch + ".roas"] = float(az.ess(ds, method="bulk")["r"].values)
    rhat[ch + ".roas"] = float(az.rhat(ds)["r"].values)
out = {
    "version": pymc_marketing.__version__,
    "import_s": t_import,
    "fit_s": fit_s,
    "sampling_s": float(idata.sample_stats.attrs.get("sampling_time", float("nan"))),
    "min_ess_bulk": min(ess.values()),
    "min_ess_param": min(ess, key=ess.get),
    "max_rhat": max(rhat.values()),
    "max_rhat_param": max(rhat, key=rhat.get),
    "divergences": int(idata.sample_stats["diverging"].sum()),
    "roas": {ch: [float(a.mean()), float(np.quantile(a, 0.05)), float(np.quantile(a, 0.95))]
             for ch, a in roas.items()},
    "params": sorted(names),
}
print("RESULT " + json.dumps(out))
"""


def true_roas(csv):
    """ROAS of x1 and x2 under the generating process of PROVENANCE.md."""
    import csv as csvmod
    import math

    rows = list(csvmod.DictReader(open(csv)))
    out = {}
    for ch, alpha, lam, beta in [("x1", 0.4, 4.0, 3000.0), ("x2", 0.2, 3.0, 2000.0)]:
        x = [float(r[ch]) for r in rows]
        w = [alpha**l for l in range(8)]
        z = sum(w)
        contrib = 0.0
        for t in range(len(x)):
            a = sum(w[l] * x[t - l] for l in range(8) if t - l >= 0) / z
            contrib += beta * (1 - math.exp(-lam * a)) / (1 + math.exp(-lam * a))
        out[ch] = contrib / sum(x)
    return out


def ensure_venv():
    """The venv's python, or (None, reason)."""
    py = os.path.join(VENV, "bin", "python")
    ok = os.path.exists(py) and subprocess.run(
        [py, "-c", "import pymc_marketing"], capture_output=True).returncode == 0
    if ok:
        return py, None
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True, capture_output=True, text=True)
        print(f"installing pymc-marketing into {VENV} (once) ...", flush=True)
        r = subprocess.run([py, "-m", "pip", "install", "-q", "pymc-marketing"], capture_output=True, text=True)
        if r.returncode != 0:
            return None, "pip install pymc-marketing failed:\n" + (r.stderr or r.stdout)[-3000:]
    except (OSError, subprocess.CalledProcessError) as e:
        return None, f"cannot create the venv {VENV}: {e} {getattr(e, 'stderr', '')}"
    return py, None


def run_pymc(py, csv):
    t0 = time.perf_counter()
    r = subprocess.run(
        [py, "-c", PYMC_FIT, csv, str(CHAINS), str(DRAWS), str(TUNE), str(TARGET_ACCEPT), str(SEED)],
        capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    if r.returncode != 0 or not line:
        return None, f"PyMC-Marketing failed (exit {r.returncode}):\n" + (r.stderr or r.stdout)[-3000:]
    out = json.loads(line[-1][7:])
    out["wall_s"] = wall
    return out, None


def run_adroit(exe, csv):
    out_dir = tempfile.mkdtemp(prefix="adroit-bench-bayes-")
    cmd = [
        exe, "mmm", "fit", "--method", "bayes",
        "--data", csv, "--date", "date_week", "--kpi", "y",
        "--channels", "x1,x2", "--events", "event_1,event_2",
        "--adstock", "geometric", "--l-max", "8", "--saturation", "logistic",
        "--chains", str(CHAINS), "--draws", str(DRAWS), "--tune", str(TUNE),
        "--seed", str(SEED), "--out", out_dir,
    ]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("adroit failed:\n" + r.stderr)
    res = json.load(open(os.path.join(out_dir, "result.json")))
    b = res["bayes"]
    roas = {c["name"]: [c["roas"]["value"], c["roas"]["lower"], c["roas"]["upper"]] for c in res["channels"]}
    worst_ess = min(b["parameters"], key=lambda p: p["ess_bulk"])
    worst_rhat = max(b["parameters"], key=lambda p: p["rhat"])
    return {
        "wall_s": wall,
        "sampling_s": b["seconds"],
        "min_ess_bulk": b["min_ess_bulk"],
        "min_ess_param": worst_ess["name"],
        "max_rhat": b["max_rhat"],
        "max_rhat_param": worst_rhat["name"],
        "divergences": b["divergences"],
        "roas": roas,
        "sampler": b["sampler"],
        "terms": [t["name"] for t in res["terms"]],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--no-build", action="store_true", help="use the release binary as it is")
    ap.add_argument("--skip-pymc", action="store_true")
    args = ap.parse_args()
    csv = os.path.abspath(os.path.join(args.data, "mmm", "pymc_marketing_mmm_example.csv"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    exe = os.path.join(target, "release", "adroit")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "adroit-cli"], cwd=ROOT, check=True)
    truth = true_roas(csv)

    print(f"adroit: fitting {CHAINS} chains x {DRAWS} draws after {TUNE} tuning ...", flush=True)
    ad = run_adroit(exe, csv)
    print(f"adroit: {ad['wall_s']:.1f} s, min bulk ESS {ad['min_ess_bulk']:.0f}", flush=True)
    pymc, why = (None, "skipped (--skip-pymc)") if args.skip_pymc else ensure_venv()
    if pymc:
        print(f"PyMC-Marketing: fitting {CHAINS} chains x {DRAWS} draws after {TUNE} tuning ...", flush=True)
        pymc, why = run_pymc(pymc, csv)

    def cell(r, f):
        return f(r) if r else "n/a"

    rows = [
        ("wall seconds (process)", lambda r: f"{r['wall_s']:.1f}"),
        ("sampling seconds", lambda r: f"{r['sampling_s']:.1f}"),
        ("min bulk ESS", lambda r: f"{r['min_ess_bulk']:.0f} ({r['min_ess_param']})"),
        ("min bulk ESS / wall s", lambda r: f"{r['min_ess_bulk'] / r['wall_s']:.1f}"),
        ("max R-hat", lambda r: f"{r['max_rhat']:.4f} ({r['max_rhat_param']})"),
        ("divergences", lambda r: f"{r['divergences']}"),
    ]
    for ch in ("x1", "x2"):
        rows.append((f"{ch} ROAS mean [90 %]", lambda r, ch=ch: "{:.0f} [{:.0f}, {:.0f}]".format(*r["roas"][ch])))
        rows.append((f"{ch} ROAS mean vs truth {truth[ch]:.0f}",
                     lambda r, ch=ch: "{:+.1f} %, truth {} interval".format(
                         (r["roas"][ch][0] / truth[ch] - 1) * 100,
                         "in" if r["roas"][ch][1] <= truth[ch] <= r["roas"][ch][2] else "OUTSIDE")))
    print()
    print(f"PyMC-Marketing's example, {CHAINS} chains x {DRAWS} draws after {TUNE} tuning, target_accept {TARGET_ACCEPT}, {os.cpu_count()} cores")
    print(f"{'':<28} {'adroit':>32} {'PyMC-Marketing ' + (pymc or {}).get('version', ''):>34}")
    for name, f in rows:
        print(f"{name:<28} {cell(ad, f):>32} {cell(pymc, f):>34}")
    if pymc:
        print(f"\nPyMC-Marketing / adroit: wall {pymc['wall_s'] / ad['wall_s']:.1f}x, "
              f"sampling {pymc['sampling_s'] / ad['sampling_s']:.1f}x; min-ESS per wall second "
              f"{(ad['min_ess_bulk'] / ad['wall_s']) / (pymc['min_ess_bulk'] / pymc['wall_s']):.1f}x (adroit over PyMC)")
        print(f"PyMC-Marketing: imports {pymc['import_s']:.1f} s, model build + compile + sampling {pymc['fit_s']:.1f} s; sampled {', '.join(pymc['params'])}")
    else:
        print(f"\nPyMC-Marketing could not be run here: {why}")
    print(f"adroit: {ad['sampler']}; base terms {', '.join(ad['terms'])}")


if __name__ == "__main__":
    main()
