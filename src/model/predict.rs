//! What a fitted model says about rows: sparse rows in, class probabilities, the predicted
//! class and, on request, why, out. The one scorer of `stance`: cross-validation scores its
//! test folds with it, `predict` new documents.
//!
//! Scoring works on the non-zeros of [`CsrMatrix`] rows and never builds a dense matrix, so a
//! batch of any size costs memory in proportion to its non-zeros. A row's score per
//! coefficient set is `intercept + Σ w·x`, the sum over its non-zeros in column order.
//!
//! Explanations. The explained class `c` is the predicted one; it is explained against `r`,
//! the other class (two classes) or the runner-up by probability (three or more). The logit
//! is `s_c − s_r`, the difference of the two classes' scores, so its logistic is
//! `p_c / (p_c + p_r)`: with two classes exactly `p_c`. It splits into the intercept
//! `b_c − b_r` plus, per column `j` of the row, `(w_cj − w_rj) · x_j`. (With two classes the
//! single coefficient set `w` scores the higher class, so `w_c − w_r` is `±w`.) The listed
//! columns are the `k` largest positive contributions (toward `c`, largest first) then the
//! `k` most negative (toward `r`, most negative first); `rest` sums the others, so
//! `intercept + Σ listed + rest = logit`. Columns are numbers here: naming them is the
//! featurizer's business.

use ndarray::Array2;
use rayon::prelude::*;

use super::objective::{log_sum_exp, sigmoid};
use super::{FittedModel, ModelError};
use crate::sparse::CsrMatrix;

/// The class a row of probabilities predicts: the argmax, ties to the lowest index.
pub fn predicted_class<'a>(probabilities: impl IntoIterator<Item = &'a f64>) -> usize {
    let mut best = (0, f64::NAN);
    for (class, &p) in probabilities.into_iter().enumerate() {
        if class == 0 || p > best.1 {
            best = (class, p);
        }
    }
    best.0
}

/// One row's prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Class index of the highest probability; the lower index on a tie.
    pub predicted: usize,
    /// One per class (`n_classes`), in class order, summing to 1.
    pub probabilities: Vec<f64>,
    pub explanation: Option<Explanation>,
}

/// Why a row was given its class; see the module documentation for the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The explained (predicted) class.
    pub class: usize,
    /// The class it is explained against: the other one, or the runner-up.
    pub versus: usize,
    /// `s_class − s_versus`; its logistic is `p_class / (p_class + p_versus)`.
    pub logit: f64,
    /// `b_class − b_versus`.
    pub intercept: f64,
    /// The largest positive contributions, largest first, then the most negative, most
    /// negative first.
    pub terms: Vec<Contribution>,
    /// The summed contributions of the row's other columns.
    pub rest: f64,
    /// Non-zero columns of the row: 0 means it was predicted from the intercept alone.
    pub known_terms: usize,
}

/// One column's share of a logit.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub column: usize,
    /// The row's value in the column.
    pub value: f64,
    /// `w_class − w_versus` of the column.
    pub weight: f64,
    /// `weight · value`.
    pub contribution: f64,
}

impl FittedModel {
    /// Probabilities (rows × `n_classes`) of the rows of `x`, columns in class-index order,
    /// rows summing to 1; in parallel over rows.
    pub fn predict_proba(&self, x: &CsrMatrix) -> Result<Array2<f64>, ModelError> {
        self.check_rows(x)?;
        let n_classes = self.n_classes();
        let mut proba = vec![0.0; x.n_rows() * n_classes];
        proba
            .par_chunks_mut(n_classes)
            .enumerate()
            .for_each(|(i, out)| {
                let (columns, values) = x.row(i);
                self.probabilities_from_scores(&self.scores(columns, values), out);
            });
        Array2::from_shape_vec((x.n_rows(), n_classes), proba)
            .map_err(|err| ModelError::InvalidParts(err.to_string()))
    }

    /// Predict every row of `x` (in parallel, in row order), explaining each with the `k`
    /// columns toward each side when `explain` is `Some(k)`.
    pub fn score(&self, x: &CsrMatrix, explain: Option<usize>) -> Result<Vec<Scored>, ModelError> {
        self.check_rows(x)?;
        Ok((0..x.n_rows())
            .into_par_iter()
            .map(|i| {
                let (columns, values) = x.row(i);
                self.score_row(columns, values, explain)
            })
            .collect())
    }

    /// The weight of `column` toward `class`: `±w` with two classes seen, `w_class` with more;
    /// `None` if the model never saw the class. Panics if `column >= n_features()`.
    pub fn class_weight(&self, class: usize, column: usize) -> Option<f64> {
        match *self.classes() {
            [negative, positive] => {
                let w = self.parts.weights[(0, column)];
                if class == positive {
                    Some(w)
                } else if class == negative {
                    Some(-w)
                } else {
                    None
                }
            }
            _ => self.weights_for(class).map(|weights| weights[column]),
        }
    }

    /// As many columns as the model has weights, and only finite values.
    fn check_rows(&self, x: &CsrMatrix) -> Result<(), ModelError> {
        if x.n_cols() != self.n_features() {
            return Err(ModelError::FeatureCount {
                expected: self.n_features(),
                found: x.n_cols(),
            });
        }
        if let Some(at) = x.data().iter().position(|v| !v.is_finite()) {
            let row = x.indptr().partition_point(|&start| start <= at) - 1;
            return Err(ModelError::NonFiniteFeature {
                row,
                column: x.indices()[at] as usize,
                value: x.data()[at],
            });
        }
        Ok(())
    }

