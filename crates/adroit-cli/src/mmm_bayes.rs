//! `adroit mmm fit --method bayes`: the Bayesian MMM's flags, its progress bar of
//! draws, the printed ROAS with credible intervals and the sampler's diagnostics, the
//! `bayes` section of `result.json` and `draws.csv` (posterior draws of each channel's
//! ROAS). The modelling table comes from the same code as the ridge fit (`mmm.rs`);
//! the model lives in `adroit_mmm::bayes`.

use crate::mmm::{FitArgs, ResultFile};
use crate::output;
use adroit_config::{MmmBayes, MmmSettings};
use adroit_mmm::bayes::{self, BayesFit, BayesSettings, ChannelPrior};
use adroit_mmm::{MmmData, ModelSpec};
use clap::Args;
use std::path::Path;

/// Flags of `--method bayes` (ignored by the ridge fit).
#[derive(Args, Debug, Clone, Default)]
pub struct BayesArgs {
    /// Bayes: chains, run in parallel threads (default 4).
    #[arg(long)]
    pub chains: Option<usize>,
    /// Bayes: draws kept per chain (default 1000).
    #[arg(long)]
    pub draws: Option<usize>,
    /// Bayes: tuning draws per chain, discarded (default 1000).
    #[arg(long)]
    pub tune: Option<usize>,
    /// Bayes: threads for the chains (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bayes: NUTS's target acceptance rate (default 0.9).
    #[arg(long)]
    pub target_accept: Option<f64>,
    /// Bayes: Meridian's ROI prior per channel, ROI ~ LogNormal(MU, SIGMA) with MU and
    /// SIGMA of log ROI (KPI per unit of spend), e.g. tv=0.2:0.9,search=1.1:0.5.
    #[arg(long, value_delimiter = ',')]
    pub roi_prior: Vec<String>,
    /// Bayes: half-normal prior scale of a channel's coefficient on the scaled KPI
    /// (default 2), e.g. tv=1.
    #[arg(long, value_delimiter = ',')]
    pub coef_prior: Vec<String>,
    /// Bayes: the mass matrix NUTS adapts, low_rank (default; follows correlated
    /// parameters) or diagonal.
    #[arg(long)]
    pub mass_matrix: Option<String>,
    /// Bayes: central probability of the lift tests' intervals (default 0.95), from
    /// which their standard errors follow.
    #[arg(long)]
    pub lift_interval: Option<f64>,
    /// Bayes with --geo: scale of the half-normal prior on each channel's spread of log
    /// effects across geos (default 1, Meridian's).
    #[arg(long)]
    pub geo_spread: Option<f64>,
    /// Bayes with --geo: trend, seasonality and events instead of one effect per period
    /// shared by the geos (the default, Meridian's for geo data).
    #[arg(long)]
    pub no_time_effects: bool,
    /// Bayes with --geo: sample the geo effects centred (suits wide spreads that long
    /// series pin down; the default non-centred suits spreads near zero).
    #[arg(long)]
    pub centred: bool,
}

