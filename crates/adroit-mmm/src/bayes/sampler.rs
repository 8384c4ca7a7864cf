//! The NUTS glue: the density as a `nuts_rs::CpuLogpFunc`, one seeded chain per task,
//! chains spread over threads.

use super::density::Density;
use super::{BayesSettings, MassMatrix};
use nuts_rs::rand::SeedableRng;
use nuts_rs::rand::rngs::ChaCha8Rng;
use nuts_rs::{
    Chain, CpuLogpFunc, CpuMath, CpuMathError, DiagNutsSettings, HasDims, LowRankNutsSettings,
    Settings,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A non-finite log density: the sampler treats it as a divergence.
#[derive(Debug, thiserror::Error)]
#[error("the log density is not finite here")]
pub(crate) struct NotFinite;

impl nuts_rs::LogpError for NotFinite {
    fn is_recoverable(&self) -> bool {
        true
    }
}

struct Logp<'a> {
    density: &'a Density,
}

impl HasDims for Logp<'_> {
    fn dim_sizes(&self) -> HashMap<String, u64> {
        let d = self.density.dim as u64;
        [
            ("unconstrained_parameter".to_string(), d),
            ("dim".to_string(), d),
        ]
        .into_iter()
        .collect()
    }
}

impl CpuLogpFunc for Logp<'_> {
    type LogpError = NotFinite;
    type FlowParameters = ();
    type ExpandedVector = Vec<f64>;

    fn dim(&self) -> usize {
        self.density.dim
    }

    fn logp(&mut self, position: &[f64], grad: &mut [f64]) -> Result<f64, NotFinite> {
        let lp = self.density.logp(position, grad);
        if lp.is_finite() && grad.iter().all(|g| g.is_finite()) {
            Ok(lp)
        } else {
            Err(NotFinite)
        }
    }

    fn expand_vector<R: nuts_rs::rand::Rng + ?Sized>(
        &mut self,
        _rng: &mut R,
        array: &[f64],
    ) -> Result<Vec<f64>, CpuMathError> {
        Ok(array.to_vec())
    }
}

/// One chain's kept draws (unconstrained) and statistics.
pub(crate) struct ChainRun {
    pub draws: Vec<Vec<f64>>,
    pub energy: Vec<f64>,
    pub divergences: usize,
    pub gradients: u64,
    pub step_size: f64,
}

pub(crate) struct Run {
    pub chains: Vec<ChainRun>,
}

/// A starting point near the priors' centres: rates 0.25, saturation parameters 1,
/// coefficients 0.3 (ROI: the prior's median), geo spreads 0.2 with every geo at the
/// level, each intercept at its geo's window mean, base coefficients and time effects
/// 0, sigma a third of the scaled KPI's spread.
pub(crate) fn start(d: &Density) -> Vec<f64> {
    let mut z = vec![0.0; d.dim];
    for c in &d.channels {
        z[c.at] = (0.25f64 / 0.75).ln();
        for p in 0..c.n_sat {
            z[c.at + 1 + p] = 0.0;
        }
        if let Some(at) = c.spread_at {
            z[at] = 0.2f64.ln();
        }
    }
    for (j, c) in d.channels.iter().enumerate() {
        z[c.effect_index()] = match c.prior {
            // The log ROI that makes the coefficient 0.3 at the other starting values
            // (every geo's multiplier 1 there).
            super::ChannelPrior::Coefficient { .. } => {
                let s: f64 = d
                    .transform_geos(j, &z)
                    .iter()
                    .zip(&d.pop)
                    .map(|(tr, p)| p * tr.sat[d.start..d.end].iter().sum::<f64>())
                    .sum();
                (0.3 * d.y_scale * s.max(1e-300) / c.window_spend).ln()
            }
            super::ChannelPrior::Roi { mu, .. } => mu,
        };
    }
    let mut spread = 0.0;
    for (g, y) in d.y.iter().enumerate() {
        let w = &y[d.start..d.end];
        let m = w.iter().sum::<f64>() / w.len() as f64;
        spread += w.iter().map(|v| (v - m).powi(2)).sum::<f64>() / w.len() as f64;
        z[d.intercept_at + g] = m;
    }
    let sd = (spread / d.geos() as f64).sqrt();
    z[d.sigma_at] = (sd / 3.0).max(1e-3).ln();
    z
}

