//! Personal data in free text: found and masked before any text leaves the machine.
//!
//! Finds e-mail addresses, phone numbers (Chinese mobiles with or without +86, Chinese
//! landlines, North American and other international numbers), Chinese resident ID
//! numbers (18 characters, ISO 7064 MOD 11-2 check digit), bank card numbers (13–19
//! digits passing the Luhn check), IPv4 addresses, and person names (Chinese names by
//! jieba's `nr` tag right after a cue such as 客服 or 我叫, or a common surname before
//! a title such as 先生/女士/经理; Latin names after an honorific such as "Mr." or "Dr."). Masking replaces each with a placeholder
//! (`[EMAIL]`, `[PHONE]`, `[ID]`, `[CARD]`, `[IP]`, `[NAME]`) so the text stays readable
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
        }
    }
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
    // Card numbers start with a non-zero issuer digit (ISO/IEC 7812).
    if (13..=19).contains(&digits.len())
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
}
