//! Every kind of bad input gets an error finding that names the file, and the row
//! and column where there is one — never a panic.

mod common;

use common::*;

#[test]
fn clean_file_has_no_findings() {
    let f = Fixture::new();
    let loaded = f.check_media(&clean_media());
    assert!(
        loaded.report.findings.is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    assert_eq!(loaded.table("media").unwrap().num_rows(), 28);
}

#[test]
fn missing_file_is_named_with_a_suggestion() {
    let f = Fixture::new();
    f.write("media_2024.csv", clean_media());
    let loaded = f.check("[media]\npath = \"media-2024.csv\"\n");
    let finding = one(&loaded, "unreadable_file");
    assert_eq!(finding.file, "media-2024.csv");
    assert!(
        finding.message.contains("file not found"),
        "{}",
        finding.message
    );
    assert!(
        finding.suggestion.contains("media_2024.csv"),
        "{}",
        finding.suggestion
    );
    assert!(loaded.table("media").is_none());
}

#[test]
fn directory_instead_of_file() {
    let f = Fixture::new();
    std::fs::create_dir(f.path().join("exports")).unwrap();
    let loaded = f.check("[media]\npath = \"exports\"\n");
    assert!(
        one(&loaded, "unreadable_file")
            .message
            .contains("is a directory")
    );
}

#[test]
fn empty_file_and_header_only_file() {
    let f = Fixture::new();
    f.write("media.csv", "");
    let loaded = f.check("[media]\npath = \"media.csv\"\n");
    assert!(one(&loaded, "unreadable_file").message.contains("empty"));

    let loaded = f.check_media("date,channel,spend\n");
    let finding = one(&loaded, "empty_table");
    assert_eq!(finding.file, "media.csv");
}

#[test]
fn malformed_row_names_its_line() {
    let f = Fixture::new();
    let csv = "date,channel,spend\n2024-01-01,search,10\n2024-01-02,search,10,99,extra\n2024-01-03,search,10\n";
    let loaded = f.check_media(csv);
    let finding = one(&loaded, "malformed_file");
    assert!(finding.message.contains("line 3"), "{}", finding.message);
    assert!(
        finding.message.contains("expected 3 fields"),
        "{}",
        finding.message
    );
    assert_eq!(finding.location.rows, vec![2]);
}

#[test]
fn unterminated_quote_is_reported_not_swallowed() {
    let f = Fixture::new();
    let csv = "date,channel,spend\n2024-01-01,\"search,10\n2024-01-02,search,10\n";
    let loaded = f.check_media(csv);
    assert!(
        !error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
}

#[test]
fn a_two_gigabyte_line_is_rejected_before_parsing() {
    // A sparse file: a header, then one line of 2 GiB of NUL bytes with no newline.
    // The prescan stops at max_line_bytes, so the test costs no disk and little time.
    let f = Fixture::new();
    let path = f.path().join("media.csv");
    std::fs::write(&path, "date,channel,spend\n").unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(19 + (2u64 << 30)).unwrap();
    drop(file);
    let loaded = f.check("[media]\npath = \"media.csv\"\n");
    let finding = one(&loaded, "malformed_file");
    assert!(finding.message.contains("line 2"), "{}", finding.message);
    assert!(
        finding.message.contains("longer than 16777216 bytes"),
        "{}",
        finding.message
    );
}

#[test]
fn non_numeric_money_names_row_column_and_value() {
    let f = Fixture::new();
    let csv = "date,channel,spend\n2024-01-01,search,10\n2024-01-02,search,ten dollars\n2024-01-03,search,$1,000.50\n";
    // The third row's value is unquoted and holds a comma: that is a malformed row.
    let loaded = f.check_media(csv);
    assert_eq!(one(&loaded, "malformed_file").location.rows, vec![3]);

    let csv = "date,channel,spend\n2024-01-01,search,10\n2024-01-02,search,ten dollars\n2024-01-03,search,\"$1,000.50\"\n";
    let loaded = f.check_media(csv);
    let finding = one(&loaded, "wrong_type");
    assert_eq!(finding.column.as_deref(), Some("spend"));
    assert_eq!(finding.location.rows, vec![2]);
    assert!(
        finding.message.contains("`ten dollars` (row 2)"),
        "{}",
        finding.message
    );
    // The cleaned currency value was read and the cleaning recorded.
    let spend = loaded
        .table("media")
        .unwrap()
        .f64s("spend")
        .unwrap()
        .clone();
    assert_eq!(spend.value(2), 1000.5);
    assert!(
        loaded
            .report
            .cleaning
            .iter()
            .any(|c| c.action.contains("currency") && c.count == 1)
    );
}

#[test]
fn chinese_money_and_thousands_separators() {
    let f = Fixture::new();
    let csv = "date,channel,spend\n2024-01-01,百度,\"¥1,234.50\"\n2024-01-02,百度,88元\n2024-01-03,微信,\"￥2,000\"\n";
    let loaded = f.check_media(csv);
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    let t = loaded.table("media").unwrap();
    let spend: Vec<f64> = t.f64s("spend").unwrap().values().to_vec();
    assert_eq!(spend, vec![1234.5, 88.0, 2000.0]);
    assert_eq!(t.distinct("channel"), vec!["微信", "百度"]);
}

#[test]
fn mixed_date_formats_name_the_odd_rows() {
    let f = Fixture::new();
    let csv =
        "date,channel,spend\n2024-01-01,a,1\n2024-01-02,a,1\n03/01/2024,a,1\n2024-01-04,a,1\n";
    let loaded = f.check_media(csv);
    let finding = one(&loaded, "mixed_date_formats");
    assert_eq!(finding.location.rows, vec![3]);
    assert!(
        finding.message.contains("`03/01/2024`"),
        "{}",
        finding.message
    );
    assert!(
        finding.message.contains("YYYY-MM-DD"),
        "{}",
        finding.message
    );
}

#[test]
fn local_date_formats_are_read() {
    let f = Fixture::new();
    let loaded = f.check_media("date,channel,spend\n2024年1月5日,a,1\n2024年1月6日,a,2\n");
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    let (first, last) = loaded.table("media").unwrap().date_range("date").unwrap();
    assert_eq!(
        (first.to_string(), last.to_string()),
        ("2024-01-05".into(), "2024-01-06".into())
    );

    // Day-first, unambiguous because of day 13.
    let loaded = f.check_media("date,channel,spend\n13/01/2024,a,1\n14/01/2024,a,2\n");
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .date_range("date")
            .unwrap()
            .0
            .to_string(),
        "2024-01-13"
    );

    // Ambiguous day/month order is read month-first and warned about.
    let loaded = f.check_media("date,channel,spend\n01/02/2024,a,1\n01/03/2024,a,2\n");
    assert_eq!(
        one(&loaded, "ambiguous_date_format").severity,
        adroit_data::Severity::Warning
    );
}

#[test]
fn date_format_override_resolves_ambiguity() {
    let f = Fixture::new();
    f.write(
        "media.csv",
        "date,channel,spend\n01/02/2024,a,1\n02/02/2024,a,2\n",
    );
    let loaded = f.check("[media]\npath = \"media.csv\"\ndate_format = \"%d/%m/%Y\"\n");
    assert!(by_rule(&loaded, "ambiguous_date_format").is_empty());
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .date_range("date")
            .unwrap()
            .0
            .to_string(),
        "2024-02-01"
    );
}

