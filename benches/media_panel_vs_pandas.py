#!/usr/bin/env python3
"""Benchmark: adroit's weekly channel panel versus the same work in pandas.

    python3 benches/media_panel_vs_pandas.py [--rows 10000000] [--repeat 3] [--keep]

What it does:

1. Makes sure pandas is importable. If it is not, it creates a virtualenv at
   ${ADROIT_BENCH_VENV:-$HOME/.cache/adroit-bench-venv}, pip-installs pandas and
   pyarrow there, and re-executes itself with that venv's python.
2. Generates a long media/event CSV with --rows rows at
   ${TMPDIR:-/tmp}/adroit-bench/media_10m.csv (the name follows --rows), header
   `date,channel,campaign,spend,impressions,clicks,conversions,revenue`: ISO
   daily dates over three years (2022-01-03 .. 2024-12-29, sorted), 8 channels,
   40 campaigns, money with 2 decimals, integer counts, and clicks <= impressions,
   conversions <= clicks. The file is an event-level log: a (date, channel,
   campaign) key repeats many times. A sidecar `.meta.json` records the row
   count, seed and generator version; a matching file is reused. Without --keep
   the bench directory is deleted at the end, so pass --keep to reuse the data.
3. Builds the release CLI (`cargo build --release -p adroit-cli` at the repo root,
   two levels above this file) unless --no-build.
4. Times, best of --repeat runs, each in its own process so peak RSS is
   comparable (from os.wait4's rusage of that one child):
     adroit: target/release/adroit metrics --media FILE --by channel --grain week
             --format csv --out OUT.csv     (wall clock around the process)
     pandas: read_csv(parse_dates=['date']) -> week start (Monday, W-SUN periods)
             -> groupby(channel, week).sum() of spend, impressions, clicks,
             conversions, revenue -> ctr, cpc, cpm, cvr, cpa, roas, roi and their
             period-over-period *_change -> to_csv   (wall clock measured inside
             the child, so interpreter start-up and `import pandas` are excluded)
5. Cross-checks the two outputs: the same (group, period) keys, and spend and
   revenue equal to a relative 1e-9 for each; prints "outputs agree" or fails.
6. Prints one table: wall seconds (best), peak RSS MB, the pandas/adroit ratios,
   the machine (nproc, CPU model) and the goal: adroit >= 3x faster than pandas.

Other modes:
    --skip-adroit            generate + time pandas only (no build, no cross-check)
    --pandas-only FILE OUT   the pandas job alone; prints one JSON line
                             {"seconds": ..., "rows": ..., "groups": ...}

Output columns (both tools): group, period (ISO date of the Monday the week
starts on), spend, impressions, clicks, conversions, revenue, ctr, cpc, cpm,
cvr, cpa, roas, roi, then <metric>_change. Ratios with a zero denominator are
empty. ctr = clicks/impressions, cpc = spend/clicks, cpm = 1000 spend/impressions,
cvr = conversions/clicks, cpa = spend/conversions, roas = revenue/spend,
roi = (revenue - spend)/spend, x_change = x / x(previous week of the group) - 1.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NoReturn

REPO = Path(__file__).resolve().parent.parent
GENERATOR_VERSION = 1
SEED = 20240101
CHUNK_ROWS = 1_000_000
FIRST_DAY, N_DAYS = dt.date(2022, 1, 3), 3 * 364  # a Monday; 156 whole weeks
BASE = ["spend", "impressions", "clicks", "conversions", "revenue"]
RATIOS = ["ctr", "cpc", "cpm", "cvr", "cpa", "roas", "roi"]
GOAL = 3.0

# Channel: (campaigns, CPM, CTR, CVR, order value, median spend per row).
CHANNELS = {
    "search": (8, 18.0, 0.030, 0.040, 70.0, 60.0),
    "social": (8, 8.0, 0.010, 0.020, 60.0, 45.0),
    "display": (6, 3.0, 0.003, 0.012, 55.0, 30.0),
    "video": (5, 12.0, 0.004, 0.010, 65.0, 80.0),
    "tv": (3, 15.0, 0.0, 0.0, 0.0, 400.0),
    "audio": (3, 10.0, 0.002, 0.010, 60.0, 50.0),
    "affiliate": (4, 6.0, 0.020, 0.050, 75.0, 25.0),
    "email": (3, 2.5, 0.030, 0.040, 65.0, 5.0),
}


def die(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


# --- 1. environment ---------------------------------------------------------------


def ensure_pandas() -> None:
    """Import pandas, or bootstrap a venv with pandas + pyarrow and re-exec into it."""
    try:
        import numpy  # noqa: F401
        import pandas  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("ADROIT_BENCH_REEXEC"):
        die(f"pandas is still not importable with {sys.executable}")
    venv = Path(os.environ.get("ADROIT_BENCH_VENV") or Path.home() / ".cache" / "adroit-bench-venv")
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"pandas not found; creating a venv at {venv}", file=sys.stderr)
        if subprocess.run([sys.executable, "-m", "venv", str(venv)]).returncode != 0:
            die("could not create the venv (on Debian/Ubuntu: apt-get install python3-venv)")
    if subprocess.run([str(python), "-c", "import pandas, pyarrow"], capture_output=True).returncode != 0:
        print(f"installing pandas and pyarrow into {venv}", file=sys.stderr)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "pandas", "pyarrow"]
        if subprocess.run(pip).returncode != 0:
            die("pip install pandas pyarrow failed")
    os.environ["ADROIT_BENCH_REEXEC"] = "1"
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


# --- 2. data ----------------------------------------------------------------------


def rows_label(rows: int) -> str:
    for unit, size in (("m", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return str(rows)


def campaign_table():
    """One entry per campaign: channel index, name and rate parameters."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    names, channel_idx, params = [], [], []
    for c, (channel, (n, cpm, ctr, cvr, aov, spend)) in enumerate(CHANNELS.items()):
        for k in range(n):
            names.append(f"{channel}_{k + 1:02d}")
            channel_idx.append(c)
            # Campaigns differ around their channel's typical values.
            jitter = rng.lognormal(0.0, 0.25, size=5)
            params.append([spend * jitter[0], cpm * jitter[1], ctr * jitter[2], cvr * jitter[3], aov * jitter[4]])
    return names, np.array(channel_idx), np.array(params)


