//! The `adroit.toml` configuration.
//!
//! A config maps the user's own files and column names onto adroit's contract tables
//! (`media`, `kpi`, `touchpoints`, `transactions`, `texts`, `experiments`,
//! `campaign_responses`) so nobody renames their exports. Every section is optional;
//! column names default to the contract's own names.
//!
//! This crate is pure: it parses TOML text and never touches the file system, so every
//! door (CLI, HTTP service, bindings) shares the same types. Paths stay as written; the
//! loader resolves them against the config file's folder.
//!
//! Unknown keys are errors that name the key, where it is, and the closest valid key:
//!
//! ```
//! let err = adroit_config::Config::from_toml_str("[media]\npath = 'm.csv'\nspnd = 'Spend'\n", "adroit.toml")
//!     .unwrap_err();
//! assert!(err.to_string().contains("did you mean `spend`"));
//! ```

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub project: Project,
    pub media: Option<MediaSource>,
    pub kpi: Option<KpiSource>,
    pub touchpoints: Option<TouchpointsSource>,
    pub transactions: Option<TransactionsSource>,
    pub texts: Option<TextsSource>,
    pub experiments: Option<ExperimentsSource>,
    pub campaign_responses: Option<CampaignResponsesSource>,
    #[serde(default)]
    pub validation: Validation,
    #[serde(default)]
    pub cleaning: Cleaning,
    /// How texts are analysed: back ends per field, taxonomy, gazetteer, models.
    #[serde(default)]
    pub text: TextSettings,
    /// How `adroit mmm fit --config` models the media and kpi tables.
    #[serde(default)]
    pub mmm: MmmSettings,
    /// How `adroit attribution --config` credits the touchpoints table's journeys.
    #[serde(default)]
    pub attribution: AttributionSettings,
    /// How `adroit privacy` protects the tables (identifiers, quasi-identifiers, k, l).
    #[serde(default)]
    pub privacy: PrivacySettings,
    /// The bias audit of targeting (`adroit run`'s fairness stage, `adroit fairness`).
    #[serde(default)]
    pub fairness: FairnessSettings,
}

/// The `[fairness]` section: which columns are sensitive and the limits an audit is
/// held to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FairnessSettings {
    /// Sensitive columns of `campaign_responses` (gender, age band, region…); empty: no
    /// audit.
    pub sensitive: Vec<String>,
    /// Largest allowed demographic-parity or equal-opportunity difference.
    pub max_gap: Option<f64>,
    /// Smallest allowed disparate-impact ratio (0.8 is the four-fifths rule).
    pub min_disparate_impact: Option<f64>,
}

impl FairnessSettings {
    /// Rules the TOML grammar cannot express.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("max_gap", self.max_gap),
            ("min_disparate_impact", self.min_disparate_impact),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && (0.0..=1.0).contains(&v))
            {
                return Err(format!("[fairness] {name} = {v}: use a number from 0 to 1"));
            }
        }
        Ok(())
    }
}

/// The `[privacy]` section; command-line flags override each setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    /// Columns `adroit privacy protect` pseudonymises besides the contract's id columns
    /// and what the scan finds.
    pub identifiers: Vec<String>,
    /// Quasi-identifiers for `adroit privacy kanon` (age, zip, gender…).
    pub quasi_identifiers: Vec<String>,
    /// The sensitive column for l-diversity.
    pub sensitive: Option<String>,
    /// Smallest class size (default 5).
    pub k: Option<usize>,
    /// Distinct sensitive values per class (default 2 when a sensitive column is set).
    pub l: Option<usize>,
    /// Environment variable holding the pseudonym key (default ADROIT_PSEUDONYM_KEY).
    /// The key itself never goes in the config.
    pub key_env: Option<String>,
}

impl PrivacySettings {
    /// Rules the TOML grammar cannot express.
    pub fn check(&self) -> Result<(), String> {
        if self.k == Some(0) {
            return Err("[privacy] k = 0: use 2 or more".into());
        }
        if self.l == Some(0) {
            return Err("[privacy] l = 0: use 1 or more".into());
        }
        Ok(())
    }
}

/// The `[attribution]` section; command-line flags override each setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AttributionSettings {
    /// Models to run (first, last, linear, time-decay, position, markov, shapley,
    /// data-driven); empty: all.
    pub models: Vec<String>,
    /// Markov order, 1 to 4 (default 1).
    pub markov_order: Option<u8>,
    /// Only touches at most this long before a journey's end count (`30d`, `12h`).
    pub lookback: Option<String>,
    /// Time-decay half-life (`7d`, or a number of touches).
    pub half_life: Option<String>,
}

