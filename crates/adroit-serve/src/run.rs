//! A run folder loaded into memory: everything the endpoints answer from. A run is
//! loaded completely (every model parsed and checked) before it replaces the current
//! one, so a request sees either the old run or the new one, never a mix.

use adroit_clv::file::{MODEL_FILE, ModelFile};
use adroit_learn::model::{MODEL_FORMAT_VERSION, TrainedModel};
use adroit_mmm::file::ResultFile;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One loaded run folder. Every part is optional: a run without its stage answers 409.
#[derive(Debug)]
pub struct Run {
    pub dir: PathBuf,
    /// `run.json` as written by `adroit run` (read leniently: any JSON object).
    pub manifest: Option<serde_json::Value>,
    /// `mmm/result.json`.
    pub mmm: Option<ResultFile>,
    /// `clv/clv_model.json`.
    pub clv: Option<ModelFile>,
    /// `models/*.json` by file stem.
    pub models: BTreeMap<String, TrainedModel>,
    /// `report.html`.
    pub report: Option<Vec<u8>>,
    /// When this run was loaded (RFC 3339, UTC).
    pub loaded_at: String,
}

/// `run.json`'s modification time and length: a change triggers a reload.
pub type Stamp = Option<(SystemTime, u64)>;

pub fn stamp(dir: &Path) -> Stamp {
    let m = std::fs::metadata(dir.join("run.json")).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, String> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Reads a trained model file with the checks `adroit model predict` makes.
pub fn read_trained(path: &Path, bytes: &[u8]) -> Result<TrainedModel, String> {
    let head: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("{}: not a model file: {e}", path.display()))?;
    if head.get("format").and_then(|v| v.as_str()) != Some("adroit-model") {
        return Err(format!("{}: not an adroit model file", path.display()));
    }
    let version = head
        .get("format_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    if version != u64::from(MODEL_FORMAT_VERSION) {
        return Err(format!(
            "{}: model format version {version}, this adroit reads version {MODEL_FORMAT_VERSION}; retrain the model with this version",
            path.display()
        ));
    }
    serde_json::from_value(head).map_err(|e| format!("{}: damaged model file: {e}", path.display()))
}

impl Run {
    /// Loads every part of `dir` that exists; any part that exists but does not parse
    /// fails the whole load (the caller keeps its previous run).
    pub fn load(dir: &Path) -> Result<Run, String> {
        if !dir.is_dir() {
            return Err(format!("{} is not a folder", dir.display()));
        }
        let manifest = match read_optional(&dir.join("run.json"))? {
            Some(b) => {
                let v: serde_json::Value = serde_json::from_slice(&b)
                    .map_err(|e| format!("{}: {e}", dir.join("run.json").display()))?;
                if !v.is_object() {
                    return Err(format!(
                        "{}: expected a JSON object",
                        dir.join("run.json").display()
                    ));
                }
                Some(v)
            }
            None => None,
        };
        let path = dir.join("mmm").join("result.json");
        let mmm = match read_optional(&path)? {
            Some(b) => {
                Some(ResultFile::from_json(&b).map_err(|e| format!("{}: {e}", path.display()))?)
            }
            None => None,
        };
        let path = dir.join("clv").join(MODEL_FILE);
        let clv = match read_optional(&path)? {
            Some(b) => {
                let text = String::from_utf8(b)
                    .map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
                Some(ModelFile::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?)
            }
            None => None,
        };
        let mut models = BTreeMap::new();
        let models_dir = dir.join("models");
        if models_dir.is_dir() {
            let entries = std::fs::read_dir(&models_dir)
                .map_err(|e| format!("cannot list {}: {e}", models_dir.display()))?;
            for entry in entries {
                let p = entry
                    .map_err(|e| format!("cannot list {}: {e}", models_dir.display()))?
                    .path();
                if p.extension().and_then(|e| e.to_str()) != Some("json") {
                    continue;
                }
                let Some(name) = p.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                let bytes =
                    std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
                models.insert(name.to_string(), read_trained(&p, &bytes)?);
            }
        }
        let report = read_optional(&dir.join("report.html"))?;
        Ok(Run {
            dir: dir.to_path_buf(),
            manifest,
            mmm,
            clv,
            models,
            report,
            loaded_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })
    }
}
