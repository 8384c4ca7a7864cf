//! The edge where bytes come in: checks that a path is a readable file, detects its
//! format and text encoding, reads a CSV header, rejects over-long lines before any
//! parser buffers them, and locates structural CSV errors precisely.
//!
//! Everything here fails with a [`SourceError`] that names the file and, where it
//! can, the line, so no user input reaches a panic.

// Source errors are cold-path values that carry a full message; their size does not matter.
#![allow(clippy::result_large_err)]

use adroit_config::{Encoding, FileFormat, FileOptions};
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// A file that cannot be read as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceError {
    pub file: String,
    /// 1-based data row, when the problem is in one (header excluded).
    pub row: Option<u64>,
    /// 1-based line of the file, when known.
    pub line: Option<u64>,
    pub column: Option<String>,
    pub message: String,
    pub suggestion: String,
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        if let Some(row) = self.row {
            write!(f, " (row {row})")?;
        }
        if let Some(col) = &self.column {
            write!(f, " column `{col}`")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.suggestion.is_empty() {
            write!(f, ". {}", self.suggestion)?;
        }
        Ok(())
    }
}

impl std::error::Error for SourceError {}

impl SourceError {
    pub fn new(file: &str, message: impl Into<String>, suggestion: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            row: None,
            line: None,
            column: None,
            message: message.into(),
            suggestion: suggestion.into(),
        }
    }

    pub fn at_line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self.row = line.checked_sub(1).filter(|r| *r > 0);
        self
    }
}

/// A file that exists, is a file, and is not empty.
#[derive(Debug)]
pub struct CheckedFile {
    pub path: PathBuf,
    /// The path as the user wrote it, for messages.
    pub shown: String,
    pub format: FileFormat,
    pub len: u64,
}

/// Resolves `options.path` against `base` and checks it is a readable, non-empty file.
pub fn check_file(options: &FileOptions, base: &Path) -> Result<CheckedFile, SourceError> {
    let shown = options.path.clone();
    let path = base.join(&options.path);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let hint = similar_file(&path)
                .map(|s| format!("Did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    "Check the path; relative paths start at the config file's folder.".into()
                });
            return Err(SourceError::new(
                &shown,
                format!("file not found (looked at {})", path.display()),
                hint,
            ));
        }
        Err(e) => {
            return Err(SourceError::new(
                &shown,
                format!("cannot read file: {e}"),
                "Check the file's permissions.",
            ));
        }
    };
    if meta.is_dir() {
        return Err(SourceError::new(
            &shown,
            "is a directory, expected a file",
            "Name the file inside it (for example data/media.csv).",
        ));
    }
    if meta.len() == 0 {
        return Err(SourceError::new(
            &shown,
            "file is empty (0 bytes), expected a header line naming the columns and data rows",
            "Re-export the table; the export may have failed.",
        ));
    }
    let format = match options.format {
        Some(f) => f,
        None => format_from_extension(&path).ok_or_else(|| {
            SourceError::new(
                &shown,
                "cannot tell the file format from its extension",
                "Use .csv, .tsv, .parquet or .jsonl, or set format = \"csv\" (or tsv, parquet, jsonl) in the config.",
            )
        })?,
    };
    Ok(CheckedFile {
        path,
        shown,
        format,
        len: meta.len(),
    })
}

/// Whether a JSON file holds one array of records (`[{…}, {…}]`) rather than one
/// record per line: its first non-blank byte is `[`.
pub fn is_json_array(path: &Path) -> bool {
    let mut head = [0u8; 256];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace() && **b != 0xEF && **b != 0xBB && **b != 0xBF)
        == Some(&b'[')
}

fn format_from_extension(path: &Path) -> Option<FileFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "txt" => Some(FileFormat::Csv),
        "tsv" | "tab" => Some(FileFormat::Tsv),
        "parquet" | "pq" => Some(FileFormat::Parquet),
        "jsonl" | "ndjson" | "json" => Some(FileFormat::Jsonl),
        _ => None,
    }
}

fn similar_file(path: &Path) -> Option<String> {
    let dir = path.parent()?;
    let name = path.file_name()?.to_str()?;
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    adroit_config::closest(name, &refs).map(str::to_string)
}

/// How a CSV file's bytes were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectedEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Gb18030,
}

