//! Personal data in free text: found and masked before any text leaves the machine.
//!
//! Finds e-mail addresses, phone numbers (Chinese mobiles with or without +86, Chinese
//! landlines, North American and other international numbers), Chinese resident ID
//! numbers (18 characters, ISO 7064 MOD 11-2 check digit), bank card numbers (13–19
//! digits passing the Luhn check), IPv4 and IPv6 addresses, device identifiers (IDFA/GAID
//! advertising IDs written as UUIDs, 15-digit IMEIs passing Luhn), postal addresses
//! (Chinese road + house number or estate + building, optionally after province, city
//! and district; English house number + street name + street type), and person names (Chinese names by
//! jieba's `nr` tag right after a cue such as 客服 or 我叫, or a common surname before
//! a title such as 先生/女士/经理; Latin names after an honorific such as "Mr." or "Dr."). Masking replaces each with a placeholder
//! (`[EMAIL]`, `[PHONE]`, `[ID]`, `[CARD]`, `[IP]`, `[DEVICE]`, `[ADDRESS]`, `[NAME]`) so the text stays readable
//! for sentiment and aspect analysis.
//!
//! Numbers are validated, not just pattern-matched: an 18-digit order number whose
//! check digit is wrong is not an ID, a 16-digit number that fails Luhn is not a card.
//! Digit runs are matched whole (a run inside a longer run of digits is no match),
//! which Rust's `regex` cannot say with look-around, so boundaries are checked by hand.

use crate::tokens;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// What kind of personal data a span holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    IdCard,
    BankCard,
    Ip,
    Name,
    /// An advertising ID (IDFA, GAID: a UUID) or an IMEI.
    DeviceId,
    /// A postal address precise enough to find a home (a house number on a street).
    Address,
}

impl PiiKind {
    /// The placeholder that replaces a masked span.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::IdCard => "[ID]",
            PiiKind::BankCard => "[CARD]",
            PiiKind::Ip => "[IP]",
            PiiKind::Name => "[NAME]",
            PiiKind::DeviceId => "[DEVICE]",
            PiiKind::Address => "[ADDRESS]",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::IdCard => "id_card",
            PiiKind::BankCard => "bank_card",
            PiiKind::Ip => "ip",
            PiiKind::Name => "name",
            PiiKind::DeviceId => "device_id",
            PiiKind::Address => "address",
        }
    }

    /// Every kind, in a stable order.
    pub const ALL: [PiiKind; 8] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::IdCard,
        PiiKind::BankCard,
        PiiKind::Ip,
        PiiKind::DeviceId,
        PiiKind::Address,
        PiiKind::Name,
    ];
}

/// One piece of personal data: its kind and byte span in the original text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiSpan {
    pub kind: PiiKind,
    pub start: usize,
    pub end: usize,
}

/// A text with its personal data replaced by placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Masked {
    pub text: String,
    /// What was replaced, by position in the original text.
    pub spans: Vec<PiiSpan>,
}

impl Masked {
    /// How many spans of `kind` were masked.
    pub fn count(&self, kind: PiiKind) -> usize {
        self.spans.iter().filter(|s| s.kind == kind).count()
    }
}

/// The most common Chinese surnames (covering most of the population). jieba's `nr`
/// tag alone also fires on words such as 谢谢, so a name must start with one of these.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
const SURNAMES_COMPOUND: &str = "欧阳|司马|诸葛|上官|东方|皇甫|令狐|慕容";

/// Titles after a Chinese surname; the name is masked, the title kept (王先生 → [NAME]先生).
const HONORIFICS_ZH: [&str; 7] = ["先生", "女士", "小姐", "老师", "经理", "师傅", "同学"];

/// Words that introduce a person in reviews and tickets (客服李娜, 我叫张伟, 收货人:王芳).
/// jieba's `nr` tag alone fires on ordinary words (陈旧, 毛巾, 顾客 in hotel and food
/// reviews), and masking those would change what the text says; a cue right before
/// the candidate keeps name masking precise.
const NAME_CUES_ZH: [&str; 20] = [
    "叫",
    "客服",
    "服务员",
    "快递员",
    "小哥",
    "骑手",
    "外卖员",
    "配送员",
    "店长",
    "店员",
    "经理",
    "联系人",
    "收货人",
    "收件人",
    "姓名",
    "名字是",
    "销售",
    "导购",
    "前台",
    "司机",
];

