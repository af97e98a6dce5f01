//! Reading overlapped with work: while one batch is worked on (on every core), the next is
//! read, so that a corpus is never held whole and the cores never wait for the disk longer
//! than one batch's read. Featurizing and predicting both go through [`pipelined`].

use super::{Batch, DocumentReader, InputError};

/// Something read a batch at a time, in order.
pub trait BatchSource {
    type Batch: Default;
    type Error;

    /// Replace `batch` with the next one; `false` (and an empty batch) at the end.
    fn next_batch(&mut self, batch: &mut Self::Batch) -> Result<bool, Self::Error>;
}

/// A document reader with the text it reads per batch.
pub struct Batches<'r> {
    reader: &'r mut DocumentReader,
    bytes: usize,
}

impl<'r> Batches<'r> {
    /// Batches of about `bytes` of text (at least one document each).
    pub fn new(reader: &'r mut DocumentReader, bytes: usize) -> Batches<'r> {
        Batches { reader, bytes }
    }
}

impl BatchSource for Batches<'_> {
    type Batch = Batch;
    type Error = InputError;

    fn next_batch(&mut self, batch: &mut Batch) -> Result<bool, InputError> {
        self.reader.next_batch(batch, self.bytes)
    }
}

/// Read `source` to its end, batch by batch: `work` runs on each batch while the next one is
/// read (two batches in memory at most), then `then` takes the batch and what `work` made
/// of it, on the calling thread and in input order (to write output, to count). The first
/// error stops it: of `work`, `then` or reading, in that order for a given batch.
pub fn pipelined<S, T, E>(
    source: &mut S,
    mut work: impl FnMut(&S::Batch) -> Result<T, E> + Send,
    mut then: impl FnMut(&S::Batch, T) -> Result<(), E>,
) -> Result<(), E>
where
    S: BatchSource + Send,
    S::Batch: Send + Sync,
    S::Error: Send,
    T: Send,
    E: From<S::Error> + Send,
{
    let (mut current, mut next) = (S::Batch::default(), S::Batch::default());
    let mut more = source.next_batch(&mut current)?;
    while more {
        let (read, done) = rayon::join(|| source.next_batch(&mut next), || work(&current));
        then(&current, done?)?;
        more = read?;
        std::mem::swap(&mut current, &mut next);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Numbers `0..n` in batches of `size`; fails at `fail_at` if given.
    struct Counter {
        next: usize,
        n: usize,
        size: usize,
        fail_at: Option<usize>,
    }

    impl BatchSource for Counter {
        type Batch = Vec<usize>;
        type Error = String;

        fn next_batch(&mut self, batch: &mut Vec<usize>) -> Result<bool, String> {
            batch.clear();
            if Some(self.next) == self.fail_at {
                return Err(format!("cannot read {}", self.next));
            }
            let end = (self.next + self.size).min(self.n);
            batch.extend(self.next..end);
            self.next = end;
            Ok(!batch.is_empty())
        }
    }

    fn counter(n: usize, size: usize, fail_at: Option<usize>) -> Counter {
        Counter {
            next: 0,
            n,
            size,
            fail_at,
        }
    }

    #[test]
    fn every_batch_is_worked_on_and_taken_in_order() {
        for (n, size) in [(0, 3), (1, 3), (7, 3), (9, 3), (10, 1)] {
            let (mut worked, mut taken) = (0, Vec::new());
            pipelined(
                &mut counter(n, size, None),
                |batch: &Vec<usize>| -> Result<usize, String> {
                    worked += 1;
                    Ok(batch.iter().sum())
                },
                |batch, sum| {
                    assert_eq!(sum, batch.iter().sum::<usize>());
                    taken.extend_from_slice(batch);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(taken, (0..n).collect::<Vec<_>>());
            assert_eq!(worked, n.div_ceil(size));
        }
    }

    #[test]
    fn the_first_error_stops_it() {
        let mut taken = Vec::new();
        let err = pipelined(
            &mut counter(10, 3, Some(6)),
            |batch: &Vec<usize>| -> Result<usize, String> { Ok(batch.len()) },
            |batch, _| {
                taken.extend_from_slice(batch);
                Ok(())
            },
        )
        .unwrap_err();
        assert_eq!(err, "cannot read 6");
        // The batch before the bad read was worked on and taken; nothing after it.
        assert_eq!(taken, [0, 1, 2, 3, 4, 5]);

        let err = pipelined(
            &mut counter(10, 3, None),
            |batch: &Vec<usize>| -> Result<(), String> {
                match batch.first() {
                    Some(3) => Err("bad batch".to_owned()),
                    _ => Ok(()),
                }
            },
            |_, ()| Ok(()),
        )
        .unwrap_err();
        assert_eq!(err, "bad batch");
    }
}
