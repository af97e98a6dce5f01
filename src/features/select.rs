//! Which terms become columns: the workers' sorted term tables merged into one sorted
//! vocabulary with document frequencies, pruned by `min_df`, `max_df` and `max_features`
//! as scikit-learn prunes, and each worker's ids mapped to the kept columns.

use std::cmp::Reverse;

use rayon::prelude::*;

use super::FeatureError;
use super::assembly::DROPPED;
use super::config::{DocumentFrequency, FeatureConfig};
use super::vocabulary::{SortedTerms, Vocabulary, merge_sorted, vocabulary_of};
use super::worker::TermCount;

/// A decided vocabulary: the sorted, pruned terms, their document frequencies, and each
/// worker's id → column map (`DROPPED` for pruned terms).
pub(super) struct Decided {
    pub(super) terms: Vocabulary,
    pub(super) document_frequencies: Vec<u64>,
    pub(super) worker_to_column: Vec<Vec<u32>>,
}

/// The vocabulary of the workers' term `tables` (with their `counts`).
pub(super) fn decide_vocabulary(
    set: &FeatureConfig,
    tables: &[SortedTerms],
    counts: &[Vec<TermCount>],
    limits: Limits,
    n_documents: usize,
) -> Result<Decided, FeatureError> {
    let (_, _, max_features) = limits;
    // The workers' terms merged into the sorted vocabulary; ids are provisional, columns
    // come from this order.
    let union = merge_sorted(tables);
    let n_merged = union.len();
    // Total frequencies matter only to `max_features`.
    let mut df = vec![0u64; n_merged];
    let mut tf = vec![0u64; if max_features.is_some() { n_merged } else { 0 }];
    for (counts, map) in counts.iter().zip(&union.maps) {
        for (count, &m) in counts.iter().zip(map) {
            df[m as usize] += count.df;
            if let Some(total) = tf.get_mut(m as usize) {
                *total += count.tf;
            }
        }
    }

    let selection = select_terms(set, &df, &tf, limits, n_documents)?;
    let kept = (0..n_merged)
        .filter(|&m| selection.keep[m])
        .map(|m| union.place(m));
    let vocabulary = vocabulary_of(tables, kept, selection.n_kept);
    // Both in place: the merged positions become columns, the frequencies those kept.
    selection.retain_kept(&mut df);
    let mut worker_to_column = union.maps;
    worker_to_column.par_iter_mut().for_each(|map| {
        for m in map.iter_mut() {
            *m = selection.columns[*m as usize];
        }
    });
    Ok(Decided {
        terms: vocabulary,
        document_frequencies: df,
        worker_to_column,
    })
}

/// How a vocabulary is pruned: `min_df`, `max_df`, `max_features`.
pub(crate) type Limits = (DocumentFrequency, DocumentFrequency, Option<usize>);

/// The terms a vocabulary keeps, out of candidates in string order.
pub(crate) struct Selection {
    pub(crate) keep: Vec<bool>,
    /// Each candidate's column, `DROPPED` for those not kept.
    pub(crate) columns: Vec<u32>,
    pub(crate) n_kept: usize,
}

impl Selection {
    /// Keep, of one value per candidate, those of the kept terms (in place).
    pub(crate) fn retain_kept(&self, values: &mut Vec<u64>) {
        let mut kept = self.keep.iter();
        values.retain(|_| kept.next().copied().unwrap_or(false));
    }
}

/// Which of the candidate terms (in string order, with their document frequencies `df` and,
/// under `max_features`, their total frequencies `tf`, among `n_documents`) the vocabulary
/// keeps: those within `min_df` and `max_df`, then the `max_features` most frequent, as
/// scikit-learn. So are its errors: no terms at all (reported first), `max_df` below
/// `min_df`, no term left.
pub(crate) fn select_terms(
    set: &FeatureConfig,
    df: &[u64],
    tf: &[u64],
    (min_df, max_df, max_features): Limits,
    n_documents: usize,
) -> Result<Selection, FeatureError> {
    let empty = || FeatureError::EmptyVocabulary {
        settings: set.pruning_settings(),
        n_documents,
    };
    if df.is_empty() {
        return Err(empty());
    }
    let bound = |limit: DocumentFrequency| match limit {
        DocumentFrequency::Count(n) => n as f64,
        DocumentFrequency::Proportion(p) => p * n_documents as f64,
    };
    let (low, high) = (bound(min_df), bound(max_df));
    if high < low {
        return Err(FeatureError::MaxDfBelowMinDf {
            min_df,
            max_df,
            n_documents,
        });
    }
    let mut keep: Vec<bool> = df
        .iter()
        .map(|&d| (d as f64) >= low && (d as f64) <= high)
        .collect();
    if let Some(limit) = max_features {
        let mut kept: Vec<usize> = (0..df.len()).filter(|&m| keep[m]).collect();
        if kept.len() > limit {
            // As scikit-learn, frequency is summed after `binary`. A stable sort keeps term
            // order among equal frequencies: ties go to the smaller term.
            let frequency = if set.binary() { df } else { tf };
            kept.sort_by_key(|&m| Reverse(frequency[m]));
            for &m in &kept[limit..] {
                keep[m] = false;
            }
        }
    }
    let mut next = 0;
    let columns: Vec<u32> = keep
        .iter()
        .map(|&kept| {
            next += u32::from(kept);
            if kept { next - 1 } else { DROPPED }
        })
        .collect();
    if next == 0 {
        return Err(empty());
    }
    Ok(Selection {
        keep,
        columns,
        n_kept: next as usize,
    })
}