impl AttributionSettings {
    /// Rules the TOML grammar cannot express.
    pub fn check(&self) -> Result<(), String> {
        if let Some(o) = self.markov_order
            && !(1..=4).contains(&o)
        {
            return Err(format!("[attribution] markov_order = {o}: use 1 to 4"));
        }
        const MODELS: [&str; 8] = [
            "first",
            "last",
            "linear",
            "time-decay",
            "position",
            "markov",
            "shapley",
            "data-driven",
        ];
        if let Some(m) = self.models.iter().find(|m| !MODELS.contains(&m.as_str())) {
            return Err(format!(
                "[attribution] models: unknown model {m:?}; use {}",
                MODELS.join(", ")
            ));
        }
        Ok(())
    }
}

/// The `[mmm]` section: the marketing mix model of the config's media and kpi tables.
/// Command-line flags override each setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MmmSettings {
    /// `day`, `week` (Monday) or `month`.
    pub grain: String,
    /// Channels of the media table to model (default: all).
    pub channels: Vec<String>,
    /// Controls of the kpi table to use (default: all).
    pub controls: Vec<String>,
    /// Adstock and saturation of every channel (see `adroit mmm fit --help` for names),
    /// the longest carry-over in periods, or a spec file with per-channel families and
    /// search ranges (relative to the config file).
    pub adstock: String,
    pub saturation: String,
    pub l_max: usize,
    pub spec: Option<String>,
    pub trend: bool,
    /// Pairs of yearly Fourier terms.
    pub fourier: usize,
    /// `START..END` in ISO dates; periods before START carry their spend over into it.
    pub window: Option<String>,
    /// Last periods held out of the search.
    pub holdout: usize,
    /// A Prophet-style holiday calendar (ds, holiday, country) and the country to use.
    pub holidays: Option<String>,
    pub country: Option<String>,
    /// Series from `adroit text trends` used as controls, and which of their columns.
    pub text_trends: Option<String>,
    pub text_controls: Vec<String>,
    pub trials: usize,
    pub iterations: usize,
    pub seed: u64,
    pub bootstrap: usize,
    /// `fit` or `balanced`.
    pub select: String,
    /// `ridge` (the search above) or `bayes` (NUTS posterior, `[mmm.bayes]`).
    pub method: String,
    pub bayes: MmmBayes,
}

/// `[mmm.bayes]`: the Bayesian fit's sampler and priors (with `method = "bayes"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MmmBayes {
    pub chains: usize,
    pub draws: usize,
    pub tune: usize,
    pub target_accept: f64,
    /// `low_rank` or `diagonal`.
    pub mass_matrix: String,
    /// Meridian's ROI prior per channel: `tv = [0.2, 0.9]` is log ROI ~ Normal(0.2, 0.9).
    pub roi_priors: std::collections::BTreeMap<String, [f64; 2]>,
    /// Half-normal scale of a channel's coefficient on the scaled KPI: `search = 1.0`.
    pub coef_priors: std::collections::BTreeMap<String, f64>,
    /// Central probability of the lift tests' intervals.
    pub lift_interval: f64,
}

impl Default for MmmBayes {
    fn default() -> Self {
        MmmBayes {
            chains: 4,
            draws: 1000,
            tune: 1000,
            target_accept: 0.9,
            mass_matrix: "low_rank".into(),
            roi_priors: Default::default(),
            coef_priors: Default::default(),
            lift_interval: 0.95,
        }
    }
}

impl Default for MmmSettings {
    fn default() -> Self {
        MmmSettings {
            grain: "week".into(),
            channels: Vec::new(),
            controls: Vec::new(),
            adstock: "geometric".into(),
            saturation: "hill".into(),
            l_max: 8,
            spec: None,
            trend: true,
            fourier: 2,
            window: None,
            holdout: 0,
            holidays: None,
            country: None,
            text_trends: None,
            text_controls: Vec::new(),
            trials: 5,
            iterations: 2000,
            seed: 0,
            bootstrap: 500,
            select: "fit".into(),
            method: "ridge".into(),
            bayes: MmmBayes::default(),
        }
    }
}

impl MmmSettings {
    /// Rules the TOML grammar cannot express.
    pub fn check(&self) -> Result<(), String> {
        if !["day", "week", "month"].contains(&self.grain.as_str()) {
            return Err(format!(
                "[mmm] grain = {:?}: use \"day\", \"week\" or \"month\"",
                self.grain
            ));
        }
        if !["fit", "balanced"].contains(&self.select.as_str()) {
            return Err(format!(
                "[mmm] select = {:?}: use \"fit\" or \"balanced\"",
                self.select
            ));
        }
        if self.holidays.is_some() != self.country.is_some() {
            return Err("[mmm] holidays and country go together: the calendar and the country to take from it".into());
        }
        if self.trials == 0 || self.iterations == 0 {
            return Err("[mmm] trials and iterations must be positive".into());
        }
        if !["ridge", "bayes"].contains(&self.method.as_str()) {
            return Err(format!(
                "[mmm] method = {:?}: use \"ridge\" or \"bayes\"",
                self.method
            ));
        }
        if let Some(name) = self
            .bayes
            .roi_priors
            .keys()
            .find(|c| self.bayes.coef_priors.contains_key(*c))
        {
            return Err(format!(
                "[mmm.bayes] channel {name} has both an ROI prior and a coefficient prior: give one"
            ));
        }
        Ok(())
    }
}

