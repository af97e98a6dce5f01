//! Text to features, exactly as scikit-learn's analyzers: lowercase with Python's
//! `str.lower()`, then word tokens (`(?u)\b\w\w+\b`, or a user's `token_pattern` through
//! `pattern`) or padded character n-grams (`char_wb`).
//!
//! Takes `&str` documents and hands each feature string to a callback, borrowed from the
//! document or from one of the [`Analyzer`]'s reused buffers: nothing is allocated per token.
//! Character classes come from `word_classes` (generated from Python), never from Rust's
//! `char` predicates, which follow another Unicode version and another definition of `\w`.

use std::ops::Range;

use regex::CaptureLocations;
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;

use super::config::{AnalyzerKind, FeatureConfig, Stemming};
use super::word_classes::{CASE_IGNORABLE, CASED, LOWER, SPACE, WORD};

const CAPITAL_SIGMA: u32 = 0x03A3;
const DOTTED_CAPITAL_I: u32 = 0x0130;

/// Byte classes for the ASCII fast path, built from the generated tables.
const ASCII_WORD: [bool; 128] = ascii_table(&WORD);
const ASCII_SPACE: [bool; 128] = ascii_table(&SPACE);

const fn ascii_table(ranges: &[(u32, u32)]) -> [bool; 128] {
    let mut table = [false; 128];
    let mut i = 0;
    while i < ranges.len() {
        let (first, last) = ranges[i];
        let mut cp = first;
        while cp <= last && cp < 128 {
            table[cp as usize] = true;
            cp += 1;
        }
        i += 1;
    }
    table
}

