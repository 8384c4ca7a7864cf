//! Bearer tokens: created once from the OS's CSPRNG, shown once, stored only as their
//! SHA-256 hash (with a name, the creation time and, once revoked, the revocation time)
//! in a JSON file (`adroit-tokens.json` by default).
//!
//! [`TokenStore`] is the server's view of that file: it re-reads it whenever its
//! modification time or length changes, so `adroit token revoke` applies to the next
//! request without a restart. A presented token is hashed and compared with every
//! active hash in constant time.

use rand::TryRngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// The tokens file's `format`.
pub const FORMAT: &str = "adroit-tokens v1";
/// The default tokens file, in the current folder.
pub const DEFAULT_FILE: &str = "adroit-tokens.json";
/// What every token starts with (so a leaked one is recognisable in logs and scanners).
pub const PREFIX: &str = "adroit_";

/// One stored token: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEntry {
    pub name: String,
    /// SHA-256 of the token, lowercase hex.
    pub sha256: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// RFC 3339, UTC; `None` while the token is valid.
    #[serde(default)]
    pub revoked: Option<String>,
}

/// The tokens file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenFile {
    pub format: String,
    pub tokens: Vec<TokenEntry>,
}

impl Default for TokenFile {
    fn default() -> Self {
        TokenFile {
            format: FORMAT.into(),
            tokens: Vec::new(),
        }
    }
}

/// What a token listing shows: no hashes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub created: String,
    pub revoked: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a tokens file: {message}")]
    Parse { path: String, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("a token named {0:?} already exists; revoke it or choose another name")]
    Exists(String),
    #[error("no active token named {0:?} (see `adroit token list`)")]
    NotFound(String),
    #[error("a token name must be 1 to 64 characters, letters, digits, '-', '_' or '.'; got {0:?}")]
    BadName(String),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// SHA-256 of `token`, lowercase hex.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Reads a tokens file; a missing file is an empty one.
pub fn read(path: &Path) -> Result<TokenFile, TokenError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TokenFile::default()),
        Err(source) => {
            return Err(TokenError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    parse(&text, path)
}

fn parse(text: &str, path: &Path) -> Result<TokenFile, TokenError> {
    let file: TokenFile = serde_json::from_str(text).map_err(|e| TokenError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if file.format != FORMAT {
        return Err(TokenError::Parse {
            path: path.display().to_string(),
            message: format!("format {:?}, expected {FORMAT:?}", file.format),
        });
    }
    Ok(file)
}

/// Writes atomically (a temporary file beside it, then a rename), readable by its
/// owner only.
fn write(path: &Path, file: &TokenFile) -> Result<(), TokenError> {
    let err = |message: String| TokenError::Write {
        path: path.display().to_string(),
        message,
    };
    let json = serde_json::to_string_pretty(file).map_err(|e| err(e.to_string()))? + "\n";
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| err(e.to_string()))?;
    std::io::Write::write_all(&mut tmp, json.as_bytes()).map_err(|e| err(e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o600))
            .map_err(|e| err(e.to_string()))?;
    }
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}

fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadName(name.into()))
    }
}

/// Creates a token named `name` in the file at `path` (created if missing) and returns
/// it: the only time it is ever seen.
pub fn create(path: &Path, name: &str) -> Result<String, TokenError> {
    check_name(name)?;
    let mut file = read(path)?;
    if file
        .tokens
        .iter()
        .any(|t| t.name == name && t.revoked.is_none())
    {
        return Err(TokenError::Exists(name.into()));
    }
    let mut bytes = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| TokenError::Random(e.to_string()))?;
    let mut token = String::from(PREFIX);
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    file.tokens.push(TokenEntry {
        name: name.into(),
        sha256: hash(&token),
        created: now(),
        revoked: None,
    });
    write(path, &file)?;
    Ok(token)
}

/// Revokes the active token named `name`.
pub fn revoke(path: &Path, name: &str) -> Result<(), TokenError> {
    let mut file = read(path)?;
    let entry = file
        .tokens
        .iter_mut()
        .find(|t| t.name == name && t.revoked.is_none())
        .ok_or_else(|| TokenError::NotFound(name.into()))?;
    entry.revoked = Some(now());
    write(path, &file)
}

/// Every token's name, creation and revocation time.
pub fn list(path: &Path) -> Result<Vec<TokenInfo>, TokenError> {
    Ok(read(path)?
        .tokens
        .into_iter()
        .map(|t| TokenInfo {
            name: t.name,
            created: t.created,
            revoked: t.revoked,
        })
        .collect())
}

/// Equality of two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// The file's identity for change detection.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The server's view of a tokens file: the active hashes, re-read when the file changes.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    state: Mutex<(Stamp, Vec<[u8; 64]>)>,
}

fn active(file: &TokenFile) -> Vec<[u8; 64]> {
    file.tokens
        .iter()
        .filter(|t| t.revoked.is_none())
        .filter_map(|t| t.sha256.as_bytes().try_into().ok())
        .collect()
}

impl TokenStore {
    /// Opens the tokens file; it must exist and parse (a server without tokens would
    /// refuse every request).
    pub fn open(path: &Path) -> Result<TokenStore, TokenError> {
        let s = stamp(path);
        let text = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let file = parse(&text, path)?;
        Ok(TokenStore {
            path: path.to_path_buf(),
            state: Mutex::new((s, active(&file))),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `token` is one of the active tokens. Re-reads the file first if it
    /// changed; a file that disappeared accepts nothing, a file that no longer parses
    /// keeps the last good set (and says so on stderr).
    pub fn verify(&self, token: &str) -> bool {
        let presented = hash(token);
        let now = stamp(&self.path);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now != state.0 {
            match now {
                None => state.1.clear(),
                Some(_) => match std::fs::read_to_string(&self.path)
                    .map_err(|e| e.to_string())
                    .and_then(|t| parse(&t, &self.path).map_err(|e| e.to_string()))
                {
                    Ok(file) => state.1 = active(&file),
                    Err(e) => eprintln!("adroit serve: keeping the previous tokens: {e}"),
                },
            }
            state.0 = now;
        }
        // Compare with every active hash, without stopping at a match.
        let mut ok = false;
        for h in &state.1 {
            ok |= constant_time_eq(h, presented.as_bytes());
        }
        ok
    }
}