impl DetectedEncoding {
    pub fn describe(self) -> &'static str {
        match self {
            DetectedEncoding::Utf8 => "UTF-8",
            DetectedEncoding::Utf8Bom => "UTF-8 with byte-order mark",
            DetectedEncoding::Utf16Le => "UTF-16 little-endian",
            DetectedEncoding::Utf16Be => "UTF-16 big-endian",
            DetectedEncoding::Gb18030 => "GB18030/GBK",
        }
    }
}

/// What one streaming pass over a CSV file learned.
#[derive(Debug, Clone)]
pub struct Prescan {
    pub encoding: DetectedEncoding,
    /// Whether any quote character occurs: without one, no value can span lines,
    /// so the file can be split and parsed in parallel.
    pub has_quotes: bool,
}

/// Bytes read per step of the prescan.
const CHUNK: usize = 1 << 20;

/// One pass over the file: encoding, quotes, and the over-long-line guard.
///
/// UTF-8 validity is checked on the whole file (a GBK byte can sit in row 90,000).
/// The pass is built to cost little next to parsing: large files are cut at line
/// breaks into one range per core and scanned in parallel (a line break is never
/// part of a multi-byte UTF-8 or GB18030 character, so each range validates alone);
/// the line guard looks only at the first and last line break of each chunk when
/// lines may be longer than a chunk; and line numbers are counted only when there is
/// an error to report.
pub fn prescan(
    file: &CheckedFile,
    encoding: Encoding,
    max_line: u64,
) -> Result<Prescan, SourceError> {
    prescan_split(file, encoding, max_line, PARALLEL_SCAN_BYTES)
}

/// [`prescan`], splitting files of at least `parallel_from` bytes across cores.
fn prescan_split(
    file: &CheckedFile,
    encoding: Encoding,
    max_line: u64,
    parallel_from: u64,
) -> Result<Prescan, SourceError> {
    let read_error =
        |e: std::io::Error| SourceError::new(&file.shown, format!("read failed: {e}"), "");
    let handle = File::open(&file.path)
        .map_err(|e| SourceError::new(&file.shown, format!("cannot open: {e}"), ""))?;
    let len = handle.metadata().map_err(read_error)?.len();
    let mut head = [0u8; 3];
    let head_len = read_full(&handle, &mut head).map_err(read_error)?;
    let head = &head[..head_len];
    let (encoding_found, skip) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (DetectedEncoding::Utf8Bom, 3)
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        let utf16 = if head[0] == 0xFF {
            DetectedEncoding::Utf16Le
        } else {
            DetectedEncoding::Utf16Be
        };
        return Ok(Prescan {
            encoding: utf16,
            has_quotes: true,
        });
    } else {
        (DetectedEncoding::Utf8, 0)
    };
    let ranges = line_aligned_ranges(&handle, skip, len, parallel_from).map_err(read_error)?;
    let scans: Vec<Result<RangeScan, SourceError>> = if ranges.len() == 1 {
        vec![scan_range(file, &handle, ranges[0], max_line)]
    } else {
        std::thread::scope(|s| {
            let workers: Vec<_> = ranges
                .iter()
                .map(|&range| {
                    let handle = &handle;
                    s.spawn(move || scan_range(file, handle, range, max_line))
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(read_error(std::io::Error::other("scan thread failed")))
                    })
                })
                .collect()
        })
    };
    // Ranges are in file order, so the first error is the earliest in the file.
    let mut has_quotes = false;
    let mut first_bad: Option<u64> = None;
    for scan in scans {
        let scan = scan?;
        has_quotes |= scan.has_quotes;
        first_bad = first_bad.or(scan.first_bad);
    }
    let encoding = match (encoding, first_bad) {
        (Encoding::Gb18030, _) => DetectedEncoding::Gb18030,
        (_, None) => encoding_found,
        (Encoding::Utf8, Some(bad)) => {
            return Err(SourceError::new(
                &file.shown,
                "is not valid UTF-8 although the config says encoding = \"utf-8\"",
                "Set encoding = \"gb18030\" (or \"auto\") for Chinese exports, or re-save the file as UTF-8.",
            )
            .at_line(line_at(file, bad)));
        }
        (Encoding::Auto, Some(_)) => DetectedEncoding::Gb18030,
    };
    Ok(Prescan {
        encoding,
        has_quotes,
    })
}