fn in_ranges(ranges: &[(u32, u32)], cp: u32) -> bool {
    ranges
        .binary_search_by(|&(first, last)| {
            if last < cp {
                std::cmp::Ordering::Less
            } else if first > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Python's `\w` for a `str` pattern: `str.isalnum()` or `_`.
pub(crate) fn is_word_char(cp: u32) -> bool {
    if cp < 128 {
        ASCII_WORD[cp as usize]
    } else {
        in_ranges(&WORD, cp)
    }
}

/// Python's `str.isspace()`.
pub(crate) fn is_space_char(cp: u32) -> bool {
    if cp < 128 {
        ASCII_SPACE[cp as usize]
    } else {
        in_ranges(&SPACE, cp)
    }
}

fn lower_char(cp: u32) -> u32 {
    match LOWER.binary_search_by_key(&cp, |&(from, _)| from) {
        Ok(i) => LOWER[i].1,
        Err(_) => cp,
    }
}

/// Length of the leading run of ASCII bytes, eight at a time.
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let high = u64::from_le_bytes(word) & HIGH_BITS;
        if high != 0 {
            return done + (high.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + chunks
        .remainder()
        .iter()
        .position(|&b| b >= 0x80)
        .unwrap_or(chunks.remainder().len())
}

/// `text.lower()` as Python 3.11 computes it, written into `out` (cleared first).
pub(crate) fn lowercase_into(text: &str, out: &mut String) {
    out.clear();
    push_lowercase(text, 0..text.len(), out);
}

/// Append `text[span].lower()` to `out`. A capital sigma looks at the whole of `text` for its
/// context, so the result is the matching piece of `text.lower()`.
fn push_lowercase(text: &str, span: Range<usize>, out: &mut String) {
    out.reserve(span.len());
    let mut rest = &text[span.clone()];
    while !rest.is_empty() {
        let run = ascii_prefix_len(rest.as_bytes());
        if run > 0 {
            let start = out.len();
            out.push_str(&rest[..run]);
            out[start..].make_ascii_lowercase();
            rest = &rest[run..];
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        let consumed = span.end - rest.len();
        match c as u32 {
            DOTTED_CAPITAL_I => out.push_str("i\u{307}"),
            CAPITAL_SIGMA => out.push(if is_final_sigma(text, consumed) {
                'ς'
            } else {
                'σ'
            }),
            cp => out.push(char::from_u32(lower_char(cp)).unwrap_or(c)),
        }
        rest = chars.as_str();
    }
}

/// Python's `Final_Sigma` test for the capital sigma at byte `at` of `text`.
fn is_final_sigma(text: &str, at: usize) -> bool {
    let is_ignorable = |c: &char| in_ranges(&CASE_IGNORABLE, *c as u32);
    let is_cased = |c: char| in_ranges(&CASED, c as u32);
    let before = text[..at].chars().rev().find(|c| !is_ignorable(c));
    if !before.is_some_and(is_cased) {
        return false;
    }
    let after = text[at + 'Σ'.len_utf8()..]
        .chars()
        .find(|c| !is_ignorable(c));
    !after.is_some_and(is_cased)
}

/// Decode the code point starting at byte `pos` (a char boundary of valid UTF-8).
fn decode_at(bytes: &[u8], pos: usize) -> (u32, usize) {
    let b0 = u32::from(bytes[pos]);
    let cont = |i: usize| u32::from(bytes[pos + i] & 0x3F);
    if b0 < 0xE0 {
        (((b0 & 0x1F) << 6) | cont(1), 2)
    } else if b0 < 0xF0 {
        (((b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3)
    } else {
        (
            ((b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
            4,
        )
    }
}

/// `ASCII_WORD` as a byte table over all 256 byte values (0 for non-ASCII bytes).
const WORD_BYTE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = ASCII_WORD[b] as u8;
        b += 1;
    }
    table
};

fn low_mask(bits: usize) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Emit the open token, if it has at least two characters.
#[inline]
fn close_token<'a>(
    text: &'a str,
    open: &mut Option<(usize, usize)>,
    end: usize,
    emit: &mut impl FnMut(&'a str),
) {
    if let Some((start, chars)) = open.take()
        && chars >= 2
    {
        emit(&text[start..end]);
    }
}

/// Call `emit` on each token of `(?u)\b\w\w+\b` in `text`, in order: the maximal runs of at
/// least two word characters.
///
/// ASCII stretches are classified up to 64 bytes at a time into a bit mask whose runs of ones
/// are found with `trailing_zeros`, so that the unpredictable end of a word costs no branch
/// misprediction per byte; other characters go one at a time through the generated tables.
pub(crate) fn word_tokens<'a>(text: &'a str, mut emit: impl FnMut(&'a str)) {
    let bytes = text.as_bytes();
    let len = bytes.len();
    let mut pos = 0;
    // The token being read across stretches: its start and its characters so far.
    let mut open: Option<(usize, usize)> = None;
    while pos < len {
        let block = &bytes[pos..len.min(pos + 64)];
        let (mut word, mut high) = (0u64, 0u64);
        for (i, &b) in block.iter().enumerate() {
            word |= u64::from(WORD_BYTE[b as usize]) << i;
            high |= u64::from(b >> 7) << i;
        }
        let ascii = if high == 0 {
            block.len()
        } else {
            high.trailing_zeros() as usize
        };
        let mut runs = word & low_mask(ascii);
        if let Some((start, chars)) = open {
            let leading = (!runs).trailing_zeros() as usize;
            if leading >= ascii {
                open = Some((start, chars + ascii));
                runs = 0;
            } else {
                open = Some((start, chars + leading));
                close_token(text, &mut open, pos + leading, &mut emit);
                runs &= !low_mask(leading);
            }
        }
        while runs != 0 {
            let first = runs.trailing_zeros() as usize;
            let run = (!(runs >> first)).trailing_zeros() as usize;
            let end = first + run;
            if end >= ascii {
                open = Some((pos + first, run));
                break;
            }
            if run >= 2 {
                emit(&text[pos + first..pos + end]);
            }
            runs &= !low_mask(end);
        }
        pos += ascii;
        while pos < len && bytes[pos] >= 0x80 {
            let (cp, width) = decode_at(bytes, pos);
            if is_word_char(cp) {
                open = Some(open.map_or((pos, 1), |(start, chars)| (start, chars + 1)));
            } else {
                close_token(text, &mut open, pos, &mut emit);
            }
            pos += width;
        }
    }
    close_token(text, &mut open, len, &mut emit);
}

/// What [`WordScanner::scan`] hands each token of `text.lower()` to, in order.
pub(crate) trait WordSink {
    /// `folded[start..end]`: a token of ASCII word characters (`[0-9A-Za-z_]`), lowercase.
    /// `folded` is the text with `A-Z` folded to `a-z`, followed by at least
    /// [`WORD_LOAD_PADDING`] bytes, so that 8-byte loads at `start` and at `end - 8` always
    /// stay inside it.
    fn ascii(&mut self, folded: &str, start: usize, end: usize);
    /// A token from a stretch of the text holding non-ASCII characters, exactly lowercased.
    fn lowered(&mut self, token: &str);
}

/// Bytes of padding after the folded text handed to [`WordSink::ascii`].
pub(crate) const WORD_LOAD_PADDING: usize = 16;

/// The tokens of `text.lower()` in one pass over `text`, without lowercasing it exactly first.
///
/// The text is copied with ASCII capitals folded (a vectorised byte map), classified 64
/// bytes at a time into bit masks, and a token of ASCII word characters comes out as a span
/// of that copy. Non-ASCII characters are rare in most text, but lowercasing them can change
/// lengths, word-ness and neighbours (`İ` → `i̇`, whose dot is not a word character; a final
/// `Σ`): each stretch holding them, from the start of the word it touches to the next ASCII
/// non-word byte, is lowercased exactly into a buffer and tokenised there. Both ends of such
/// a stretch are token boundaries in `text.lower()` too (an ASCII non-word byte lowercases to
/// itself), so the tokens are exactly those of `text.lower()`.
#[derive(Default)]
pub(crate) struct WordScanner {
    folded: String,
    island: String,
}

/// Bit `i` set when `block[i]` is an ASCII word character, and when it is not ASCII; for a
/// block of at most 64 bytes.
#[inline(always)]
fn classify_block(block: &[u8]) -> (u64, u64) {
    match <&[u8; 64]>::try_from(block) {
        Ok(full) => classify_64(full),
        Err(_) => {
            // Pad the last block with spaces (neither word nor non-ASCII).
            let mut padded = [b' '; 64];
            padded[..block.len()].copy_from_slice(block);
            classify_64(&padded)
        }
    }
}

#[inline(always)]
fn classify_64(block: &[u8; 64]) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the function needs SSE2, which is part of x86-64 itself: every x86-64 CPU has it.
    return unsafe { sse2::classify_64(block) };
    #[cfg(not(target_arch = "x86_64"))]
    return classify_64_portable(block);
}

/// Written as a byte-wise loop of comparisons (which the compiler turns into vector
/// compares) followed by packing eight 0/1 bytes at a time into bits with one multiply.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_64_portable(block: &[u8; 64]) -> (u64, u64) {
    let mut word = [0u8; 64];
    let mut high = [0u8; 64];
    for ((w, h), &b) in word.iter_mut().zip(&mut high).zip(block) {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        *w = u8::from(letter | digit | (b == b'_'));
        *h = b >> 7;
    }
    (pack_bits(&word), pack_bits(&high))
}

/// The same with SSE2 compares, sixteen bytes at a time, and `movemask` to gather the bits:
/// about half the instructions of the portable version (which has no such gather).
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set_epi64x, _mm_set1_epi8,
    };

    /// Bytes `from..=to` of `x` (compared as signed bytes: non-ASCII bytes are negative, so
    /// never in an ASCII range).
    #[inline]
    #[target_feature(enable = "sse2")]
    fn in_range(x: __m128i, from: u8, to: u8) -> __m128i {
        let above = _mm_cmpgt_epi8(x, _mm_set1_epi8(from as i8 - 1));
        let below = _mm_cmplt_epi8(x, _mm_set1_epi8(to as i8 + 1));
        _mm_and_si128(above, below)
    }

    #[inline]
    #[target_feature(enable = "sse2")]
    pub(super) fn classify_64(block: &[u8; 64]) -> (u64, u64) {
        let (mut word, mut high) = (0, 0);
        for (i, sixteen) in block.chunks_exact(16).enumerate() {
            let half = |at: usize| {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&sixteen[at..at + 8]);
                i64::from_le_bytes(bytes)
            };
            let x = _mm_set_epi64x(half(8), half(0));
            let letter = in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), b'a', b'z');
            let digit = in_range(x, b'0', b'9');
            let underscore = _mm_cmpeq_epi8(x, _mm_set1_epi8(b'_' as i8));
            let is_word = _mm_or_si128(_mm_or_si128(letter, digit), underscore);
            word |= u64::from(_mm_movemask_epi8(is_word) as u16) << (16 * i);
            high |= u64::from(_mm_movemask_epi8(x) as u16) << (16 * i);
        }
        (word, high)
    }
}