#[test]
fn utf8_bom_is_accepted() {
    let f = Fixture::new();
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(clean_media().as_bytes());
    f.write("media.csv", bytes);
    let loaded = f.check("[media]\npath = \"media.csv\"\n");
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    assert!(
        loaded
            .report
            .cleaning
            .iter()
            .any(|c| c.action.contains("byte-order mark"))
    );
}

#[test]
fn gbk_encoded_csv_is_decoded_and_recorded() {
    let text = "日期,渠道,花费\n2024-01-01,百度推广,\"￥1,200\"\n2024-01-02,微信朋友圈,800\n";
    let (gbk, _, had_errors) = encoding_rs::GBK.encode(text);
    assert!(!had_errors);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the fixture must not be UTF-8"
    );
    let f = Fixture::new();
    f.write("media.csv", &gbk);
    let loaded = f.check(
        "[media]\npath = \"media.csv\"\ndate = \"日期\"\nchannel = \"渠道\"\nspend = \"花费\"\n",
    );
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    let t = loaded.table("media").unwrap();
    assert_eq!(t.distinct("channel"), vec!["微信朋友圈", "百度推广"]);
    assert_eq!(
        t.f64s("spend").unwrap().values().to_vec(),
        vec![1200.0, 800.0]
    );
    assert!(
        loaded
            .report
            .cleaning
            .iter()
            .any(|c| c.action.contains("GB18030"))
    );
}