/// Facts about the project that every analysis shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Project {
    pub name: String,
    /// The one currency money columns are in; shown in reports, never converted.
    pub currency: String,
}

impl Default for Project {
    fn default() -> Self {
        Self {
            name: "adroit project".into(),
            currency: "USD".into(),
        }
    }
}

/// How a table's file is read: the shared keys of every table section, gathered by
/// each section's `file()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileOptions {
    /// The file, relative to the config file's folder (or absolute).
    pub path: String,
    /// `csv`, `tsv`, `parquet` or `jsonl`; inferred from the extension when absent.
    pub format: Option<FileFormat>,
    /// Field delimiter of CSV files (one ASCII character); `,` by default, tab for `tsv`.
    pub delimiter: Option<char>,
    /// Text encoding of CSV files; detected when absent (`auto`).
    pub encoding: Encoding,
    /// A chrono format such as `%d/%m/%Y` for the date columns, when detection is ambiguous.
    pub date_format: Option<String>,
}

/// File formats the loader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    Csv,
    Tsv,
    Parquet,
    Jsonl,
}

/// Text encodings of CSV files. Chinese exports are often GBK/GB18030.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 (with or without BOM), else GB18030 when the bytes decode cleanly as such.
    #[default]
    Auto,
    #[serde(rename = "utf-8", alias = "utf8")]
    Utf8,
    /// GB18030 and its subsets GBK and GB2312.
    #[serde(alias = "gbk", alias = "gb2312")]
    Gb18030,
}

/// Long media (one row per date × channel [× campaign × geo]) or wide (one spend column per channel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    #[default]
    Long,
    Wide,
}

/// Declares a table section: the shared file keys (`path`, `format`, `delimiter`,
/// `encoding`, `date_format`) followed by the table's own column keys. A macro rather
/// than `#[serde(flatten)]`, because flatten loses serde's unknown-key candidates and
/// TOML spans, and those make the "did you mean" errors.
macro_rules! section {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// The file, relative to the config file's folder (or absolute).
            pub path: String,
            /// `csv`, `tsv`, `parquet` or `jsonl`; inferred from the extension when absent.
            pub format: Option<FileFormat>,
            /// Field delimiter of CSV files (one ASCII character).
            pub delimiter: Option<char>,
            /// Text encoding of CSV files; detected when absent.
            #[serde(default)]
            pub encoding: Encoding,
            /// A chrono format such as `%d/%m/%Y` for date columns, when detection is ambiguous.
            pub date_format: Option<String>,
            $($body)*
        }

        impl $name {
            /// How the section's file is read.
            pub fn file(&self) -> FileOptions {
                FileOptions {
                    path: self.path.clone(),
                    format: self.format,
                    delimiter: self.delimiter,
                    encoding: self.encoding,
                    date_format: self.date_format.clone(),
                }
            }
        }
    };
}

section! {
    /// The `media` table: spend and delivery by date and channel.
    pub struct MediaSource {
        #[serde(default)]
        pub layout: Layout,
        #[serde(default = "names::date")]
        pub date: String,
        /// Long layout only: the channel column.
        #[serde(default = "names::channel")]
        pub channel: String,
        pub campaign: Option<String>,
        pub geo: Option<String>,
        /// Long layout: the spend column. Wide layout: ignored (see `wide`).
        #[serde(default = "names::spend")]
        pub spend: String,
        pub impressions: Option<String>,
        pub clicks: Option<String>,
        pub conversions: Option<String>,
        pub revenue: Option<String>,
        /// Wide layout only: how channel columns are named.
        pub wide: Option<WideMedia>,
    }
}

/// Column patterns of a wide media table; `{channel}` stands for the channel name.
///
/// Robyn's demo data: `spend = "{channel}_S"` finds `tv_S`, `ooh_S`, …;
/// Meridian's: `spend = "{channel}_spend"`, `impressions = "{channel}_impression"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WideMedia {
    #[serde(default = "names::wide_spend")]
    pub spend: String,
    pub impressions: Option<String>,
    pub clicks: Option<String>,
    pub conversions: Option<String>,
    pub revenue: Option<String>,
    /// The channels to take; every column matching `spend` when absent.
    pub channels: Option<Vec<String>>,
}