/// Bits of 64 bytes that are each 0 or 1: byte `i` becomes bit `i`.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
fn pack_bits(flags: &[u8; 64]) -> u64 {
    // For eight 0/1 bytes, the multiply sums each byte's bit into the top byte, in order.
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut bits = 0;
    for (i, eight) in flags.chunks_exact(8).enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        bits |= (u64::from_le_bytes(word).wrapping_mul(GATHER) >> 56) << (8 * i);
    }
    bits
}

/// `high` without the bytes of the General Punctuation characters (U+2000–U+206F: curly
/// quotes, dashes, ellipsis, special spaces) that lie wholly in `block`, from the first
/// non-ASCII character on. Those characters are no word characters and `lower()` leaves
/// them alone, so they end words exactly as ASCII punctuation does, which the word mask
/// already says (non-ASCII bytes are not in it); in English text they are nearly all the
/// non-ASCII characters, and each would otherwise cost a detour through the exact path.
#[inline]
fn skip_punctuation(block: &[u8], mut high: u64) -> u64 {
    while high != 0 {
        let i = high.trailing_zeros() as usize;
        match block.get(i..i + 3) {
            Some([0xE2, 0x80, _] | [0xE2, 0x81, 0x80..=0xAF]) => high &= !(0b111 << i),
            _ => break,
        }
    }
    high
}

