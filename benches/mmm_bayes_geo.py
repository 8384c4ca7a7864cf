#!/usr/bin/env python3
"""The Bayesian geo MMM on Meridian's simulated geo data (issue 11): time and diagnostics.

    python3 benches/mmm_bayes_geo.py [--data ../shared/data] [--no-build] [--draws 1000]

What it does:

1. Builds adroit in release mode (`cargo build --release -p adroit-cli`; --no-build uses
   the binary already in the target folder).
2. Fits `meridian_geo_media.csv` (20 geos x 156 weeks, 4 paid channels, 2 controls,
   population per geo) with `adroit mmm fit --method bayes --geo geo --population
   population`: per-capita KPI and spend, one adstock and curve per channel shared by
   the geos, each geo's effect partially pooled (non-centred log-normal, Meridian's
   default), one intercept per geo, one effect per week shared by the geos (Meridian's
   default for geo data) and Michaelis-Menten saturation (Meridian's Hill curve with its
   default slope of 1). 4 chains x DRAWS after DRAWS tuning on all cores.
3. Prints the wall time of the whole process and of the sampling, gradient
   evaluations, max R-hat and min bulk/tail ESS over every sampled coordinate,
   divergences, BFMI, bulk ESS per second, the national CPA per channel with its 90 %
   interval, and the warnings.

Meridian itself is not run: it needs TensorFlow and, by Google's own account, 10-15
minutes on a GPU for its demo and hours on a CPU, which this 2-core machine cannot
spare. The data's generating process is known only in outline (PROVENANCE.md): there
is no ground truth to compare against, so this is a time-and-convergence benchmark.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()
    csv = os.path.join(args.data, "mmm", "meridian_geo_media.csv")
    if not os.path.exists(csv):
        sys.exit(f"{csv} not found: give --data, the folder holding mmm/")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "adroit-cli"], cwd=ROOT, check=True)
    adroit = os.path.join(target, "release", "adroit")
    out = tempfile.mkdtemp(prefix="adroit-geo-")
    cmd = [
        adroit, "mmm", "fit", "--method", "bayes", "--data", csv, "--date", "time",
        "--kpi", "conversions", "--conversions", "--geo", "geo", "--population", "population",
        "--channels", "Channel0_spend,Channel1_spend,Channel2_spend,Channel3_spend",
        "--controls", "competitor_activity_score_control,sentiment_score_control",
        "--saturation", "michaelis_menten", "--chains", "4", "--draws", str(args.draws),
        "--tune", str(args.draws), "--seed", "1", "--out", out,
    ]
    started = time.time()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.time() - started
    if run.returncode != 0:
        sys.exit(f"adroit failed:\n{run.stderr}")
    result = json.load(open(os.path.join(out, "result.json")))
    b = result["bayes"]
    print(f"Meridian geo_media.csv: {len(b['geo']['geos'])} geos x {len(result['dates'])} weeks, "
          f"{len(result['channels'])} channels; 4 chains x {args.draws} draws after {args.draws} tuning")
    print(f"{'wall time, whole process':34s} {wall:10.1f} s")
    print(f"{'sampling':34s} {b['seconds']:10.1f} s")
    print(f"{'gradient evaluations':34s} {b['gradients']:10d}")
    print(f"{'max R-hat (all coordinates)':34s} {b['max_rhat']:10.4f}")
    print(f"{'min ESS bulk / tail':34s} {b['min_ess_bulk']:10.0f} / {b['min_ess_tail']:.0f}")
    print(f"{'bulk ESS per second of sampling':34s} {b['min_ess_bulk'] / b['seconds']:10.1f}")
    print(f"{'divergences':34s} {b['divergences']:10d}")
    print(f"{'BFMI per chain':34s} {', '.join(f'{v:.2f}' for v in b['bfmi'])}")
    for c in result["channels"]:
        cpa = c["cpa"]
        print(f"  {c['name']:16s} CPA {cpa['value']:.5f} (90 % {cpa['lower']:.5f} - {cpa['upper']:.5f}), "
              f"spread across geos {next(p['mean'] for p in b['parameters'] if p['name'] == c['name'] + '.geo_spread'):.3f}")
    for w in b["warnings"]:
        print(f"warning: {w}")


if __name__ == "__main__":
    main()
