#[test]
fn dbg() {
    use pftls_maillog::*;
    let q = LogQuery::default();
    let data = std::fs::read_to_string("/tmp/h4-r.log").unwrap();
    let mut a = Analyzer::new(&q, &YearHint::utc(chrono::Utc::now()));
    let mut n = 0;
    let mut last = 0;
    for l in data.lines() {
        a.feed_line(l.as_bytes());
        if l.contains("cleanup") && !l.contains("dup@") { n += 1; }
    }
    println!("all {} expected {n}", a.finish().totals.messages_accepted);
    let mut a = Analyzer::new(&q, &YearHint::utc(chrono::Utc::now()));
    for l in data.lines().filter(|l| l.contains("cleanup")) {
        a.feed_line(l.as_bytes());
    }
    println!("cleanup-only {}", a.finish().totals.messages_accepted);
    // bisect: prefix lengths
    let lines: Vec<&str> = data.lines().collect();
    for (i, _) in lines.iter().enumerate() {
        let mut a = Analyzer::new(&q, &YearHint::utc(chrono::Utc::now()));
        let mut n = 0;
        for l in &lines[..=i] { a.feed_line(l.as_bytes()); if l.contains("cleanup") && !l.contains("dup@") { n += 1; } }
        let got = a.finish().totals.messages_accepted;
        if got != n { println!("first divergence at {}: {}", i, lines[i]); for l in &lines[i.saturating_sub(6)..=i] { println!("  {l}"); } break; }
        last = i;
    }
    let _ = last;
}
