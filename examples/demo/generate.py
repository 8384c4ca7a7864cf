#!/usr/bin/env python3
"""Generate adroit's bundled demo data: examples/demo/media.csv and kpi.csv.

The demo world is a small online shop in 2024 (one year of daily data, USD):

* media.csv: one row per date x channel x campaign.
    search   brand, generic          always on
    social   prospecting, retargeting always on
    display  awareness               always on; ONE deliberate spend outlier
    tv       national                flighted: 3-4 week bursts, rows of zeros
                                     between flights; impressions, no clicks
    email    newsletter              small spend
  Spend follows monthly budget levels, a weekly pattern and a Q4 lift; impressions = spend / CPM,
  clicks = impressions x CTR, conversions = clicks x CVR, revenue =
  conversions x order value (all with noise).
* kpi.csv: total daily revenue = baseline (trend, weekly, Q4) + 1.3 x the
  media-attributed revenue of the day + a TV halo (adstocked TV spend) +
  promotion lift + price effect + noise; with the average selling price and a
  0/1 promotion flag as controls.

Python stdlib only and deterministic (random.Random(20240101)): rerunning it
rewrites byte-identical files. Before writing, it checks the invariants the
adroit data-quality report relies on (clicks <= impressions, conversions <=
clicks, no duplicate keys, and that a robust z-score outlier scan like
adroit's finds exactly the one planted outlier).

Usage:  python3 examples/demo/generate.py
"""

import csv
import datetime as dt
import math
import os
import random

SEED = 20240101
HERE = os.path.dirname(os.path.abspath(__file__))
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)

# The single planted data-quality problem: a display budget-pacing bug.
OUTLIER_DATE = dt.date(2024, 6, 12)
OUTLIER_CHANNEL, OUTLIER_FACTOR = "display", 15.0

# (channel, campaign): base daily spend, CPM, CTR, CVR, average order value.
CAMPAIGNS = [
    ("search", "brand", dict(spend=600.0, cpm=24.0, ctr=0.040, cvr=0.060, aov=82.0)),
    ("search", "generic", dict(spend=2500.0, cpm=20.0, ctr=0.025, cvr=0.035, aov=70.0)),
    ("social", "prospecting", dict(spend=1800.0, cpm=8.0, ctr=0.009, cvr=0.015, aov=60.0)),
    ("social", "retargeting", dict(spend=700.0, cpm=12.0, ctr=0.018, cvr=0.050, aov=75.0)),
    ("display", "awareness", dict(spend=900.0, cpm=3.0, ctr=0.0028, cvr=0.016, aov=55.0)),
    ("tv", "national", dict(spend=6000.0, cpm=15.0, ctr=0.0, cvr=0.0, aov=0.0)),
    ("email", "newsletter", dict(spend=90.0, cpm=2.5, ctr=0.030, cvr=0.040, aov=65.0)),
]

# TV flights: (first day, length in days). Off between flights.
TV_FLIGHTS = [
    (dt.date(2024, 1, 15), 28),
    (dt.date(2024, 3, 18), 21),
    (dt.date(2024, 5, 6), 28),
    (dt.date(2024, 7, 8), 21),
    (dt.date(2024, 9, 9), 28),
    (dt.date(2024, 11, 4), 35),  # holiday push: a long flight through Cyber Monday
]

# Promotion days (sitewide sale; the average selling price drops ~10 %).
PROMOTIONS = [
    (dt.date(2024, 2, 16), 4),   # Presidents' Day weekend
    (dt.date(2024, 5, 24), 4),   # Memorial Day weekend
    (dt.date(2024, 7, 3), 3),    # Independence Day
    (dt.date(2024, 8, 30), 4),   # Labor Day weekend
    (dt.date(2024, 11, 29), 4),  # Black Friday to Cyber Monday
    (dt.date(2024, 12, 26), 3),  # after-Christmas sale
]

WEEKLY = [1.00, 1.03, 1.04, 1.02, 0.97, 0.90, 0.94]  # Monday..Sunday
BASE_PRICE = 49.90


def days():
    d = START
    while d <= END:
        yield d
        d += dt.timedelta(days=1)


def q4_lift(d):
    """Seasonal multiplier: 1 most of the year, ramping to ~1.20 in Nov-Dec."""
    doy = d.timetuple().tm_yday
    ramp_start, peak = 274, 345  # 1 Oct, ~10 Dec
    if doy < ramp_start:
        return 1.0
    x = min(1.0, (doy - ramp_start) / (peak - ramp_start))
    return 1.0 + 0.20 * (0.5 - 0.5 * math.cos(math.pi * x))


def in_ranges(d, ranges):
    return any(start <= d < start + dt.timedelta(days=n) for start, n in ranges)


def noise(rng, sd):
    """Multiplicative lognormal noise with median 1."""
    return math.exp(rng.gauss(0.0, sd))


def clamp(x, lo, hi):
    return min(max(x, lo), hi)


def money(x):
    return f"{x:.2f}"


