#!/usr/bin/env python3
"""adroit attribution against ChannelAttribution: first-order Markov credits, then speed on 1M journeys.

    cargo build --release -p adroit-cli
    python3 benches/attribution_peers.py [--adroit target/release/adroit] [--data ../shared/data]
        [--work /tmp/adroit-attribution-bench] [--customers 1090000] [--nsim 10000000] [--repeat 3]
        [--skip-bench]

What it does:

1. Makes sure ChannelAttribution (PyPI `ChannelAttribution`, 2.2.5 when written), pandas
   and numpy import; if not, creates or reuses the venv at
   ${ADROIT_BENCH_VENV:-$HOME/.cache/adroit-bench-venv}, pip-installs them there and
   re-executes itself with that venv's python (ensure_modules from benches/learn_peers.py).
   ChannelAttribution is published as a source archive only (a Cython module over C++ with
   Armadillo bundled): pip compiles it, which needs a C++ compiler (g++ or clang++) and the
   Python headers. Without them the script stops and says so.
2. Cross-check, order 1, on attribution/toy_three_paths.csv and
   attribution/channelattribution_paths.csv (ChannelAttribution's own example):
   - the transition matrix: ChannelAttribution's transition_matrix(order=1, flg_equal=False)
     is exact (counted), as is adroit's; every probability is compared.
   - conversions per channel: ChannelAttribution's markov_model has no exact option (it
     estimates removal effects by simulating paths through the chain; `nsim_start`
     simulations, grown until repetitions agree within `conv_par`). It runs with
     --nsim simulations and conv_par 0.01 for seeds 0, 1000, 2000; adroit solves the absorbing
     chain exactly (`adroit attribution --paths FILE --models markov --format json`).
     The bar: every channel with at least 1 % of the conversions within 1 % of adroit's
     credit (relative), comparing adroit with the mean over the seeds; channels below 1 %
     are listed with their difference as a share of all conversions and ChannelAttribution's
     own spread over seeds.
3. Benchmark (unless --skip-bench): `adroit simulate --customers N` with eight channels
   (tv, search, social, display, video, email, ooh, radio) writes a world whose
   touchpoints.csv holds one journey per touched user (the simulator converts at most once,
   at the last touch): 1,090,000 customers give just over 1,000,000 journeys. This script
   cuts touchpoints.csv into journeys (per user in file order, which is time order; a
   conversion ends a journey) and writes them twice in ChannelAttribution's format:
   paths_agg.csv (identical paths aggregated) and journeys.csv (one line per journey).
   adroit --touchpoints on the same world must give the same Markov credits as adroit
   --paths on paths_agg.csv (checks this script's cutting). Then, each run in a fresh
   child process, best wall-clock of --repeat runs, with the child's peak RSS (wait4's
   ru_maxrss) and CPU seconds:
   - adroit, release binary, the whole command (read, parse, aggregate, solve, print JSON):
     `--models markov`, and all eight models (first, last, linear, time-decay, position,
     markov, shapley, data-driven);
   - ChannelAttribution in a python child: pandas.read_csv, then markov_model(order=1,
     var_value, var_null, defaults otherwise: nsim_start 1e5, conv_par 0.05, ncore 1) timed
     alone, and heuristic_models (first, last, linear) timed alone; once more (one run)
     markov_model with nsim_start 1e7 and conv_par 0.01, nearer adroit's exact credits;
     each markov run reports its largest gap to adroit's credits over channels with at
     least 1 % of the conversions;
   - adroit from the raw touchpoints (--config world/adroit.toml: load 2.5M rows, build
     journeys, all models, spend from media.csv), which ChannelAttribution cannot start from.
   The ratio printed is ChannelAttribution's markov_model call alone over adroit's whole
   command (the goal: at least 5x).
Results are printed and written to WORK/attribution_peers.json.
"""

import argparse
import contextlib
import io
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from learn_peers import REPO, cpu_model, die, ensure_modules, importable  # noqa: E402

MODULES = ["ChannelAttribution", "pandas", "numpy"]
PIP_NAMES = ["ChannelAttribution", "pandas", "numpy"]
CHANNELS = "tv,search,social,display,video,email,ooh,radio"
# Far apart: run k of a call seeds its generator with seed + k (k < nfold), so nearby
# seeds share most streams.
SEEDS = [0, 1000, 2000]
ALL_MODELS = "first,last,linear,time-decay,position,markov,shapley,data-driven"


