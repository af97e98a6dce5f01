//! Cross-validation proper: a dataset, labels and splits in; out-of-fold class
//! probabilities out, for the model and for the majority-class baseline.
//!
//! A [`Learner`] says how each split is fitted: the analysed features (one feature set, or
//! a union), the model, one model for all paragraphs or one per group (`[model] per_group`),
//! and, for a tuned experiment, the candidates a nested search chooses among on the split's
//! training rows ([`super::search`]). Each fit learns the featurizer on its training
//! paragraphs only (vocabulary, document frequencies and idf never see the test rows), then
//! the model on the training matrix ([`fit_on_rows`], the one place rows meet features), and
//! scores the test paragraphs' sparse rows. The paragraphs are tokenised once per run
//! ([`AnalyzedUnion`]), not once per fit. Splits (and the groups of a split) run in parallel
//! and come back in order, so nothing depends on the thread count.

use ndarray::Array2;
use rayon::prelude::*;

use crate::cv::{self, CvError, Split};
use crate::features::{AnalyzedUnion, FeatureError, UnionColumns};
use crate::metrics::{Metric, MetricsError, majority_baseline, score};
use crate::model::{Classifier, Convergence, FittedModel, ModelConfig, ModelError, Solver};

use super::search::{Candidate, SearchConfig, best_candidate};

/// Why the featurizer or the model could not be fitted. (The cause is the source, not
/// repeated in the message: error chains print each link once.)
#[derive(Debug, thiserror::Error)]
pub enum FitError {
    #[error("features")]
    Features(#[from] FeatureError),
    #[error("model")]
    Model(#[from] ModelError),
    #[error("inner folds")]
    InnerFolds(#[from] CvError),
}

/// What went wrong in one fold.
#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("repeat {repeat}, fold {fold}{}", in_group(*group))]
    Fit {
        repeat: usize,
        fold: usize,
        group: Option<usize>,
        source: FitError,
    },
    #[error("repeat {repeat}, fold {fold}: majority baseline")]
    Baseline {
        repeat: usize,
        fold: usize,
        source: MetricsError,
    },
    #[error(
        "repeat {repeat}, fold {fold}: group #{group} has test paragraphs but no training paragraphs, so no model of its own ([model] per_group)"
    )]
    GroupWithoutTraining {
        repeat: usize,
        fold: usize,
        group: usize,
    },
}

fn in_group(group: Option<usize>) -> String {
    group.map_or(String::new(), |g| format!(", group #{g}"))
}

/// What a search chose for one model: the winning candidate and its inner score.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The group whose model this is (`[model] per_group`), else `None`.
    pub group: Option<usize>,
    /// Index into the search's candidates.
    pub candidate: usize,
    /// The experiment's metric on the inner out-of-fold predictions of every candidate, in
    /// candidate order (`None` where undefined).
    pub inner_scores: Vec<Option<f64>>,
}

/// One fold's predictions for its test paragraphs (rows in `split.test` order).
#[derive(Debug, Clone)]
pub struct FoldResult {
    pub split: Split,
    pub probabilities: Array2<f64>,
    pub baseline: Array2<f64>,
    /// The solver of the fold's model (of its worst-converged model, with one per group).
    pub solver: Solver,
    /// The fold's model's convergence; with one model per group, the worst of them, and
    /// `converged` only if all did.
    pub convergence: Convergence,
    /// What the search chose, per model (empty without a search).
    pub choices: Vec<Choice>,
}

/// How the experiment's metric is used to choose among candidates.
#[derive(Debug, Clone, Copy)]
struct Inner {
    folds: usize,
    metric: Metric,
    seed: u64,
}

/// How every split is fitted; see the module's documentation.
pub struct Learner {
    /// The analysed paragraphs for each feature set the candidates use.
    corpora: Vec<AnalyzedUnion>,
    model: ModelConfig,
    /// At least one; without a search, the experiment's own settings.
    candidates: Vec<Candidate>,
    inner: Option<Inner>,
    /// Each paragraph's group, when every group gets a model of its own.
    groups: Option<Vec<usize>>,
    n_classes: usize,
}

impl Learner {
    /// One feature set and model, no search, one model for all paragraphs.
    pub fn plain(corpus: AnalyzedUnion, model: &ModelConfig, n_classes: usize) -> Learner {
        Learner {
            corpora: vec![corpus],
            candidates: vec![Candidate {
                alpha: model.alpha(),
                features: 0,
                settings: Vec::new(),
            }],
            model: model.clone(),
            inner: None,
            groups: None,
            n_classes,
        }
    }

