//! Agreement between two annotators: percent agreement and Cohen's κ with its interval.
//!
//! Takes two equal-length slices of class indices (the same items, labelled by each
//! annotator) and hands on an [`Agreement`]. κ is undefined when the expected agreement is 1
//! (both annotators used one and the same class for every item): that is reported as `None`,
//! never as NaN. Counts are kept as integers so that the undefined case is detected exactly.
//! The interval is the standard large-sample one (κ ± z·SE, SE of Fleiss, Cohen & Everitt
//! 1969, as statsmodels' `cohens_kappa` computes it), given from [`MIN_ITEMS_FOR_INTERVAL`]
//! shared items on: on fewer, a normal approximation says little.

use std::collections::BTreeMap;

/// Why agreement cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    #[error("the two annotators labelled different numbers of items ({first} and {second})")]
    LengthMismatch { first: usize, second: usize },
    #[error("no items labelled by both annotators")]
    Empty,
}

/// How far two annotators agree on the items both labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    items: usize,
    agreed: usize,
    kappa: Option<f64>,
    /// The large-sample standard error of κ, when κ is defined.
    standard_error: Option<f64>,
}

/// Shared items from which κ gets an interval: below, "too few" is said instead.
pub const MIN_ITEMS_FOR_INTERVAL: usize = 10;

/// The standard normal quantile of 0.975: a two-sided 95% interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// What can be said about κ's uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KappaInterval {
    /// The 95% interval κ ± 1.96·SE, clipped to κ's range [−1, 1], and the SE itself.
    Interval {
        low: f64,
        high: f64,
        standard_error: f64,
    },
    /// Fewer than [`MIN_ITEMS_FOR_INTERVAL`] shared items.
    TooFewItems { items: usize },
    /// The standard error is 0: the two agree on every item, disagree on every item of two
    /// classes, or one of them used a single class; the large-sample interval has no width
    /// and would claim a certainty a handful of labels cannot give.
    NoSpread,
    /// κ itself is undefined (both used one and the same class).
    Undefined,
}

impl Agreement {
    /// Items labelled by both.
    pub fn items(&self) -> usize {
        self.items
    }

    /// Items on which both gave the same class.
    pub fn agreed(&self) -> usize {
        self.agreed
    }

    /// Observed agreement, a proportion in [0, 1].
    pub fn observed(&self) -> f64 {
        self.agreed as f64 / self.items as f64
    }

    /// Cohen's κ, or `None` when the expected agreement is 1 and κ is 0/0.
    pub fn kappa(&self) -> Option<f64> {
        self.kappa
    }

    /// The large-sample standard error of κ (`None` when κ is undefined).
    pub fn standard_error(&self) -> Option<f64> {
        self.standard_error
    }

    /// κ's 95% interval, or why there is none.
    pub fn interval(&self) -> KappaInterval {
        let (Some(kappa), Some(se)) = (self.kappa, self.standard_error) else {
            return KappaInterval::Undefined;
        };
        if self.items < MIN_ITEMS_FOR_INTERVAL {
            return KappaInterval::TooFewItems { items: self.items };
        }
        if se == 0.0 {
            return KappaInterval::NoSpread;
        }
        KappaInterval::Interval {
            low: (kappa - Z_95 * se).max(-1.0),
            high: (kappa + Z_95 * se).min(1.0),
            standard_error: se,
        }
    }
}

/// The large-sample standard error of κ (Fleiss, Cohen & Everitt 1969) from the contingency
/// table `counts[(first, second)]` of `n` items: with `p` the cell proportions, `r` and `c`
/// the first's and second's marginals, `p_e` the expected agreement,
/// `var = [Σᵢ pᵢᵢ(1 − (rᵢ + cᵢ)(1 − κ))² + (1 − κ)² Σᵢ≠ⱼ pᵢⱼ(cᵢ + rⱼ)² − (κ − p_e(1 − κ))²]
/// / ((1 − p_e)² n)`.
fn kappa_standard_error(
    counts: &BTreeMap<(usize, usize), u128>,
    marginals: &BTreeMap<usize, (u128, u128)>,
    n: u128,
    kappa: f64,
) -> f64 {
    let n_f = n as f64;
    let share = |count: u128| count as f64 / n_f;
    let row = |class: usize| share(marginals[&class].0);
    let column = |class: usize| share(marginals[&class].1);
    let expected: f64 = marginals.values().map(|&(a, b)| share(a) * share(b)).sum();
    let mut diagonal = 0.0;
    let mut off_diagonal = 0.0;
    for (&(i, j), &count) in counts {
        let p = share(count);
        if i == j {
            diagonal += p * (1.0 - (row(i) + column(i)) * (1.0 - kappa)).powi(2);
        } else {
            off_diagonal += p * (column(i) + row(j)).powi(2);
        }
    }
    let variance = (diagonal + (1.0 - kappa).powi(2) * off_diagonal
        - (kappa - expected * (1.0 - kappa)).powi(2))
        / (1.0 - expected).powi(2)
        / n_f;
    // Rounding can take an exact 0 a hair below.
    variance.max(0.0).sqrt()
}