    /// One row's class probabilities (`out`, length `n_classes`) from its score per
    /// coefficient set (`intercept + w·x`): the logistic with two seen classes, the softmax
    /// with more; classes never seen get 0.
    pub(super) fn probabilities_from_scores(&self, scores: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        let classes = self.classes();
        if let Some(logit_class) = self.logit_class() {
            out[logit_class] = sigmoid(scores[0]);
            out[classes[0]] = sigmoid(-scores[0]);
        } else {
            let lse = log_sum_exp(scores);
            for (&class, &score) in classes.iter().zip(scores) {
                out[class] = (score - lse).exp();
            }
        }
    }

    /// `intercept + Σ w·x` per coefficient set (the sum over the non-zeros in column order,
    /// then the intercept); `columns` are below `n_features`.
    fn scores(&self, columns: &[u32], values: &[f64]) -> Vec<f64> {
        let k = self.n_sets();
        let mut sums = vec![0.0; k];
        for (&column, &value) in columns.iter().zip(values) {
            let start = column as usize * k;
            for (sum, &w) in sums.iter_mut().zip(&self.by_feature[start..start + k]) {
                *sum += value * w;
            }
        }
        for (sum, &intercept) in sums.iter_mut().zip(self.intercepts()) {
            *sum += intercept;
        }
        sums
    }

    fn score_row(&self, columns: &[u32], values: &[f64], explain: Option<usize>) -> Scored {
        let scores = self.scores(columns, values);
        let mut probabilities = vec![0.0; self.n_classes()];
        self.probabilities_from_scores(&scores, &mut probabilities);
        let predicted = predicted_class(&probabilities);
        let explanation = explain.map(|k| {
            let versus = self.versus(predicted, &probabilities);
            self.explain(columns, values, predicted, versus, k)
        });
        Scored {
            predicted,
            probabilities,
            explanation,
        }
    }

    /// The most probable class the model has seen other than `class` (with two seen: the
    /// other one); the lower index on a tie.
    fn versus(&self, class: usize, probabilities: &[f64]) -> usize {
        let mut best: Option<usize> = None;
        for &other in self.classes() {
            if other == class {
                continue;
            }
            match best {
                Some(b) if probabilities[b] >= probabilities[other] => {}
                _ => best = Some(other),
            }
        }
        best.unwrap_or(class)
    }

    /// Weight and intercept of the log-odds of `class` against `versus`, per column.
    fn pair(&self, class: usize, versus: usize) -> (impl Fn(usize) -> f64 + '_, f64) {
        let k = self.n_sets();
        let intercepts = self.intercepts();
        // Two classes: one set scoring the higher class, so the pair is ±w.
        let (plus, minus, sign) = match (self.set_of_class[class], self.set_of_class[versus]) {
            (Some(c), Some(r)) if k > 1 => (c, Some(r), 1.0),
            (Some(c), _) => (c, None, 1.0),
            (None, Some(r)) => (r, None, -1.0),
            (None, None) => (0, None, 0.0),
        };
        let weight = move |column: usize| {
            let row = &self.by_feature[column * k..column * k + k];
            sign * (row[plus] - minus.map_or(0.0, |m| row[m]))
        };
        let intercept = sign * (intercepts[plus] - minus.map_or(0.0, |m| intercepts[m]));
        (weight, intercept)
    }

    fn explain(
        &self,
        columns: &[u32],
        values: &[f64],
        class: usize,
        versus: usize,
        k: usize,
    ) -> Explanation {
        let (weight, intercept) = self.pair(class, versus);
        let parts: Vec<Contribution> = columns
            .iter()
            .zip(values)
            .map(|(&column, &value)| {
                let column = column as usize;
                let weight = weight(column);
                Contribution {
                    column,
                    value,
                    weight,
                    contribution: weight * value,
                }
            })
            .collect();
        let logit = intercept + parts.iter().map(|p| p.contribution).sum::<f64>();

        // Largest first; ties by column, so the choice never depends on anything else.
        let by_size = |a: &usize, b: &usize, sign: f64| {
            (sign * parts[*b].contribution)
                .total_cmp(&(sign * parts[*a].contribution))
                .then(parts[*a].column.cmp(&parts[*b].column))
        };
        let top = |sign: f64| -> Vec<usize> {
            let mut side: Vec<usize> = (0..parts.len())
                .filter(|&i| sign * parts[i].contribution > 0.0)
                .collect();
            if side.len() > k {
                side.select_nth_unstable_by(k, |a, b| by_size(a, b, sign));
                side.truncate(k);
            }
            side.sort_by(|a, b| by_size(a, b, sign));
            side
        };
        let listed: Vec<usize> = top(1.0).into_iter().chain(top(-1.0)).collect();
        let mut is_listed = vec![false; parts.len()];
        for &i in &listed {
            is_listed[i] = true;
        }
        let rest = parts
            .iter()
            .zip(&is_listed)
            .filter(|(_, listed)| !**listed)
            .map(|(p, _)| p.contribution)
            .sum();
        Explanation {
            class,
            versus,
            logit,
            intercept,
            terms: listed.into_iter().map(|i| parts[i].clone()).collect(),
            rest,
            known_terms: values.iter().filter(|&&v| v != 0.0).count(),
        }
    }
}
