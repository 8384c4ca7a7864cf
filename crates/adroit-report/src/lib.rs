//! `adroit report`: one self-contained HTML report of a run folder.
//!
//! Two halves: [`load`] is the only I/O (it reads a RUN_DIR's result files into
//! [`RunData`], leniently, naming the file on any error) and [`render`] is pure
//! (`RunData` and a [`Lang`] in, HTML out). The HTML needs no network: styles and the
//! chart check script are inline and every chart is inline SVG ([`svg`]). [`narrative`]
//! holds an optional LLM-written summary to the run's numbers.

mod fmt;
mod i18n;
pub mod load;
pub mod narrative;
mod render;
pub mod svg;

pub use i18n::LABELS;
pub use load::{LoadError, RunData, load};
pub use render::render;

/// The language of the report's labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(Lang::En),
            "zh" | "zh-cn" | "cn" => Ok(Lang::Zh),
            other => Err(format!("unknown language {other:?}: use en or zh")),
        }
    }
}