#[test]
fn bytes_that_are_neither_utf8_nor_gb18030_are_rejected_with_a_line() {
    let f = Fixture::new();
    let mut bytes = b"date,channel,spend\n2024-01-01,a,1\n2024-01-02,".to_vec();
    bytes.extend_from_slice(&[0x81, 0x20, 0xFF]); // invalid in both encodings
    bytes.extend_from_slice(b",2\n");
    f.write("media.csv", bytes);
    let loaded = f.check("[media]\npath = \"media.csv\"\n");
    let finding = one(&loaded, "malformed_file");
    assert!(
        finding
            .message
            .contains("neither valid UTF-8 nor valid GB18030"),
        "{}",
        finding.message
    );
    assert!(finding.message.contains("line 3"), "{}", finding.message);

    // Declared UTF-8 but is not: a clear error too.
    let loaded = f.check("[media]\npath = \"media.csv\"\nencoding = \"utf-8\"\n");
    assert!(
        one(&loaded, "malformed_file")
            .message
            .contains("not valid UTF-8")
    );
}

#[test]
fn missing_required_column_suggests_the_closest() {
    let f = Fixture::new();
    let loaded = f.check_media("date,channel,Spend \n2024-01-01,a,1\n");
    let finding = one(&loaded, "missing_required_column");
    assert_eq!(finding.column.as_deref(), Some("spend"));
    assert!(
        finding.suggestion.contains("`Spend`"),
        "{}",
        finding.suggestion
    );
}

#[test]
fn parquet_and_json_lines_load_like_csv() {
    use datafusion::arrow::array::{Float64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    let f = Fixture::new();
    let schema = Arc::new(Schema::new(vec![
        Field::new("date", DataType::Utf8, false),
        Field::new("channel", DataType::Utf8, false),
        Field::new("spend", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["2024-01-01", "2024-01-02"])),
            Arc::new(StringArray::from(vec!["tv", "tv"])),
            Arc::new(Float64Array::from(vec![Some(10.5), Some(20.0)])),
        ],
    )
    .unwrap();
    // Snappy, the pandas default, must open.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .build();
    let file = std::fs::File::create(f.path().join("media.parquet")).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let loaded = f.check("[media]\npath = \"media.parquet\"\n");
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .values()
            .to_vec(),
        vec![10.5, 20.0]
    );

    f.write("media.jsonl", "{\"date\":\"2024-01-01\",\"channel\":\"tv\",\"spend\":1.5}\n{\"date\":\"2024-01-02\",\"channel\":\"tv\",\"spend\":2}\n");
    let loaded = f.check("[media]\npath = \"media.jsonl\"\n");
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .values()
            .to_vec(),
        vec![1.5, 2.0]
    );
    // Money as text in JSON is parsed like CSV text.
    f.write(
        "text.jsonl",
        "{\"date\":\"2024-01-01\",\"channel\":\"tv\",\"spend\":\"$1,500\"}\n",
    );
    let loaded = f.check("[media]\npath = \"text.jsonl\"\n");
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .value(0),
        1500.0
    );
    // A JSON array of records (`.json`) reads too.
    f.write(
        "media.json",
        "[{\"date\":\"2024-01-01\",\"channel\":\"tv\",\"spend\":3}]",
    );
    let loaded = f.check("[media]\npath = \"media.json\"\n");
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .value(0),
        3.0
    );
    // A field whose type changes between lines is an error naming the field.
    f.write("mixed.jsonl", "{\"date\":\"2024-01-01\",\"channel\":\"tv\",\"spend\":1.5}\n{\"date\":\"2024-01-02\",\"channel\":\"tv\",\"spend\":\"$2\"}\n");
    let loaded = f.check("[media]\npath = \"mixed.jsonl\"\n");
    assert!(one(&loaded, "unreadable_file").message.contains("'spend'"));

    // A CSV named .parquet is an error naming the file, not a panic.
    f.write("fake.parquet", clean_media());
    let loaded = f.check("[media]\npath = \"fake.parquet\"\n");
    assert!(one(&loaded, "unreadable_file").message.contains("Parquet"));
}