/// Files below this size are scanned by one thread: spawning costs more than it saves.
const PARALLEL_SCAN_BYTES: u64 = 64 << 20;

/// Splits `[start, len)` into one range per core, each beginning just after a line
/// break. A single range when the file is small, or when no line break lies within a
/// chunk after a cut point (a giant line: the sequential scan then reports it).
fn line_aligned_ranges(
    handle: &File,
    start: u64,
    len: u64,
    parallel_from: u64,
) -> std::io::Result<Vec<(u64, u64)>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    if cores < 2 || len - start < parallel_from {
        return Ok(vec![(start, len)]);
    }
    let mut cuts = vec![start];
    let mut window = vec![0u8; CHUNK];
    for k in 1..cores {
        let nominal = start + (len - start) * k / cores;
        let n = read_at_full(handle, &mut window, nominal)?;
        match memchr::memchr(b'\n', &window[..n]) {
            Some(nl) => cuts.push(nominal + nl as u64 + 1),
            None => return Ok(vec![(start, len)]),
        }
    }
    cuts.push(len);
    cuts.dedup();
    Ok(cuts
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| a < b)
        .collect())
}

/// What scanning one line-aligned range found.
struct RangeScan {
    has_quotes: bool,
    /// File offset of the first byte that is not UTF-8.
    first_bad: Option<u64>,
}

/// Scans bytes `[start, end)`, which begin at the start of a line: quotes, UTF-8
/// validity and over-long lines.
fn scan_range(
    file: &CheckedFile,
    handle: &File,
    (start, end): (u64, u64),
    max_line: u64,
) -> Result<RangeScan, SourceError> {
    let mut buf = vec![0u8; CHUNK.min((end - start) as usize)];
    let mut carry: Vec<u8> = Vec::new(); // an incomplete UTF-8 sequence across chunks
    let mut offset = start; // of the next chunk's first byte in the file
    let mut first_bad: Option<u64> = None;
    let mut has_quotes = false;
    let mut since_newline: u64 = 0; // length of the line still open at the chunk start
    while offset < end {
        let want = buf.len().min((end - offset) as usize);
        let n = read_at_full(handle, &mut buf[..want], offset)
            .map_err(|e| SourceError::new(&file.shown, format!("read failed: {e}"), ""))?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        let chunk_offset = offset;
        offset += n as u64;
        if !has_quotes {
            has_quotes = memchr::memchr(b'"', chunk).is_some();
        }
        // Over-long lines: a line wholly inside a chunk is at most CHUNK bytes, so only
        // lines crossing chunk borders need measuring unless the limit is below that.
        match (memchr::memchr(b'\n', chunk), memchr::memrchr(b'\n', chunk)) {
            (Some(first_nl), Some(last_nl)) => {
                if since_newline + first_nl as u64 > max_line {
                    return Err(too_long(
                        file,
                        line_at(file, chunk_offset + first_nl as u64),
                        max_line,
                    ));
                }
                if max_line < CHUNK as u64 {
                    let base = first_nl + 1;
                    let mut line_start = base;
                    for nl in memchr::memchr_iter(b'\n', &chunk[base..]).map(|i| i + base) {
                        if (nl - line_start) as u64 > max_line {
                            return Err(too_long(
                                file,
                                line_at(file, chunk_offset + nl as u64),
                                max_line,
                            ));
                        }
                        line_start = nl + 1;
                    }
                }
                since_newline = (chunk.len() - last_nl - 1) as u64;
            }
            _ => since_newline += chunk.len() as u64,
        }
        if since_newline > max_line {
            return Err(too_long(
                file,
                line_at(file, chunk_offset + chunk.len() as u64),
                max_line,
            ));
        }
        // UTF-8 validity, carrying a split sequence into the next chunk.
        if first_bad.is_none() {
            let joined: Vec<u8>;
            let (bytes, bytes_start) = if carry.is_empty() {
                (chunk, chunk_offset)
            } else {
                joined = [carry.as_slice(), chunk].concat();
                (&joined[..], chunk_offset - carry.len() as u64)
            };
            carry.clear();
            match std::str::from_utf8(bytes) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() => {
                    carry.extend_from_slice(&bytes[e.valid_up_to()..])
                }
                Err(e) => first_bad = Some(bytes_start + e.valid_up_to() as u64),
            }
        }
    }
    if first_bad.is_none() && !carry.is_empty() {
        first_bad = Some(offset - carry.len() as u64);
    }
    Ok(RangeScan {
        has_quotes,
        first_bad,
    })
}

