//! Agreement between two annotators: percent agreement and Cohen's κ.
//!
//! Takes two equal-length slices of class indices (the same items, labelled by each
//! annotator) and hands on an [`Agreement`]. κ is undefined when the expected agreement is 1
//! (both annotators used one and the same class for every item): that is reported as `None`,
//! never as NaN. Counts are kept as integers so that the undefined case is detected exactly.

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
    for (&a, &b) in first.iter().zip(second) {
        marginals.entry(a).or_default().0 += 1;
        marginals.entry(b).or_default().1 += 1;
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

    /// Cases and scores computed by scikit-learn's `cohen_kappa_score`
    /// (`scripts/kappa_fixture.py`, output committed).
    #[test]
    fn matches_scikit_learn() {
        let fixture = include_str!("../../tests/fixtures/agreement/kappa_sklearn.jsonl");
        let mut cases = 0;
        for line in fixture.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let labels = |key: &str| -> Vec<usize> {
                case[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect()
            };
            let observed = case["observed"].as_f64().unwrap();
            let kappa = case["kappa"].as_f64();
            check(&labels("first"), &labels("second"), (observed, kappa));
            cases += 1;
        }
        assert!(cases >= 10, "fixture has {cases} cases");
    }

    proptest::proptest! {
        /// κ is symmetric, at most 1, and 1 exactly when the two agree everywhere.
        #[test]
        fn kappa_invariants(pairs in proptest::collection::vec((0usize..3, 0usize..3), 1..40)) {
            let (first, second): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
            let forward = cohen_kappa(&first, &second).unwrap();
            let backward = cohen_kappa(&second, &first).unwrap();
            proptest::prop_assert_eq!(forward, backward);
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
