//! parse+render and parse+edit+render on the stock main.cf and on generated 5 MiB / 50 MiB
//! files (criterion reports throughput; compare the 5 and 50 MiB times for linearity).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use postfix_conf::MainCf;

/// Same generator as examples/roundtrip.rs.
fn generate(bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes + 256);
    out.extend_from_slice(b"smtpd_tls_security_level = may\n");
    let mut i = 0usize;
    while out.len() < bytes {
        let block = format!(
            "# The parameter_{i} setting, with a comment that explains it\n\
             parameter_{i} = value-{i} $myhostname\n\
             list_{i} = hash:/etc/postfix/a_{i},\n    hash:/etc/postfix/b_{i}\n\n\
"
        );
        out.extend_from_slice(block.as_bytes());
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut inputs = Vec::new();
    if let Ok(b) = std::fs::read("/usr/share/postfix/main.cf.dist") {
        inputs.push(("stock".to_string(), b));
    }
    inputs.push(("5MiB".to_string(), generate(5 << 20)));
    inputs.push(("50MiB".to_string(), generate(50 << 20)));
    let mut g = c.benchmark_group("main_cf");
    g.sample_size(10);
    for (name, data) in &inputs {
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::new("parse_render", name), data, |b, d| {
            b.iter(|| MainCf::parse(d).map(|doc| doc.render().len()))
        });
        g.bench_with_input(BenchmarkId::new("parse_edit_render", name), data, |b, d| {
            b.iter(|| {
                let mut doc = MainCf::parse(d).ok()?;
                doc.set("smtpd_tls_security_level", "encrypt").ok()?;
                Some(doc.render().len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
