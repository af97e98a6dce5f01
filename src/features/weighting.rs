//! Counts to values, as scikit-learn's `TfidfTransformer` and `normalize`: binary, then
//! sublinear tf (`1 + ln tf`), then times idf, then the row norm.
//!
//! Works on one row at a time and allocates nothing; knows nothing of terms.

use super::config::{FeatureConfig, Norm, Weighting};

/// How a row of raw counts becomes a row of values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Weights<'a> {
    pub(crate) binary: bool,
    pub(crate) sublinear_tf: bool,
    pub(crate) idf: Option<&'a [f64]>,
    pub(crate) norm: Norm,
}

/// `idf = ln(n / df) + 1`, with one extra document containing every term when `smooth`.
pub(crate) fn inverse_document_frequencies(
    document_frequencies: &[u64],
    n_documents: usize,
    smooth: bool,
) -> Vec<f64> {
    let extra = u64::from(smooth);
    let n = (n_documents as u64 + extra) as f64;
    let idf = |df: u64| (n / (df + extra) as f64).ln() + 1.0;
    // A frequency is at most `n_documents`: when documents are fewer than terms (a fold of a
    // labelled set), each of their values is worked out once.
    if n_documents < document_frequencies.len() {
        let table: Vec<f64> = (0..=n_documents as u64).map(idf).collect();
        document_frequencies
            .iter()
            .map(|&df| table.get(df as usize).copied().unwrap_or_else(|| idf(df)))
            .collect()
    } else {
        document_frequencies.iter().map(|&df| idf(df)).collect()
    }
}

impl Weights<'_> {
    /// Whether values are the raw counts (nothing to apply).
    pub(crate) fn is_identity(&self) -> bool {
        !self.binary && !self.sublinear_tf && self.idf.is_none() && self.norm == Norm::None
    }

    /// Turn the counts in `values` (columns `columns`) into weighted values, in place.
    pub(crate) fn apply(&self, columns: &[u32], values: &mut [f64]) {
        if self.binary {
            values.fill(1.0);
        }
        if self.sublinear_tf {
            for v in values.iter_mut() {
                *v = v.ln() + 1.0;
            }
        }
        if let Some(idf) = self.idf {
            for (v, &c) in values.iter_mut().zip(columns) {
                *v *= idf[c as usize];
            }
        }
        let total = match self.norm {
            Norm::None => return,
            Norm::L1 => values.iter().map(|v| v.abs()).sum::<f64>(),
            Norm::L2 => values.iter().map(|v| v * v).sum::<f64>().sqrt(),
        };
        // As scikit-learn, a row whose norm is zero is left as it is.
        if total != 0.0 {
            for v in values.iter_mut() {
                *v /= total;
            }
        }
    }
}

impl FeatureConfig {
    /// The idf of terms with `document_frequencies` among `n_documents`, under tf-idf only.
    pub(super) fn idf(&self, document_frequencies: &[u64], n_documents: usize) -> Option<Vec<f64>> {
        (self.weighting() == Weighting::Tfidf).then(|| {
            inverse_document_frequencies(document_frequencies, n_documents, self.smooth_idf())
        })
    }

    /// How this set turns a row of counts into values, with the fitted `idf`.
    pub(super) fn weights<'a>(&self, idf: Option<&'a [f64]>) -> Weights<'a> {
        Weights {
            binary: self.binary(),
            sublinear_tf: self.weighting() == Weighting::Tfidf && self.sublinear_tf(),
            idf,
            norm: self.norm(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(weights: Weights<'_>, counts: &[f64], expected: &[f64]) {
        let columns: Vec<u32> = (0..counts.len() as u32).collect();
        let mut values = counts.to_vec();
        weights.apply(&columns, &mut values);
        for (got, want) in values.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{values:?} vs {expected:?}");
        }
    }

    const COUNTS: Weights<'static> = Weights {
        binary: false,
        sublinear_tf: false,
        idf: None,
        norm: Norm::None,
    };

    #[test]
    fn rows_are_weighted_in_scikit_learns_order() {
        check(COUNTS, &[3.0, 4.0], &[3.0, 4.0]);
        check(
            Weights {
                norm: Norm::L2,
                ..COUNTS
            },
            &[3.0, 4.0],
            &[0.6, 0.8],
        );
        check(
            Weights {
                norm: Norm::L1,
                ..COUNTS
            },
            &[3.0, -1.0],
            &[0.75, -0.25],
        );
        check(
            Weights {
                binary: true,
                norm: Norm::L1,
                ..COUNTS
            },
            &[3.0, 1.0],
            &[0.5, 0.5],
        );
        let e = std::f64::consts::E;
        check(
            Weights {
                sublinear_tf: true,
                ..COUNTS
            },
            &[1.0, e],
            &[1.0, 2.0],
        );
        let idf = [2.0, 0.5];
        check(
            Weights {
                idf: Some(&idf),
                ..COUNTS
            },
            &[3.0, 4.0],
            &[6.0, 2.0],
        );
        check(
            Weights {
                norm: Norm::L2,
                ..COUNTS
            },
            &[0.0, 0.0],
            &[0.0, 0.0],
        );
    }

    #[test]
    fn idf_matches_the_formula() {
        // n = 4 documents; df = 1, 4. Smooth: ln(5/2) + 1, ln(5/5) + 1. Plain: ln 4 + 1, 1.
        let smooth = inverse_document_frequencies(&[1, 4], 4, true);
        assert!((smooth[0] - (2.5f64.ln() + 1.0)).abs() < 1e-15);
        assert!((smooth[1] - 1.0).abs() < 1e-15);
        let plain = inverse_document_frequencies(&[1, 4], 4, false);
        assert!((plain[0] - (4f64.ln() + 1.0)).abs() < 1e-15);
        assert!((plain[1] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn idf_of_many_terms_over_few_documents_is_the_same_bits() {
        // More terms than documents takes the table; every value must be the formula's.
        let dfs: Vec<u64> = (0..40).map(|i| (i * 7) % 6).collect();
        for smooth in [true, false] {
            for n in [0, 1, 3, 5, 39, 40] {
                let extra = u64::from(smooth);
                let formula = |df: u64| ((n + extra) as f64 / (df + extra) as f64).ln() + 1.0;
                let expected: Vec<u64> = dfs.iter().map(|&df| formula(df).to_bits()).collect();
                let got = inverse_document_frequencies(&dfs, n as usize, smooth);
                let got: Vec<u64> = got.iter().map(|v| v.to_bits()).collect();
                assert_eq!(got, expected, "n = {n}, smooth = {smooth}");
            }
        }
    }
}