pub(crate) fn sample(
    d: &Density,
    settings: &BayesSettings,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Run, String> {
    let threads = match settings.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
    .clamp(1, settings.chains);
    let total = settings.chains * (settings.tune + settings.draws);
    let done = AtomicUsize::new(0);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<ChainRun, String>>>> =
        Mutex::new((0..settings.chains).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let c = next.fetch_add(1, Ordering::SeqCst);
                    if c >= settings.chains {
                        break;
                    }
                    let r = run_chain(d, settings, c, &|| {
                        let k = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if k.is_multiple_of(50) || k == total {
                            progress(k, total);
                        }
                    });
                    results.lock().expect("no panics while held")[c] = Some(r);
                }
            });
        }
    });
    let chains = results
        .into_inner()
        .expect("no panics while held")
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("a chain did not run".into())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Run { chains })
}

fn run_chain(
    d: &Density,
    settings: &BayesSettings,
    chain: usize,
    tick: &dyn Fn(),
) -> Result<ChainRun, String> {
    // Each chain its own stream: the seed and the chain number, spread apart.
    let mut rng = ChaCha8Rng::seed_from_u64(
        settings
            .seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(chain as u64),
    );
    // Jittered start (uniform ±0.5 on the unconstrained scale around the centre),
    // retried until the density is finite there.
    let centre = start(d);
    let mut grad = vec![0.0; d.dim];
    let mut jitter = ChaCha8Rng::seed_from_u64(settings.seed ^ (0xC0FFEE + chain as u64));
    let mut init = centre.clone();
    for attempt in 0..100 {
        use nuts_rs::rand::RngExt;
        init = centre
            .iter()
            .map(|c| {
                c + if attempt < 99 {
                    jitter.random_range(-0.5..0.5)
                } else {
                    0.0
                }
            })
            .collect();
        if d.logp(&init, &mut grad).is_finite() {
            break;
        }
    }
    let mut out = ChainRun {
        draws: Vec::with_capacity(settings.draws),
        energy: Vec::with_capacity(settings.draws),
        divergences: 0,
        gradients: 0,
        step_size: f64::NAN,
    };
    // The two mass matrices are different types with the same fields and statistics.
    macro_rules! drive {
        ($kind:ident) => {{
            let mut nuts = $kind {
                num_tune: settings.tune as u64,
                num_draws: settings.draws as u64,
                maxdepth: settings.max_depth,
                seed: settings.seed,
                num_chains: settings.chains,
                ..$kind::default()
            };
            nuts.adapt_options.step_size_settings.target_accept = settings.target_accept;
            let math = CpuMath::new(Logp { density: d });
            let mut sampler = nuts
                .new_chain(chain as u64, math, &mut rng)
                .map_err(|e| format!("sampler settings: {e}"))?;
            sampler
                .set_position(&init)
                .map_err(|e| format!("chain {chain}: cannot start: {e}"))?;
            for _ in 0..settings.tune + settings.draws {
                let (draw, _, stats, info) = sampler
                    .expanded_draw()
                    .map_err(|e| format!("chain {chain}: sampling failed: {e}"))?;
                out.gradients += info.num_gradients;
                if !info.tuning {
                    out.draws.push(draw.into_vec());
                    out.energy.push(stats.point.energy);
                    out.divergences += usize::from(info.diverging);
                    out.step_size = info.step_size;
                }
                tick();
            }
        }};
    }
    match settings.mass_matrix {
        MassMatrix::Diagonal => drive!(DiagNutsSettings),
        MassMatrix::LowRank => drive!(LowRankNutsSettings),
    }
    Ok(out)
}