fn after_name_cue(before: &str) -> bool {
    let before = before.trim_end_matches([' ', ':', '：', ',', '，']);
    NAME_CUES_ZH.iter().any(|cue| before.ends_with(cue))
}

fn starts_with_surname(word: &str) -> bool {
    let mut chars = word.chars();
    let (first, second) = (chars.next(), chars.next());
    if word.chars().count() == 2 && first == second {
        return false; // 谢谢, 常常: reduplicated words, not names
    }
    SURNAMES_COMPOUND.split('|').any(|s| word.starts_with(s))
        || word.chars().next().is_some_and(|c| SURNAMES.contains(c))
}

struct Patterns {
    email: Regex,
    /// Digit runs that may hold an ID, a card or a phone: digits with single spaces or
    /// dashes between groups, an optional leading `+` or `(`, and an optional final X.
    digits: Regex,
    ip: Regex,
    /// Candidates for IPv6 (hex groups and colons), validated by `Ipv6Addr`.
    ipv6: Regex,
    /// IDFA / GAID: a UUID in its 8-4-4-4-12 form.
    uuid: Regex,
    address_zh: Regex,
    estate_zh: Regex,
    address_en: Regex,
    honorific_latin: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        email: Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
            .expect("valid e-mail pattern"),
        digits: Regex::new(r"\+?\(?[0-9](?:[0-9]|[ \-]?\)?[ \-]?[0-9])*[0-9Xx]?")
            .expect("valid digit-run pattern"),
        ip: Regex::new(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])")
            .expect("valid IPv4 pattern"),
        ipv6: Regex::new(r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}").expect("valid IPv6 pattern"),
        uuid: Regex::new(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
            .expect("valid UUID pattern"),
        address_zh: Regex::new(
            r"(?:\p{Han}{2,7}(?:省|自治区))?(?:\p{Han}{2,7}市)?(?:\p{Han}{1,7}(?:区|县|旗))?(?:\p{Han}{1,7}(?:镇|乡|街道))?\p{Han}{1,8}(?:路|街|大道|大街|巷|胡同|弄|里)[0-9０-９]{1,5}(?:-[0-9]{1,4})?号(?:院)?(?:[0-9]{1,4}(?:号楼|栋|幢|座))?(?:[0-9]{1,3}单元)?(?:[0-9]{1,5}(?:室|号|房))?",
        )
        .expect("valid Chinese address pattern"),
        estate_zh: Regex::new(
            r"\p{Han}{2,8}(?:小区|花园|公寓|大厦|家园|新村|苑)[0-9]{1,4}(?:号楼|栋|幢|座)(?:[0-9]{1,3}单元)?(?:[0-9]{1,5}(?:室|号|房)?)?",
        )
        .expect("valid Chinese estate pattern"),
        address_en: Regex::new(
            r"\b[0-9]{1,5}[A-Za-z]?\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Parkway|Pkwy|Highway|Hwy|Square|Sq)\b\.?(?:,?\s+(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\.?\s*[0-9A-Za-z\-]+)?",
        )
        .expect("valid English address pattern"),
        honorific_latin: Regex::new(
            r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam)\.?\s+(?P<name>\p{Lu}[\p{L}'\-]+(?:\s+\p{Lu}[\p{L}'\-]+)?)",
        )
        .expect("valid honorific pattern"),
    })
}

