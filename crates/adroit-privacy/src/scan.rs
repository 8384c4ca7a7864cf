//! Which columns of a table hold personal data.
//!
//! Every cell goes through [`adroit_text::pii::find`] (e-mails, phones, ID numbers with
//! their check digit, Luhn-valid cards, IPs, device IDs, addresses, names after a cue);
//! a cell that is a name on its own (张伟, Jane Smith) is caught by
//! [`adroit_text::pii::looks_like_name`] in columns whose header says name. Column
//! names and shapes flag identifiers: direct identifiers (customer_id, phone, e-mail…),
//! quasi-identifiers (age, zip, gender, city…), and keys (a distinct value in nearly
//! every row). Results carry counts, shares and example row numbers, never values.

use adroit_text::pii::{self, PiiKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// How a column can identify a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Names one person on its own (customer_id, phone, e-mail, name).
    Direct,
    /// Identifies in combination with others (age, zip, gender, city).
    Quasi,
    /// A distinct value in nearly every row: a key that may stand for a person.
    Key,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Direct => "direct identifier",
            Role::Quasi => "quasi-identifier",
            Role::Key => "key",
        }
    }
}

/// Personal data of one kind found in one column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindCount {
    /// `email`, `phone`, `id_card`, `bank_card`, `ip`, `device_id`, `address`, `name`.
    pub kind: String,
    /// Cells holding at least one.
    pub cells: usize,
    /// Matches in all (a text may hold several).
    pub matches: usize,
    /// `cells` over the table's rows.
    pub share: f64,
    /// Source row numbers (1-based data rows) of the first few cells; never values.
    pub example_rows: Vec<u64>,
}

/// One column's scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnScan {
    pub column: String,
    /// Non-empty cells.
    pub filled: usize,
    /// Whether the column holds free text (to be masked rather than pseudonymised).
    pub free_text: bool,
    pub role: Option<Role>,
    /// Why the role was given (the name, the shape, or the values).
    pub reason: Option<String>,
    pub kinds: Vec<KindCount>,
}

/// One table's scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableScan {
    pub table: String,
    pub rows: usize,
    /// Rows with personal data found in at least one cell.
    pub rows_affected: usize,
    pub share_affected: f64,
    pub columns: Vec<ColumnScan>,
}

/// Header words of direct identifiers: the whole header, one of its words, or (for
/// words of five letters or more and Chinese words) a part of it.
const DIRECT: [&str; 33] = [
    "customerid",
    "userid",
    "memberid",
    "accountid",
    "clientid",
    "buyerid",
    "openid",
    "unionid",
    "deviceid",
    "idfa",
    "gaid",
    "imei",
    "androidid",
    "cookie",
    "email",
    "mail",
    "phone",
    "mobile",
    "telephone",
    "tel",
    "cell",
    "idcard",
    "idnumber",
    "ssn",
    "passport",
    "address",
    "ip",
    "ipaddress",
    "手机",
    "电话",
    "邮箱",
    "身份证",
    "地址",
];
/// Headers of person names (whole header only: `campaign_name` is not a person).
const NAME: [&str; 14] = [
    "name",
    "fullname",
    "firstname",
    "lastname",
    "surname",
    "givenname",
    "username",
    "nickname",
    "customername",
    "contactname",
    "buyername",
    "membername",
    "clientname",
    "contact",
];
const NAME_ZH: [&str; 4] = ["姓名", "名字", "联系人", "收货人"];
/// Header words of quasi-identifiers.
const QUASI: [&str; 28] = [
    "age",
    "birth",
    "birthday",
    "dob",
    "birthdate",
    "zip",
    "zipcode",
    "postcode",
    "postalcode",
    "gender",
    "sex",
    "city",
    "province",
    "region",
    "district",
    "county",
    "country",
    "occupation",
    "job",
    "education",
    "income",
    "marital",
    "race",
    "ethnicity",
    "生日",
    "出生",
    "邮编",
    "性别",
];

fn normalise(header: &str) -> String {
    header
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
        .collect()
}

fn matches_word(header: &str, words: &[&str]) -> bool {
    let lower = header.to_lowercase();
    let joined = normalise(header);
    let tokens: Vec<&str> = lower.split(|c: char| !c.is_alphanumeric()).collect();
    words.iter().any(|w| {
        joined == *w
            || tokens.contains(w)
            || ((w.len() >= 5 || !w.is_ascii()) && joined.contains(*w))
    })
}

