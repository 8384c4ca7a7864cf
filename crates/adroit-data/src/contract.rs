//! The contract tables: which canonical columns each has, their types, and how the
//! config maps the user's columns onto them.

use adroit_config::{
    CampaignResponsesSource, ColumnType, Config, ExperimentsSource, FileOptions, KpiSource, Layout,
    MediaSource, TextsSource, TouchpointsSource, TransactionsSource, WideMedia,
};

/// The type a canonical column is parsed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A calendar date (Arrow Date32).
    Date,
    /// A date and time (Arrow Timestamp, microseconds, UTC).
    Timestamp,
    /// Free text or a category (Arrow Utf8).
    Text,
    /// Money: currency symbols and thousands separators allowed (Float64).
    Money,
    /// A count or measure: thousands separators allowed (Float64).
    Number,
    /// 0/1 (Boolean).
    Flag,
    /// Number when every value parses as one, otherwise text (features, controls).
    Infer,
}

impl FieldType {
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Text => "text",
            FieldType::Money => "money",
            FieldType::Number => "number",
            FieldType::Flag => "flag (0/1)",
            FieldType::Infer => "number or text",
        }
    }
}

/// One canonical column and where it comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    /// Canonical name (`date`, `spend`, …; controls and features keep their own).
    pub name: String,
    /// The column in the user's file.
    pub source: String,
    pub ty: FieldType,
    pub required: bool,
    /// True when the user did not map it and it is taken only if a column of the
    /// canonical name exists.
    pub auto: bool,
}

/// A contract table as configured: the file, its fields, and the wide layout if any.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSpec {
    pub table: &'static str,
    pub file: FileOptions,
    pub fields: Vec<FieldSpec>,
    /// Wide media: measures come from per-channel columns.
    pub wide: Option<WideMedia>,
    /// The key columns that must be unique together (for duplicate checks).
    pub key: Vec<String>,
    /// Types of columns taken without being listed (campaign features by default).
    pub extra_types: std::collections::BTreeMap<String, FieldType>,
}

/// The type of an extra column: the config's override, else inferred.
pub fn override_type(
    types: &std::collections::BTreeMap<String, ColumnType>,
    column: &str,
) -> FieldType {
    match types.get(column) {
        Some(ColumnType::Number) => FieldType::Number,
        Some(ColumnType::Money) => FieldType::Money,
        Some(ColumnType::Text) => FieldType::Text,
        Some(ColumnType::Date) => FieldType::Date,
        Some(ColumnType::Flag) => FieldType::Flag,
        None => FieldType::Infer,
    }
}

fn req(name: &str, source: &str, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        source: source.into(),
        ty,
        required: true,
        auto: false,
    }
}

/// An optional field: mapped when the config names it, else picked up by its canonical name.
fn opt(name: &str, source: &Option<String>, ty: FieldType) -> FieldSpec {
    FieldSpec {
        name: name.into(),
        source: source.clone().unwrap_or_else(|| name.to_string()),
        ty,
        required: false,
        auto: source.is_none(),
    }
}

impl TableSpec {
    pub fn media(m: &MediaSource) -> TableSpec {
        let mut fields = vec![req("date", &m.date, FieldType::Date)];
        let mut key = vec!["date".to_string(), "channel".to_string()];
        if m.layout == Layout::Long {
            fields.push(req("channel", &m.channel, FieldType::Text));
        }
        fields.push(opt("campaign", &m.campaign, FieldType::Text));
        fields.push(opt("geo", &m.geo, FieldType::Text));
        if m.campaign.is_some() {
            key.push("campaign".into());
        }
        if m.geo.is_some() {
            key.push("geo".into());
        }
        let wide = match m.layout {
            Layout::Long => {
                fields.push(req("spend", &m.spend, FieldType::Money));
                fields.push(opt("impressions", &m.impressions, FieldType::Number));
                fields.push(opt("clicks", &m.clicks, FieldType::Number));
                fields.push(opt("conversions", &m.conversions, FieldType::Number));
                fields.push(opt("revenue", &m.revenue, FieldType::Money));
                None
            }
            Layout::Wide => Some(m.wide.clone().unwrap_or_default()),
        };
        TableSpec {
            table: "media",
            file: m.file(),
            fields,
            wide,
            extra_types: Default::default(),
            key,
        }
    }

    pub fn kpi(k: &KpiSource) -> TableSpec {
        let mut fields = vec![
            req("date", &k.date, FieldType::Date),
            opt("geo", &k.geo, FieldType::Text),
        ];
        let ty = match k.kind {
            adroit_config::KpiKind::Revenue => FieldType::Money,
            adroit_config::KpiKind::Conversions => FieldType::Number,
        };
        fields.push(req("kpi", &k.kpi, ty));
        for c in &k.controls {
            fields.push(req(c, c, override_type(&k.types, c)));
        }
        let mut key = vec!["date".to_string()];
        if k.geo.is_some() {
            key.push("geo".into());
        }
        TableSpec {
            table: "kpi",
            file: k.file(),
            fields,
            wide: None,
            extra_types: Default::default(),
            key,
        }
    }

