//! The on-disk answer cache of structured extraction: reruns of the same task on the same
//! texts cost no request.
//!
//! An entry is keyed by the SHA-256 of (model, task name, prompt version, schema, masked
//! text), so changing any of them misses. One small JSON file per entry under
//! `dir/<first two hex digits>/<key>.json`: written to a temporary file in the same folder
//! and renamed into place, so a reader sees a whole entry or none, and concurrent writers
//! of the same key both leave a whole file. An unreadable or corrupt entry is a miss (and is
//! overwritten by the next answer), never an error.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::LlmError;

/// The format of the entries; bumping it invalidates every old entry.
const FORMAT: &str = "adroit-llm-cache-v1";

/// The hex SHA-256 naming one cached answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key of an answer: every part is length-prefixed before hashing, so no two
    /// different tuples give the same bytes.
    pub fn new(
        model: &str,
        task: &str,
        prompt_version: &str,
        schema: &Value,
        text: &str,
    ) -> CacheKey {
        let schema = schema.to_string();
        let mut hasher = Sha256::new();
        for part in [FORMAT, model, task, prompt_version, &schema, text] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        CacheKey(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Hit(Value),
    Miss,
    /// An entry exists but cannot be used (why); treated as a miss and overwritten.
    Corrupt(String),
}

#[derive(Serialize, Deserialize)]
struct Entry {
    format: String,
    key: String,
    model: String,
    task: String,
    prompt_version: String,
    value: Value,
}

/// Descriptive fields stored beside an answer (the key alone cannot be read back).
#[derive(Debug, Clone, Copy)]
pub struct EntryInfo<'a> {
    pub model: &'a str,
    pub task: &'a str,
    pub prompt_version: &'a str,
}

/// A cache folder. Cheap to create; folders are made on the first write.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the entry of `key` lives.
    pub fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(&key.0[..2]).join(format!("{}.json", key.0))
    }

    pub fn get(&self, key: &CacheKey) -> Lookup {
        let path = self.path(key);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Lookup::Miss;
            }
            Err(e) => return Lookup::Corrupt(format!("{}: {e}", path.display())),
        };
        match serde_json::from_slice::<Entry>(&bytes) {
            Ok(entry) if entry.format == FORMAT && entry.key == key.0 => Lookup::Hit(entry.value),
            Ok(_) => Lookup::Corrupt(format!(
                "{}: entry belongs to another key or format",
                path.display()
            )),
            Err(e) => Lookup::Corrupt(format!("{}: {e}", path.display())),
        }
    }

    /// Stores `value` under `key`, atomically (temporary file, then rename).
    pub fn put(&self, key: &CacheKey, info: EntryInfo<'_>, value: &Value) -> Result<(), LlmError> {
        let path = self.path(key);
        let folder = path.parent().unwrap_or(&self.dir);
        fs::create_dir_all(folder).map_err(|e| LlmError::io(folder, e))?;
        let entry = Entry {
            format: FORMAT.into(),
            key: key.0.clone(),
            model: info.model.into(),
            task: info.task.into(),
            prompt_version: info.prompt_version.into(),
            value: value.clone(),
        };
        let bytes = serde_json::to_vec(&entry)
            .map_err(|e| LlmError::Protocol(format!("cannot serialise a cache entry: {e}")))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".entry-")
            .suffix(".tmp")
            .tempfile_in(folder)
            .map_err(|e| LlmError::io(folder, e))?;
        tmp.write_all(&bytes)
            .and_then(|()| tmp.flush())
            .map_err(|e| LlmError::io(tmp.path(), e))?;
        tmp.persist(&path)
            .map_err(|e| LlmError::io(&path, e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INFO: EntryInfo<'static> = EntryInfo {
        model: "m",
        task: "t",
        prompt_version: "1",
    };

    #[test]
    fn keys_are_stable_and_change_with_every_part() {
        let schema = json!({"type": "object"});
        let base = CacheKey::new("m", "t", "1", &schema, "text");
        assert_eq!(base, CacheKey::new("m", "t", "1", &schema, "text"));
        assert_eq!(base.as_str().len(), 64);
        // A fixed value: the key must not change between builds or platforms.
        assert_eq!(CacheKey::new("", "", "", &json!(null), "").as_str(), {
            let mut h = Sha256::new();
            for part in [FORMAT, "", "", "", "null", ""] {
                h.update((part.len() as u64).to_le_bytes());
                h.update(part.as_bytes());
            }
            h.finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        });
        for other in [
            CacheKey::new("m2", "t", "1", &schema, "text"),
            CacheKey::new("m", "t2", "1", &schema, "text"),
            CacheKey::new("m", "t", "2", &schema, "text"),
            CacheKey::new("m", "t", "1", &json!({"type": "array"}), "text"),
            CacheKey::new("m", "t", "1", &schema, "text "),
            // Length prefixes: moving a boundary changes the key.
            CacheKey::new("mt", "", "1", &schema, "text"),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn put_then_get_and_corrupt_entries_are_misses_then_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("nested/cache"));
        let key = CacheKey::new("m", "t", "1", &json!({}), "a");
        assert_eq!(cache.get(&key), Lookup::Miss);
        cache.put(&key, INFO, &json!({"x": 1})).unwrap();
        assert_eq!(cache.get(&key), Lookup::Hit(json!({"x": 1})));
        // Overwriting keeps one whole entry.
        cache.put(&key, INFO, &json!({"x": 2})).unwrap();
        assert_eq!(cache.get(&key), Lookup::Hit(json!({"x": 2})));

        let path = cache.path(&key);
        fs::write(&path, b"{\"format\": \"adroit-llm-cache-v1\", \"key\": tru").unwrap();
        assert!(matches!(cache.get(&key), Lookup::Corrupt(m) if m.contains("EOF")));
        // An entry copied under another key's name is not trusted.
        let other = CacheKey::new("m", "t", "1", &json!({}), "b");
        cache.put(&other, INFO, &json!({"y": 1})).unwrap();
        fs::copy(cache.path(&other), &path).unwrap();
        assert!(matches!(cache.get(&key), Lookup::Corrupt(m) if m.contains("another key")));
        cache.put(&key, INFO, &json!({"x": 3})).unwrap();
        assert_eq!(cache.get(&key), Lookup::Hit(json!({"x": 3})));
        // No temporary files are left behind.
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn an_unwritable_cache_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, b"not a folder").unwrap();
        let cache = Cache::new(&blocker);
        let key = CacheKey::new("m", "t", "1", &json!({}), "a");
        let err = cache.put(&key, INFO, &json!(1)).unwrap_err().to_string();
        assert!(err.contains(&blocker.display().to_string()), "{err}");
        assert_eq!(cache.get(&key), Lookup::Miss);
    }
}