#[test]
fn unknown_extension_asks_for_format() {
    let f = Fixture::new();
    f.write("media.xlsx", "PK\x03\x04");
    let loaded = f.check("[media]\npath = \"media.xlsx\"\n");
    assert!(
        one(&loaded, "unreadable_file")
            .suggestion
            .contains("format")
    );
}

#[test]
fn tsv_and_custom_delimiter() {
    let f = Fixture::new();
    f.write("media.tsv", "date\tchannel\tspend\n2024-01-01\ta\t1,000\n");
    let loaded = f.check("[media]\npath = \"media.tsv\"\n");
    assert!(
        error_rules(&loaded).is_empty(),
        "{:#?}",
        loaded.report.findings
    );
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .value(0),
        1000.0
    );
    f.write("media.csv", "date;channel;spend\n2024-01-01;a;1,5\n");
    let loaded = f.check("[media]\npath = \"media.csv\"\ndelimiter = \";\"\n");
    assert_eq!(
        loaded
            .table("media")
            .unwrap()
            .f64s("spend")
            .unwrap()
            .value(0),
        1.5
    );
}

#[test]
fn quoted_newlines_in_text_values_keep_row_numbers_honest() {
    let f = Fixture::new();
    f.write(
        "texts.csv",
        "id,timestamp,text\n1,2024-01-01 10:00,\"great\nproduct\"\n2,2024-01-02 11:00,\"送货很慢，\n不满意\"\n3,not a time,ok\n",
    );
    let loaded = f.check("[texts]\npath = \"texts.csv\"\n");
    let t = loaded.table("texts").unwrap();
    assert_eq!(t.num_rows(), 3);
    assert_eq!(t.strs("text").unwrap().value(1), "送货很慢，\n不满意");
    assert_eq!(one(&loaded, "wrong_type").location.rows, vec![3]);
}

#[test]
fn type_inference_with_overrides() {
    let f = Fixture::new();
    f.write(
        "kpi.csv",
        "date,revenue,promo,region\n2024-01-01,10,yes,01\n2024-01-02,12,no,02\n",
    );
    // Inferred: `region` holds numbers, `promo` text.
    let loaded = f.check("[kpi]\npath = \"kpi.csv\"\ncontrols = [\"promo\", \"region\"]\n");
    let kpi = loaded.table("kpi").unwrap();
    assert!(kpi.f64s("region").is_some() && kpi.strs("promo").is_some());
    // Overridden: region codes stay text ("01" keeps its zero), promo is a 0/1 flag.
    let loaded = f.check("[kpi]\npath = \"kpi.csv\"\ncontrols = [\"promo\", \"region\"]\ntypes = { promo = \"flag\", region = \"text\" }\n");
    let kpi = loaded.table("kpi").unwrap();
    assert_eq!(kpi.strs("region").unwrap().value(0), "01");
    assert!(kpi.flags("promo").unwrap().value(0));

    // Campaign responses without a feature list take every other column, typed by inference
    // or override.
    f.write(
        "campaign.csv",
        "customer_id,treatment,outcome,age,zip\nc1,1,0,34,02139\nc2,0,1,51,10001\n",
    );
    let loaded =
        f.check("[campaign_responses]\npath = \"campaign.csv\"\ntypes = { zip = \"text\" }\n");
    let t = loaded.table("campaign_responses").unwrap();
    assert_eq!(t.f64s("age").unwrap().value(1), 51.0);
    assert_eq!(t.strs("zip").unwrap().value(0), "02139");
    assert!(t.flags("treatment").unwrap().value(0));
}

#[test]
fn a_configured_line_limit_names_the_long_line() {
    let f = Fixture::new();
    f.write(
        "media.csv",
        "date,channel,spend\n2024-01-01,a,1\n2024-01-02,a_very_long_channel_name,1\n",
    );
    let loaded = f.check("[media]\npath = \"media.csv\"\n[validation]\nmax_line_bytes = 20\n");
    let finding = one(&loaded, "malformed_file");
    assert!(finding.message.contains("line 3"), "{}", finding.message);
}