    pub fn touchpoints(t: &TouchpointsSource) -> TableSpec {
        TableSpec {
            table: "touchpoints",
            file: t.file(),
            fields: vec![
                req("user_id", &t.user_id, FieldType::Text),
                req("timestamp", &t.timestamp, FieldType::Timestamp),
                req("channel", &t.channel, FieldType::Text),
                opt("campaign", &t.campaign, FieldType::Text),
                opt("conversion", &t.conversion, FieldType::Flag),
                opt("value", &t.value, FieldType::Money),
            ],
            wide: None,
            extra_types: Default::default(),
            key: vec![],
        }
    }

    pub fn transactions(t: &TransactionsSource) -> TableSpec {
        TableSpec {
            table: "transactions",
            file: t.file(),
            fields: vec![
                req("customer_id", &t.customer_id, FieldType::Text),
                req("timestamp", &t.timestamp, FieldType::Timestamp),
                req("amount", &t.amount, FieldType::Money),
                opt("order_id", &t.order_id, FieldType::Text),
                opt("channel", &t.channel, FieldType::Text),
                opt("product", &t.product, FieldType::Text),
            ],
            wide: None,
            extra_types: Default::default(),
            key: vec![],
        }
    }

    pub fn texts(t: &TextsSource) -> TableSpec {
        TableSpec {
            table: "texts",
            file: t.file(),
            fields: vec![
                req("id", &t.id, FieldType::Text),
                req("timestamp", &t.timestamp, FieldType::Timestamp),
                req("text", &t.text, FieldType::Text),
                opt("lang", &t.lang, FieldType::Text),
                opt("source", &t.source, FieldType::Text),
                opt("channel", &t.channel, FieldType::Text),
                opt("product", &t.product, FieldType::Text),
                opt("customer_id", &t.customer_id, FieldType::Text),
                opt("rating", &t.rating, FieldType::Number),
            ],
            wide: None,
            extra_types: Default::default(),
            key: vec!["id".into()],
        }
    }

    pub fn experiments(e: &ExperimentsSource) -> TableSpec {
        TableSpec {
            table: "experiments",
            file: e.file(),
            fields: vec![
                req("channel", &e.channel, FieldType::Text),
                req("start", &e.start, FieldType::Date),
                req("end", &e.end, FieldType::Date),
                req("lift", &e.lift, FieldType::Number),
                req("spend", &e.spend, FieldType::Money),
                opt("lift_lower", &e.lift_lower, FieldType::Number),
                opt("lift_upper", &e.lift_upper, FieldType::Number),
            ],
            wide: None,
            extra_types: Default::default(),
            key: vec![],
        }
    }

    pub fn campaign_responses(c: &CampaignResponsesSource) -> TableSpec {
        let mut fields = vec![
            req("customer_id", &c.customer_id, FieldType::Text),
            req("treatment", &c.treatment, FieldType::Flag),
            req("outcome", &c.outcome, FieldType::Number),
        ];
        for f in &c.features {
            fields.push(req(f, f, override_type(&c.types, f)));
        }
        TableSpec {
            table: "campaign_responses",
            file: c.file(),
            fields,
            wide: None,
            extra_types: c
                .types
                .keys()
                .map(|k| (k.clone(), override_type(&c.types, k)))
                .collect(),
            key: vec!["customer_id".into()],
        }
    }

    /// Any table outside the contracts (model training data, a customer list): every
    /// column is taken under its own name, as a number when every value parses as one,
    /// otherwise as text.
    pub fn any(file: FileOptions) -> TableSpec {
        TableSpec {
            table: "data",
            file,
            fields: vec![],
            wide: None,
            extra_types: Default::default(),
            key: vec![],
        }
    }

    /// Every table the config names, in load order.
    pub fn all(config: &Config) -> Vec<TableSpec> {
        let mut specs = Vec::new();
        if let Some(m) = &config.media {
            specs.push(Self::media(m));
        }
        if let Some(k) = &config.kpi {
            specs.push(Self::kpi(k));
        }
        if let Some(t) = &config.touchpoints {
            specs.push(Self::touchpoints(t));
        }
        if let Some(t) = &config.transactions {
            specs.push(Self::transactions(t));
        }
        if let Some(t) = &config.texts {
            specs.push(Self::texts(t));
        }
        if let Some(e) = &config.experiments {
            specs.push(Self::experiments(e));
        }
        if let Some(c) = &config.campaign_responses {
            specs.push(Self::campaign_responses(c));
        }
        specs
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}
