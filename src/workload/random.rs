//! Random draws for the generators that give the same bits on every platform.
//!
//! Only `+ - * /` on `f64` (exactly rounded by IEEE 754) are used on random numbers — no `exp`, `ln`
//! or `cos` from the platform's maths library, whose last bits may differ — so a seed gives the
//! same durations everywhere.

use rand::Rng;

/// Nanoseconds in a microsecond.
pub(crate) const US: i64 = 1_000;
/// Nanoseconds in a millisecond.
pub(crate) const MS: i64 = 1_000_000;

/// `e^x` from basic arithmetic only: a Taylor polynomial on `x / 256`, squared 8 times.
/// Relative error below 1e-11 for `|x| <= 8`.
pub(crate) fn exp_det(x: f64) -> f64 {
    let y = x / 256.0;
    let mut e = 1.0 + y * (1.0 + y / 2.0 * (1.0 + y / 3.0 * (1.0 + y / 4.0 * (1.0 + y / 5.0 * (1.0 + y / 6.0)))));
    for _ in 0..8 {
        e *= e;
    }
    e
}

/// An approximately standard-normal number (Irwin–Hall: twelve uniforms minus 6; within ±6).
pub(crate) fn normal<R: Rng>(rng: &mut R) -> f64 {
    let mut sum = 0.0;
    for _ in 0..12 {
        sum += rng.random::<f64>();
    }
    sum - 6.0
}

/// A log-normal-like duration in nanoseconds: `median * e^(sigma * z)`, clamped to `[min, max]`.
pub(crate) fn log_normal_ns<R: Rng>(rng: &mut R, median: i64, sigma: f64, min: i64, max: i64) -> i64 {
    let v = median as f64 * exp_det(sigma * normal(rng));
    (v as i64).clamp(min, max)
}

/// A uniform duration in `[min, max]` nanoseconds.
pub(crate) fn uniform_ns<R: Rng>(rng: &mut R, min: i64, max: i64) -> i64 {
    rng.random_range(min..=max)
}

/// `ns * factor`, rounded to whole nanoseconds.
pub(crate) fn scale_ns(ns: i64, factor: f64) -> i64 {
    (ns as f64 * factor).round() as i64
}

/// A non-zero 128-bit trace id.
pub(crate) fn trace_id<R: Rng>(rng: &mut R) -> u128 {
    loop {
        let id = rng.random::<u128>();
        if id != 0 {
            return id;
        }
    }
}

/// A non-zero 64-bit span id not in `used`; records it in `used`.
pub(crate) fn span_id<R: Rng>(rng: &mut R, used: &mut Vec<u64>) -> u64 {
    loop {
        let id = rng.random::<u64>();
        if id != 0 && !used.contains(&id) {
            used.push(id);
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn exp_det_matches_exp() {
        for i in -80..=80 {
            let x = i as f64 / 10.0;
            let rel = (exp_det(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-11, "exp({x}): relative error {rel}");
        }
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.05, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "variance {var}");
    }

    #[test]
    fn log_normal_is_clamped_and_centred() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut xs: Vec<i64> = (0..10_001)
            .map(|_| log_normal_ns(&mut rng, 15 * MS, 0.5, 5 * MS, 120 * MS))
            .collect();
        assert!(xs.iter().all(|x| (5 * MS..=120 * MS).contains(x)));
        xs.sort_unstable();
        let median = xs[5_000];
        assert!((13 * MS..17 * MS).contains(&median), "median {median}");
    }

    #[test]
    fn span_ids_are_unique_and_non_zero() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut used = Vec::new();
        for _ in 0..100 {
            span_id(&mut rng, &mut used);
        }
        let mut sorted = used.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 100);
        assert!(!used.contains(&0));
        assert_ne!(trace_id(&mut rng), 0);
    }
}