impl Default for WideMedia {
    fn default() -> Self {
        Self {
            spend: names::wide_spend(),
            impressions: None,
            clicks: None,
            conversions: None,
            revenue: None,
            channels: None,
        }
    }
}

/// Whether the KPI is money or a count; decides ROAS versus CPA downstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KpiKind {
    #[default]
    Revenue,
    Conversions,
}

section! {
    /// The `kpi` table: the outcome series and its controls.
    pub struct KpiSource {
        #[serde(default = "names::date")]
        pub date: String,
        pub geo: Option<String>,
        /// The KPI column.
        #[serde(default = "names::kpi")]
        pub kpi: String,
        #[serde(default)]
        pub kind: KpiKind,
        /// Control columns: price, promotion, holiday, competitor activity…
        #[serde(default)]
        pub controls: Vec<String>,
        /// Type overrides for controls, e.g. `{ promotion = "flag", region_code = "text" }`;
        /// without one a control is a number when every value parses as one, else text.
        #[serde(default)]
        pub types: BTreeMap<String, ColumnType>,
    }
}

section! {
    /// The `touchpoints` table: user journeys.
    pub struct TouchpointsSource {
        #[serde(default = "names::user_id")]
        pub user_id: String,
        #[serde(default = "names::timestamp")]
        pub timestamp: String,
        #[serde(default = "names::channel")]
        pub channel: String,
        pub campaign: Option<String>,
        pub conversion: Option<String>,
        pub value: Option<String>,
    }
}

section! {
    /// The `transactions` table: purchases by customer.
    pub struct TransactionsSource {
        #[serde(default = "names::customer_id")]
        pub customer_id: String,
        #[serde(default = "names::timestamp")]
        pub timestamp: String,
        #[serde(default = "names::amount")]
        pub amount: String,
        pub order_id: Option<String>,
        pub channel: Option<String>,
        pub product: Option<String>,
    }
}

section! {
    /// The `texts` table: reviews, posts, tickets.
    pub struct TextsSource {
        #[serde(default = "names::id")]
        pub id: String,
        #[serde(default = "names::timestamp")]
        pub timestamp: String,
        #[serde(default = "names::text")]
        pub text: String,
        pub lang: Option<String>,
        pub source: Option<String>,
        pub channel: Option<String>,
        pub product: Option<String>,
        pub customer_id: Option<String>,
        pub rating: Option<String>,
    }
}

section! {
    /// The `experiments` table: lift tests for calibration.
    pub struct ExperimentsSource {
        #[serde(default = "names::channel")]
        pub channel: String,
        #[serde(default = "names::start")]
        pub start: String,
        #[serde(default = "names::end")]
        pub end: String,
        #[serde(default = "names::lift")]
        pub lift: String,
        #[serde(default = "names::spend")]
        pub spend: String,
        pub lift_lower: Option<String>,
        pub lift_upper: Option<String>,
    }
}

section! {
    /// The `campaign_responses` table: a randomised campaign for uplift models.
    pub struct CampaignResponsesSource {
        #[serde(default = "names::customer_id")]
        pub customer_id: String,
        #[serde(default = "names::treatment")]
        pub treatment: String,
        #[serde(default = "names::outcome")]
        pub outcome: String,
        /// Feature columns; all other columns when empty.
        #[serde(default)]
        pub features: Vec<String>,
        /// Type overrides for features, e.g. `{ zip = "text" }`; inferred otherwise.
        #[serde(default)]
        pub types: BTreeMap<String, ColumnType>,
    }
}

/// A type a control or feature column can be forced to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Number,
    Money,
    Text,
    Date,
    Flag,
}

/// Thresholds of the validation rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Validation {
    /// A value is an outlier when its robust z-score |0.6745 (x − median) / MAD| exceeds this.
    pub outlier_z: f64,
    /// A channel with spend in fewer periods than this is flagged as too sparse to model.
    pub min_active_periods: usize,
    /// Dates later than this many days after today are errors (0: any future date).
    pub future_tolerance_days: i64,
    /// Lines longer than this many bytes are rejected before parsing.
    pub max_line_bytes: u64,
    /// How many example rows a finding lists.
    pub max_examples: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Self {
            outlier_z: 3.5,
            min_active_periods: 4,
            future_tolerance_days: 0,
            max_line_bytes: 16 * 1024 * 1024,
            max_examples: 5,
        }
    }
}

/// Explicit, recorded cleaning. Lossless normalisations (currency symbols, thousands
/// separators, BOM, encoding) always happen and are reported; lossy ones only when asked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Cleaning {
    /// Drop rows that repeat an earlier row exactly.
    pub drop_duplicate_rows: bool,
    /// What to do with negative spend: keep it (and report an error), set it to zero, or drop the row.
    pub negative_spend: NegativeSpend,
}

