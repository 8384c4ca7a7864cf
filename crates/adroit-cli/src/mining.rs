//! `adroit cluster` (k-means segments) and `adroit rules` (market-basket association
//! rules): the door over `adroit_learn::cluster` and `adroit_learn::rules`. Loads
//! files, checks the inputs, calls the library, prints tables and writes results.

use crate::frame::load_frame;
use crate::output::{self, Progress, num};
use adroit_data::arrow::array::{Array, StringArray};
use adroit_data::arrow::datatypes::DataType;
use adroit_data::{Engine, TableSpec};
use adroit_learn::cluster::{self, KMeans, KScore, Standardizer};
use adroit_learn::data::{Frame, Values};
use adroit_learn::rules::{self, Itemset, Rule};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// ───────────────────────────── cluster ─────────────────────────────

#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// The rows to segment: CSV, TSV, Parquet or JSON lines with a header.
    #[arg(long)]
    pub data: PathBuf,
    /// Columns to cluster on (comma-separated); default: every numeric column.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Number of clusters: one (`4`) or an inclusive range (`2..10`) whose k with the
    /// best silhouette is chosen.
    #[arg(long, default_value = "2..10", value_parser = parse_k)]
    pub k: KChoice,
    /// Cluster the raw values instead of z-scores (mean 0, population sd 1).
    #[arg(long)]
    pub no_standardize: bool,
    /// Seed of the k-means++ starts; the same seed gives the same clusters.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// k-means++ starts per k; the one with the lowest inertia wins.
    #[arg(long, default_value_t = 10)]
    pub restarts: usize,
    /// Write clusters.json and assignments.csv (atomically) into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `table` for people, `json` (clusters.json's content) for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ClusterFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClusterFormat {
    Table,
    Json,
}

/// `--k`: one k or an inclusive range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KChoice {
    One(usize),
    Range(usize, usize),
}

fn parse_k(text: &str) -> Result<KChoice, String> {
    let number = |s: &str| {
        s.trim().parse::<usize>().map_err(|_| {
            format!("`{text}` is not a number of clusters; write one k (`4`) or a range (`2..10`)")
        })
    };
    match text.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b.trim_start_matches('='))?);
            if a < 2 {
                return Err(format!(
                    "a range of k starts at 2 or more (the silhouette compares at least two clusters); got {a}"
                ));
            }
            if b < a {
                return Err(format!(
                    "the range {a}..{b} is empty; write the smaller k first"
                ));
            }
            Ok(if a == b {
                KChoice::One(a)
            } else {
                KChoice::Range(a, b)
            })
        }
        None => match number(text)? {
            0 => Err("k must be at least 1".into()),
            k => Ok(KChoice::One(k)),
        },
    }
}

/// One cluster as reported: centers in the data's own units.
#[derive(Debug, Serialize)]
struct ClusterSummary {
    cluster: usize,
    size: usize,
    share: f64,
    center: Vec<f64>,
}

/// Everything `clusters.json` holds.
#[derive(Debug, Serialize)]
struct ClusterResult {
    data: String,
    rows: usize,
    columns: Vec<String>,
    standardized: bool,
    /// Per-column mean and population sd used for the z-scores (absent when raw).
    #[serde(skip_serializing_if = "Option::is_none")]
    scaling: Option<Standardizer>,
    seed: u64,
    restarts: usize,
    k: usize,
    /// Inertia and silhouette are measured in the space clustered: z-scores when
    /// standardized, raw units otherwise.
    space: &'static str,
    /// (k, inertia, silhouette) of every k tried; one point for a single k.
    curve: Vec<CurvePoint>,
    inertia: f64,
    silhouette: Option<f64>,
    iterations: usize,
    /// Largest cluster first.
    clusters: Vec<ClusterSummary>,
}

#[derive(Debug, Serialize)]
struct CurvePoint {
    k: usize,
    inertia: f64,
    silhouette: Option<f64>,
}

impl From<KScore> for CurvePoint {
    fn from(s: KScore) -> Self {
        CurvePoint {
            k: s.k,
            inertia: s.inertia,
            silhouette: Some(s.silhouette),
        }
    }
}