def money_bytes(cents, np):
    """Non-negative integer cents -> b'123.45' (exact, two decimals)."""
    lut = np.array([b"%02d" % i for i in range(100)], dtype="S2")
    whole = (cents // 100).astype("S")
    return np.char.add(np.char.add(whole, b"."), lut[cents % 100])


def write_chunk(f, start: int, stop: int, total: int, campaigns, rng, np) -> None:
    names, channel_idx, params = campaigns
    n = stop - start
    day = (np.arange(start, stop, dtype=np.int64) * N_DAYS) // total  # sorted by date
    camp = rng.integers(0, len(names), size=n)
    spend0, cpm, ctr, cvr, aov = (params[camp, j] for j in range(5))
    dow = (day % 7).astype(np.int64)  # FIRST_DAY is a Monday
    season = np.array([1.0, 1.03, 1.04, 1.02, 0.97, 0.9, 0.94])[dow]
    season = season * (1.0 + 0.2 * np.clip(((day % 364) - 273) / 70.0, 0.0, 1.0))  # Q4 lift
    cents = np.rint(spend0 * season * rng.lognormal(0.0, 0.5, size=n) * 100.0).astype(np.int64)
    off = (channel_idx[camp] == list(CHANNELS).index("tv")) & ((day // 28) % 2 == 1)  # tv flights
    cents[off] = 0
    impressions = np.rint(cents / 100.0 / cpm * 1000.0).astype(np.int64)
    clicks = rng.binomial(impressions, np.clip(ctr, 0.0, 1.0))
    conversions = rng.binomial(clicks, np.clip(cvr, 0.0, 1.0))
    revenue = np.rint(conversions * aov * rng.lognormal(0.0, 0.1, size=n) * 100.0).astype(np.int64)
    assert (clicks <= impressions).all() and (conversions <= clicks).all()

    dates = np.array([(FIRST_DAY + dt.timedelta(days=i)).isoformat().encode() for i in range(N_DAYS)], dtype="S10")
    chan_names = np.array([c.encode() for c in CHANNELS], dtype="S16")
    camp_names = np.array([c.encode() for c in names], dtype="S24")
    columns = [
        dates[day],
        chan_names[channel_idx[camp]],
        camp_names[camp],
        money_bytes(cents, np),
        impressions.astype("S"),
        clicks.astype("S"),
        conversions.astype("S"),
        money_bytes(revenue, np),
    ]
    line = columns[0]
    for col in columns[1:]:
        line = np.char.add(np.char.add(line, b","), col)
    f.write(b"\n".join(line.tolist()))
    f.write(b"\n")


def ensure_data(path: Path, rows: int) -> None:
    """Writes the benchmark CSV unless a matching one (per its sidecar) exists."""
    import numpy as np

    meta_path = path.with_name(path.name + ".meta.json")
    want = {"rows": rows, "seed": SEED, "generator": GENERATOR_VERSION}
    if path.exists() and meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        if {k: meta.get(k) for k in want} == want and meta.get("bytes") == path.stat().st_size:
            print(f"reusing {path} ({rows:,} rows, {path.stat().st_size / 1e6:,.1f} MB)")
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)
    print(f"generating {rows:,} rows -> {path}", flush=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    campaigns = campaign_table()
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "wb") as f:
        f.write(b"date,channel,campaign," + ",".join(BASE).encode() + b"\n")
        for start in range(0, rows, CHUNK_ROWS):
            write_chunk(f, start, min(rows, start + CHUNK_ROWS), rows, campaigns, rng, np)
    tmp.replace(path)
    meta_path.write_text(json.dumps({**want, "bytes": path.stat().st_size}) + "\n")
    print(f"  {path.stat().st_size / 1e6:,.1f} MB in {time.perf_counter() - t0:.1f} s")


# --- 3./4. running the tools ------------------------------------------------------


def run_measured(cmd, stdout_path: Path, stderr_path: Path):
    """Runs cmd; returns (exit code, wall seconds, peak RSS MB of that child)."""
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_maxrss / 1024.0  # Linux reports KiB


def build_adroit() -> None:
    if shutil.which("cargo") is None:
        die("cargo not found; install Rust or pass --no-build with an existing target/release/adroit")
    print("building: cargo build --release -p adroit-cli", flush=True)
    if subprocess.run(["cargo", "build", "--release", "-p", "adroit-cli"], cwd=REPO).returncode != 0:
        die("cargo build --release -p adroit-cli failed")


def time_adroit(binary: Path, data: Path, out: Path, repeat: int, workdir: Path):
    cmd = [str(binary), "metrics", "--media", str(data), "--by", "channel", "--grain", "week", "--format", "csv", "--out", str(out)]
    best_wall, peak = float("inf"), 0.0
    for i in range(repeat):
        code, wall, rss = run_measured(cmd, workdir / "adroit.stdout", workdir / "adroit.stderr")
        if code != 0:
            stderr = (workdir / "adroit.stderr").read_text(errors="replace").strip()
            print(f"error: adroit exited with status {code}:\n  {' '.join(cmd)}", file=sys.stderr)
            print(stderr or "(no stderr)", file=sys.stderr)
            sys.exit(1)
        print(f"  adroit run {i + 1}/{repeat}: {wall:.3f} s, {rss:,.0f} MB", flush=True)
        best_wall, peak = min(best_wall, wall), max(peak, rss)
    return best_wall, peak


def time_pandas(data: Path, out: Path, repeat: int, engine: str, workdir: Path):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--pandas-engine", engine, "--pandas-only", str(data), str(out)]
    best_wall, peak = float("inf"), 0.0
    for i in range(repeat):
        code, _, rss = run_measured(cmd, workdir / "pandas.stdout", workdir / "pandas.stderr")
        if code != 0:
            print((workdir / "pandas.stderr").read_text(errors="replace"), file=sys.stderr)
            die(f"the pandas run exited with status {code}")
        result = json.loads((workdir / "pandas.stdout").read_text().strip().splitlines()[-1])
        print(f"  pandas run {i + 1}/{repeat}: {result['seconds']:.3f} s, {rss:,.0f} MB", flush=True)
        best_wall, peak = min(best_wall, result["seconds"]), max(peak, rss)
    return best_wall, peak


def pandas_panel(data: str, out: str, engine: str = "c") -> dict:
    """The pandas job: load, weekly channel panel, metrics, write. Timed in-process."""
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(data, parse_dates=["date"], engine=engine)
    df["week"] = df["date"].dt.to_period("W-SUN").dt.start_time  # weeks start on Monday
    panel = df.groupby(["channel", "week"])[BASE].sum()
    rows = len(df)
    del df
    panel.index.names = ["group", "period"]
    with np.errstate(divide="ignore", invalid="ignore"):
        panel["ctr"] = panel["clicks"] / panel["impressions"]
        panel["cpc"] = panel["spend"] / panel["clicks"]
        panel["cpm"] = panel["spend"] / panel["impressions"] * 1000.0
        panel["cvr"] = panel["conversions"] / panel["clicks"]
        panel["cpa"] = panel["spend"] / panel["conversions"]
        panel["roas"] = panel["revenue"] / panel["spend"]
        panel["roi"] = (panel["revenue"] - panel["spend"]) / panel["spend"]
        metrics = BASE + RATIOS
        panel = panel.replace([np.inf, -np.inf], np.nan)
        change = panel.groupby(level="group")[metrics].pct_change(fill_method=None)
        change = change.replace([np.inf, -np.inf], np.nan)
    panel = panel.join(change.add_suffix("_change")).reset_index()
    panel["period"] = panel["period"].dt.strftime("%Y-%m-%d")
    panel.to_csv(out, index=False)
    return {"seconds": time.perf_counter() - t0, "rows": rows, "groups": len(panel)}


# --- 5. cross-check ---------------------------------------------------------------


def cross_check(adroit_csv: Path, pandas_csv: Path, rel: float = 1e-9) -> None:
    import pandas as pd

    a = pd.read_csv(adroit_csv, dtype={"group": str, "period": str})
    p = pd.read_csv(pandas_csv, dtype={"group": str, "period": str})
    missing = [c for c in ("group", "period", "spend", "revenue") if c not in a.columns]
    if missing:
        die(f"adroit output {adroit_csv} lacks column(s) {missing}; it has {list(a.columns)}")
    for frame in (a, p):
        frame["period"] = frame["period"].str.slice(0, 10)  # tolerate a time suffix
    if a.duplicated(["group", "period"]).any():
        die("adroit output repeats a (group, period) key")
    merged = a.merge(p, on=["group", "period"], how="outer", suffixes=("_adroit", "_pandas"), indicator=True)
    only = merged[merged["_merge"] != "both"]
    if len(only):
        print(only[["group", "period", "_merge"]].head(10).to_string(index=False), file=sys.stderr)
        die(f"{len(only)} (group, period) keys are in only one output (adroit {len(a)} rows, pandas {len(p)})")
    for col in ("spend", "revenue"):
        x, y = merged[f"{col}_adroit"].astype(float), merged[f"{col}_pandas"].astype(float)
        bad = (x - y).abs() > rel * pd.concat([x.abs(), y.abs()], axis=1).max(axis=1) + 1e-12
        if bad.any():
            print(merged.loc[bad, ["group", "period", f"{col}_adroit", f"{col}_pandas"]].head(10).to_string(index=False), file=sys.stderr)
            die(f"{int(bad.sum())} {col} sums differ by more than a relative {rel:g}")
    print(f"outputs agree: {len(merged)} (channel, week) rows, spend and revenue within relative {rel:g}")


# --- 6. report --------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {len(os.sched_getaffinity(0))}, {model}"


def report(rows: int, data: Path, repeat: int, engine: str, results: dict) -> None:
    print()
    print(f"weekly channel panel from {rows:,} rows ({data.stat().st_size / 1e6:,.1f} MB CSV), best of {repeat}")
    print(f"machine: {machine()}")
    print(f"goal: adroit ≥ {GOAL:g}× faster than pandas")
    print()
    print(f"{'tool':<24} {'wall s (best)':>14} {'peak RSS MB':>12}")
    labels = {"adroit": "adroit", "pandas": f"pandas {pd_version()} ({engine})"}
    for tool, (wall, rss) in results.items():
        print(f"{labels[tool]:<24} {wall:>14.3f} {rss:>12,.0f}")
    if "adroit" in results and "pandas" in results:
        (aw, ar), (pw, pr) = results["adroit"], results["pandas"]
        speedup = pw / aw
        print(f"{'ratio pandas/adroit':<24} {speedup:>13.2f}× {pr / ar:>11.2f}×")
        print()
        print(f"goal {'met' if speedup >= GOAL else 'NOT met'}: adroit is {speedup:.2f}× faster than pandas")


def pd_version() -> str:
    import pandas as pd

    return pd.__version__


# --- main -------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the generated CSV (default 10,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the best wall time counts (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV and outputs (reused by the next run)")
    parser.add_argument("--no-build", action="store_true", help="use the existing target/release/adroit")
    parser.add_argument("--skip-adroit", action="store_true", help="time pandas only (no build, no cross-check)")
    parser.add_argument("--pandas-engine", choices=["c", "pyarrow", "python"], default="c", help="read_csv engine (default c, pandas' default)")
    parser.add_argument("--pandas-only", nargs=2, metavar=("FILE", "OUT"), help="run only the pandas job on FILE, write OUT, print JSON")
    args = parser.parse_args()
    ensure_pandas()

    if args.pandas_only:
        data, out = args.pandas_only
        print(json.dumps(pandas_panel(data, out, args.pandas_engine)), flush=True)
        return
    if args.rows <= 0 or args.repeat <= 0:
        parser.error("--rows and --repeat must be positive")

    workdir = Path(tempfile.gettempdir()) / "adroit-bench"
    data = workdir / f"media_{rows_label(args.rows)}.csv"
    adroit_out, pandas_out = workdir / "adroit_out.csv", workdir / "pandas_out.csv"
    try:
        ensure_data(data, args.rows)
        results = {}
        if not args.skip_adroit:
            if not args.no_build:
                build_adroit()
            binary = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "release" / "adroit"
            if not binary.exists():
                die(f"{binary} does not exist; build it with `cargo build --release -p adroit-cli`")
            print(f"timing adroit ({binary})", flush=True)
            results["adroit"] = time_adroit(binary, data, adroit_out, args.repeat, workdir)
        print(f"timing pandas (read_csv engine={args.pandas_engine})", flush=True)
        results["pandas"] = time_pandas(data, pandas_out, args.repeat, args.pandas_engine, workdir)
        if "adroit" in results:
            cross_check(adroit_out, pandas_out)
        report(args.rows, data, args.repeat, args.pandas_engine, results)
    finally:
        if args.keep:
            print(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