/// Policy for negative spend values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NegativeSpend {
    #[default]
    Keep,
    Zero,
    Drop,
}

/// A text back end, by name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextBackend {
    /// The built-in engine: lexicons, shipped linear models, jieba; no model files.
    #[default]
    Builtin,
    /// A local sentence encoder (see `[text.encoder]`).
    Encoder,
    /// An OpenAI-compatible LLM, remote or the local GGUF model (see `[text.llm]`).
    Llm,
}

/// The `[text]` section: what the text layer computes and with which back end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextSettings {
    /// `auto` (detect per text), `zh`, `en` or `mixed`.
    pub lang: String,
    /// Keywords per text.
    pub keywords: usize,
    /// How the built-in engine ranks keywords: `tfidf` (against the batch) or
    /// `textrank` (within each text, nouns and verbs by jieba's tags).
    pub keyword_method: String,
    /// A TOML file of aspects (`[[aspects]] name = "price" zh = [..] en = [..]`)
    /// replacing the default taxonomy; relative to the config file.
    pub aspects: Option<String>,
    /// A TOML file of names to find by kind (`brand = ["华为", "Apple"]`).
    pub gazetteer: Option<String>,
    /// Sentiment models from `adroit text train` replacing the shipped ones.
    pub model_zh: Option<String>,
    pub model_en: Option<String>,
    /// Which back end computes each field.
    pub backends: TextBackends,
    pub encoder: EncoderSettings,
    pub llm: LlmSettings,
}

impl Default for TextSettings {
    fn default() -> Self {
        Self {
            lang: "auto".into(),
            keywords: 5,
            keyword_method: "tfidf".into(),
            aspects: None,
            gazetteer: None,
            model_zh: None,
            model_en: None,
            backends: TextBackends::default(),
            encoder: EncoderSettings::default(),
            llm: LlmSettings::default(),
        }
    }
}

impl TextSettings {
    /// Rules the TOML grammar cannot express; the CLI applies them to flags too.
    pub fn check(&self) -> Result<(), String> {
        let t = self;
        if !["auto", "zh", "en", "mixed"].contains(&t.lang.as_str()) {
            return Err(format!(
                "[text] lang = {:?}: use \"auto\", \"zh\", \"en\" or \"mixed\"",
                t.lang
            ));
        }
        if !["tfidf", "textrank"].contains(&t.keyword_method.as_str()) {
            return Err(format!(
                "[text] keyword_method = {:?}: use \"tfidf\" or \"textrank\"",
                t.keyword_method
            ));
        }
        if t.backends.aspects == TextBackend::Encoder
            || t.backends.keywords == TextBackend::Encoder
            || t.backends.entities == TextBackend::Encoder
        {
            return Err(
            "[text.backends] the encoder back end computes sentiment and topics only: use \"builtin\" or \"llm\" for aspects, keywords and entities"
                .into(),
        );
        }
        if t.backends.topics == TextBackend::Llm {
            return Err(
            "[text.backends] topics = \"llm\" is not available: use \"builtin\" (NMF) or \"encoder\" (embedding clusters)"
                .into(),
        );
        }
        if t.encoder.batch == 0 {
            return Err("[text.encoder] batch must be positive".into());
        }
        if t.llm.concurrency == 0 || t.llm.timeout_secs == 0 {
            return Err("[text.llm] concurrency and timeout_secs must be positive".into());
        }
        if t.llm.base_url.is_some() && t.llm.model.is_none() {
            return Err(
            "[text.llm] base_url is set but model is not: name the model the endpoint serves (e.g. model = \"deepseek-chat\")"
                .into(),
        );
        }
        Ok(())
    }
}

/// `[text.backends]`: one back end per field; mix freely (e.g. sentiment by the
/// encoder, aspects by the LLM, the rest built-in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TextBackends {
    pub sentiment: TextBackend,
    pub aspects: TextBackend,
    pub keywords: TextBackend,
    pub entities: TextBackend,
    /// Topic discovery: builtin (NMF on TF-IDF) or encoder (clusters of embeddings).
    pub topics: TextBackend,
}

/// `[text.encoder]`: the local sentence encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncoderSettings {
    /// A sentence-transformer folder or encoder file; default: the installed
    /// all-MiniLM-L6-v2 under $ADROIT_MODELS.
    pub model: Option<String>,
    /// A sentiment head from `adroit text train --backend encoder`; without one,
    /// sentiment is zero-shot (similarity to positive and negative prototypes).
    pub head: Option<String>,
    /// Texts per forward pass.
    pub batch: usize,
}

impl Default for EncoderSettings {
    fn default() -> Self {
        Self {
            model: None,
            head: None,
            batch: 32,
        }
    }
}