def build_media(rng):
    # Monthly budget decisions: each campaign's level moves +-20 % month to month
    # (Q4 follows the seasonal plan, q4_lift, instead).
    budget = {
        (c, k, m): rng.uniform(0.8, 1.2) if m < 10 else 1.0 for c, k, _ in CAMPAIGNS for m in range(1, 13)
    }
    rows = []
    for d in days():
        season = WEEKLY[d.weekday()] * q4_lift(d)
        for channel, campaign, p in CAMPAIGNS:
            if channel == "tv" and not in_ranges(d, TV_FLIGHTS):
                rows.append([d, channel, campaign, 0.0, 0, 0, 0, 0.0])
                continue
            spend = p["spend"] * budget[channel, campaign, d.month] * season * noise(rng, 0.08)
            if d == OUTLIER_DATE and channel == OUTLIER_CHANNEL:
                spend *= OUTLIER_FACTOR
            spend = round(clamp(spend, 50.0, 20000.0), 2)
            cpm = clamp(p["cpm"] * noise(rng, 0.06), 2.0, 30.0)
            impressions = int(round(spend / cpm * 1000.0))
            if channel == "tv":
                rows.append([d, channel, campaign, spend, impressions, 0, 0, 0.0])
                continue
            clicks = int(round(impressions * clamp(p["ctr"] * noise(rng, 0.10), 0.002, 0.05)))
            conversions = int(round(clicks * clamp(p["cvr"] * noise(rng, 0.12), 0.01, 0.08)))
            aov = clamp(p["aov"] * noise(rng, 0.08), 40.0, 120.0)
            revenue = round(conversions * aov, 2)
            rows.append([d, channel, campaign, spend, impressions, clicks, conversions, revenue])
    return rows


def build_kpi(rng, media_rows):
    media_revenue, tv_spend = {}, {}
    for d, channel, _, spend, _, _, _, revenue in media_rows:
        media_revenue[d] = media_revenue.get(d, 0.0) + revenue
        if channel == "tv":
            tv_spend[d] = tv_spend.get(d, 0.0) + spend
    rows, adstock = [], 0.0
    for i, d in enumerate(days()):
        adstock = 0.7 * adstock + tv_spend.get(d, 0.0)  # geometric carry-over
        promotion = 1 if in_ranges(d, PROMOTIONS) else 0
        price = BASE_PRICE * (0.90 if promotion else 1.0) + rng.gauss(0.0, 0.25)
        season = WEEKLY[d.weekday()] * (1.0 + 0.5 * (q4_lift(d) - 1.0))  # media carries the rest of Q4
        baseline = 22000.0 * (1.0 + 0.15 * i / 365.0) * season
        baseline *= (price / BASE_PRICE) ** -1.2  # cheaper: more orders
        baseline *= 1.06 if promotion else 1.0  # sale awareness beyond the price cut
        revenue = baseline + 1.3 * media_revenue[d] + 0.45 * adstock
        revenue *= noise(rng, 0.04)
        rows.append([d, round(revenue, 2), round(price, 2), promotion])
    return rows


# --- self-checks -----------------------------------------------------------------


def robust_z(values):
    """|0.6745 (x - median) / MAD|, as adroit's outlier rule computes it."""
    med = median(values)
    dev = [abs(v - med) for v in values]
    mad = median(dev)
    if mad > 0:
        return [abs(0.6745 * (v - med) / mad) for v in values]
    mean_ad = sum(dev) / len(dev)
    return [abs(v - med) / (1.253314 * mean_ad) if mean_ad else 0.0 for v in values]


def median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def check(media_rows, kpi_rows):
    keys = set()
    for d, channel, campaign, spend, impr, clicks, conv, revenue in media_rows:
        key = (d, channel, campaign)
        assert key not in keys, f"duplicate key {key}"
        keys.add(key)
        assert spend >= 0 and revenue >= 0, key
        assert 0 <= clicks <= impr and 0 <= conv <= clicks, key
        if channel == "tv":
            assert clicks == 0 and conv == 0 and revenue == 0, key
        if spend > 0:
            assert 50 <= spend <= 20000 and impr > 0, key
            # Realised rates stay in the stated ranges (small slack for integer rounding).
            assert 1.99 <= spend / impr * 1000 <= 30.01, f"CPM {key}"
            if channel != "tv":
                assert 0.0019 <= clicks / impr <= 0.0501, f"CTR {key}"
                assert 0.009 <= conv / clicks <= 0.081, f"CVR {key}"
                assert conv == 0 or 39.99 <= revenue / conv <= 120.01, f"order value {key}"

    # Outlier scan on daily channel spend totals (zeros excluded), then the KPI.
    totals = {}
    for d, channel, _, spend, *_ in media_rows:
        totals[(channel, d)] = totals.get((channel, d), 0.0) + spend
    flagged = []
    for channel in sorted({c for c, _ in totals}):
        series = [(d, v) for (c, d), v in sorted(totals.items()) if c == channel and v > 0]
        z = robust_z([v for _, v in series])
        flagged += [(channel, d, round(zi, 1)) for (d, _), zi in zip(series, z) if zi > 3.5]
    kz = robust_z([r[1] for r in kpi_rows])
    flagged += [("kpi", r[0], round(zi, 1)) for r, zi in zip(kpi_rows, kz) if zi > 3.5]
    assert [(c, d) for c, d, _ in flagged] == [(OUTLIER_CHANNEL, OUTLIER_DATE)], flagged


def write(path, header, rows, fmt):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(fmt(r))


def main():
    rng = random.Random(SEED)
    media = build_media(rng)
    kpi = build_kpi(rng, media)
    check(media, kpi)
    write(
        os.path.join(HERE, "media.csv"),
        ["date", "channel", "campaign", "spend", "impressions", "clicks", "conversions", "revenue"],
        media,
        lambda r: [r[0].isoformat(), r[1], r[2], money(r[3]), r[4], r[5], r[6], money(r[7])],
    )
    write(
        os.path.join(HERE, "kpi.csv"),
        ["date", "revenue", "price", "promotion"],
        kpi,
        lambda r: [r[0].isoformat(), money(r[1]), money(r[2]), r[3]],
    )
    print(f"wrote {len(media)} media rows and {len(kpi)} kpi rows to {HERE}")


if __name__ == "__main__":
    main()