/// `bits` without its lowest run of ones: adding the lowest set bit carries through the run.
#[inline]
fn clear_lowest_run(bits: u64) -> u64 {
    bits & bits.wrapping_add(bits & bits.wrapping_neg())
}

/// Where the stretch that starts with the non-ASCII byte at `from` ends: the next ASCII
/// byte that is not a word character, or the end of `bytes`.
fn island_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b < 0x80 && !ASCII_WORD[b as usize])
        .map_or(bytes.len(), |i| from + i)
}

impl WordScanner {
    /// Hand each token of `text.lower()` to `sink`, in order.
    #[inline]
    pub(crate) fn scan(&mut self, text: &str, sink: &mut impl WordSink) {
        let WordScanner { folded, island } = self;
        folded.clear();
        folded.push_str(text);
        folded.make_ascii_lowercase();
        folded.extend(std::iter::repeat_n('\0', WORD_LOAD_PADDING));
        let folded = folded.as_str();
        let bytes = &folded.as_bytes()[..text.len()];
        let len = bytes.len();
        #[inline(always)]
        fn emit_ascii(sink: &mut impl WordSink, folded: &str, start: usize, end: usize) {
            if end - start >= 2 {
                sink.ascii(folded, start, end);
            }
        }
        // Word ends are unpredictable, so the bytes are not tested one by one: each block
        // becomes a mask of word characters whose runs of ones are the tokens, found with
        // `trailing_zeros`/`trailing_ones` (a few instructions per token, no branch per byte).
        let mut pos = 0;
        // Start of the run of ASCII word characters still going at `pos`.
        let mut open: Option<usize> = None;
        while pos < len {
            let block = &bytes[pos..len.min(pos + 64)];
            let (word, high) = classify_block(block);
            let high = skip_punctuation(block, high);
            let ascii = if high == 0 {
                block.len()
            } else {
                high.trailing_zeros() as usize
            };
            let mut runs = word & low_mask(ascii);
            if let Some(start) = open {
                let leading = runs.trailing_ones() as usize;
                if leading < ascii {
                    emit_ascii(sink, folded, start, pos + leading);
                    open = None;
                    if leading > 0 {
                        runs = clear_lowest_run(runs);
                    }
                } else {
                    runs = 0;
                }
            }
            // One-character runs are no tokens: they leave the mask here rather than each
            // run's length being tested (a branch as unpredictable as the text). The run at
            // the last ASCII byte may go on past it, so it stays.
            runs &= !(runs & !(runs << 1) & !(runs >> 1) & low_mask(ascii.saturating_sub(1)));
            while runs != 0 {
                let first = runs.trailing_zeros() as usize;
                let end = first + (runs >> first).trailing_ones() as usize;
                if end >= ascii {
                    open = Some(pos + first);
                    break;
                }
                debug_assert!(end - first >= 2);
                sink.ascii(folded, pos + first, pos + end);
                runs = clear_lowest_run(runs);
            }
            if ascii == block.len() {
                pos += ascii;
                continue;
            }
            // A non-ASCII byte: the exact path, from the start of the word it continues.
            let start = open.take().unwrap_or(pos + ascii);
            pos = scan_island(island, text, start, pos + ascii, sink);
        }
        if let Some(start) = open {
            emit_ascii(sink, folded, start, len);
        }
    }
}

/// Tokenise `text.lower()` over the stretch from `start` that holds the non-ASCII byte at
/// `non_ascii`, exactly, in `island`; returns where the stretch ends.
#[cold]
#[inline(never)]
fn scan_island(
    island: &mut String,
    text: &str,
    start: usize,
    non_ascii: usize,
    sink: &mut impl WordSink,
) -> usize {
    let end = island_end(text.as_bytes(), non_ascii);
    island.clear();
    push_lowercase(text, start..end, island);
    word_tokens(island, |token| sink.lowered(token));
    end
}