/// `[text.llm]`: an OpenAI-compatible chat endpoint, or the local GGUF model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmSettings {
    /// e.g. `https://api.deepseek.com/v1`; absent: the local GGUF model runs in-process.
    pub base_url: Option<String>,
    /// The model name the endpoint expects.
    pub model: Option<String>,
    /// The environment variable holding the API key (never the key itself).
    pub api_key_env: String,
    /// A GGUF file for the in-process model; default: the installed SmolLM2-135M-Instruct.
    pub local_model: Option<String>,
    pub timeout_secs: u64,
    pub max_retries: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Where answers are cached (relative to the config file); reruns cost nothing.
    pub cache_dir: Option<String>,
    /// Mask personal data before any text leaves the machine.
    pub mask_pii: bool,
    /// Prices per 1,000 tokens, for the cost line printed at the end.
    pub price_prompt_per_1k: Option<f64>,
    pub price_completion_per_1k: Option<f64>,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            base_url: None,
            model: None,
            api_key_env: "OPENAI_API_KEY".into(),
            local_model: None,
            timeout_secs: 60,
            max_retries: 4,
            concurrency: 4,
            cache_dir: None,
            mask_pii: true,
            price_prompt_per_1k: None,
            price_completion_per_1k: None,
        }
    }
}

mod names {
    macro_rules! defaults {
        ($($name:ident = $value:literal),* $(,)?) => {
            $(pub fn $name() -> String { $value.to_string() })*
        };
    }
    defaults! {
        date = "date", channel = "channel", spend = "spend", kpi = "revenue",
        user_id = "user_id", timestamp = "timestamp", customer_id = "customer_id",
        amount = "amount", id = "id", text = "text", start = "start", end = "end",
        lift = "lift", treatment = "treatment", outcome = "outcome",
        wide_spend = "{channel}_spend",
    }
}

/// The tables a config can name, in the order they are loaded and reported.
pub const TABLE_NAMES: [&str; 7] = [
    "media",
    "kpi",
    "touchpoints",
    "transactions",
    "texts",
    "experiments",
    "campaign_responses",
];