/// Every piece of personal data in `text`, sorted by position, without overlaps (the
/// longer find wins).
pub fn find(text: &str) -> Vec<PiiSpan> {
    let p = patterns();
    let mut found: Vec<PiiSpan> = Vec::new();
    let mut push = |kind, start, end| found.push(PiiSpan { kind, start, end });
    for m in p.email.find_iter(text) {
        push(PiiKind::Email, m.start(), m.end());
    }
    for m in p.ip.find_iter(text) {
        if bounded(text, m.start(), m.end(), |c| c.is_ascii_digit() || c == '.') {
            push(PiiKind::Ip, m.start(), m.end());
        }
    }
    if text.contains(':') {
        for m in p.ipv6.find_iter(text) {
            if is_ipv6(&text[m.start()..m.end()])
                && bounded(text, m.start(), m.end(), |c| {
                    c.is_ascii_alphanumeric() || c == ':'
                })
            {
                push(PiiKind::Ip, m.start(), m.end());
            }
        }
    }
    for m in p.uuid.find_iter(text) {
        let id = m.as_str();
        if bounded(text, m.start(), m.end(), |c| {
            c.is_ascii_alphanumeric() || c == '-'
        }) && id.bytes().any(|b| b != b'0' && b != b'-')
        {
            push(PiiKind::DeviceId, m.start(), m.end());
        }
    }
    for m in p.address_en.find_iter(text) {
        push(PiiKind::Address, m.start(), m.end());
    }
    if text.chars().any(tokens::is_han) {
        for re in [&p.address_zh, &p.estate_zh] {
            for m in re.find_iter(text) {
                let start = m.start() + address_lead(m.as_str());
                if start < m.end() {
                    push(PiiKind::Address, start, m.end());
                }
            }
        }
    }
    for m in p.digits.find_iter(text) {
        let (start, end) = trim_run(text, m.start(), m.end());
        if start >= end || !bounded(text, start, end, |c| c.is_ascii_alphanumeric()) {
            continue;
        }
        if let Some(kind) = classify_number(&text[start..end]) {
            push(kind, start, end);
        }
    }
    for c in p.honorific_latin.captures_iter(text) {
        let n = c.name("name").expect("group");
        push(PiiKind::Name, n.start(), n.end());
    }
    if text.chars().any(tokens::is_han) {
        for (start, end) in chinese_names(text) {
            push(PiiKind::Name, start, end);
        }
    }
    found.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<PiiSpan> = Vec::new();
    for s in found {
        if kept.iter().all(|k| s.end <= k.start || s.start >= k.end) {
            kept.push(s);
        }
    }
    kept.sort_by_key(|s| s.start);
    kept
}

/// Byte spans of Chinese person names: a surname (with up to two given-name
/// characters) right before a title (王先生, 李娜经理), or a 2–4 character word jieba tags
/// `nr` right after a cue word (客服李娜, 我叫张伟).
fn chinese_names(text: &str) -> Vec<(usize, usize)> {
    let tags = tokens::jieba().tag(text, true);
    let mut names = Vec::new();
    for (i, t) in tags.iter().enumerate() {
        let n = t.word.chars().count();
        let all_han = t.word.chars().all(tokens::is_han);
        let is_nr = t.tag == "nr" && (2..=4).contains(&n) && all_han && starts_with_surname(t.word);
        // 王先生 as one token: the name is what precedes the title.
        if let Some(h) = HONORIFICS_ZH.iter().find(|h| t.word.ends_with(*h)) {
            let name = &t.word[..t.word.len() - h.len()];
            if (1..=3).contains(&name.chars().count()) && starts_with_surname(name) {
                names.push((t.byte_start, t.byte_start + name.len()));
            }
            continue;
        }
        let before_title = tags
            .get(i + 1)
            .is_some_and(|next| HONORIFICS_ZH.iter().any(|h| next.word.starts_with(h)));
        let lone_surname = n == 1 && starts_with_surname(t.word);
        if (before_title && (lone_surname || is_nr))
            || (is_nr && after_name_cue(&text[..t.byte_start]))
        {
            names.push((t.byte_start, t.byte_end));
        }
    }
    names
}

