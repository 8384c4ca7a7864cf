//! The PII detectors on generated positives and near-miss negatives: precision and
//! recall per kind, printed with `--nocapture` and asserted.

use adroit_text::pii::{self, PiiKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

fn luhn_ok(d: &str) -> bool {
    let s: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let x = u32::from(b - b'0');
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    s.is_multiple_of(10)
}

/// `body` + the Luhn check digit.
fn with_luhn(body: &str) -> String {
    (0..10)
        .map(|c| format!("{body}{c}"))
        .find(|s| luhn_ok(s))
        .expect("one digit fits")
}

fn without_luhn(rng: &mut ChaCha8Rng, prefix: &str, len: usize) -> String {
    loop {
        let s = format!("{prefix}{}", digits(rng, len - prefix.len()));
        if !luhn_ok(&s) {
            return s;
        }
    }
}

fn resident_id(rng: &mut ChaCha8Rng, valid: bool) -> String {
    let regions = ["110105", "310101", "440305", "510104", "330106", "420102"];
    let body = format!(
        "{}{}{:02}{:02}{}",
        regions[rng.random_range(0..regions.len())],
        rng.random_range(1950..2005),
        rng.random_range(1..13),
        rng.random_range(1..29),
        digits(rng, 3)
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = body
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let right = C[(sum % 11) as usize] as char;
    let check = if valid {
        right
    } else {
        *b"0123456789X"
            .iter()
            .map(|b| *b as char)
            .filter(|c| *c != right)
            .collect::<Vec<_>>()
            .get(rng.random_range(0..10))
            .expect("ten wrong digits")
    };
    format!("{body}{check}")
}

fn hex(rng: &mut ChaCha8Rng, n: usize, upper: bool) -> String {
    let set = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    (0..n)
        .map(|_| set[rng.random_range(0..16)] as char)
        .collect()
}

fn uuid_v4(rng: &mut ChaCha8Rng, upper: bool) -> String {
    let v = ["8", "9", "a", "b"][rng.random_range(0..4)];
    let v = if upper {
        v.to_uppercase()
    } else {
        v.to_string()
    };
    format!(
        "{}-{}-4{}-{}{}-{}",
        hex(rng, 8, upper),
        hex(rng, 4, upper),
        hex(rng, 3, upper),
        v,
        hex(rng, 3, upper),
        hex(rng, 12, upper)
    )
}

/// Planted positives: (kind, the value, the text around it).
fn positives(rng: &mut ChaCha8Rng) -> Vec<(PiiKind, String, String)> {
    let mut out = Vec::new();
    let zh_roads = [
        "建国路",
        "南京东路",
        "中山大道",
        "人民路",
        "解放街",
        "长安街",
    ];
    let zh_places = [
        "北京市朝阳区",
        "上海市黄浦区",
        "广东省深圳市南山区",
        "浙江省杭州市西湖区",
        "四川省成都市武侯区",
    ];
    let en_streets = [
        "Baker Street",
        "Main St",
        "Oak Avenue",
        "Sunset Blvd",
        "Elm Road",
        "Park Lane",
    ];
    let names_zh = ["李娜", "张伟", "王芳", "刘洋", "陈静"];
    let names_en = ["Jane Smith", "John Brown", "Emily Clark"];
    for i in 0..200 {
        let phone = format!("1{}{}", rng.random_range(3..10), digits(rng, 9));
        out.push((
            PiiKind::Phone,
            phone.clone(),
            format!("快递员电话{phone},请联系"),
        ));
        let spaced = format!("+86 {} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
        out.push((
            PiiKind::Phone,
            spaced.clone(),
            format!("call {spaced} after 6pm"),
        ));
        let user = format!("user{}", rng.random_range(1..100000));
        let email = format!("{user}@example{}.com", i % 7);
        out.push((
            PiiKind::Email,
            email.clone(),
            format!("mail me at {email} thanks"),
        ));
        let id = resident_id(rng, true);
        out.push((
            PiiKind::IdCard,
            id.clone(),
            format!("身份证号码 {id} 已登记"),
        ));
        let prefix = ["4", "51", "62"][i % 3];
        let card = with_luhn(&format!("{prefix}{}", digits(rng, 15 - prefix.len())));
        out.push((
            PiiKind::BankCard,
            card.clone(),
            format!("卡号{card}扣款失败"),
        ));
        let grouped = format!(
            "{} {} {} {}",
            &card[..4],
            &card[4..8],
            &card[8..12],
            &card[12..]
        );
        out.push((
            PiiKind::BankCard,
            grouped.clone(),
            format!("card {grouped} declined"),
        ));
        let ip = format!(
            "{}.{}.{}.{}",
            rng.random_range(1..224),
            rng.random_range(0..256),
            rng.random_range(0..256),
            rng.random_range(1..255)
        );
        out.push((PiiKind::Ip, ip.clone(), format!("login from {ip} blocked")));
        let ip6 = format!(
            "2001:db8:{}::{}:{}",
            hex(rng, 4, false),
            hex(rng, 3, false),
            hex(rng, 4, false)
        );
        out.push((PiiKind::Ip, ip6.clone(), format!("ipv6 {ip6} seen")));
        let dev = uuid_v4(rng, i % 2 == 0);
        out.push((
            PiiKind::DeviceId,
            dev.clone(),
            format!("idfa={dev} installed"),
        ));
        let imei = with_luhn(&format!("{}{}", ["35", "86", "49"][i % 3], digits(rng, 12)));
        out.push((PiiKind::DeviceId, imei.clone(), format!("IMEI {imei} 丢失")));
        let addr = format!(
            "{}{}{}号",
            zh_places[i % zh_places.len()],
            zh_roads[rng.random_range(0..zh_roads.len())],
            rng.random_range(1..500)
        );
        out.push((PiiKind::Address, addr.clone(), format!("请寄到{addr},谢谢")));
        let en = format!(
            "{} {}",
            rng.random_range(1..9999),
            en_streets[rng.random_range(0..en_streets.len())]
        );
        out.push((PiiKind::Address, en.clone(), format!("Ship to {en} please")));
        let estate = format!(
            "{}{}号楼{}室",
            ["阳光小区", "万科城市花园", "翠湖公寓"][i % 3],
            rng.random_range(1..40),
            rng.random_range(101..2500)
        );
        out.push((PiiKind::Address, estate.clone(), format!("送到{estate}")));
        let apt = format!("{en}, Apt {}", rng.random_range(1..99));
        out.push((
            PiiKind::Address,
            apt.clone(),
            format!("I moved to {apt} last May"),
        ));
        let nz = names_zh[i % names_zh.len()];
        out.push((PiiKind::Name, nz.to_string(), format!("客服{nz}处理得很快")));
        let ne = names_en[i % names_en.len()];
        out.push((
            PiiKind::Name,
            ne.to_string(),
            format!("Dr. {ne} called back"),
        ));
    }
    out
}

/// Near misses: what looks like personal data and is not.
fn negatives(rng: &mut ChaCha8Rng) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    for _ in 0..200 {
        out.push((
            "id_bad_checksum",
            format!("订单号{}", resident_id(rng, false)),
        ));
        out.push((
            "card_failing_luhn",
            format!("卡号 {} 无效", without_luhn(rng, "4", 16)),
        ));
        out.push((
            "imei_failing_luhn",
            format!("IMEI {}", without_luhn(rng, "35", 15)),
        ));
        // Phone-like order numbers: 11 digits not starting 13–19, or a mobile inside a
        // longer run.
        out.push((
            "order_11_digits",
            format!("订单号 1{}{}", rng.random_range(0..3), digits(rng, 9)),
        ));
        out.push((
            "mobile_inside_longer_run",
            format!(
                "编号{}1{}{}",
                rng.random_range(1..10),
                rng.random_range(3..10),
                digits(rng, 9)
            ),
        ));
        out.push(("random_hex_32", format!("trace {} ok", hex(rng, 32, false))));
        out.push((
            "random_hex_dashed_wrongly",
            format!("sku {}-{}", hex(rng, 6, true), hex(rng, 10, true)),
        ));
        out.push((
            "clock_time",
            format!(
                "at {:02}:{:02}:{:02} today",
                rng.random_range(0..24),
                rng.random_range(0..60),
                rng.random_range(0..60)
            ),
        ));
        out.push((
            "amount_and_date",
            format!(
                "花了{}元, 2024-11-{:02} 下单",
                rng.random_range(10..99999),
                rng.random_range(1..29)
            ),
        ));
        out.push((
            "version",
            format!(
                "version {}.{}.{}.{}.{}",
                rng.random_range(0..9),
                rng.random_range(0..9),
                rng.random_range(0..9),
                rng.random_range(0..9),
                rng.random_range(0..9)
            ),
        ));
        out.push(("short_code", format!("验证码 {}", digits(rng, 6))));
        out.push((
            "road_without_number",
            "酒店在南京路附近,交通方便".to_string(),
        ));
        out.push((
            "quantity_street_words",
            format!("{} Main features are great", rng.random_range(2..9)),
        ));
    }
    out
}

#[test]
fn detectors_have_high_precision_and_recall() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let pos = positives(&mut rng);
    let neg = negatives(&mut rng);
    // Per kind: planted, found (recall), spans reported, spans right (precision).
    let mut planted: BTreeMap<&str, (usize, usize, usize, usize)> = BTreeMap::new();
    for (kind, value, text) in &pos {
        let at = text.find(value.as_str()).expect("planted");
        let spans = pii::find(text);
        let hit = spans
            .iter()
            .any(|s| s.kind == *kind && s.start <= at && s.end >= at + value.len());
        let e = planted.entry(kind.name()).or_default();
        e.0 += 1;
        e.1 += usize::from(hit);
        if !hit {
            eprintln!("missed {}: {text}", kind.name());
        }
        for s in &spans {
            let right = s.kind == *kind && s.start < at + value.len() && s.end > at;
            let e = planted.entry(s.kind.name()).or_default();
            e.2 += 1;
            e.3 += usize::from(right);
            if !right {
                eprintln!(
                    "false {}: {:?} in {text}",
                    s.kind.name(),
                    &text[s.start..s.end]
                );
            }
        }
    }
    let mut false_on_near_misses: BTreeMap<&str, usize> = BTreeMap::new();
    for (what, text) in &neg {
        let spans = pii::find(text);
        if !spans.is_empty() {
            eprintln!("near miss {what} flagged: {text} -> {spans:?}");
            for s in &spans {
                planted.entry(s.kind.name()).or_default().2 += 1;
            }
        }
        *false_on_near_misses.entry(what).or_default() += spans.len();
    }
    println!("kind        planted  recall  precision");
    let (mut tp, mut n, mut reported, mut right) = (0, 0, 0, 0);
    for (kind, (p, found, rep, ok)) in &planted {
        let recall = *found as f64 / (*p).max(1) as f64;
        let precision = *ok as f64 / (*rep).max(1) as f64;
        println!("{kind:<11} {p:>7}  {recall:>6.3}  {precision:>9.3}");
        assert!(recall >= 0.95, "{kind}: recall {recall}");
        assert!(precision >= 0.95, "{kind}: precision {precision}");
        tp += found;
        n += p;
        reported += rep;
        right += ok;
    }
    let (recall, precision) = (tp as f64 / n as f64, right as f64 / reported as f64);
    println!("all         {n:>7}  {recall:>6.3}  {precision:>9.3}");
    println!(
        "near misses: {} texts, {} flagged",
        neg.len(),
        false_on_near_misses.values().sum::<usize>()
    );
    assert!(
        false_on_near_misses.values().all(|n| *n == 0),
        "false positives on near misses: {false_on_near_misses:?}"
    );
}

#[test]
fn masking_leaves_no_planted_value() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (kind, value, text) in positives(&mut rng) {
        let m = pii::mask(&text);
        assert!(
            !m.text.contains(&value),
            "{} left in {}",
            kind.name(),
            m.text
        );
        assert!(m.text.contains(kind.placeholder()), "{}", m.text);
    }
}