/// Whitespace-separated words, as Python's `str.split()` with no argument.
pub(crate) struct SpaceSeparated<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> SpaceSeparated<'a> {
    pub(crate) fn new(text: &'a str) -> SpaceSeparated<'a> {
        SpaceSeparated { text, pos: 0 }
    }
}

impl<'a> Iterator for SpaceSeparated<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let len = bytes.len();
        let mut pos = self.pos;
        let is_space_at = |pos: usize| -> (bool, usize) {
            let b = bytes[pos];
            if b < 0x80 {
                (ASCII_SPACE[b as usize], 1)
            } else {
                let (cp, width) = decode_at(bytes, pos);
                (is_space_char(cp), width)
            }
        };
        let start = loop {
            if pos >= len {
                self.pos = pos;
                return None;
            }
            let (space, width) = is_space_at(pos);
            if !space {
                break pos;
            }
            pos += width;
        };
        while pos < len {
            let (space, width) = is_space_at(pos);
            if space {
                break;
            }
            pos += width;
        }
        self.pos = pos;
        Some(&self.text[start..pos])
    }
}

/// Call `emit` on each word token of `doc` (lowercased first when `lowercase`), in order.
fn for_each_word(doc: &str, lowercase: bool, scanner: &mut WordScanner, emit: impl FnMut(&str)) {
    if !lowercase {
        word_tokens(doc, emit);
        return;
    }
    /// Tokens as strings.
    struct Strings<F>(F);
    impl<F: FnMut(&str)> WordSink for Strings<F> {
        fn ascii(&mut self, folded: &str, start: usize, end: usize) {
            (self.0)(&folded[start..end]);
        }
        fn lowered(&mut self, token: &str) {
            (self.0)(token);
        }
    }
    scanner.scan(doc, &mut Strings(emit));
}

/// Call `emit` on each word token of `doc` (lowercased first when the set says so): the
/// built-in scanner for the default pattern, else the set's `token_pattern` over the
/// lowercased text (`locations` is its reused room for a group's position).
fn for_each_token(
    doc: &str,
    set: &FeatureConfig,
    scanner: &mut WordScanner,
    lowered: &mut String,
    locations: &mut Option<CaptureLocations>,
    emit: impl FnMut(&str),
) {
    let Some(pattern) = set.token_pattern() else {
        for_each_word(doc, set.lowercase(), scanner, emit);
        return;
    };
    let text = if set.lowercase() {
        lowercase_into(doc, lowered);
        lowered.as_str()
    } else {
        doc
    };
    let locations = locations.get_or_insert_with(|| pattern.locations());
    pattern.tokens(text, locations, emit);
}

/// Turns documents into feature strings with the settings of one [`FeatureConfig`].
///
/// Holds the buffers it reuses from one document to the next; one per thread.
pub struct Analyzer<'s> {
    set: &'s FeatureConfig,
    scanner: WordScanner,
    lowered: String,
    /// Stop-word-filtered, stemmed tokens of the current document, back to back.
    tokens: String,
    token_ends: Vec<usize>,
    /// One n-gram being built: word n-grams joined by spaces, or a space-padded word.
    gram: String,
    char_starts: Vec<usize>,
    stemmer: Option<Stemmer>,
    /// Stems of the distinct tokens seen so far, so that a token is stemmed once.
    stems: FxHashMap<Box<str>, Box<str>>,
    /// A `token_pattern`'s room for its group's position, made at its first document.
    locations: Option<CaptureLocations>,
}

