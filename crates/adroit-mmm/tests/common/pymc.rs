//! PyMC-Marketing's MMM example, shared by the ridge and the Bayesian tests: the table,
//! the model specification of its notebook and the true ROAS of its generating process
//! (`../shared/data/mmm/PROVENANCE.md`).

use adroit_effects::{Adstock, Saturation};
use adroit_mmm::{ChannelSpec, MmmData, ModelSpec, SaturationKind};
use std::path::Path;

pub fn load() -> Option<MmmData> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/mmm/pymc_marketing_mmm_example.csv");
    if !path.exists() {
        eprintln!("skipped: {} not found", path.display());
        return None;
    }
    let mut r = csv::Reader::from_path(&path).unwrap();
    let mut d = MmmData {
        days: vec![],
        kpi: vec![],
        spend: vec![vec![], vec![]],
        controls: vec![],
        events: vec![vec![], vec![]],
    };
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    for row in r.records() {
        let row = row.unwrap();
        let date = chrono::NaiveDate::parse_from_str(&row[0], "%Y-%m-%d").unwrap();
        d.days.push((date - epoch).num_days() as i32);
        d.kpi.push(row[1].parse().unwrap());
        d.spend[0].push(row[2].parse().unwrap());
        d.spend[1].push(row[3].parse().unwrap());
        d.events[0].push(row[4].parse().unwrap());
        d.events[1].push(row[5].parse().unwrap());
    }
    Some(d)
}

pub fn true_roas(spend: &[f64], alpha: f64, lambda: f64, beta: f64) -> f64 {
    let a = Adstock::Geometric {
        alpha,
        l_max: 8,
        normalize: true,
    }
    .apply(spend);
    let s = Saturation::Logistic { lambda };
    a.iter().map(|v| beta * s.apply(*v)).sum::<f64>() / spend.iter().sum::<f64>()
}

pub fn spec() -> ModelSpec {
    let channel = |name: &str| ChannelSpec {
        saturation: SaturationKind::Logistic,
        ..ChannelSpec::new(name)
    };
    ModelSpec {
        events: vec!["event_1".into(), "event_2".into()],
        ..ModelSpec::new(vec![channel("x1"), channel("x2")])
    }
}