/// The settings of `--method bayes`: the config's `[mmm.bayes]` (or its defaults),
/// then the flags.
fn settings(a: &BayesArgs, c: &MmmBayes, seed: u64) -> Result<BayesSettings, String> {
    let d = BayesSettings::default();
    let mut s = BayesSettings {
        chains: a.chains.unwrap_or(c.chains),
        draws: a.draws.unwrap_or(c.draws),
        tune: a.tune.unwrap_or(c.tune),
        threads: a.threads.unwrap_or(d.threads),
        target_accept: a.target_accept.unwrap_or(c.target_accept),
        lift_interval: a.lift_interval.unwrap_or(c.lift_interval),
        geo_spread_sd: a.geo_spread.unwrap_or(d.geo_spread_sd),
        time_effects: !a.no_time_effects,
        geo_centered: a.centred,
        seed,
        ..d
    };
    let mass = a.mass_matrix.as_deref().unwrap_or(&c.mass_matrix);
    s.mass_matrix = serde_json::from_value(serde_json::Value::String(mass.replace('-', "_")))
        .map_err(|_| {
            let from = if a.mass_matrix.is_some() {
                "--mass-matrix"
            } else {
                "[mmm.bayes] mass_matrix ="
            };
            format!("{from} {mass}: use low_rank or diagonal")
        })?;
    for (name, [mu, sigma]) in &c.roi_priors {
        s.priors.insert(
            name.clone(),
            ChannelPrior::Roi {
                mu: *mu,
                sigma: *sigma,
            },
        );
    }
    for (name, sigma) in &c.coef_priors {
        s.priors
            .insert(name.clone(), ChannelPrior::Coefficient { sigma: *sigma });
    }
    // Flags replace the config's prior of the channels they name.
    let flagged: Vec<String> = a
        .roi_prior
        .iter()
        .chain(&a.coef_prior)
        .filter_map(|item| item.split_once('=').map(|(n, _)| n.trim().to_string()))
        .collect();
    for name in &flagged {
        s.priors.remove(name);
    }
    let split = |item: &str, flag: &str, form: &str| -> Result<(String, Vec<f64>), String> {
        let (name, values) = item
            .split_once('=')
            .ok_or_else(|| format!("{flag} {item:?}: write {form}"))?;
        let values = values
            .split(':')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("{flag} {item:?}: write {form}"))?;
        Ok((name.trim().to_string(), values))
    };
    for item in &a.roi_prior {
        match split(item, "--roi-prior", "CHANNEL=MU:SIGMA, e.g. tv=0.2:0.9")? {
            (name, v) if v.len() == 2 => {
                s.priors.insert(
                    name,
                    ChannelPrior::Roi {
                        mu: v[0],
                        sigma: v[1],
                    },
                );
            }
            _ => {
                return Err(format!(
                    "--roi-prior {item:?}: write CHANNEL=MU:SIGMA, e.g. tv=0.2:0.9"
                ));
            }
        }
    }
    for item in &a.coef_prior {
        match split(item, "--coef-prior", "CHANNEL=SIGMA, e.g. tv=1")? {
            (name, v) if v.len() == 1 => {
                if s.priors.contains_key(&name) {
                    return Err(format!(
                        "channel {name} has both --roi-prior and --coef-prior: give one"
                    ));
                }
                s.priors
                    .insert(name, ChannelPrior::Coefficient { sigma: v[0] });
            }
            _ => {
                return Err(format!(
                    "--coef-prior {item:?}: write CHANNEL=SIGMA, e.g. tv=1"
                ));
            }
        }
    }
    Ok(s)
}

fn progress_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let bar = indicatif::ProgressBar::new(0);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} draws, tuning included ({per_sec}, {eta} left)",
            )
            .expect("static template"),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// With `--method bayes`: samples the posterior and prints ROAS with credible intervals
/// and the diagnostics; `None` for the ridge fit.
pub fn fit(
    args: &FitArgs,
    m: &MmmSettings,
    data: &MmmData,
    spec: &ModelSpec,
) -> Result<Option<BayesFit>, String> {
    // `MmmSettings::check` has refused any other method.
    if m.method != "bayes" {
        return Ok(None);
    }
    sample(args, m, |settings, progress| {
        bayes::fit(data, spec, settings, progress)
    })
    .map(Some)
}