/// Fills `buf` from file offset `at` as far as the file allows, without moving a
/// shared cursor (so ranges can be read from several threads).
fn read_at_full(handle: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    #[cfg(unix)]
    use std::os::unix::fs::FileExt;
    #[cfg(windows)]
    use std::os::windows::fs::FileExt;
    let mut filled = 0;
    while filled < buf.len() {
        let at = at + filled as u64;
        #[cfg(unix)]
        let n = handle.read_at(&mut buf[filled..], at)?;
        #[cfg(windows)]
        let n = handle.seek_read(&mut buf[filled..], at)?;
        match n {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Fills `buf` as far as the file allows (short reads only at the end).
fn read_full(mut reader: impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// The 1-based line of a byte offset, counted only when an error needs it.
fn line_at(file: &CheckedFile, offset: u64) -> u64 {
    let Ok(f) = File::open(&file.path) else {
        return 0;
    };
    let mut reader = BufReader::with_capacity(CHUNK, f.take(offset));
    let mut buf = vec![0u8; CHUNK];
    let mut lines = 1;
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
    lines
}

fn too_long(file: &CheckedFile, line: u64, max: u64) -> SourceError {
    SourceError::new(
        &file.shown,
        format!("line is longer than {} bytes; the file may be truncated, binary, or missing line breaks", max),
        "Check the export; raise [validation] max_line_bytes if such long lines are real.",
    )
    .at_line(line)
}

/// Decodes a non-UTF-8 file into a temporary UTF-8 file, or says where it cannot.
pub fn transcode(
    file: &CheckedFile,
    encoding: DetectedEncoding,
) -> Result<tempfile::NamedTempFile, SourceError> {
    let bytes = std::fs::read(&file.path)
        .map_err(|e| SourceError::new(&file.shown, format!("cannot read: {e}"), ""))?;
    let (enc, body) = match encoding {
        DetectedEncoding::Utf16Le => (encoding_rs::UTF_16LE, &bytes[2..]),
        DetectedEncoding::Utf16Be => (encoding_rs::UTF_16BE, &bytes[2..]),
        _ => (encoding_rs::GB18030, &bytes[..]),
    };
    let Some(text) = enc.decode_without_bom_handling_and_without_replacement(body) else {
        // Find the first line that does not decode, for the message.
        let (decoded, _) = enc.decode_without_bom_handling(body);
        let bad_line = decoded
            .split('\n')
            .position(|l| l.contains('\u{FFFD}'))
            .map_or(1, |i| i as u64 + 1);
        return Err(SourceError::new(
            &file.shown,
            "is neither valid UTF-8 nor valid GB18030/GBK text",
            "Re-save the file as UTF-8 (in Excel: Save As → CSV UTF-8), or set encoding in the config.",
        )
        .at_line(bad_line));
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("adroit-utf8-")
        .suffix(".csv")
        .tempfile()
        .map_err(|e| {
            SourceError::new(
                &file.shown,
                format!("cannot create a temporary file: {e}"),
                "",
            )
        })?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.flush())
        .map_err(|e| {
            SourceError::new(
                &file.shown,
                format!("cannot write a temporary file: {e}"),
                "",
            )
        })?;
    Ok(tmp)
}

/// Reads the header record of a UTF-8 CSV: names trimmed, BOM removed, blanks and
/// duplicates renamed (and reported by the caller).
pub fn read_header(path: &Path, shown: &str, delimiter: u8) -> Result<Vec<String>, SourceError> {
    let file =
        File::open(path).map_err(|e| SourceError::new(shown, format!("cannot open: {e}"), ""))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => {}
        Ok(false) => {
            return Err(SourceError::new(
                shown,
                "has no header line",
                "The first line must name the columns.",
            ));
        }
        Err(e) => {
            return Err(
                SourceError::new(shown, format!("cannot read the header: {e}"), "").at_line(1),
            );
        }
    }
    Ok(record
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect())
}

/// Finds the first structural problem of a CSV file (a row with the wrong number of
/// fields, an unterminated quote) with its line, after the fast parser has failed.
pub fn locate_csv_error(
    path: &Path,
    shown: &str,
    delimiter: u8,
    fields: usize,
) -> Option<SourceError> {
    let file = File::open(path).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(file);
    let mut record = csv::ByteRecord::new();
    let mut row = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return None,
            Ok(true) => {
                row += 1;
                if record.len() != fields && !(record.len() == 1 && record.get(0) == Some(b"")) {
                    let line = record.position().map_or(row + 1, |p| p.line());
                    let mut err = SourceError::new(
                        shown,
                        format!(
                            "expected {fields} fields (as in the header), found {}",
                            record.len()
                        ),
                        "Check for an unquoted delimiter inside a value, or a missing field.",
                    )
                    .at_line(line);
                    err.row = Some(row);
                    return Some(err);
                }
            }
            Err(e) => {
                let line = e.position().map_or(row + 2, |p| p.line());
                let mut err = SourceError::new(
                    shown,
                    format!("malformed CSV: {e}"),
                    "Check quoting on this line.",
                )
                .at_line(line);
                err.row = Some(row + 1);
                return Some(err);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSV of `rows` plain lines, with `edit` applied to the bytes of line `at`
    /// (1-based, header is line 1).
    fn csv_file(rows: usize, at: usize, edit: &[u8]) -> (tempfile::NamedTempFile, CheckedFile) {
        let mut bytes = b"date,channel,spend\n".to_vec();
        for i in 2..=rows + 1 {
            if i == at {
                bytes.extend_from_slice(edit);
            } else {
                bytes.extend_from_slice(format!("2024-01-01,search,{i}.5\n").as_bytes());
            }
        }
        let mut tmp = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        tmp.write_all(&bytes).unwrap();
        let checked = CheckedFile {
            path: tmp.path().to_path_buf(),
            shown: "media.csv".into(),
            format: FileFormat::Csv,
            len: bytes.len() as u64,
        };
        (tmp, checked)
    }

    /// Scans split into ranges (threshold 0) must find exactly what one range finds,
    /// wherever in the file the finding sits.
    #[test]
    fn split_scan_agrees_with_one_range() {
        let rows = 20_000;
        for at in [3, rows / 2, rows - 5] {
            // A GBK byte pair ("中" in GBK) is not UTF-8: the error names its line.
            let (_t, f) = csv_file(rows, at, b"2024-01-01,\xD6\xD0,1\n");
            for from in [0, u64::MAX] {
                let auto = prescan_split(&f, Encoding::Auto, 1 << 24, from).unwrap();
                assert_eq!(auto.encoding, DetectedEncoding::Gb18030);
                assert!(!auto.has_quotes);
                let err = prescan_split(&f, Encoding::Utf8, 1 << 24, from).unwrap_err();
                assert_eq!(err.line, Some(at as u64), "split from {from}");
            }
            // A quote anywhere switches on quote-aware parsing.
            let (_t, f) = csv_file(rows, at, b"2024-01-01,\"search\",1\n");
            for from in [0, u64::MAX] {
                let scan = prescan_split(&f, Encoding::Auto, 1 << 24, from).unwrap();
                assert!(scan.has_quotes);
                assert_eq!(scan.encoding, DetectedEncoding::Utf8);
            }
            // An over-long line is reported at its own line.
            let long = [b"2024-01-01,".as_slice(), &[b'x'; 300], b",1\n"].concat();
            let (_t, f) = csv_file(rows, at, &long);
            for from in [0, u64::MAX] {
                let err = prescan_split(&f, Encoding::Auto, 100, from).unwrap_err();
                assert_eq!(err.line, Some(at as u64), "split from {from}");
            }
        }
    }

    #[test]
    fn a_file_without_line_breaks_is_scanned_whole() {
        let mut tmp = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        tmp.write_all(&vec![b'a'; 3 * CHUNK]).unwrap();
        let f = CheckedFile {
            path: tmp.path().to_path_buf(),
            shown: "one_line.csv".into(),
            format: FileFormat::Csv,
            len: 3 * CHUNK as u64,
        };
        let err = prescan_split(&f, Encoding::Auto, 2 * CHUNK as u64, 0).unwrap_err();
        assert_eq!(err.line, Some(1));
        let ok = prescan_split(&f, Encoding::Auto, 4 * CHUNK as u64, 0).unwrap();
        assert_eq!(ok.encoding, DetectedEncoding::Utf8);
    }
}
