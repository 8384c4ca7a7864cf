//! The browser test: headless Chromium opens the rendered sample report, the page's own
//! check script counts the charts that laid out (non-empty box, child elements) into
//! `data-charts-ok="N/M"`, and a screenshot is saved. `.ci/run` installs Debian's
//! `chromium`; without it the test fails under CI (env `CI` set) and is skipped otherwise.

use adroit_report::{Lang, load, render};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            && out.status.success()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !p.is_empty() {
                return Some(PathBuf::from(p));
            }
        }
    }
    None
}

/// Run the browser, again up to twice when it exits without output (headless Chromium
/// now and then quits at start-up on a loaded machine, before reading the page).
fn run(browser: &Path, args: &[String], stdout: &Path) -> String {
    let mut out = String::new();
    for attempt in 1..=3 {
        out = run_once(browser, args, stdout);
        if !out.trim().is_empty() || args.iter().any(|a| a.starts_with("--screenshot")) {
            break;
        }
        eprintln!("chromium gave no output (attempt {attempt} of 3); retrying");
    }
    out
}

/// Run the browser with a time limit; its stdout (through a file, so a large DOM never
/// blocks on a full pipe).
fn run_once(browser: &Path, args: &[String], stdout: &Path) -> String {
    let file = std::fs::File::create(stdout).expect("create the stdout file");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--allow-file-access-from-files",
        ])
        .args(args)
        .stdout(file)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait for chromium").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chromium did not finish in 120 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    String::from_utf8_lossy(&std::fs::read(stdout).expect("read chromium's output")).into_owned()
}

#[test]
fn every_chart_renders_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed (.ci/run installs Debian's chromium)");
        }
        eprintln!("skipped: chromium not found (apt-get install chromium)");
        return;
    };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-browser");
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/run");
    let data = load(&fixture).unwrap();
    for lang in [Lang::En, Lang::Zh] {
        let html = render(&data, lang);
        let charts = html.matches("<svg class=\"chart\"").count();
        assert!(charts > 0);
        let page = dir.join(format!("report-{}.html", lang.code()));
        std::fs::write(&page, &html).unwrap();
        let url = format!("file://{}", page.display());

        let dom_file = dir.join(format!("dom-{}.html", lang.code()));
        let dom = run(&browser, &["--dump-dom".into(), url.clone()], &dom_file);
        let expected = format!("data-charts-ok=\"{charts}/{charts}\"");
        assert!(
            dom.contains(&expected),
            "{lang:?}: want {expected}, got {:?}",
            dom.find("data-charts-ok")
                .map(|i| &dom[i..(i + 30).min(dom.len())])
        );

        if lang == Lang::En {
            // The check itself: an empty, hidden chart is not counted as rendered.
            let broken = html.replace(
                "</main>",
                "<svg class=\"chart\" style=\"display:none\"></svg></main>",
            );
            let page = dir.join("report-broken.html");
            std::fs::write(&page, broken).unwrap();
            let url = format!("file://{}", page.display());
            let dom = run(
                &browser,
                &["--dump-dom".into(), url],
                &dir.join("dom-broken.html"),
            );
            let want = format!("data-charts-ok=\"{charts}/{}\"", charts + 1);
            assert!(dom.contains(&want), "the broken chart was counted");
        }

        let png = dir.join(format!("report-{}.png", lang.code()));
        let _ = std::fs::remove_file(&png);
        run(
            &browser,
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1280,4000".into(),
                "--hide-scrollbars".into(),
                url,
            ],
            &dir.join("screenshot.log"),
        );
        let bytes = std::fs::read(&png).expect("the screenshot was written");
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        assert!(bytes.len() > 50_000, "screenshot of {} bytes", bytes.len());
        eprintln!("screenshot: {}", png.display());
    }
}