/// `text` with every piece of personal data replaced by its placeholder.
pub fn mask(text: &str) -> Masked {
    let spans = find(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for s in &spans {
        out.push_str(&text[at..s.start]);
        out.push_str(s.kind.placeholder());
        at = s.end;
    }
    out.push_str(&text[at..]);
    Masked { text: out, spans }
}

/// Whether the characters just outside `[start, end)` are not `inside` characters, so
/// the match is a whole run rather than a piece of a longer one.
fn bounded(text: &str, start: usize, end: usize, inside: impl Fn(char) -> bool) -> bool {
    !text[..start].chars().next_back().is_some_and(&inside)
        && !text[end..].chars().next().is_some_and(&inside)
}

/// Drops separators and an unmatched bracket the digit pattern may leave at the ends.
fn trim_run(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    let b = text.as_bytes();
    while end > start && matches!(b[end - 1], b' ' | b'-' | b')') {
        end -= 1;
    }
    while start < end && matches!(b[start], b' ' | b'-') {
        start += 1;
    }
    (start, end)
}

/// What a whole digit run is, if it is personal data.
fn classify_number(run: &str) -> Option<PiiKind> {
    let digits: String = run.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let plain = !run.contains([' ', '-', '(', ')', '+']);
    if digits.len() == 18 && is_resident_id(&digits) {
        return Some(PiiKind::IdCard);
    }
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // An IMEI: 15 digits passing Luhn. 15-digit cards are American Express (34, 37).
    if digits.len() == 15
        && plain
        && luhn(&digits)
        && !digits.starts_with("34")
        && !digits.starts_with("37")
        && !digits.starts_with('0')
    {
        return Some(PiiKind::DeviceId);
    }
    // Card numbers start with a non-zero issuer digit (ISO/IEC 7812). An 18-digit run
    // shaped like a resident ID (a birth date in place) whose check digit fails is a
    // mistyped ID or an ID-like order number, not a card, even when it passes Luhn
    // (one in ten such runs does).
    if (13..=19).contains(&digits.len())
        && !(digits.len() == 18 && id_shaped(&digits))
        && luhn(&digits)
        && !run.starts_with('+')
        && !digits.starts_with('0')
    {
        return Some(PiiKind::BankCard);
    }
    // Chinese mobile: 1[3-9] and 9 more digits, optionally after a +86 / 0086 prefix.
    let national = digits
        .strip_prefix("0086")
        .or_else(|| {
            run.starts_with('+')
                .then(|| digits.strip_prefix("86"))
                .flatten()
        })
        .unwrap_or(&digits);
    if national.len() == 11
        && national.starts_with('1')
        && matches!(national.as_bytes()[1], b'3'..=b'9')
    {
        return Some(PiiKind::Phone);
    }
    if plain {
        return None; // other bare digit runs are order numbers, amounts, codes…
    }
    // Formatted numbers: a Chinese landline (0 + area code, 10–12 digits), an
    // international number (+ and 8–15 digits), or a North American one (10 digits,
    // or 11 starting with 1).
    let landline = run.starts_with('0') && (10..=12).contains(&digits.len());
    let international = run.starts_with('+') && (8..=15).contains(&digits.len());
    let nanp = digits.len() == 10 || (digits.len() == 11 && digits.starts_with('1'));
    (landline || international || nanp).then_some(PiiKind::Phone)
}

/// Words that lead into an address (住在, 地址是, 寄到) and that the Chinese address
/// pattern, greedy over Han characters, would take as part of a place name: the byte
/// length of the lead-in to skip.
fn address_lead(span: &str) -> usize {
    const LEADS: [&str; 16] = [
        "收货地址",
        "地址是",
        "地址",
        "住址",
        "住在",
        "家住",
        "位于",
        "寄到",
        "送到",
        "发到",
        "我在",
        "我家",
        "就在",
        "在",
        "是",
        "到",
    ];
    let mut at = 0;
    // A lead-in may follow other words (请寄到, 我家住在): cut after the last lead-in
    // that leaves at least three Han characters of place name.
    for lead in LEADS {
        if let Some(i) = span.find(lead) {
            let end = i + lead.len();
            let rest = &span[end..];
            let first_level = rest
                .find(|c: char| !tokens::is_han(c))
                .unwrap_or(rest.len());
            if end > at && rest[..first_level].chars().count() >= 3 {
                at = end;
            }
        }
    }
    at
}

/// A whole IPv6 address (full or `::`-compressed) with at least two hex groups, so
/// clock times (12:30:45), `::1` and `a::b` paths are not taken for one.
fn is_ipv6(s: &str) -> bool {
    s.split(':').filter(|g| !g.is_empty()).count() >= 2 && s.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Whether a whole cell looks like a person's name: 2–4 Han characters starting with a
/// common surname (not a reduplicated word), or 2–3 capitalised Latin words. Meant for
/// columns, where a name stands alone; in running text [`find`] needs a cue or title.
pub fn looks_like_name(value: &str) -> bool {
    let v = value.trim();
    let n = v.chars().count();
    if v.chars().all(tokens::is_han) {
        return (2..=4).contains(&n) && starts_with_surname(v);
    }
    let words: Vec<&str> = v.split_whitespace().collect();
    (2..=3).contains(&words.len())
        && words.iter().all(|w| {
            let mut c = w.chars();
            c.next().is_some_and(char::is_uppercase)
                && w.chars().count() >= 2
                && c.all(|c| c.is_lowercase() || c == '\'' || c == '-')
        })
}

/// The Luhn check every payment card number passes.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether 18 digits carry a birth date where a resident ID has it (digits 7–14).
fn id_shaped(id: &str) -> bool {
    let num = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    (1900..=2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day)
}

/// A Chinese resident identity number (GB 11643): 6-digit region, 8-digit birth date,
/// 3-digit sequence and an ISO 7064 MOD 11-2 check character (0–9 or X).
fn is_resident_id(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| id[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiKind, &str)> {
        find(text)
            .into_iter()
            .map(|s| (s.kind, &text[s.start..s.end]))
            .collect()
    }

    #[test]
    fn chinese_contact_details_are_found_inside_han_text() {
        let t = "快递员电话13812345678,身份证11010519491231002X,邮箱 wang.fang@example.com.cn 谢谢";
        assert_eq!(
            kinds(t),
            vec![
                (PiiKind::Phone, "13812345678"),
                (PiiKind::IdCard, "11010519491231002X"),
                (PiiKind::Email, "wang.fang@example.com.cn"),
            ]
        );
        let m = mask(t);
        assert_eq!(m.text, "快递员电话[PHONE],身份证[ID],邮箱 [EMAIL] 谢谢");
        assert_eq!(m.count(PiiKind::Phone), 1);
    }

    #[test]
    fn phones_in_common_formats() {
        for phone in [
            "+86 138 1234 5678",
            "+8613812345678",
            "008613812345678",
            "010-62345678",
            "0755-8765 4321",
            "(555) 123-4567",
            "555-123-4567",
            "+1 555 123 4567",
            "+44 20 7946 0958",
        ] {
            let t = format!("call me at {phone} please");
            assert_eq!(kinds(&t), vec![(PiiKind::Phone, phone)], "{phone}");
        }
    }

    #[test]
    fn numbers_are_validated_not_just_matched() {
        // Visa test number passes Luhn; one digit changed does not.
        assert_eq!(
            kinds("card 4111 1111 1111 1111 used"),
            vec![(PiiKind::BankCard, "4111 1111 1111 1111")]
        );
        assert_eq!(kinds("card 4111111111111112 used"), vec![]);
        // An 18-digit order number with a wrong check digit is not an ID.
        assert_eq!(kinds("订单号110105194912310021"), vec![]);
        // A mobile number inside a longer digit run is not a phone.
        assert_eq!(kinds("编号 9913812345678123"), vec![]);
        // Amounts, years and short codes stay.
        assert!(kinds("花了1299元,2024年买的,验证码 123456").is_empty());
    }

    #[test]
    fn names_after_honorifics_and_by_jieba() {
        let en = kinds("Dr. Jane Smith called; Mr Brown never did.");
        assert_eq!(
            en,
            vec![(PiiKind::Name, "Jane Smith"), (PiiKind::Name, "Brown")]
        );
        let zh = mask("王先生很耐心,客服李娜处理得很快");
        assert!(zh.text.contains("[NAME]先生"), "{}", zh.text);
        assert!(!zh.text.contains("李娜"), "{}", zh.text);
        // Sentiment-bearing words are left alone.
        assert!(
            zh.text.contains("很耐心") && zh.text.contains("处理得很快"),
            "{}",
            zh.text
        );
    }

    #[test]
    fn ip_addresses_and_clean_text() {
        assert_eq!(
            kinds("login from 192.168.1.20 failed"),
            vec![(PiiKind::Ip, "192.168.1.20")]
        );
        assert!(kinds("version 1.2.3.4.5 released").is_empty());
        let clean = "Great product, fast delivery! 物流很快,质量不错。";
        assert_eq!(mask(clean).text, clean);
    }

    #[test]
    fn addresses_devices_and_ipv6() {
        assert_eq!(
            kinds("请寄到北京市朝阳区建国路88号,谢谢"),
            vec![(PiiKind::Address, "北京市朝阳区建国路88号")]
        );
        assert_eq!(
            kinds("I live at 221 Baker Street, Apt 2 now"),
            vec![(PiiKind::Address, "221 Baker Street, Apt 2")]
        );
        assert_eq!(
            kinds("idfa 6D92078A-8246-4BA4-AE5B-76104861E7DC ok"),
            vec![(PiiKind::DeviceId, "6D92078A-8246-4BA4-AE5B-76104861E7DC")]
        );
        // IMEI 15 digits with Luhn; one digit off is an ordinary number.
        assert_eq!(
            kinds("IMEI 490154203237518"),
            vec![(PiiKind::DeviceId, "490154203237518")]
        );
        assert!(kinds("IMEI 490154203237519").is_empty());
        assert_eq!(
            kinds("from 2001:db8:85a3::8a2e:370:7334 at 12:30:45"),
            vec![(PiiKind::Ip, "2001:db8:85a3::8a2e:370:7334")]
        );
        assert!(kinds("std::vector and 00000000-0000-0000-0000-000000000000").is_empty());
        assert!(looks_like_name("张伟") && looks_like_name("Jane Smith"));
        assert!(!looks_like_name("谢谢") && !looks_like_name("good product"));
    }
}
