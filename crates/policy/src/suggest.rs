//! Did-you-mean: the known names closest to a misspelt one.

/// The candidates within a typo's distance of `name` (Levenshtein distance at most a quarter of
/// its length, 1..=3), closest first, ties in the candidates' order; at most three.
pub fn closest<'a, I>(name: &str, candidates: I) -> Vec<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (name.chars().count() / 4).clamp(1, 3);
    let mut scored: Vec<(usize, usize, &str)> = candidates
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c != name)
        .map(|(i, c)| (distance(name, c), i, c))
        .filter(|(d, _, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.2 == b.2);
    scored.into_iter().take(3).map(|(_, _, c)| c).collect()
}

/// Edit distance over characters, counting a swap of two neighbours as one edit (optimal string
/// alignment), so that `plna` is one typo away from `plan`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_only() {
        let names = ["tls-logging", "outbound-dane", "inbound-opportunistic"];
        assert_eq!(closest("tls-loging", names), vec!["tls-logging"]);
        assert_eq!(closest("outbund-dane", names), vec!["outbound-dane"]);
        assert!(closest("something-else", names).is_empty());
        assert!(closest("tls-logging", names).is_empty());
        assert_eq!(closest("plna", ["plan", "apply", "show"]), vec!["plan"]);
    }
}