fn is_name_header(header: &str) -> bool {
    let joined = normalise(header);
    NAME.contains(&joined.as_str()) || NAME_ZH.iter().any(|w| joined.contains(*w))
}

/// The role a header alone suggests.
pub fn role_by_name(header: &str) -> Option<(Role, &'static str)> {
    if is_name_header(header) {
        return Some((Role::Direct, "the header names a person's name"));
    }
    if matches_word(header, &DIRECT) {
        return Some((Role::Direct, "the header names a direct identifier"));
    }
    if matches_word(header, &QUASI) {
        return Some((Role::Quasi, "the header names a quasi-identifier"));
    }
    None
}

/// Whether a cell is free text: several words, or a long run of Han characters.
fn is_text_cell(v: &str) -> bool {
    v.split_whitespace().count() >= 4 || v.chars().filter(|c| !c.is_ascii()).count() >= 12
}

/// `2024-01-31`, `2024/1/31`, `31.01.2024`, with an optional time.
fn looks_like_date(v: &str) -> bool {
    let d = v.split(['T', ' ']).next().unwrap_or(v);
    let parts: Vec<&str> = d.split(['-', '/', '.']).collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// What protection does with a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Replace every value by its keyed pseudonym (identifiers and keys).
    Pseudonymize,
    /// Mask the personal data inside each value (free text, stray contact details).
    Mask,
    /// Leave as is, but check k-anonymity before export (quasi-identifiers).
    Review,
    Keep,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Pseudonymize => "pseudonymize",
            Action::Mask => "mask",
            Action::Review => "keep; check k-anonymity",
            Action::Keep => "keep",
        }
    }
}

impl ColumnScan {
    /// What `adroit privacy protect` does with the column by default.
    pub fn action(&self) -> Action {
        if self.free_text && !self.kinds.is_empty() {
            return Action::Mask;
        }
        match self.role {
            Some(Role::Direct | Role::Key) if !self.free_text => Action::Pseudonymize,
            _ if !self.kinds.is_empty() => Action::Mask,
            Some(Role::Quasi) => Action::Review,
            _ => Action::Keep,
        }
    }
}

/// Scans one column. `source_rows[i]` is the file row of `values[i]` (for examples).
pub fn scan_column(
    column: &str,
    values: &[Option<String>],
    source_rows: &[u64],
    max_examples: usize,
) -> (ColumnScan, Vec<bool>) {
    let rows = values.len().max(1);
    let mut per_kind: BTreeMap<String, KindCount> = BTreeMap::new();
    let mut hit = vec![false; values.len()];
    let name_column = is_name_header(column);
    let mut filled = 0;
    let mut text_cells = 0;
    let mut distinct: HashSet<&str> = HashSet::new();
    let mut token_like = true;
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        filled += 1;
        distinct.insert(v);
        token_like &= v.len() <= 64 && !v.contains(char::is_whitespace);
        if is_text_cell(v) {
            text_cells += 1;
        }
        let mut found: BTreeMap<&'static str, usize> = BTreeMap::new();
        for s in pii::find(v) {
            *found.entry(s.kind.name()).or_default() += 1;
        }
        if found.is_empty() && name_column && pii::looks_like_name(v) {
            found.insert(PiiKind::Name.name(), 1);
        }
        for (kind, n) in found {
            hit[i] = true;
            let e = per_kind
                .entry(kind.to_string())
                .or_insert_with(|| KindCount {
                    kind: kind.to_string(),
                    cells: 0,
                    matches: 0,
                    share: 0.0,
                    example_rows: vec![],
                });
            e.cells += 1;
            e.matches += n;
            if e.example_rows.len() < max_examples {
                e.example_rows
                    .push(source_rows.get(i).copied().unwrap_or(i as u64 + 1));
            }
        }
    }
    let mut kinds: Vec<KindCount> = per_kind.into_values().collect();
    for k in &mut kinds {
        k.share = k.cells as f64 / rows as f64;
    }
    kinds.sort_by(|a, b| b.cells.cmp(&a.cells).then(a.kind.cmp(&b.kind)));
    let free_text = filled > 0 && text_cells * 2 >= filled;
    let mut role = role_by_name(column).map(|(r, why)| (r, why.to_string()));
    // Values that are personal data in most cells make a direct identifier whatever
    // the header says (a `contact` column of phone numbers).
    if !free_text
        && let Some(k) = kinds.first()
        && k.cells * 2 >= filled.max(1)
        && role.as_ref().is_none_or(|(r, _)| *r != Role::Direct)
    {
        role = Some((
            Role::Direct,
            format!("most values are {}", k.kind.replace('_', " ")),
        ));
    }
    if role.is_none() && token_like && filled >= 20 && distinct.len() as f64 >= 0.95 * filled as f64
    {
        // Dates and amounts are distinct per row too; numeric keys need a header
        // saying so (order_no, 编号).
        let date_like = distinct.iter().all(|v| looks_like_date(v));
        let numeric = distinct.iter().all(|v| v.parse::<f64>().is_ok());
        let h = normalise(column);
        let key_header = h.ends_with("id")
            || h.ends_with("no")
            || h.ends_with("number")
            || h.ends_with("code")
            || h.contains("编号")
            || h.ends_with('号');
        if !date_like && (!numeric || key_header) {
            role = Some((
                Role::Key,
                "a distinct value in nearly every row".to_string(),
            ));
        }
    }
    let (role, reason) = match role {
        Some((r, why)) => (Some(r), Some(why)),
        None => (None, None),
    };
    (
        ColumnScan {
            column: column.to_string(),
            filled,
            free_text,
            role,
            reason,
            kinds,
        },
        hit,
    )
}