def import_ca():
    """ChannelAttribution prints a banner on import; keep stdout clean."""
    with contextlib.redirect_stdout(io.StringIO()):
        import ChannelAttribution
    return ChannelAttribution


def ensure_peer() -> None:
    venv = Path(os.environ.get("ADROIT_BENCH_VENV") or Path.home() / ".cache" / "adroit-bench-venv")
    python = venv / "bin" / "python"
    have = importable(sys.executable, MODULES) or (python.exists() and importable(str(python), MODULES))
    if not have and not (shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")):
        die(
            "ChannelAttribution is not installed and cannot be built here: PyPI ships it only as a "
            "source archive (Cython + C++ with Armadillo), so pip needs a C++ compiler (g++ or clang++) "
            "and the Python headers; none was found on PATH (apt-get install g++ python3-dev)"
        )
    with contextlib.redirect_stdout(io.StringIO()):  # the import banner
        ensure_modules(MODULES, PIP_NAMES, __file__)


# --- paths ----------------------------------------------------------------------------


def read_paths(path: Path):
    import pandas as pd

    return pd.read_csv(path, sep=";")


def adroit_json(adroit: Path, args: list) -> dict:
    out = subprocess.run([str(adroit), "attribution", *args, "--format", "json"], capture_output=True, text=True)
    if out.returncode != 0:
        die(f"adroit attribution {' '.join(args)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def ca_markov(ca, df, nsim: float, conv_par: float, seed: int):
    """markov_model with its convergence message (its own error estimate)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        res = ca.markov_model(
            df,
            "path",
            "total_conversions",
            var_value="total_conversion_value",
            var_null="total_null",
            order=1,
            nsim_start=nsim,
            conv_par=conv_par,
            seed=seed,
            out_more=True,
            verbose=True,
            flg_pro=False,
        )
    reached = [line for line in buf.getvalue().splitlines() if "Convergence reached" in line]
    result = res["result"]
    credits = dict(zip(result["channel_name"], result["total_conversions"].astype(float)))
    return credits, (reached[-1].strip() if reached else "")


def ca_transitions(ca, df) -> dict:
    with contextlib.redirect_stdout(io.StringIO()):
        res = ca.transition_matrix(df, "path", "total_conversions", "total_null", order=1, flg_equal=False, flg_pro=False)
    names = dict(zip(res["channels"]["id_channel"].astype(str), res["channels"]["channel_name"]))
    tm = res["transition_matrix"]
    name = lambda x: names.get(str(x), str(x))  # noqa: E731
    return {
        (name(f), name(t)): float(p)
        for f, t, p in zip(tm["channel_from"], tm["channel_to"], tm["transition_probability"])
    }


def cross_check(adroit: Path, file: Path, nsim: float, summary: dict) -> bool:
    import numpy as np

    ca = import_ca()
    df = read_paths(file)
    report = adroit_json(adroit, ["--paths", str(file), "--models", "markov"])
    total = report["input"]["conversions"]
    ours = {row["channel"]: row["conversions"]["markov"] for row in report["channels"]}
    # Exact: the transition matrix.
    theirs_tm = ca_transitions(ca, df)
    ours_tm = {(t["from"], t["to"]): t["probability"] for t in report["transition_matrix"]}
    keys = set(theirs_tm) | set(ours_tm)
    tm_diff = max(abs(theirs_tm.get(k, 0.0) - ours_tm.get(k, 0.0)) for k in keys)
    # Simulated: conversions per channel over seeds.
    runs, messages, seconds = [], [], []
    for seed in SEEDS:
        t0 = time.perf_counter()
        credits, message = ca_markov(ca, df, nsim, 0.01, seed)
        seconds.append(time.perf_counter() - t0)
        runs.append(credits)
        messages.append(message)
    print(f"\n{file.name}: {len(df):,} rows, {total:,.0f} conversions, {len(ours)} channels")
    print(f"  transition matrix: {len(keys)} transitions, largest |difference| {tm_diff:.2e}")
    print(f"  ChannelAttribution markov_model, nsim_start {nsim:.0e}, conv_par 0.01, seeds {SEEDS}: "
          f"{', '.join(f'{s:.1f}' for s in seconds)} s; {messages[-1]}")
    print(f"  {'channel':10} {'adroit':>12} {'CA mean':>12} {'CA min':>12} {'CA max':>12} {'diff %':>8} {'% of all':>9}")
    ok, rows = True, []
    for channel, mine in sorted(ours.items(), key=lambda kv: -kv[1]):
        values = np.array([r.get(channel, 0.0) for r in runs])
        mean = float(values.mean())
        rel = abs(mean - mine) / mine * 100 if mine > 0 else float("nan")
        of_all = abs(mean - mine) / total * 100
        big = mine >= 0.01 * total
        passed = (rel <= 1.0) if big else True
        ok &= passed
        flag = "" if passed else "  FAIL"
        if not big:
            flag = "  (<1 % share: not held to 1 %)"
        print(f"  {channel:10} {mine:12.3f} {mean:12.3f} {values.min():12.3f} {values.max():12.3f} {rel:8.3f} {of_all:9.4f}{flag}")
        rows.append({"channel": channel, "adroit": mine, "ca_runs": values.tolist(), "relative_difference_pct": rel, "share_of_all_pct": of_all})
    ok &= tm_diff < 1e-9
    print(f"  => {'PASS' if ok else 'FAIL'}: channels with >= 1 % of conversions within 1 %, transition matrix exact")
    summary[file.name] = {
        "transition_matrix_max_abs_difference": tm_diff,
        "ca_nsim_start": nsim,
        "ca_conv_par": 0.01,
        "ca_seconds": seconds,
        "ca_convergence": messages,
        "channels": rows,
        "pass": ok,
    }
    return ok


# --- benchmark ------------------------------------------------------------------------


def run_child(argv: list, stdout_path: Path):
    """Runs argv in a fresh process; returns (wall seconds, CPU seconds, peak RSS MB).

    Peak RSS comes from GNU time (/usr/bin/time) when there is one: a child forked from
    this (large) python process would count the parent's pages it held before exec in
    its own ru_maxrss. Without GNU time, wait4's ru_maxrss is used and may be inflated.
    """
    gnu_time = Path("/usr/bin/time")
    stats = stdout_path.with_suffix(".time")
    wrapped = [str(gnu_time), "-f", "%U %S %M", "-o", str(stats), *argv] if gnu_time.exists() else argv
    with open(stdout_path, "wb") as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(wrapped, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        err = child.stderr.read().decode(errors="replace")
        child.stderr.close()
        code = os.waitstatus_to_exitcode(status)
    if code != 0:
        die(f"{' '.join(argv)} failed ({code}):\n{err}")
    if gnu_time.exists():
        user, system, kb = stats.read_text().split()[-3:]
        return wall, float(user) + float(system), int(kb) / 1024
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best_of(repeat: int, argv: list, stdout_path: Path) -> dict:
    runs = [run_child(argv, stdout_path) for _ in range(repeat)]
    wall, cpu, rss = min(runs, key=lambda r: r[0])
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": max(r[2] for r in runs), "all_wall_s": [r[0] for r in runs]}


def cut_journeys(touchpoints: Path, agg_out: Path, each_out: Path) -> dict:
    """touchpoints.csv -> journeys (per user, file order; a conversion ends a journey)."""
    import csv

    t0 = time.perf_counter()
    open_journeys: dict = {}
    finished = []  # (path tuple, converted, value)
    with touchpoints.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        col = {name: i for i, name in enumerate(header)}
        u, c, k, v = col["user_id"], col["channel"], col["conversion"], col["value"]
        for row in reader:
            journey = open_journeys.setdefault(row[u], [])
            journey.append(row[c])
            if row[k] == "1":
                finished.append((tuple(journey), True, float(row[v] or 0.0)))
                del open_journeys[row[u]]
    for journey in open_journeys.values():
        finished.append((tuple(journey), False, 0.0))
    aggregated: dict = {}
    for path, converted, value in finished:
        entry = aggregated.setdefault(path, [0, 0.0, 0])
        if converted:
            entry[0] += 1
            entry[1] += value
        else:
            entry[2] += 1
    header_line = "path;total_conversions;total_conversion_value;total_null\n"
    with agg_out.open("w") as f:
        f.write(header_line)
        for path, (conv, value, null) in aggregated.items():
            f.write(f"{' > '.join(path)};{conv};{value!r};{null}\n")
    with each_out.open("w") as f:
        f.write(header_line)
        for path, converted, value in finished:
            f.write(f"{' > '.join(path)};{int(converted)};{value!r};{int(not converted)}\n")
    return {
        "journeys": len(finished),
        "conversions": sum(1 for _, c, _ in finished if c),
        "distinct_paths": len(aggregated),
        "touches": sum(len(p) for p, _, _ in finished),
        "seconds": time.perf_counter() - t0,
    }


def child_ca(mode: str, file: Path) -> None:
    """Runs in a child process: read the paths, run one ChannelAttribution model, print times."""
    ca = import_ca()
    t0 = time.perf_counter()
    df = read_paths(file)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        if mode in ("markov", "markov-precise"):
            precise = {"nsim_start": 1e7, "conv_par": 0.01} if mode == "markov-precise" else {}
            res = ca.markov_model(df, "path", "total_conversions", var_value="total_conversion_value",
                                  var_null="total_null", order=1, verbose=False, flg_pro=False, **precise)
            result = res["result"] if isinstance(res, dict) else res
        else:
            result = ca.heuristic_models(df, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False)
    model_s = time.perf_counter() - t0
    credits = dict(zip(result["channel_name"], result[[c for c in result.columns if c != "channel_name"][0]].astype(float)))
    print(json.dumps({"read_s": read_s, "model_s": model_s, "rows": len(df), "credits": credits}))


def benchmark(adroit: Path, work: Path, customers: int, repeat: int, summary: dict) -> None:
    world = work / "world"
    truth = world / "truth.json"
    spec = json.loads(truth.read_text())["spec"] if truth.exists() else {}
    if spec.get("customers") == customers and spec.get("channels") == CHANNELS.split(",") and spec.get("seed") == 42:
        print(f"\nreusing the simulated world in {world} ({customers:,} customers)")
        sim_s = None
    else:
        print(f"\nsimulating {customers:,} customers over 8 channels into {world} ...")
        t0 = time.perf_counter()
        sim = subprocess.run([str(adroit), "simulate", "--seed", "42", "--customers", str(customers), "--channels", CHANNELS,
                              "--lang", "en", "--out", str(world)], capture_output=True, text=True)
        if sim.returncode != 0:
            die(f"adroit simulate failed:\n{sim.stderr}")
        sim_s = time.perf_counter() - t0
    agg, each = work / "paths_agg.csv", work / "journeys.csv"
    cut = cut_journeys(world / "touchpoints.csv", agg, each)
    print(f"  {'simulated in %.1f s' % sim_s if sim_s else 'world reused'}; {cut['touches']:,} touches -> {cut['journeys']:,} journeys "
          f"({cut['conversions']:,} converting), {cut['distinct_paths']:,} distinct paths (cut in {cut['seconds']:.1f} s)")
    summary["data"] = {"customers": customers, "channels": CHANNELS.split(","), "simulate_s": sim_s, **cut}

    # The script's cutting agrees with adroit's own journeys from the touchpoints.
    from_touchpoints = adroit_json(adroit, ["--config", str(world / "adroit.toml"), "--models", "markov"])
    from_paths = adroit_json(adroit, ["--paths", str(agg), "--models", "markov"])
    a = {r["channel"]: r["conversions"]["markov"] for r in from_touchpoints["channels"]}
    b = {r["channel"]: r["conversions"]["markov"] for r in from_paths["channels"]}
    worst = max(abs(a[c] - b[c]) for c in a)
    assert from_touchpoints["input"]["journeys"] == cut["journeys"], (from_touchpoints["input"], cut)
    if worst > 1e-6:
        die(f"adroit --touchpoints and --paths disagree by {worst} conversions")
    print(f"  adroit --touchpoints and --paths on the cut journeys agree (largest difference {worst:.1e} conversions)")

    out = work / "stdout"
    me = Path(__file__).resolve()
    timings = {}
    plan = [
        ("adroit markov, aggregated paths", [str(adroit), "attribution", "--paths", str(agg), "--models", "markov", "--format", "json"]),
        ("adroit 8 models, aggregated paths", [str(adroit), "attribution", "--paths", str(agg), "--models", ALL_MODELS, "--format", "json"]),
        ("adroit markov, one line per journey", [str(adroit), "attribution", "--paths", str(each), "--models", "markov", "--format", "json"]),
        ("adroit 8 models, one line per journey", [str(adroit), "attribution", "--paths", str(each), "--models", ALL_MODELS, "--format", "json"]),
        ("adroit 8 models, raw touchpoints + spend", [str(adroit), "attribution", "--config", str(world / "adroit.toml"), "--format", "json"]),
        ("ChannelAttribution markov_model, aggregated", [sys.executable, str(me), "--child", "markov", str(agg)]),
        ("ChannelAttribution heuristic_models, aggregated", [sys.executable, str(me), "--child", "heuristic", str(agg)]),
        ("ChannelAttribution markov_model, one line per journey", [sys.executable, str(me), "--child", "markov", str(each)]),
        ("ChannelAttribution markov_model nsim 1e7 conv_par 0.01, aggregated", [sys.executable, str(me), "--child", "markov-precise", str(agg)]),
        ("ChannelAttribution heuristic_models, one line per journey", [sys.executable, str(me), "--child", "heuristic", str(each)]),
    ]
    for name, argv in plan:
        t = best_of(1 if "nsim 1e7" in name else repeat, argv, out)
        if name.startswith("ChannelAttribution"):
            inner = json.loads(out.read_text())
            t.update({"read_s": inner["read_s"], "model_s": inner["model_s"]})
            if "markov" in name:
                mean_gap = max(abs(inner["credits"][c] - b[c]) / b[c] * 100 for c in b if b[c] >= 0.01 * from_paths["input"]["conversions"])
                t["largest_gap_vs_adroit_pct"] = mean_gap
        timings[name] = t
        extra = f"  (read {t['read_s']:.2f} s, model {t['model_s']:.2f} s)" if "model_s" in t else ""
        if "largest_gap_vs_adroit_pct" in t:
            extra += f", credits up to {t['largest_gap_vs_adroit_pct']:.1f} % from adroit's"
        print(f"  {name:68} {t['wall_s']:7.2f} s wall {t['cpu_s']:7.2f} s CPU {t['peak_rss_mb']:8.0f} MB{extra}")
    summary["timings"] = timings

    print("\nMarkov (order 1), 1M journeys: ChannelAttribution's markov_model call alone vs adroit's whole command")
    print(f"  {'input':22} {'adroit s':>9} {'adroit MB':>10} {'CA model s':>11} {'CA proc s':>10} {'CA MB':>8} {'ratio':>7}")
    ratios = {}
    for label, key in [("aggregated paths", "aggregated"), ("one line per journey", "one line per journey")]:
        ours = timings[f"adroit markov, {label}"]
        theirs = timings[f"ChannelAttribution markov_model, {key}"]
        ratio = theirs["model_s"] / ours["wall_s"]
        ratios[label] = ratio
        print(f"  {label:22} {ours['wall_s']:9.3f} {ours['peak_rss_mb']:10.0f} {theirs['model_s']:11.3f} {theirs['wall_s']:10.3f} "
              f"{theirs['peak_rss_mb']:8.0f} {ratio:6.1f}x")
    summary["markov_speedup"] = ratios
    goal = all(r >= 5 for r in ratios.values())
    print(f"  => goal (>= 5x): {'met' if goal else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--adroit", type=Path, default=REPO / "target" / "release" / "adroit")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=Path("/tmp/adroit-attribution-bench"))
    parser.add_argument("--customers", type=int, default=1_090_000)
    parser.add_argument("--nsim", type=float, default=1e7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-bench", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    ensure_peer()
    if args.child:
        child_ca(args.child[0], Path(args.child[1]))
        return
    import numpy
    import pandas

    ca = import_ca()
    if not args.adroit.exists():
        die(f"{args.adroit} not found: cargo build --release -p adroit-cli (or pass --adroit)")
    args.work.mkdir(parents=True, exist_ok=True)
    version = subprocess.run([str(args.adroit), "--version"], capture_output=True, text=True).stdout.strip()
    env = {
        "adroit": version,
        "ChannelAttribution": getattr(ca, "__version__", None) or _ca_version(),
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
    }
    print("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
    summary = {"environment": env, "cross_check": {}}
    ok = True
    for name in ["toy_three_paths.csv", "channelattribution_paths.csv"]:
        path = args.data / "attribution" / name
        if not path.exists():
            die(f"{path} not found; pass --data")
        ok &= cross_check(args.adroit, path, args.nsim, summary["cross_check"])
    if not args.skip_bench:
        benchmark(args.adroit, args.work, args.customers, args.repeat, summary)
    out = args.work / "attribution_peers.json"
    out.write_text(json.dumps(_finite(summary), indent=1, default=str) + "\n")
    print(f"\nwrote {out}")
    if not ok:
        sys.exit(1)


def _ca_version() -> str:
    try:
        from importlib.metadata import version

        return version("ChannelAttribution")
    except Exception:  # noqa: BLE001
        return "unknown"


def _finite(x):
    """NaN and infinities as null, so the file is strict JSON."""
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x


if __name__ == "__main__":
    main()
