//! Exact binomial tail probabilities for the guard's significance tests.
//!
//! Terms are summed in log space (the pmf recurrence `p(k+1) = p(k) · (n-k)/(k+1) · p/(1-p)`),
//! so large counts neither overflow nor underflow. The cost is one step per term; the number
//! of terms is capped at [`MAX_TERMS`] (far beyond any one-hour window of a real server), past
//! which the tail is reported as `1.0` (= "not significant", the safe side for a rollback).

/// Most terms summed for one tail.
pub const MAX_TERMS: u64 = 50_000_000;

/// `P(X <= k)` for `X ~ Binomial(n, p)`.
pub fn binom_cdf(k: u64, n: u64, p: f64) -> f64 {
    if k >= n || p <= 0.0 {
        return 1.0;
    }
    if p >= 1.0 {
        return 0.0;
    }
    if k > MAX_TERMS {
        return 1.0;
    }
    let ln_q = (1.0 - p).ln();
    let ratio = (p / (1.0 - p)).ln();
    let mut ln_term = n as f64 * ln_q;
    // log-sum-exp with a running maximum.
    let mut max = ln_term;
    let mut sum = 1.0f64;
    for i in 0..k {
        ln_term += ((n - i) as f64).ln() - ((i + 1) as f64).ln() + ratio;
        if ln_term > max {
            sum = sum * (max - ln_term).exp() + 1.0;
            max = ln_term;
        } else {
            sum += (ln_term - max).exp();
        }
    }
    (max + sum.ln()).exp().min(1.0)
}

/// `P(X >= k)` for `X ~ Binomial(n, p)`.
pub fn binom_sf(k: u64, n: u64, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    // P(X >= k) = P(n - X <= n - k), n - X ~ Binomial(n, 1 - p).
    binom_cdf(n - k, n, 1.0 - p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1e-300)
    }

    #[test]
    fn small_cases_by_hand() {
        // n = 3, p = 1/3: P(X <= 0) = (2/3)^3.
        assert!(close(binom_cdf(0, 3, 1.0 / 3.0), 8.0 / 27.0));
        // P(X <= 1) = 8/27 + 3 · (1/3)(4/9) = 20/27.
        assert!(close(binom_cdf(1, 3, 1.0 / 3.0), 20.0 / 27.0));
        assert!(close(binom_sf(2, 3, 1.0 / 3.0), 7.0 / 27.0));
        assert_eq!(binom_cdf(3, 3, 0.5), 1.0);
        assert_eq!(binom_sf(0, 3, 0.5), 1.0);
        assert_eq!(binom_sf(4, 3, 0.5), 0.0);
    }

    #[test]
    fn large_n_is_finite_and_monotone() {
        let a = binom_cdf(100, 10_000, 0.5);
        assert!((0.0..1e-100).contains(&a), "{a}");
        let mut prev = 0.0;
        for k in (0..=1000).step_by(50) {
            let c = binom_cdf(k, 1000, 0.5);
            assert!(c >= prev && c <= 1.0);
            prev = c;
        }
        assert!(close(
            binom_cdf(499, 1000, 0.5) + binom_sf(500, 1000, 0.5),
            1.0
        ));
    }
}