/// A config that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The config's name for messages (usually its path).
    pub origin: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, col)) => write!(
                f,
                "{} line {line}, column {col}: {}",
                self.origin, self.message
            ),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses a config from TOML text; `origin` names it in errors (usually the path).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let position = e.span().map(|span| line_col(text, span.start));
            ConfigError {
                origin: origin.to_string(),
                position,
                message: explain_toml_error(e.message()),
            }
        })?;
        config.check().map_err(|message| ConfigError {
            origin: origin.to_string(),
            position: None,
            message,
        })?;
        Ok(config)
    }

    /// Rules the TOML grammar cannot express.
    fn check(&self) -> Result<(), String> {
        self.mmm.check()?;
        self.attribution.check()?;
        self.privacy.check()?;
        self.fairness.check()?;
        let files = [
            ("media", self.media.as_ref().map(|s| s.file())),
            ("kpi", self.kpi.as_ref().map(|s| s.file())),
            ("touchpoints", self.touchpoints.as_ref().map(|s| s.file())),
            ("transactions", self.transactions.as_ref().map(|s| s.file())),
            ("texts", self.texts.as_ref().map(|s| s.file())),
            ("experiments", self.experiments.as_ref().map(|s| s.file())),
            (
                "campaign_responses",
                self.campaign_responses.as_ref().map(|s| s.file()),
            ),
        ];
        for (table, file) in files {
            let Some(file) = file else { continue };
            let file = &file;
            if file.path.trim().is_empty() {
                return Err(format!("[{table}] path is empty: name the file to load"));
            }
            if let Some(d) = file.delimiter
                && (!d.is_ascii() || d == '"' || d == '\n' || d == '\r')
            {
                return Err(format!(
                    "[{table}] delimiter {d:?} is not usable: give one ASCII character other than a quote or newline"
                ));
            }
        }
        let typed = [
            (
                "kpi",
                "controls",
                self.kpi.as_ref().map(|k| (&k.types, &k.controls)),
            ),
            (
                "campaign_responses",
                "features",
                self.campaign_responses
                    .as_ref()
                    .map(|c| (&c.types, &c.features)),
            ),
        ];
        for (table, list, section) in typed {
            let Some((types, columns)) = section else {
                continue;
            };
            for name in types.keys() {
                // campaign_responses without a feature list takes every column as a feature.
                let takes_all = table == "campaign_responses" && columns.is_empty();
                if !takes_all && !columns.contains(name) {
                    return Err(format!(
                        "[{table}] types names `{name}`, which is not in {list}: add it to {list} or remove the override"
                    ));
                }
            }
        }
        if let Some(media) = &self.media {
            match (media.layout, &media.wide) {
                (Layout::Wide, Some(wide)) if !wide.spend.contains("{channel}") => {
                    return Err(format!(
                        "[media.wide] spend = {:?} has no {{channel}} placeholder: write it like \"{{channel}}_spend\"",
                        wide.spend
                    ));
                }
                (Layout::Long, Some(_)) => {
                    return Err(
                        "[media.wide] is set but [media] layout is \"long\": set layout = \"wide\" or remove [media.wide]"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        if self.validation.outlier_z.is_nan() || self.validation.outlier_z <= 0.0 {
            return Err("[validation] outlier_z must be a positive number".into());
        }
        if self.validation.max_line_bytes == 0 {
            return Err("[validation] max_line_bytes must be positive".into());
        }
        self.text.check()?;
        Ok(())
    }

    /// Sets one table to a file with the contract's column names (what `--media FILE`
    /// on the command line means), replacing that table's section.
    pub fn with_table_file(mut self, table: &str, path: &str) -> Result<Config, ConfigError> {
        let quoted = toml::Value::String(path.to_string()).to_string();
        let single = Config::from_toml_str(
            &format!("[{table}]\npath = {quoted}\n"),
            &format!("--{table}"),
        )?;
        match table {
            "media" => self.media = single.media,
            "kpi" => self.kpi = single.kpi,
            "touchpoints" => self.touchpoints = single.touchpoints,
            "transactions" => self.transactions = single.transactions,
            "texts" => self.texts = single.texts,
            "experiments" => self.experiments = single.experiments,
            "campaign_responses" => self.campaign_responses = single.campaign_responses,
            _ => unreachable!("from_toml_str rejects unknown tables"),
        }
        Ok(self)
    }

    /// The configured tables by name, for messages and iteration.
    pub fn configured_tables(&self) -> Vec<&'static str> {
        let present = [
            self.media.is_some(),
            self.kpi.is_some(),
            self.touchpoints.is_some(),
            self.transactions.is_some(),
            self.texts.is_some(),
            self.experiments.is_some(),
            self.campaign_responses.is_some(),
        ];
        TABLE_NAMES
            .iter()
            .zip(present)
            .filter_map(|(name, present)| present.then_some(*name))
            .collect()
    }
}

/// Turns serde's "unknown field `x`, expected one of `a`, `b`" into a suggestion.
fn explain_toml_error(message: &str) -> String {
    let message = message.trim();
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((key, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let candidates: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| !c.is_empty())
        .collect();
    let mut text = format!("unknown key `{key}`");
    if let Some(best) = closest(key, &candidates) {
        text.push_str(&format!("; did you mean `{best}`?"));
    }
    if !candidates.is_empty() {
        text.push_str(&format!(" Valid keys here: {}.", candidates.join(", ")));
    }
    text
}

/// The candidate nearest to `word` by edit similarity, when it is near enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), *c))
        .filter(|(score, _)| *score >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_long_media_takes_contract_defaults() {
        let c = Config::from_toml_str("[media]\npath = 'media.csv'\n", "t.toml").unwrap();
        let m = c.media.unwrap();
        assert_eq!(m.date, "date");
        assert_eq!(m.channel, "channel");
        assert_eq!(m.spend, "spend");
        assert_eq!(m.layout, Layout::Long);
        assert_eq!(c.validation.outlier_z, 3.5);
    }

    #[test]
    fn unknown_key_names_the_closest_valid_key_and_its_line() {
        let text = "[media]\npath = 'm.csv'\nimpresions = 'Impr'\n";
        let err = Config::from_toml_str(text, "adroit.toml").unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("unknown key `impresions`"), "{shown}");
        assert!(shown.contains("did you mean `impressions`"), "{shown}");
        assert_eq!(err.position.map(|p| p.0), Some(3), "{shown}");
    }

    #[test]
    fn text_section_chooses_back_ends_per_field() {
        let c = Config::from_toml_str(
            "[text]\nkeywords = 3\n[text.backends]\nsentiment = \"encoder\"\naspects = \"llm\"\n[text.llm]\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"smollm2\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.text.backends.sentiment, TextBackend::Encoder);
        assert_eq!(c.text.backends.aspects, TextBackend::Llm);
        assert_eq!(c.text.backends.keywords, TextBackend::Builtin);
        assert!(c.text.llm.mask_pii, "PII masking is on by default");
        let typo =
            Config::from_toml_str("[text.backends]\nsentimnet = \"llm\"\n", "t.toml").unwrap_err();
        assert!(
            typo.to_string().contains("did you mean `sentiment`"),
            "{typo}"
        );
        let bad = Config::from_toml_str("[text.backends]\naspects = \"encoder\"\n", "t.toml")
            .unwrap_err();
        assert!(
            bad.to_string().contains("sentiment and topics only"),
            "{bad}"
        );
        let no_model = Config::from_toml_str("[text.llm]\nbase_url = \"https://x/v1\"\n", "t.toml")
            .unwrap_err();
        assert!(
            no_model.to_string().contains("name the model"),
            "{no_model}"
        );
    }

    #[test]
    fn unknown_table_is_rejected_with_suggestion() {
        let err = Config::from_toml_str("[medai]\npath='x'\n", "a.toml").unwrap_err();
        assert!(err.to_string().contains("did you mean `media`"), "{err}");
    }

    #[test]
    fn wide_media_with_robyn_patterns() {
        let text = r#"
[media]
path = "robyn.csv"
layout = "wide"
date = "DATE"
[media.wide]
spend = "{channel}_S"
channels = ["tv", "ooh"]
"#;
        let c = Config::from_toml_str(text, "t").unwrap();
        let w = c.media.unwrap().wide.unwrap();
        assert_eq!(w.spend, "{channel}_S");
        assert_eq!(w.channels.unwrap(), vec!["tv", "ooh"]);
    }

    #[test]
    fn a_single_table_file_replaces_its_section() {
        let c = Config::from_toml_str("[media]\npath='a.csv'\nspend='Cost'\n", "t").unwrap();
        let c = c
            .with_table_file("media", "dir with \"quotes\"/b.csv")
            .unwrap();
        let m = c.media.unwrap();
        assert_eq!(
            (m.path.as_str(), m.spend.as_str()),
            ("dir with \"quotes\"/b.csv", "spend")
        );
        let c = Config::default()
            .with_table_file("campaign_responses", "c.csv")
            .unwrap();
        assert_eq!(c.configured_tables(), vec!["campaign_responses"]);
        assert!(Config::default().with_table_file("nope", "x").is_err());
    }

    #[test]
    fn type_overrides_must_name_a_control() {
        let ok = "[kpi]\npath='k.csv'\ncontrols=['promo']\ntypes={ promo = 'flag' }\n";
        let c = Config::from_toml_str(ok, "t").unwrap();
        assert_eq!(c.kpi.unwrap().types["promo"], ColumnType::Flag);
        let bad = "[kpi]\npath='k.csv'\ncontrols=['promo']\ntypes={ price = 'number' }\n";
        let err = Config::from_toml_str(bad, "t").unwrap_err();
        assert!(
            err.to_string()
                .contains("`price`, which is not in controls"),
            "{err}"
        );
    }

    #[test]
    fn wide_pattern_without_placeholder_is_an_error() {
        let text = "[media]\npath='x'\nlayout='wide'\n[media.wide]\nspend='spend'\n";
        let err = Config::from_toml_str(text, "t").unwrap_err();
        assert!(err.to_string().contains("{channel}"), "{err}");
    }

    #[test]
    fn encoding_aliases_and_bad_values() {
        let c = Config::from_toml_str("[kpi]\npath='k.csv'\nencoding='gbk'\n", "t").unwrap();
        assert_eq!(c.kpi.unwrap().encoding, Encoding::Gb18030);
        let err =
            Config::from_toml_str("[kpi]\npath='k.csv'\nencoding='latin9'\n", "t").unwrap_err();
        assert!(err.to_string().contains("latin9"), "{err}");
    }

    #[test]
    fn every_shipped_example_parses() {
        let c = Config::from_toml_str(include_str!("../../../examples/adroit.toml"), "example")
            .unwrap();
        assert_eq!(c.configured_tables(), vec!["media", "kpi"]);
        assert_eq!(c.kpi.unwrap().controls, vec!["price", "promotion"]);
    }

    #[test]
    fn privacy_section() {
        let c = Config::from_toml_str(
            "[privacy]\nquasi_identifiers = ['age', 'zip']\nsensitive = 'segment'\nk = 3\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.privacy.quasi_identifiers, vec!["age", "zip"]);
        assert_eq!(c.privacy.k, Some(3));
        let err = Config::from_toml_str("[privacy]\nquasi = ['age']\n", "x").unwrap_err();
        assert!(err.to_string().contains("quasi_identifiers"), "{err}");
        assert!(Config::from_toml_str("[privacy]\nk = 0\n", "x").is_err());
    }

    #[test]
    fn fairness_section() {
        let c = Config::from_toml_str(
            "[fairness]\nsensitive = ['region']\nmin_disparate_impact = 0.8\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.fairness.sensitive, vec!["region"]);
        assert_eq!(c.fairness.min_disparate_impact, Some(0.8));
        let err = Config::from_toml_str("[fairness]\nmax_gap = 3\n", "x").unwrap_err();
        assert!(err.to_string().contains("[fairness] max_gap = 3"), "{err}");
    }
}