impl<'s> Analyzer<'s> {
    pub(crate) fn new(set: &'s FeatureConfig) -> Analyzer<'s> {
        Analyzer {
            set,
            scanner: WordScanner::default(),
            lowered: String::new(),
            tokens: String::new(),
            token_ends: Vec::new(),
            gram: String::new(),
            char_starts: Vec::new(),
            stemmer: match set.stemming() {
                Stemming::None => None,
                Stemming::English => Some(Stemmer::create(Algorithm::English)),
            },
            stems: FxHashMap::default(),
            locations: None,
        }
    }

    /// Call `emit` once for every feature occurrence in `doc` (order unspecified): the terms
    /// that would be counted, before any vocabulary or hashing.
    pub fn analyze(&mut self, doc: &str, mut emit: impl FnMut(&str)) {
        let Analyzer {
            set,
            scanner,
            lowered,
            tokens,
            token_ends,
            gram,
            char_starts,
            stemmer,
            stems,
            locations,
        } = self;
        let (min_n, max_n) = set.ngram_range();
        match set.analyzer() {
            AnalyzerKind::Word => {
                if max_n == 1 && !set.has_stop_words() && stemmer.is_none() {
                    for_each_token(doc, set, scanner, lowered, locations, emit);
                    return;
                }
                tokens.clear();
                token_ends.clear();
                for_each_token(doc, set, scanner, lowered, locations, |token| {
                    if set.is_stop_word(token) {
                        return;
                    }
                    match stemmer {
                        Some(stemmer) => {
                            if !stems.contains_key(token) {
                                stems.insert(token.into(), stemmer.stem(token).into());
                            }
                            tokens.push_str(&stems[token]);
                        }
                        None => tokens.push_str(token),
                    }
                    token_ends.push(tokens.len());
                });
                let token_at = |i: usize| {
                    let start = if i == 0 { 0 } else { token_ends[i - 1] };
                    &tokens[start..token_ends[i]]
                };
                let n_tokens = token_ends.len();
                for n in min_n..=max_n.min(n_tokens) {
                    for first in 0..=n_tokens - n {
                        if n == 1 {
                            emit(token_at(first));
                        } else {
                            gram.clear();
                            for i in first..first + n {
                                if i > first {
                                    gram.push(' ');
                                }
                                gram.push_str(token_at(i));
                            }
                            emit(gram);
                        }
                    }
                }
            }
            AnalyzerKind::Char => {
                let text = if set.lowercase() {
                    lowercase_into(doc, lowered);
                    lowered.as_str()
                } else {
                    doc
                };
                // scikit-learn's `_char_ngrams`: runs of two or more whitespace characters
                // (`\s\s+`) become one space; a lone whitespace character stays as it is.
                gram.clear();
                let mut chars = text.chars().peekable();
                while let Some(c) = chars.next() {
                    if is_space_char(c as u32)
                        && chars.peek().is_some_and(|&next| is_space_char(next as u32))
                    {
                        while chars.peek().is_some_and(|&next| is_space_char(next as u32)) {
                            chars.next();
                        }
                        gram.push(' ');
                    } else {
                        gram.push(c);
                    }
                }
                char_starts.clear();
                char_starts.extend(gram.char_indices().map(|(i, _)| i));
                char_starts.push(gram.len());
                let n_chars = char_starts.len() - 1;
                for n in min_n..=max_n.min(n_chars) {
                    for first in 0..=n_chars - n {
                        emit(&gram[char_starts[first]..char_starts[first + n]]);
                    }
                }
            }
            AnalyzerKind::CharWb => {
                let text = if set.lowercase() {
                    lowercase_into(doc, lowered);
                    lowered.as_str()
                } else {
                    doc
                };
                for word in SpaceSeparated::new(text) {
                    gram.clear();
                    gram.push(' ');
                    gram.push_str(word);
                    gram.push(' ');
                    char_starts.clear();
                    char_starts.extend(gram.char_indices().map(|(i, _)| i));
                    char_starts.push(gram.len());
                    let n_chars = char_starts.len() - 1;
                    let slice = |from: usize, to: usize| &gram[char_starts[from]..char_starts[to]];
                    // scikit-learn's `_char_wb_ngrams`: a word shorter than n is one n-gram, once.
                    for n in min_n..=max_n {
                        emit(slice(0, n.min(n_chars)));
                        let mut offset = 0;
                        while offset + n < n_chars {
                            offset += 1;
                            emit(slice(offset, offset + n));
                        }
                        if offset == 0 {
                            break;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::RawFeatureConfig;

    /// The straightforward scanner that `word_tokens` must agree with.
    struct WordTokens<'a> {
        text: &'a str,
        pos: usize,
    }

    impl<'a> WordTokens<'a> {
        fn new(text: &'a str) -> WordTokens<'a> {
            WordTokens { text, pos: 0 }
        }
    }

    impl<'a> Iterator for WordTokens<'a> {
        type Item = &'a str;

        fn next(&mut self) -> Option<&'a str> {
            let bytes = self.text.as_bytes();
            let len = bytes.len();
            let mut pos = self.pos;
            loop {
                // Skip to the next word character.
                let start = loop {
                    if pos >= len {
                        self.pos = pos;
                        return None;
                    }
                    let b = bytes[pos];
                    if b < 0x80 {
                        if ASCII_WORD[b as usize] {
                            break pos;
                        }
                        pos += 1;
                    } else {
                        let (cp, width) = decode_at(bytes, pos);
                        if is_word_char(cp) {
                            break pos;
                        }
                        pos += width;
                    }
                };
                // Take the whole run, counting characters (not bytes) for the two-character minimum.
                let mut chars = 0usize;
                while pos < len {
                    let b = bytes[pos];
                    if b < 0x80 {
                        if !ASCII_WORD[b as usize] {
                            break;
                        }
                        pos += 1;
                    } else {
                        let (cp, width) = decode_at(bytes, pos);
                        if !is_word_char(cp) {
                            break;
                        }
                        pos += width;
                    }
                    chars += 1;
                }
                if chars >= 2 {
                    self.pos = pos;
                    return Some(&self.text[start..pos]);
                }
            }
        }
    }

    fn check_tokens(text: &str, expected: &[&str]) {
        let mut got = Vec::new();
        word_tokens(text, |t| got.push(t));
        assert_eq!(got, expected, "{text:?}");
        let reference: Vec<&str> = WordTokens::new(text).collect();
        assert_eq!(reference, expected, "{text:?}");
    }

    proptest::proptest! {
        /// The block scanner agrees with the plain one, across 64-byte block boundaries.
        #[test]
        fn block_scanner_agrees_with_plain_scan(text in "([a-z_ .,]{0,70}|[é’中\u{301}x ]{0,5}){0,12}") {
            let mut got = Vec::new();
            word_tokens(&text, |t| got.push(t));
            let expected: Vec<&str> = WordTokens::new(&text).collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    /// The scanner's tokens as strings, ASCII spans folded to lowercase.
    fn scanned(text: &str) -> Vec<String> {
        struct Collect(Vec<String>);
        impl WordSink for Collect {
            fn ascii(&mut self, folded: &str, start: usize, end: usize) {
                assert!(end + WORD_LOAD_PADDING <= folded.len());
                self.0.push(folded[start..end].to_string());
            }
            fn lowered(&mut self, token: &str) {
                self.0.push(token.to_string());
            }
        }
        let mut tokens = Collect(Vec::new());
        WordScanner::default().scan(text, &mut tokens);
        tokens.0
    }

    /// What scikit-learn does: lowercase the whole text, then tokenise it.
    fn lowered_then_tokenised(text: &str) -> Vec<String> {
        let mut lowered = String::new();
        lowercase_into(text, &mut lowered);
        let mut expected = Vec::new();
        word_tokens(&lowered, |t| expected.push(t.to_string()));
        expected
    }

    proptest::proptest! {
        /// Scanning the original text gives the tokens of the lowercased text, whatever
        /// characters whose lowercase differs in length, word-ness or context sit where.
        #[test]
        fn scanning_agrees_with_lowercasing_first(
            text in "([A-Za-z0-9_ .,'-]{0,70}|[ÉéİΣσ\u{212A}’“—\u{2070}\u{2071}中\u{301}\u{a0}xX. ']{0,6}){0,12}"
        ) {
            proptest::prop_assert_eq!(scanned(&text), lowered_then_tokenised(&text));
        }
    }

    #[test]
    fn scanning_handles_non_ascii_stretches() {
        for text in [
            "",
            "Hello, World",
            "CAFÉ Society's İSTANBUL",
            "ΟΔΥΣΣΕΥΣ. ΑΣ'Α aΣ.b",
            "\u{212A}elvin x\u{212A} abc\u{301}def",
            "cities’ reputations “Quoted” end’",
            "ΑΣ’ ΑΣ’Α a—Σ—b wait…ΣΑ \u{2070}x\u{2071}y",
            "北京 and 莫斯科, 2024\u{a0}news\u{a0}X",
            &format!("{}É{} {}", "A".repeat(63), "b".repeat(70), "C".repeat(64)),
        ] {
            assert_eq!(scanned(text), lowered_then_tokenised(text), "{text:?}");
        }
        // One-letter runs (no tokens) and two-letter ones around a block's end, before and
        // after non-ASCII characters.
        for pad in 59..=66 {
            for tail in ["a bc d", "a", "aé", "a é", "éa b", "ab c", "x\u{a0}y zz"] {
                let text = format!("{}{tail}", ".".repeat(pad));
                assert_eq!(scanned(&text), lowered_then_tokenised(&text), "{text:?}");
            }
        }
    }

    proptest::proptest! {
        /// The classification the scanner uses agrees with the portable one.
        #[test]
        fn block_classification_agrees_with_portable(block in proptest::collection::vec(proptest::num::u8::ANY, 64)) {
            let block: [u8; 64] = block.try_into().expect("64 bytes");
            proptest::prop_assert_eq!(classify_64(&block), classify_64_portable(&block));
        }
    }

    #[test]
    fn general_punctuation_only_separates_words() {
        // What lets the scanner treat U+2000–U+206F as it treats ASCII punctuation.
        for cp in 0x2000..=0x206F {
            assert!(!is_word_char(cp), "{cp:#x}");
            assert_eq!(lower_char(cp), cp, "{cp:#x}");
        }
        assert!(!(0x2000..=0x206F).contains(&CAPITAL_SIGMA));
        assert!(!(0x2000..=0x206F).contains(&DOTTED_CAPITAL_I));
    }

    #[test]
    fn block_classes_are_the_ascii_word_class() {
        let block: Vec<u8> = (0..=255u8).collect();
        for chunk in block.chunks(64) {
            let (word, high) = classify_block(chunk);
            for (i, &b) in chunk.iter().enumerate() {
                let ascii_word = b < 0x80 && ASCII_WORD[b as usize];
                assert_eq!(word >> i & 1 == 1, ascii_word, "byte {b:#x}");
                assert_eq!(high >> i & 1 == 1, b >= 0x80, "byte {b:#x}");
            }
        }
    }

    fn check_lower(text: &str, expected: &str) {
        let mut out = String::from("stale");
        lowercase_into(text, &mut out);
        assert_eq!(out, expected, "{text:?}");
    }

    fn check_features(config: &str, doc: &str, expected: &[&str]) {
        let raw: RawFeatureConfig = toml::from_str(config).unwrap();
        let set = raw.check().unwrap();
        let mut analyzer = Analyzer::new(&set);
        let mut got = Vec::new();
        analyzer.analyze(doc, |f| got.push(f.to_string()));
        got.sort();
        let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(got, expected, "{config} on {doc:?}");
    }

    #[test]
    fn word_tokens_are_runs_of_two_or_more_word_characters() {
        check_tokens("", &[]);
        check_tokens("a b c", &[]);
        check_tokens("The cat's hat, 42x!", &["The", "cat", "hat", "42x"]);
        check_tokens("snake_case __init__ _", &["snake_case", "__init__"]);
        check_tokens("é ab", &["ab"]);
        check_tokens("éé", &["éé"]);
        // A combining acute accent (Mn) is not a word character in Python's `\w`.
        check_tokens("cafe\u{301}s", &["cafe"]);
        check_tokens("北京 x 莫斯科", &["北京", "莫斯科"]);
        check_tokens("½½ x²", &["½½", "x²"]);
        check_tokens("don’t “quoted”", &["don", "quoted"]);
        let long = format!("{} {}é{} x", "a".repeat(70), "b".repeat(63), "c".repeat(3));
        let expected = [
            "a".repeat(70),
            format!("{}é{}", "b".repeat(63), "c".repeat(3)),
        ];
        check_tokens(
            &long,
            &expected.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        check_tokens("aé", &["aé"]);
        check_tokens("é", &[]);
        check_tokens("x é", &[]);
    }

    #[test]
    fn lowercase_follows_python() {
        check_lower("", "");
        check_lower("ABC déF", "abc déf");
        check_lower("İstanbul", "i\u{307}stanbul");
        check_lower("ΟΔΥΣΣΕΥΣ", "οδυσσευς");
        check_lower("Σ", "σ");
        check_lower("ΑΣ.", "ας.");
        check_lower("ΑΣ'Α", "ασ'α");
        check_lower("STRAẞE", "straße");
        check_lower("\u{212A}elvin", "kelvin");
    }

    #[test]
    fn char_wb_matches_scikit_learn() {
        // Checked by hand against `_char_wb_ngrams`.
        check_features(
            "analyzer = \"char_wb\"\nngram_range = [2, 3]",
            "ab\tc",
            &[" a", "ab", "b ", " ab", "ab ", " c", "c ", " c "],
        );
        check_features(
            "analyzer = \"char_wb\"\nngram_range = [4, 5]",
            "ab",
            &[" ab "],
        );
    }

    #[test]
    fn word_ngrams_skip_stop_words_first() {
        check_features(
            "ngram_range = [1, 2]\nstop_words = [\"the\"]",
            "The cat the hat",
            &["cat", "hat", "cat hat"],
        );
        check_features("ngram_range = [2, 3]", "a bb cc", &["bb cc"]);
        check_features("ngram_range = [3, 3]", "aa bb", &[]);
    }

    #[test]
    fn stemming_follows_stop_words() {
        check_features(
            "stemming = \"english\"\nstop_words = \"english\"",
            "running runs generously because",
            &["run", "run", "generous"],
        );
    }
}