    /// The experiment's learner over `texts`: its features (each feature set of its search),
    /// its model, one model per group of `groups` if `[model] per_group`, and its search
    /// choosing by `metric` on inner folds shuffled from `seed`.
    pub fn of_experiment<S: AsRef<str> + Sync>(
        experiment: &super::Experiment,
        texts: &[S],
        groups: &[usize],
        n_classes: usize,
    ) -> Learner {
        let model = experiment.model();
        let mut learner = match experiment.search() {
            Some(search) => Learner::searching(search, texts, model, n_classes, experiment),
            None => Learner::plain(
                experiment.features().analyze_corpus(texts),
                model,
                n_classes,
            ),
        };
        if model.per_group() {
            learner.groups = Some(groups.to_vec());
        }
        learner
    }

    fn searching<S: AsRef<str> + Sync>(
        search: &SearchConfig,
        texts: &[S],
        model: &ModelConfig,
        n_classes: usize,
        experiment: &super::Experiment,
    ) -> Learner {
        Learner {
            corpora: search
                .features()
                .iter()
                .map(|features| features.analyze_corpus(texts))
                .collect(),
            model: model.clone(),
            candidates: search.candidates().to_vec(),
            inner: Some(Inner {
                folds: search.inner_folds(),
                metric: experiment.stats().metric(),
                seed: experiment.cv().seed(),
            }),
            groups: None,
            n_classes,
        }
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Whether each group has a model of its own.
    pub fn per_group(&self) -> bool {
        self.groups.is_some()
    }

    /// Whether a search chooses among candidates.
    pub fn searches(&self) -> bool {
        self.inner.is_some()
    }

    /// Fit on `split`'s training rows and predict its test rows; the unit of work of `run`,
    /// permutations and learning curves.
    pub fn fit_split(&self, labels: &[usize], split: &Split) -> Result<FoldResult, FoldError> {
        let (repeat, fold) = (split.repeat(), split.fold());
        let units = self.units(split)?;
        let fitted = units
            .par_iter()
            .map(|unit| {
                self.fit_unit(
                    labels,
                    unit,
                    cv::inner_stream(repeat, fold, unit.group.unwrap_or(0)),
                )
                .map_err(|source| FoldError::Fit {
                    repeat,
                    fold,
                    group: unit.group,
                    source,
                })
            })
            .collect::<Result<Vec<UnitFit>, FoldError>>()?;

        let n_test = split.test().len();
        let mut probabilities = Array2::zeros((n_test, self.n_classes));
        let mut baseline = Array2::zeros((n_test, self.n_classes));
        let mut choices = Vec::new();
        let mut fits = Vec::with_capacity(units.len());
        for (unit, fit) in units.iter().zip(fitted) {
            let unit_baseline = majority_baseline(
                &unit.train.iter().map(|&i| labels[i]).collect::<Vec<_>>(),
                self.n_classes,
                unit.test.len(),
            )
            .map_err(|source| FoldError::Baseline {
                repeat,
                fold,
                source,
            })?;
            for (row, &at) in unit.positions.iter().enumerate() {
                probabilities
                    .row_mut(at)
                    .assign(&fit.probabilities.row(row));
                baseline.row_mut(at).assign(&unit_baseline.row(row));
            }
            choices.extend(fit.choice);
            fits.push((fit.solver, fit.convergence));
        }
        // The worst model speaks for the fold: one that did not converge, else the largest
        // gradient.
        let all_converged = fits.iter().all(|(_, c)| c.converged);
        let worst = fits.into_iter().max_by(|(_, a), (_, b)| {
            (!a.converged, a.gradient_norm)
                .partial_cmp(&(!b.converged, b.gradient_norm))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let (solver, mut convergence) = worst.expect("a split has at least one unit");
        convergence.converged = all_converged;
        Ok(FoldResult {
            split: split.clone(),
            probabilities,
            baseline,
            solver,
            convergence,
            choices,
        })
    }

    /// The models a split needs: one for all its rows, or one per group that has test rows.
    fn units(&self, split: &Split) -> Result<Vec<Unit>, FoldError> {
        let Some(groups) = &self.groups else {
            return Ok(vec![Unit {
                group: None,
                train: split.train().to_vec(),
                test: split.test().to_vec(),
                positions: (0..split.test().len()).collect(),
            }]);
        };
        let mut tested: Vec<usize> = split.test().iter().map(|&i| groups[i]).collect();
        tested.sort_unstable();
        tested.dedup();
        tested
            .into_iter()
            .map(|group| {
                let train: Vec<usize> = split
                    .train()
                    .iter()
                    .copied()
                    .filter(|&i| groups[i] == group)
                    .collect();
                if train.is_empty() {
                    return Err(FoldError::GroupWithoutTraining {
                        repeat: split.repeat(),
                        fold: split.fold(),
                        group,
                    });
                }
                let (positions, test): (Vec<usize>, Vec<usize>) = split
                    .test()
                    .iter()
                    .enumerate()
                    .filter(|&(_, &i)| groups[i] == group)
                    .map(|(at, &i)| (at, i))
                    .unzip();
                Ok(Unit {
                    group: Some(group),
                    train,
                    test,
                    positions,
                })
            })
            .collect()
    }

    /// Choose (with a search), fit on the unit's training rows, predict its test rows.
    fn fit_unit(&self, labels: &[usize], unit: &Unit, stream: u64) -> Result<UnitFit, FitError> {
        let fit = self.fit_rows(labels, &unit.train, stream, unit.group)?;
        let corpus = &self.corpora[fit.features];
        let probabilities = fit
            .model
            .predict_proba(&corpus.transform(&fit.columns, &unit.test))?;
        Ok(UnitFit {
            probabilities,
            solver: fit.model.solver(),
            convergence: fit.model.convergence().clone(),
            choice: fit.choice,
        })
    }

    /// Choose among the candidates on inner folds of `rows` (shuffled on `stream`), when
    /// there is a search, then fit the chosen (or only) candidate on all of `rows`.
    pub fn fit_rows(
        &self,
        labels: &[usize],
        rows: &[usize],
        stream: u64,
        group: Option<usize>,
    ) -> Result<RowsFit, FitError> {
        let choice = match self.inner {
            Some(inner) => Some(self.choose(labels, rows, inner, stream, group)?),
            None => None,
        };
        let candidate = &self.candidates[choice.as_ref().map_or(0, |c| c.candidate)];
        let corpus = &self.corpora[candidate.features];
        let model = self.model.with_alpha(candidate.alpha);
        let (columns, fitted) = fit_on_rows(corpus, &model, labels, self.n_classes, rows)?;
        Ok(RowsFit {
            columns,
            model: fitted,
            features: candidate.features,
            choice,
        })
    }

    /// The analysed paragraphs of feature set `features` (of [`RowsFit::features`]).
    pub fn corpus(&self, features: usize) -> &AnalyzedUnion {
        &self.corpora[features]
    }

    /// The candidate with the best metric on inner stratified folds of `rows`; each feature
    /// set is fitted once per inner fold, and its alphas run from the strongest penalty
    /// down, each fit starting from the previous solution.
    fn choose(
        &self,
        labels: &[usize],
        rows: &[usize],
        inner: Inner,
        stream: u64,
        group: Option<usize>,
    ) -> Result<Choice, FitError> {
        let y: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
        let splits = cv::inner_splits(&y, inner.folds, inner.seed, stream)?;
        // Per candidate, the inner out-of-fold probabilities of `rows`.
        let mut oof =
            vec![Array2::<f64>::zeros((rows.len(), self.n_classes)); self.candidates.len()];
        for (f, corpus) in self.corpora.iter().enumerate() {
            let mut path: Vec<usize> = (0..self.candidates.len())
                .filter(|&c| self.candidates[c].features == f)
                .collect();
            // Strongest penalty first (stable: equal alphas keep their order).
            path.sort_by(|&a, &b| {
                self.candidates[b]
                    .alpha
                    .total_cmp(&self.candidates[a].alpha)
            });
            let per_fold = splits
                .par_iter()
                .map(|split| {
                    let train: Vec<usize> = split.train().iter().map(|&i| rows[i]).collect();
                    let test: Vec<usize> = split.test().iter().map(|&i| rows[i]).collect();
                    let train_y: Vec<usize> = split.train().iter().map(|&i| y[i]).collect();
                    let (columns, matrix) = corpus.fit_transform(&train)?;
                    let test_matrix = corpus.transform(&columns, &test);
                    let mut previous: Option<FittedModel> = None;
                    let mut out = Vec::with_capacity(path.len());
                    for &c in &path {
                        let model = self.model.with_alpha(self.candidates[c].alpha);
                        let fitted = model.fit_csr_from(
                            &matrix,
                            &train_y,
                            self.n_classes,
                            previous.as_ref(),
                        )?;
                        out.push(fitted.predict_proba(&test_matrix)?);
                        previous = Some(fitted);
                    }
                    Ok::<_, FitError>(out)
                })
                .collect::<Result<Vec<Vec<Array2<f64>>>, FitError>>()?;
            for (split, predictions) in splits.iter().zip(per_fold) {
                for (&c, probabilities) in path.iter().zip(predictions) {
                    for (row, &at) in split.test().iter().enumerate() {
                        oof[c].row_mut(at).assign(&probabilities.row(row));
                    }
                }
            }
        }
        let inner_scores: Vec<Option<f64>> = oof
            .iter()
            .map(|probabilities| {
                score(&y, probabilities.view(), self.n_classes)
                    .ok()
                    .and_then(|scores| scores.get(inner.metric))
            })
            .collect();
        let candidate = best_candidate(
            &self.candidates,
            &inner_scores,
            inner.metric.higher_is_better(),
        )
        .unwrap_or(0);
        Ok(Choice {
            group,
            candidate,
            inner_scores,
        })
    }
}

/// A model fitted on some rows by [`Learner::fit_rows`].
pub struct RowsFit {
    pub columns: UnionColumns,
    pub model: FittedModel,
    /// Which analysed feature set it was fitted on ([`Learner::corpus`]).
    pub features: usize,
    pub choice: Option<Choice>,
}

/// The rows of one model of a split, and where its test rows sit among the split's.
struct Unit {
    group: Option<usize>,
    train: Vec<usize>,
    test: Vec<usize>,
    positions: Vec<usize>,
}

struct UnitFit {
    probabilities: Array2<f64>,
    solver: Solver,
    convergence: Convergence,
    choice: Option<Choice>,
}

/// Fit and predict every split, calling `on_fold` as each is done (for progress).
pub fn cross_validate(
    learner: &Learner,
    labels: &[usize],
    splits: &[Split],
    on_fold: &(dyn Fn() + Sync),
) -> Result<Vec<FoldResult>, FoldError> {
    splits
        .par_iter()
        .map(|split| {
            let fold = learner.fit_split(labels, split);
            on_fold();
            fold
        })
        .collect()
}

/// Fit the featurizer on the paragraphs `rows` of the analysed corpus, which is fitting it
/// on their text (`AnalyzedUnion`), without tokenising them again, then the model on their
/// matrix. The one place rows meet features: a fold's (or a group's) training rows in
/// cross-validation, permutations, learning curves, searches and term inspection, or every
/// row for a model trained on all labels (`train`). Nothing of the other rows is seen.
pub fn fit_on_rows<C: Classifier>(
    corpus: &AnalyzedUnion,
    model: &C,
    labels: &[usize],
    n_classes: usize,
    rows: &[usize],
) -> Result<(UnionColumns, FittedModel), FitError> {
    let row_labels: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
    let (columns, matrix) = corpus.fit_transform(rows)?;
    let fitted = model.fit_csr(&matrix, &row_labels, n_classes)?;
    Ok((columns, fitted))
}

/// Out-of-fold probabilities of every paragraph, one matrix per repeat (rows = paragraphs).
#[derive(Debug, Clone)]
pub struct OutOfFold {
    pub model: Vec<Array2<f64>>,
    pub baseline: Vec<Array2<f64>>,
}

impl OutOfFold {
    /// Assemble per-repeat matrices; every paragraph is in exactly one test fold per repeat.
    pub fn assemble(folds: &[FoldResult], n_items: usize, n_classes: usize) -> OutOfFold {
        let repeats = folds
            .iter()
            .map(|f| f.split.repeat() + 1)
            .max()
            .unwrap_or(0);
        let mut model = vec![Array2::zeros((n_items, n_classes)); repeats];
        let mut baseline = vec![Array2::zeros((n_items, n_classes)); repeats];
        for fold in folds {
            let repeat = fold.split.repeat();
            for (row, &item) in fold.split.test().iter().enumerate() {
                model[repeat]
                    .row_mut(item)
                    .assign(&fold.probabilities.row(row));
                baseline[repeat]
                    .row_mut(item)
                    .assign(&fold.baseline.row(row));
            }
        }
        OutOfFold { model, baseline }
    }

    pub fn repeats(&self) -> usize {
        self.model.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fit_error_says_its_cause_once() {
        let err = FitError::from(ModelError::NoRows);
        assert_eq!(
            format!("{:#}", anyhow::Error::from(err)),
            "model: no training rows"
        );
    }
}