/// Scans every column of a table.
pub fn scan_table(
    table: &str,
    columns: &[(String, Vec<Option<String>>)],
    source_rows: &[u64],
    max_examples: usize,
) -> TableScan {
    let rows = columns.first().map_or(0, |(_, v)| v.len());
    let mut affected: BTreeSet<usize> = BTreeSet::new();
    let mut scans = Vec::new();
    for (name, values) in columns {
        let (scan, hit) = scan_column(name, values, source_rows, max_examples);
        affected.extend(hit.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i));
        scans.push(scan);
    }
    TableScan {
        table: table.to_string(),
        rows,
        rows_affected: affected.len(),
        share_affected: affected.len() as f64 / rows.max(1) as f64,
        columns: scans,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn roles_by_header() {
        assert_eq!(role_by_name("customer_id").unwrap().0, Role::Direct);
        assert_eq!(role_by_name("User ID").unwrap().0, Role::Direct);
        assert_eq!(role_by_name("手机号").unwrap().0, Role::Direct);
        assert_eq!(role_by_name("姓名").unwrap().0, Role::Direct);
        assert_eq!(role_by_name("zip").unwrap().0, Role::Quasi);
        assert_eq!(role_by_name("age").unwrap().0, Role::Quasi);
        assert_eq!(role_by_name("spend"), None);
        assert_eq!(role_by_name("channel"), None);
        assert_eq!(role_by_name("stage"), None);
        assert_eq!(role_by_name("campaign_name"), None);
        assert_eq!(role_by_name("customer_age").unwrap().0, Role::Quasi);
    }

    #[test]
    fn a_table_scan_counts_cells_and_never_keeps_values() {
        let cols = vec![
            (
                "contact".to_string(),
                col(&["13812345678", "a@b.com", "", "n/a"]),
            ),
            (
                "review".to_string(),
                col(&[
                    "great, call me 13987654321 any time",
                    "ok ok ok ok",
                    "fine product really good",
                    "bad one here today",
                ]),
            ),
            ("spend".to_string(), col(&["1", "2", "3", "4"])),
        ];
        let t = scan_table("t", &cols, &[2, 3, 4, 5], 3);
        assert_eq!(t.rows, 4);
        assert_eq!(t.rows_affected, 2);
        let contact = &t.columns[0];
        assert_eq!(contact.role, Some(Role::Direct));
        assert_eq!(contact.kinds.len(), 2);
        assert!(t.columns[1].free_text);
        assert_eq!(t.columns[1].kinds[0].example_rows, vec![2]);
        assert!(t.columns[2].kinds.is_empty() && t.columns[2].role.is_none());
        let json = serde_json::to_string(&t).unwrap();
        assert!(!json.contains("13812345678") && !json.contains("a@b.com"));
    }
}
