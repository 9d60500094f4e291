//! Bench/diagnostic driver: `analyze [--json] [--bucket SECS] FILE...` (`-` = stdin).
//! Prints the report (text or JSON) on stdout and the elapsed time and throughput on stderr.

use std::time::{Duration, Instant};

use pftls_maillog::{analyze, render_report, LogQuery, LogSource, YearHint};

fn main() {
    let mut json = false;
    let mut bucket = 3600;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--json" => json = true,
            "--bucket" => bucket = args.next().and_then(|v| v.parse().ok()).unwrap_or(3600),
            _ => files.push(a),
        }
    }
    let mut sources = Vec::new();
    let mut bytes = 0;
    for f in &files {
        match LogSource::open(f) {
            Ok(s) => {
                bytes += s.size.unwrap_or(0);
                sources.push(s);
            }
            Err(e) => {
                eprintln!("analyze: {e}");
                std::process::exit(1);
            }
        }
    }
    let query = LogQuery {
        bucket: Duration::from_secs(bucket),
        ..LogQuery::default()
    };
    let start = Instant::now();
    let report = match analyze(sources, &query, &YearHint::now()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("analyze: {e}");
            std::process::exit(1);
        }
    };
    let secs = start.elapsed().as_secs_f64();
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("analyze: {e}"),
        }
    } else {
        print!("{}", render_report(&report));
    }
    eprintln!(
        "analyzed {} lines, {} bytes in {:.3} s: {:.0} MB/s",
        report.lines,
        bytes,
        secs,
        bytes as f64 / 1e6 / secs.max(1e-9)
    );
}