/// Samples with the flags' settings behind a progress bar of draws, then prints.
fn sample(
    args: &FitArgs,
    m: &MmmSettings,
    fit: impl FnOnce(&BayesSettings, &(dyn Fn(usize, usize) + Sync)) -> Result<BayesFit, String>,
) -> Result<BayesFit, String> {
    let settings = settings(&args.bayes, &m.bayes, m.seed)?;
    let bar = progress_bar();
    let fit = fit(&settings, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    print(&fit);
    Ok(fit)
}

/// `--method bayes --geo`: samples the geo hierarchy and prints the national ROAS, each
/// geo's, and the diagnostics.
pub fn fit_geo(
    args: &FitArgs,
    m: &MmmSettings,
    panel: &bayes::GeoPanel,
    spec: &ModelSpec,
) -> Result<BayesFit, String> {
    sample(args, m, |settings, progress| {
        bayes::fit_geo(panel, spec, settings, progress)
    })
}

/// Each geo's ROAS (or CPA) per channel with its interval, and how far the national
/// curves are from the geos' summed response.
fn print_geos(fit: &BayesFit) {
    let Some(geo) = &fit.bayes.geo else { return };
    let count = fit.result.spec.kpi_is_count;
    let mut t = output::table();
    let mut header = vec!["geo".to_string(), "population".into()];
    header.extend(
        fit.result
            .channels
            .iter()
            .map(|c| format!("{} {}", c.name, if count { "CPA" } else { "ROAS" })),
    );
    t.set_header(header);
    for g in &geo.geos {
        let mut row = vec![g.name.clone(), output::num(Some(g.population), 0)];
        for c in &g.channels {
            row.push(match c.roas {
                Some(r) if count => format!(
                    "{} ({}–{})",
                    output::num(Some(1.0 / r.value), 2),
                    output::num(Some(1.0 / r.upper), 2),
                    output::num(Some(1.0 / r.lower), 2)
                ),
                Some(r) => format!(
                    "{} ({}–{})",
                    output::num(Some(r.value), 2),
                    output::num(Some(r.lower), 2),
                    output::num(Some(r.upper), 2)
                ),
                None => "no spend".into(),
            });
        }
        t.add_row(row);
    }
    println!("{t}");
    println!(
        "geo hierarchy over {} geos{}; national curves match the geos' summed response within {}",
        geo.geos.len(),
        if geo.time_effects {
            ", one effect per period shared by the geos"
        } else {
            ""
        },
        geo.curve_error
            .iter()
            .map(|(c, e)| format!("{c} {:.1} %", e * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn print(fit: &BayesFit) {
    print_geos(fit);
    let r = &fit.result;
    let b = &fit.bayes;
    let pct = b.settings.interval * 100.0;
    let mut t = output::table();
    let count = r.spec.kpi_is_count;
    t.set_header([
        "channel".to_string(),
        "spend".into(),
        "share of spend".into(),
        "share of effect".into(),
        (if count { "CPA" } else { "ROAS" }).into(),
        format!("{pct:.0}% credible interval"),
        "marginal ROAS".into(),
        "R-hat".into(),
        "ESS bulk".into(),
    ]);
    for c in &r.channels {
        let e = match (&c.cpa, count) {
            (Some(cpa), true) => *cpa,
            _ => c.roas,
        };
        let p = b
            .parameters
            .iter()
            .find(|p| p.name == format!("{}.roas", c.name));
        t.add_row([
            c.name.clone(),
            output::num(Some(c.spend), 0),
            output::rate(Some(c.spend_share)),
            output::rate(Some(c.effect_share.value)),
            output::num(Some(e.value), 2),
            format!(
                "{} – {}",
                output::num(Some(e.lower), 2),
                output::num(Some(e.upper), 2)
            ),
            output::num(Some(c.mroas.value), 2),
            p.map_or("-".into(), |p| format!("{:.3}", p.rhat)),
            p.map_or("-".into(), |p| format!("{:.0}", p.ess_bulk)),
        ]);
    }
    println!("{t}");
    let d = &r.diagnostics;
    println!(
        "R² {:.3} (posterior mean fit), NRMSE {:.4}, MAPE {:.1} %{}",
        d.train.r2,
        d.train.nrmse,
        d.train.mape * 100.0,
        d.holdout.map_or(String::new(), |h| format!(
            "; holdout NRMSE {:.4}, MAPE {:.1} %",
            h.nrmse,
            h.mape * 100.0
        ))
    );
    for l in &d.lift_tests {
        println!(
            "lift test {} ({}): measured {}, posterior mean {}",
            l.label,
            l.channel,
            output::num(Some(l.measured), 0),
            output::num(Some(l.predicted), 0)
        );
    }
    println!(
        "NUTS: {} chains × {} draws after {} tuning in {:.2} s; max R-hat {:.4}, min ESS bulk {:.0} / tail {:.0} ({:.0} bulk ESS per second), divergences {}, BFMI {}",
        b.settings.chains,
        b.settings.draws,
        b.settings.tune,
        b.seconds,
        b.max_rhat,
        b.min_ess_bulk,
        b.min_ess_tail,
        b.min_ess_bulk / b.seconds.max(1e-9),
        b.divergences,
        b.bfmi
            .iter()
            .map(|v| format!("{v:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if b.warnings.is_empty() {
        println!(
            "diagnostics: all checks pass (R-hat ≤ 1.01, ESS ≥ 400, no divergences, BFMI ≥ 0.3)"
        );
    }
    for w in &b.warnings {
        println!("warning: {w}");
    }
}

/// `result.json`: the ridge's contract with the `bayes` section beside it.
pub fn result_json(file: &ResultFile, fit: Option<&BayesFit>) -> Result<Vec<u8>, String> {
    let Some(fit) = fit else {
        return serde_json::to_vec_pretty(file).map_err(|e| e.to_string());
    };
    let mut v = serde_json::to_value(file).map_err(|e| e.to_string())?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert(
            "bayes".into(),
            serde_json::to_value(&fit.bayes).map_err(|e| e.to_string())?,
        );
    }
    serde_json::to_vec_pretty(&v).map_err(|e| e.to_string())
}

/// `draws.csv`: chain, draw and each channel's ROAS per posterior draw.
pub fn write_draws(dir: &Path, fit: Option<&BayesFit>) -> Result<(), String> {
    let Some(fit) = fit else { return Ok(()) };
    let names: Vec<&str> = fit
        .result
        .channels
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let mut out = String::from("chain,draw");
    for n in &names {
        out.push_str(&format!(",{n}_roas"));
    }
    out.push('\n');
    let per_chain = fit.bayes.settings.draws;
    let total = fit.roas_draws.first().map_or(0, Vec::len);
    for i in 0..total {
        out.push_str(&format!("{},{}", i / per_chain, i % per_chain));
        for col in &fit.roas_draws {
            out.push_str(&format!(",{}", col[i]));
        }
        out.push('\n');
    }
    output::write_atomic(&dir.join("draws.csv"), out.as_bytes())
}