/// Percent agreement and Cohen's κ = (p_o − p_e) / (1 − p_e), where p_e sums, over classes,
/// the product of the two annotators' marginal proportions. Same definition as
/// scikit-learn's `cohen_kappa_score` without weights.
pub fn cohen_kappa(first: &[usize], second: &[usize]) -> Result<Agreement, AgreementError> {
    if first.len() != second.len() {
        return Err(AgreementError::LengthMismatch {
            first: first.len(),
            second: second.len(),
        });
    }
    if first.is_empty() {
        return Err(AgreementError::Empty);
    }
    let n = first.len() as u128;
    let agreed = first.iter().zip(second).filter(|(a, b)| a == b).count();

    let mut marginals: BTreeMap<usize, (u128, u128)> = BTreeMap::new();
    let mut counts: BTreeMap<(usize, usize), u128> = BTreeMap::new();
    for (&a, &b) in first.iter().zip(second) {
        marginals.entry(a).or_default().0 += 1;
        marginals.entry(b).or_default().1 += 1;
        *counts.entry((a, b)).or_default() += 1;
    }
    // p_o = agreed / n and p_e = chance / n², so κ = (n·agreed − chance) / (n² − chance).
    let chance: u128 = marginals.values().map(|&(a, b)| a * b).sum();
    let denominator = n * n - chance;
    let kappa = (denominator != 0)
        .then(|| ((n * agreed as u128) as f64 - chance as f64) / denominator as f64);
    Ok(Agreement {
        items: first.len(),
        agreed,
        kappa,
        standard_error: kappa.map(|kappa| kappa_standard_error(&counts, &marginals, n, kappa)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agreement of `first` and `second` against (observed, κ).
    fn check(first: &[usize], second: &[usize], expected: (f64, Option<f64>)) {
        let got = cohen_kappa(first, second).unwrap();
        assert!(
            (got.observed() - expected.0).abs() < 1e-12,
            "observed {}",
            got.observed()
        );
        match (got.kappa(), expected.1) {
            (Some(got), Some(want)) => assert!((got - want).abs() < 1e-12, "κ {got} vs {want}"),
            (None, None) => {}
            (got, want) => panic!("κ {got:?} vs {want:?}"),
        }
    }

    #[test]
    fn hand_computed_cases() {
        // p_o = 3/4; marginals (2,1) and (2,3) of 4: p_e = (2·1 + 2·3)/16 = 1/2; κ = 1/2.
        check(&[0, 0, 1, 1], &[0, 1, 1, 1], (0.75, Some(0.5)));
        // Perfect agreement on two classes: κ = 1.
        check(&[0, 1, 0, 1], &[0, 1, 0, 1], (1.0, Some(1.0)));
        // Complete disagreement on balanced classes: p_o = 0, p_e = 1/2, κ = −1.
        check(&[0, 1, 0, 1], &[1, 0, 1, 0], (0.0, Some(-1.0)));
        // p_o = 1/2; class 0 is used 1 and 2 times, class 1 once and never:
        // p_e = (1·2 + 1·0)/4 = 1/2; κ = 0.
        check(&[0, 1], &[0, 0], (0.5, Some(0.0)));
    }

    #[test]
    fn kappa_is_undefined_when_both_use_one_class() {
        check(&[2, 2, 2], &[2, 2, 2], (1.0, None));
        check(&[0], &[0], (1.0, None));
    }

    #[test]
    fn refuses_mismatched_or_empty_input() {
        assert_eq!(
            cohen_kappa(&[0], &[0, 1]),
            Err(AgreementError::LengthMismatch {
                first: 1,
                second: 2
            })
        );
        assert_eq!(cohen_kappa(&[], &[]), Err(AgreementError::Empty));
    }

    /// The cases of a JSON Lines fixture, one object per non-empty line.
    fn fixture_cases(fixture: &str) -> impl Iterator<Item = serde_json::Value> + '_ {
        fixture
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| serde_json::from_str(line).unwrap())
    }

    /// A case's list of class indices under `key`.
    fn labels_of(case: &serde_json::Value, key: &str) -> Vec<usize> {
        case[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect()
    }

    /// Cases and scores computed by scikit-learn's `cohen_kappa_score`
    /// (`scripts/kappa_fixture.py`, output committed).
    #[test]
    fn matches_scikit_learn() {
        let fixture = include_str!("../../tests/fixtures/agreement/kappa_sklearn.jsonl");
        let mut cases = 0;
        for case in fixture_cases(fixture) {
            let labels = |key: &str| labels_of(&case, key);
            let observed = case["observed"].as_f64().unwrap();
            let kappa = case["kappa"].as_f64();
            check(&labels("first"), &labels("second"), (observed, kappa));
            cases += 1;
        }
        assert!(cases >= 10, "fixture has {cases} cases");
    }

    /// κ, its standard error and 95% interval as statsmodels' `cohens_kappa` gives them
    /// (`scripts/gen-kappa-interval-fixture.py`, output committed); the interval clipped to
    /// [−1, 1] as ours is.
    #[test]
    fn interval_matches_statsmodels() {
        let fixture =
            include_str!("../../tests/fixtures/agreement/kappa_interval_statsmodels.jsonl");
        let mut intervals = 0;
        for case in fixture_cases(fixture) {
            let labels = |key: &str| labels_of(&case, key);
            let name = case["case"].as_str().unwrap();
            let number = |key: &str| case[key].as_f64().unwrap();
            let got = cohen_kappa(&labels("first"), &labels("second")).unwrap();
            assert!(
                (got.kappa().unwrap() - number("kappa")).abs() < 1e-12,
                "{name}"
            );
            let se = got.standard_error().unwrap();
            assert!((se - number("se")).abs() < 1e-12, "{name}: se {se}");
            match got.interval() {
                KappaInterval::Interval { low, high, .. } => {
                    assert!(
                        (low - number("low").max(-1.0)).abs() < 1e-12,
                        "{name}: {low}"
                    );
                    assert!(
                        (high - number("high").min(1.0)).abs() < 1e-12,
                        "{name}: {high}"
                    );
                    intervals += 1;
                }
                KappaInterval::NoSpread => assert_eq!(number("se"), 0.0, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        assert!(intervals >= 12, "{intervals} intervals");
    }

    /// Under ten shared items, or with κ undefined, there is no interval; by hand, the
    /// 10-item example of the fixture: κ = 0.6, SE = √0.064 = 0.25298.
    #[test]
    fn interval_or_why_not() {
        fn check(first: &[usize], second: &[usize], expected: KappaInterval) {
            let got = cohen_kappa(first, second).unwrap().interval();
            match (got, expected) {
                (
                    KappaInterval::Interval {
                        low,
                        high,
                        standard_error,
                    },
                    KappaInterval::Interval {
                        low: l,
                        high: h,
                        standard_error: s,
                    },
                ) => assert!(
                    (low - l).abs() < 1e-4
                        && (high - h).abs() < 1e-4
                        && (standard_error - s).abs() < 1e-4,
                    "{got:?}"
                ),
                (got, expected) => assert_eq!(got, expected),
            }
        }
        check(
            &[0, 0, 1, 1],
            &[0, 1, 1, 1],
            KappaInterval::TooFewItems { items: 4 },
        );
        check(&[1; 12], &[1; 12], KappaInterval::Undefined);
        check(
            &[0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
            &[0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
            KappaInterval::NoSpread,
        );
        // Cells (0,0) 4, (0,1) 1, (1,0) 1, (1,1) 4 of 10: p_o = 0.8, p_e = 0.5, κ = 0.6;
        // term_a = 2·0.4·(1 − 0.4)² = 0.288, term_b = 0.16·2·0.1·1 = 0.032,
        // term_c = (0.6 − 0.2)² = 0.16: var = 0.16 / 0.25 / 10 = 0.064.
        let se = 0.064f64.sqrt();
        check(
            &[0, 0, 1, 1, 0, 1, 0, 1, 1, 0],
            &[0, 1, 1, 1, 0, 1, 0, 0, 1, 0],
            KappaInterval::Interval {
                low: 0.6 - Z_95 * se,
                high: 1.0,
                standard_error: se,
            },
        );
    }

    proptest::proptest! {
        /// κ is symmetric (its standard error to rounding), at most 1, and 1 exactly when
        /// the two agree everywhere.
        #[test]
        fn kappa_invariants(pairs in proptest::collection::vec((0usize..3, 0usize..3), 1..40)) {
            let (first, second): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
            let forward = cohen_kappa(&first, &second).unwrap();
            let backward = cohen_kappa(&second, &first).unwrap();
            proptest::prop_assert_eq!(
                (forward.items(), forward.agreed(), forward.kappa()),
                (backward.items(), backward.agreed(), backward.kappa())
            );
            let se = |a: &Agreement| a.standard_error().unwrap_or(0.0);
            proptest::prop_assert!((se(&forward) - se(&backward)).abs() < 1e-12);
            proptest::prop_assert!((0.0..=1.0).contains(&forward.observed()));
            if let Some(kappa) = forward.kappa() {
                proptest::prop_assert!(kappa <= 1.0 + 1e-12);
                proptest::prop_assert_eq!((kappa - 1.0).abs() < 1e-12, first == second);
            } else {
                proptest::prop_assert_eq!(&first, &second);
            }
        }
    }
}