/// The columns to cluster on: the named ones, each checked to exist and be numeric,
/// else every numeric column.
fn pick_columns(frame: &Frame, wanted: &[String], shown: &str) -> Result<Vec<String>, String> {
    if wanted.is_empty() {
        let numeric: Vec<String> = frame
            .columns
            .iter()
            .filter(|c| matches!(c.values, Values::Numeric(_)))
            .map(|c| c.name.clone())
            .collect();
        if numeric.is_empty() {
            return Err(format!(
                "{shown} has no numeric column to cluster on (columns: {}); k-means needs numbers",
                frame.names().join(", ")
            ));
        }
        return Ok(numeric);
    }
    let names = frame.names();
    for name in wanted {
        match frame.column(name) {
            None => {
                let hint = adroit_config::closest(name, &names)
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                return Err(format!(
                    "{shown} has no column `{name}`{hint} (columns: {})",
                    names.join(", ")
                ));
            }
            Some(c) => {
                if let Values::Categorical(values) = &c.values {
                    let example = values
                        .iter()
                        .enumerate()
                        .find_map(|(i, v)| {
                            v.as_ref()
                                .filter(|v| v.trim().parse::<f64>().is_err())
                                .map(|v| format!(" (e.g. \"{v}\" in row {})", frame.source_row(i)))
                        })
                        .unwrap_or_default();
                    return Err(format!(
                        "column `{name}` in {shown} is text{example}; k-means clusters numbers. Drop it from --columns or encode it as numbers first"
                    ));
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = wanted.iter().find(|n| !seen.insert(n.as_str())) {
        return Err(format!("column `{dup}` is listed twice in --columns"));
    }
    Ok(wanted.to_vec())
}

/// The chosen columns as rows; the first missing value is an error naming its row.
fn rows_of(frame: &Frame, columns: &[String], shown: &str) -> Result<Vec<Vec<f64>>, String> {
    let cols: Vec<&[f64]> = columns
        .iter()
        .map(|name| match &frame.column(name).expect("checked").values {
            Values::Numeric(v) => v.as_slice(),
            Values::Categorical(_) => unreachable!("checked numeric"),
        })
        .collect();
    let mut missing: Option<(usize, &str)> = None;
    let mut missing_rows = 0usize;
    for i in 0..frame.rows() {
        if let Some(j) = cols.iter().position(|c| !c[i].is_finite()) {
            missing_rows += 1;
            missing.get_or_insert((i, columns[j].as_str()));
        }
    }
    if let Some((i, col)) = missing {
        return Err(format!(
            "{shown}: row {} has no value in column `{col}` ({missing_rows} row(s) have a missing value in the clustered columns); k-means needs every value, so fill them or drop those rows (nothing is dropped silently)",
            frame.source_row(i)
        ));
    }
    Ok((0..frame.rows())
        .map(|i| cols.iter().map(|c| c[i]).collect())
        .collect())
}

pub fn run_cluster(args: ClusterArgs) -> Result<ExitCode, String> {
    if args.restarts == 0 {
        return Err("--restarts must be at least 1".into());
    }
    let shown = args.data.display().to_string();
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let progress = Progress::new();
    progress.message(format!("loading {shown}"));
    let frame = load_frame(&engine, &args.data);
    progress.finish();
    let frame = frame?;
    let wanted: Vec<String> = args
        .columns
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let columns = pick_columns(&frame, &wanted, &shown)?;
    let raw = match rows_of(&frame, &columns, &shown) {
        Ok(r) => r,
        Err(msg) => {
            eprintln!("error: {msg}");
            return Ok(ExitCode::from(1));
        }
    };
    let n = raw.len();
    if n == 0 {
        return Err(format!("{shown} has no rows to cluster"));
    }
    let k_choice = match args.k {
        KChoice::One(k) | KChoice::Range(k, _) if k > n => {
            return Err(format!(
                "k = {k} is more clusters than rows ({n}); choose a smaller --k"
            ));
        }
        KChoice::Range(a, b) if b > n => {
            eprintln!("note: {shown} has {n} rows, so k is tried from {a} to {n} only");
            if a == n {
                KChoice::One(n)
            } else {
                KChoice::Range(a, n)
            }
        }
        other => other,
    };
    let standardized = !args.no_standardize;
    let scaling = standardized.then(|| Standardizer::fit(&raw).expect("rows checked"));
    let rows = match &scaling {
        Some(z) => z.transform(&raw),
        None => raw,
    };

    let progress = Progress::new();
    let (k, curve) = match k_choice {
        KChoice::One(k) => (k, None),
        KChoice::Range(a, b) => {
            progress.message(format!("fitting k = {a}..{b} and their silhouettes"));
            let (best, curve) = cluster::choose_k(&rows, a, b, args.seed, args.restarts)
                .ok_or("k-means could not fit these rows")?;
            (best, Some(curve))
        }
    };
    progress.message(format!("fitting k = {k}"));
    // The same seed and restarts as in choose_k, so this is the curve's fit for k.
    let fit = cluster::kmeans(&rows, k, args.seed, args.restarts)
        .ok_or("k-means could not fit these rows")?;
    let silhouette = if k >= 2 {
        match &curve {
            Some(c) => c.iter().find(|p| p.k == k).map(|p| p.silhouette),
            None => cluster::silhouette(&rows, &fit.labels),
        }
    } else {
        None
    };
    progress.finish();

    let (order, labels) = relabel(&fit);
    let clusters: Vec<ClusterSummary> = order
        .iter()
        .enumerate()
        .map(|(new, &old)| {
            let size = fit.labels.iter().filter(|l| **l == old).count();
            let center = match &scaling {
                Some(z) => z.inverse(&fit.centers[old]),
                None => fit.centers[old].clone(),
            };
            ClusterSummary {
                cluster: new,
                size,
                share: size as f64 / n as f64,
                center,
            }
        })
        .collect();
    let curve = match curve {
        Some(c) => c.into_iter().map(CurvePoint::from).collect(),
        None => vec![CurvePoint {
            k,
            inertia: fit.inertia,
            silhouette,
        }],
    };
    let result = ClusterResult {
        data: shown,
        rows: n,
        columns,
        standardized,
        scaling,
        seed: args.seed,
        restarts: args.restarts,
        k,
        space: if standardized { "standardized" } else { "raw" },
        curve,
        inertia: fit.inertia,
        silhouette,
        iterations: fit.iterations,
        clusters,
    };
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())? + "\n";
    if let Some(dir) = &args.out {
        output::write_atomic(&dir.join("clusters.json"), json.as_bytes())?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["row", "cluster"])
            .map_err(|e| e.to_string())?;
        for (i, label) in labels.iter().enumerate() {
            w.write_record([frame.source_row(i).to_string(), label.to_string()])
                .map_err(|e| e.to_string())?;
        }
        let bytes = w.into_inner().map_err(|e| e.to_string())?;
        output::write_atomic(&dir.join("assignments.csv"), &bytes)?;
    }
    let text = match args.format {
        ClusterFormat::Json => json,
        ClusterFormat::Table => render_clusters(&result, args.out.as_deref()),
    };
    output::write_output(None, text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Clusters renumbered largest first (ties: by center), so output does not depend on
/// the order k-means++ happened to pick them. Returns the old label of each new
/// cluster and every row's new label.
fn relabel(fit: &KMeans) -> (Vec<usize>, Vec<usize>) {
    let k = fit.centers.len();
    let mut sizes = vec![0usize; k];
    for l in &fit.labels {
        sizes[*l] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| {
        sizes[b].cmp(&sizes[a]).then_with(|| {
            fit.centers[a]
                .iter()
                .zip(&fit.centers[b])
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        })
    });
    let mut new_of = vec![0usize; k];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new;
    }
    let labels = fit.labels.iter().map(|l| new_of[*l]).collect();
    (order, labels)
}

fn render_clusters(r: &ClusterResult, out: Option<&Path>) -> String {
    let mut text = format!(
        "{} rows of {}; columns: {} ({})\n",
        r.rows,
        r.data,
        r.columns.join(", "),
        if r.standardized {
            "clustered as z-scores; centers in the original units"
        } else {
            "clustered on raw values"
        }
    );
    if r.curve.len() > 1 {
        let mut t = output::table();
        t.set_header([
            "k".to_string(),
            format!("inertia ({})", r.space),
            "silhouette".into(),
            String::new(),
        ]);
        for p in &r.curve {
            t.add_row([
                p.k.to_string(),
                num(Some(p.inertia), 3),
                num(p.silhouette, 4),
                if p.k == r.k {
                    "← best silhouette".into()
                } else {
                    String::new()
                },
            ]);
        }
        text.push_str(&format!("\nElbow and silhouette by k\n{t}\n"));
    }
    text.push_str(&format!(
        "\nk = {}: inertia {}, silhouette {}\n",
        r.k,
        num(Some(r.inertia), 3),
        r.silhouette
            .map(|s| format!("{s:.4}"))
            .unwrap_or_else(|| "n/a (one cluster)".into())
    ));
    let mut t = output::table();
    let mut header = vec!["cluster".to_string(), "size".into(), "share".into()];
    header.extend(r.columns.iter().cloned());
    t.set_header(header);
    for c in &r.clusters {
        let mut row = vec![
            c.cluster.to_string(),
            num(Some(c.size as f64), 0),
            output::rate(Some(c.share)),
        ];
        row.extend(c.center.iter().map(|v| num(Some(*v), 3)));
        t.add_row(row);
    }
    text.push_str(&format!("{t}\n"));
    if let Some(dir) = out {
        text.push_str(&format!(
            "\nwrote {} and {}\n",
            dir.join("clusters.json").display(),
            dir.join("assignments.csv").display()
        ));
    }
    text
}

// ───────────────────────────── rules ─────────────────────────────

#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("input").required(true).multiple(true).args(["baskets", "transactions", "config"]))]
pub struct RulesArgs {
    /// One basket per line, items separated by commas, no header (CSV quoting allowed).
    #[arg(long)]
    pub baskets: Option<PathBuf>,
    /// A transactions table (customer_id, timestamp, amount, [order_id], product).
    #[arg(long)]
    pub transactions: Option<PathBuf>,
    /// An adroit.toml whose [transactions] section maps a product column.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Smallest share of baskets an itemset must appear in (0 < s ≤ 1).
    #[arg(long, default_value_t = 0.01)]
    pub min_support: f64,
    /// Smallest confidence P(consequent | antecedent) of a rule (0 < c ≤ 1).
    #[arg(long, default_value_t = 0.3)]
    pub min_confidence: f64,
    /// Largest itemset size.
    #[arg(long, default_value_t = 10)]
    pub max_len: usize,
    /// Mine only the baskets of customers in this segment (cross-sell rules per
    /// segment), as named in --segments.
    #[arg(long, requires = "segments")]
    pub segment: Option<String>,
    /// A customers table with customer_id and segment columns, e.g. the CSV of
    /// `adroit customers summary --out`.
    #[arg(long, requires = "segment")]
    pub segments: Option<PathBuf>,
    /// Only rules with one item after ⇒ (arules' convention); default: every split (mlxtend's).
    #[arg(long)]
    pub single_consequent: bool,
    /// Rules shown in the table (highest lift first).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Write every rule (atomically) to this file in --format; stdout then shows the summary and top rules.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `table` for people; `json` (settings, counts, itemsets, rules) or `csv` (one rule per row) for programs.
    #[arg(long, value_enum, default_value = "table")]
    pub format: RulesFormat,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RulesFormat {
    Table,
    Json,
    Csv,
}

/// Baskets as item indices, with the item names and what was left out.
struct Baskets {
    source: String,
    transactions: Vec<Vec<usize>>,
    /// The customer of each basket, when the baskets come from a transactions table.
    customers: Vec<Option<String>>,
    items: Vec<String>,
    /// Notes on rows left out (rows without a product), shown with the summary.
    notes: Vec<String>,
}

#[derive(Default)]
struct ItemIndex {
    index: HashMap<String, usize>,
    names: Vec<String>,
}

impl ItemIndex {
    fn id(&mut self, item: &str) -> usize {
        if let Some(i) = self.index.get(item) {
            return *i;
        }
        self.names.push(item.to_string());
        self.index.insert(item.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// The customer ids of one segment in a customers table (customer_id, segment).
fn segment_members(
    path: &Path,
    segment: &str,
) -> Result<std::collections::HashSet<String>, String> {
    let shown = path.display().to_string();
    let mut r = csv::Reader::from_path(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let headers = r.headers().map_err(|e| format!("{shown}: {e}"))?.clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            format!(
                "{shown}: no column `{name}` (columns: {}); give the CSV of `adroit customers summary --out`",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let (id, seg) = (col("customer_id")?, col("segment")?);
    let mut members = std::collections::HashSet::new();
    let mut seen = std::collections::BTreeSet::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| format!("{shown}: {e}"))?;
        let s = rec.get(seg).unwrap_or_default();
        seen.insert(s.to_string());
        if s == segment {
            members.insert(rec.get(id).unwrap_or_default().to_string());
        }
    }
    if members.is_empty() {
        return Err(format!(
            "{shown}: no customer in segment {segment:?} (segments: {})",
            seen.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(members)
}

/// Reads a basket file: one basket per line, items trimmed, empty items and lines skipped.
fn read_baskets(path: &Path) -> Result<Baskets, String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut items = ItemIndex::default();
    let mut transactions = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!(
                "{shown}, line {}: {e}; save the file as UTF-8 text with one basket per line",
                p.line()
            ),
            None => format!("{shown}: {e}"),
        })?;
        let mut basket: Vec<usize> = record
            .iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| items.id(s))
            .collect();
        basket.sort_unstable();
        basket.dedup();
        if !basket.is_empty() {
            transactions.push(basket);
        }
    }
    Ok(Baskets {
        source: shown,
        customers: vec![None; transactions.len()],
        transactions,
        items: items.names,
        notes: Vec::new(),
    })
}

/// Loads the transactions contract table and groups its products into baskets: by
/// order_id when the table has one, else by customer and timestamp.
fn transaction_baskets(
    args: &RulesArgs,
    progress: &Progress,
) -> Result<Result<Baskets, String>, String> {
    let sources = output::Sources {
        config: args.config.clone(),
        transactions: args.transactions.clone(),
        ..Default::default()
    };
    let (config, base) = output::resolve_sources(&sources)?;
    let Some(section) = &config.transactions else {
        return Err(format!(
            "{} has no [transactions] section; add one (path and column names) or give --transactions FILE",
            args.config
                .as_deref()
                .unwrap_or(Path::new("the config"))
                .display()
        ));
    };
    let spec = TableSpec::transactions(section);
    let engine = Engine::new().map_err(|e| e.to_string())?;
    let table = match output::load_contract_table(&engine, &config, &base, &spec, progress) {
        Ok(t) => t,
        Err(msg) => return Ok(Err(msg)),
    };
    let shown = table.file.clone();
    if !table.has("product") {
        return Err(format!(
            "the transactions table ({shown}) has no product column, so there are no baskets to mine; map it in the config's [transactions] section: product = \"your product column\" (or name the column `product`)"
        ));
    }
    let text = |col: &str| -> Result<Option<StringArray>, String> {
        let Some(array) = table.batch.column_by_name(col) else {
            return Ok(None);
        };
        let cast = adroit_data::arrow::compute::cast(array, &DataType::Utf8)
            .map_err(|e| format!("{shown}: column `{col}`: {e}"))?;
        Ok(cast.as_any().downcast_ref::<StringArray>().cloned())
    };
    let product = text("product")?.expect("checked");
    let order = text("order_id")?;
    let customer = text("customer_id")?;
    let timestamp = text("timestamp")?;
    let value = |a: Option<&StringArray>, i: usize| -> Option<String> {
        a.filter(|a| !a.is_null(i))
            .map(|a| a.value(i).trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut items = ItemIndex::default();
    let mut basket_of: HashMap<(u8, String, String), usize> = HashMap::new();
    let mut transactions: Vec<Vec<usize>> = Vec::new();
    let mut owners: Vec<Option<String>> = Vec::new();
    let (mut no_product, mut first_no_product) = (0usize, None);
    for i in 0..table.num_rows() {
        let Some(p) = value(Some(&product), i) else {
            no_product += 1;
            first_no_product.get_or_insert(table.source_row(i));
            continue;
        };
        // Keys from different columns never collide: the first part says which.
        let key = match value(order.as_ref(), i) {
            Some(o) => (0, o, String::new()),
            None => (
                1,
                value(customer.as_ref(), i).unwrap_or_default(),
                value(timestamp.as_ref(), i).unwrap_or_default(),
            ),
        };
        let next = transactions.len();
        let b = *basket_of.entry(key).or_insert(next);
        if b == next {
            transactions.push(Vec::new());
            owners.push(value(customer.as_ref(), i));
        }
        let id = items.id(&p);
        transactions[b].push(id);
    }
    for t in &mut transactions {
        t.sort_unstable();
        t.dedup();
    }
    let mut notes = vec![format!(
        "baskets grouped by {}",
        if order.is_some() {
            "order_id"
        } else {
            "customer_id and timestamp (map order_id to group by order)"
        }
    )];
    if no_product > 0 {
        notes.push(format!(
            "{no_product} row(s) without a product were left out (first: row {})",
            first_no_product.unwrap_or_default()
        ));
    }
    Ok(Ok(Baskets {
        source: shown,
        transactions,
        customers: owners,
        items: items.names,
        notes,
    }))
}

/// A mined itemset with item names.
#[derive(Serialize)]
struct NamedItemset {
    items: Vec<String>,
    count: u64,
    support: f64,
}

/// A rule with item names; conviction is null when infinite (confidence 1).
#[derive(Serialize)]
struct NamedRule {
    antecedent: Vec<String>,
    consequent: Vec<String>,
    support: f64,
    confidence: f64,
    lift: f64,
    leverage: f64,
    conviction: Option<f64>,
}

#[derive(Serialize)]
struct RulesSettings {
    source: String,
    min_support: f64,
    min_confidence: f64,
    max_len: usize,
    single_consequent: bool,
}

#[derive(Serialize)]
struct RulesCounts {
    baskets: usize,
    items: usize,
    itemsets: usize,
    rules: usize,
}

#[derive(Serialize)]
struct RulesResult {
    settings: RulesSettings,
    counts: RulesCounts,
    /// Smallest first, then most frequent.
    itemsets: Vec<NamedItemset>,
    /// Highest lift first.
    rules: Vec<NamedRule>,
    #[serde(skip)]
    notes: Vec<String>,
}

fn names(ids: &[usize], items: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|i| items[*i].clone()).collect();
    v.sort();
    v
}

fn check_share(value: f64, flag: &str, what: &str) -> Result<(), String> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(format!(
            "--{flag} must be a share above 0 and at most 1 (e.g. 0.01 for 1% of baskets); got {value}. It is the {what}"
        ))
    }
}

pub fn run_rules(args: RulesArgs) -> Result<ExitCode, String> {
    check_share(
        args.min_support,
        "min-support",
        "smallest share of baskets an itemset must appear in",
    )?;
    check_share(
        args.min_confidence,
        "min-confidence",
        "smallest P(consequent | antecedent) a rule must have",
    )?;
    // Rules come from every split of an itemset (2^len of them).
    if !(1..=32).contains(&args.max_len) {
        return Err(format!(
            "--max-len must be between 1 and 32 (rules split each itemset 2^len ways); got {}",
            args.max_len
        ));
    }
    if args.baskets.is_some() && (args.transactions.is_some() || args.config.is_some()) {
        return Err("give either --baskets FILE or a transactions table (--transactions / --config), not both".into());
    }
    let progress = Progress::new();
    let baskets = match &args.baskets {
        Some(path) => {
            progress.message(format!("reading {}", path.display()));
            read_baskets(path).map(Ok)
        }
        None => transaction_baskets(&args, &progress),
    };
    let mut baskets = match baskets {
        Ok(Ok(b)) => b,
        // The data has errors: exit 1, as `adroit metrics` does.
        Ok(Err(msg)) => {
            progress.finish();
            eprintln!("error: {msg}");
            return Ok(ExitCode::from(1));
        }
        Err(msg) => {
            progress.finish();
            return Err(msg);
        }
    };
    if let (Some(segment), Some(path)) = (&args.segment, &args.segments) {
        if args.baskets.is_some() {
            progress.finish();
            return Err("--segment needs baskets from a transactions table (their customers); a --baskets file has none".into());
        }
        let members = segment_members(path, segment)?;
        let before = baskets.transactions.len();
        let keep: Vec<bool> = baskets
            .customers
            .iter()
            .map(|c| c.as_ref().is_some_and(|c| members.contains(c)))
            .collect();
        let mut k = keep.iter();
        baskets
            .transactions
            .retain(|_| *k.next().expect("one flag per basket"));
        baskets.notes.push(format!(
            "{} of {before} baskets belong to the {} customers of segment {segment:?}",
            baskets.transactions.len(),
            members.len()
        ));
    }
    if baskets.transactions.is_empty() {
        progress.finish();
        return Err(format!("{} holds no baskets", baskets.source));
    }
    progress.message("mining frequent itemsets");
    let n = baskets.transactions.len();
    let sets: Vec<Itemset> =
        rules::frequent_itemsets(&baskets.transactions, args.min_support, args.max_len);
    progress.message("making rules");
    let found: Vec<Rule> =
        rules::association_rules(&sets, n, args.min_confidence, args.single_consequent);
    progress.finish();

    let items = &baskets.items;
    let result = RulesResult {
        settings: RulesSettings {
            source: baskets.source.clone(),
            min_support: args.min_support,
            min_confidence: args.min_confidence,
            max_len: args.max_len,
            single_consequent: args.single_consequent,
        },
        counts: RulesCounts {
            baskets: n,
            items: items.len(),
            itemsets: sets.len(),
            rules: found.len(),
        },
        itemsets: sets
            .iter()
            .map(|s| NamedItemset {
                items: names(&s.items, items),
                count: s.count,
                support: s.count as f64 / n as f64,
            })
            .collect(),
        rules: found
            .iter()
            .map(|r| NamedRule {
                antecedent: names(&r.antecedent, items),
                consequent: names(&r.consequent, items),
                support: r.support,
                confidence: r.confidence,
                lift: r.lift,
                leverage: r.leverage,
                conviction: r.conviction,
            })
            .collect(),
        notes: baskets.notes,
    };
    let full = |format: RulesFormat| -> Result<String, String> {
        match format {
            RulesFormat::Table => Ok(render_rules(&result, usize::MAX)),
            RulesFormat::Json => serde_json::to_string_pretty(&result)
                .map(|s| s + "\n")
                .map_err(|e| e.to_string()),
            RulesFormat::Csv => render_rules_csv(&result),
        }
    };
    match &args.out {
        Some(path) if path != Path::new("-") => {
            output::write_atomic(path, full(args.format)?.as_bytes())?;
            let mut text = render_rules(&result, args.top);
            text.push_str(&format!(
                "\nwrote all {} rules to {}\n",
                result.rules.len(),
                path.display()
            ));
            output::write_output(None, text.as_bytes())?;
        }
        _ => {
            let text = match args.format {
                RulesFormat::Table => render_rules(&result, args.top),
                other => full(other)?,
            };
            output::write_output(None, text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One rule per row: antecedent, consequent (items joined by `;`), support, confidence,
/// lift, leverage, conviction (`inf` when confidence is 1).
fn render_rules_csv(r: &RulesResult) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "antecedent",
        "consequent",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
    ])
    .map_err(|e| e.to_string())?;
    for rule in &r.rules {
        w.write_record([
            rule.antecedent.join(";"),
            rule.consequent.join(";"),
            rule.support.to_string(),
            rule.confidence.to_string(),
            rule.lift.to_string(),
            rule.leverage.to_string(),
            rule.conviction
                .map_or_else(|| "inf".into(), |c| c.to_string()),
        ])
        .map_err(|e| e.to_string())?;
    }
    String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())
}

fn render_rules(r: &RulesResult, top: usize) -> String {
    let c = &r.counts;
    let s = &r.settings;
    let mut text = format!(
        "{} baskets, {} items (from {}); min support {}, min confidence {}{}\n{} frequent itemsets, {} rules\n",
        num(Some(c.baskets as f64), 0),
        num(Some(c.items as f64), 0),
        s.source,
        s.min_support,
        s.min_confidence,
        if s.single_consequent {
            ", one-item consequents"
        } else {
            ""
        },
        num(Some(c.itemsets as f64), 0),
        num(Some(c.rules as f64), 0),
    );
    for note in &r.notes {
        text.push_str(&format!("note: {note}\n"));
    }
    if r.rules.is_empty() {
        text.push_str("no rules at these thresholds; lower --min-support or --min-confidence\n");
        return text;
    }
    let shown = r.rules.len().min(top);
    if shown == 0 {
        return text;
    }
    let mut t = output::table();
    t.set_header([
        "rule",
        "support",
        "confidence",
        "lift",
        "leverage",
        "conviction",
    ]);
    for rule in r.rules.iter().take(shown) {
        t.add_row([
            format!(
                "{{{}}} ⇒ {{{}}}",
                rule.antecedent.join(", "),
                rule.consequent.join(", ")
            ),
            format!("{:.4}", rule.support),
            format!("{:.3}", rule.confidence),
            format!("{:.3}", rule.lift),
            format!("{:.4}", rule.leverage),
            rule.conviction
                .map_or_else(|| "inf".into(), |v| format!("{v:.3}")),
        ]);
    }
    let title = if shown < r.rules.len() {
        format!("\nTop {shown} rules by lift\n")
    } else {
        "\nRules by lift\n".to_string()
    };
    text.push_str(&format!("{title}{t}\n"));
    text
}
