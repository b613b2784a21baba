//! Line splitting, for a whole input and for a stream that arrives in chunks.
//!
//! The one definition of a StatsD line that every decoder uses: lines end at `\n`; one `\r`
//! before it (or at the very end of the input) is not part of the line; empty lines are skipped
//! by the decoders but counted in the line numbers; a last line without `\n` counts. A line
//! longer than a bound is one [`Line::TooLong`] and splitting resumes at the next line.
//!
//! [`next_line`] and [`SplitLines`] split a complete buffer without allocating. [`LineStream`]
//! (feature `alloc`) joins chunks: a line may be split anywhere between two chunks, and an
//! unterminated line longer than the bound is handed out at once and the rest of it dropped as it
//! comes, never buffered. Splitting a stream gives exactly what splitting the whole input at once
//! gives, however it is cut into chunks.

use core::fmt;

/// Default bound on a line: 16 MiB, as in `realm-metrics decode`.
pub const DEFAULT_MAX_LINE: usize = 16 * 1024 * 1024;

/// One line of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes, without its `\n` and a `\r` before it (may be empty).
    Text(&'a [u8]),
    /// A line longer than the bound (its bytes are not decoded).
    TooLong(OverlongLine),
}

/// The error of a line longer than the bound: "line longer than `max` bytes", at column 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverlongLine {
    /// The bound, in bytes.
    pub max: usize,
}

impl OverlongLine {
    /// The 1-based column such an error is reported at.
    pub const COLUMN: usize = 1;
}

impl fmt::Display for OverlongLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line longer than {} bytes", self.max)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for OverlongLine {}

/// The line at the start of `rest` (which must not be empty), bounded by `max_line` bytes, and
/// how many bytes it takes with its line break.
#[inline]
pub fn next_line(rest: &[u8], max_line: usize) -> (Line<'_>, usize) {
    let max_line = max_line.max(1);
    let (mut line, advance) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (rest.get(..i).unwrap_or(&[]), i + 1),
        None => (rest, rest.len()),
    };
    if let Some((b'\r', l)) = line.split_last() {
        line = l;
    }
    if line.len() > max_line {
        (Line::TooLong(OverlongLine { max: max_line }), advance)
    } else {
        (Line::Text(line), advance)
    }
}

/// The lines of a complete input, each with its 1-based number (see [`split_lines`]).
#[derive(Clone, Debug)]
pub struct SplitLines<'a> {
    rest: &'a [u8],
    next_no: usize,
    max_line: usize,
}

/// Split `input` into lines numbered from `first_line`, each bounded by `max_line` bytes.
pub fn split_lines(input: &[u8], first_line: usize, max_line: usize) -> SplitLines<'_> {
    SplitLines {
        rest: input,
        next_no: first_line,
        max_line,
    }
}

impl SplitLines<'_> {
    /// The number the next line gets.
    pub fn next_number(&self) -> usize {
        self.next_no
    }
}

impl<'a> Iterator for SplitLines<'a> {
    type Item = (usize, Line<'a>);

    fn next(&mut self) -> Option<(usize, Line<'a>)> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, advance) = next_line(self.rest, self.max_line);
        self.rest = self.rest.get(advance..).unwrap_or(&[]);
        let no = self.next_no;
        self.next_no += 1;
        Some((no, line))
    }
}

/// Number of lines in a complete input: empty ones included, a last line without `\n` too.
pub fn count_lines(input: &[u8]) -> usize {
    if input.is_empty() {
        return 0;
    }
    input.iter().filter(|&&b| b == b'\n').count() + usize::from(input.last() != Some(&b'\n'))
}

#[cfg(feature = "alloc")]
pub use self::buffered::LineStream;

#[cfg(feature = "alloc")]
mod buffered {
    use alloc::vec::Vec;

    /// Joins the chunks of a byte stream into complete lines (see the module documentation).
    ///
    /// [`push`](LineStream::push) a chunk, decode the first `n` bytes of
    /// [`pending`](LineStream::pending) it says are ready (split them with
    /// [`split_lines`](super::split_lines) under the same bound, numbering from
    /// [`lines`](LineStream::lines)` + 1`), then [`consume`](LineStream::consume) them. At the
    /// end of the stream, [`finish`](LineStream::finish) makes the unterminated tail ready.
    #[derive(Clone, Debug)]
    pub struct LineStream {
        pending: Vec<u8>,
        lines: usize,
        max_line: usize,
        /// The line being read was handed out as too long: drop its rest, up to and with the
        /// next `\n`.
        skipping: bool,
    }

    impl Default for LineStream {
        fn default() -> Self {
            LineStream::new(super::DEFAULT_MAX_LINE)
        }
    }

    impl LineStream {
        /// A stream whose lines are bounded by `max_line` bytes (at least 1).
        pub fn new(max_line: usize) -> Self {
            LineStream {
                pending: Vec::new(),
                lines: 0,
                max_line: max_line.max(1),
                skipping: false,
            }
        }

        /// The bound on a line.
        pub fn max_line(&self) -> usize {
            self.max_line
        }

        /// Bytes buffered and not yet consumed.
        pub fn pending(&self) -> &[u8] {
            &self.pending
        }

        /// Lines consumed so far (empty ones included).
        pub fn lines(&self) -> usize {
            self.lines
        }

        /// Append `chunk`; return how many leading bytes of [`pending`](Self::pending) are ready:
        /// up to the last `\n`, and all of them when the unterminated tail is already longer than
        /// the bound (not counting a `\r` at its end, which may start a CRLF). Such a tail is cut
        /// to what shows that it is too long, and the rest of its line is dropped as it comes.
        /// So the buffer holds at most `max_line + 2` bytes of an unterminated line.
        pub fn push(&mut self, chunk: &[u8]) -> usize {
            let mut chunk = chunk;
            if self.skipping {
                let Some(i) = chunk.iter().position(|&b| b == b'\n') else {
                    return 0;
                };
                self.skipping = false;
                // Normally nothing is pending here. If the over-long tail is still there (it was
                // not consumed), keep the `\n` that ends it.
                let from = if self.pending.is_empty() { i + 1 } else { i };
                chunk = chunk.get(from..).unwrap_or(&[]);
            }
            let scan_from = self.pending.len();
            self.pending.extend_from_slice(chunk);
            let ready = self
                .pending
                .get(scan_from..)
                .and_then(|new| new.iter().rposition(|&b| b == b'\n'))
                .map_or(0, |i| scan_from + i + 1);
            let tail = self.pending.len() - ready;
            let cr = usize::from(tail > 0 && self.pending.last() == Some(&b'\r'));
            if tail - cr > self.max_line {
                self.pending
                    .truncate(ready.saturating_add(self.max_line).saturating_add(2));
                self.skipping = true;
                self.pending.len()
            } else {
                ready
            }
        }

        /// The stream ends (or is flushed) here: everything pending is ready, as a last line
        /// without `\n`, and the next chunk starts a new line. Returns how many bytes are ready.
        pub fn finish(&mut self) -> usize {
            self.skipping = false;
            self.pending.len()
        }

        /// Forget the first `n` pending bytes, which held `lines` lines.
        pub fn consume(&mut self, n: usize, lines: usize) {
            self.pending.drain(..n.min(self.pending.len()));
            self.lines += lines;
        }

        /// Forget everything: the next chunk is line 1 of a new stream.
        pub fn reset(&mut self) {
            *self = LineStream::new(self.max_line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    /// The lines of a whole input, as owned items.
    fn whole(input: &[u8], max: usize) -> Vec<(usize, Result<Vec<u8>, usize>)> {
        split_lines(input, 1, max).map(owned).collect()
    }

    fn owned((no, line): (usize, Line<'_>)) -> (usize, Result<Vec<u8>, usize>) {
        match line {
            Line::Text(t) => (no, Ok(t.to_vec())),
            Line::TooLong(e) => (no, Err(e.max)),
        }
    }

    /// The lines of the input pushed in chunks cut at `cuts` (ascending offsets).
    fn streamed(input: &[u8], cuts: &[usize], max: usize) -> Vec<(usize, Result<Vec<u8>, usize>)> {
        let mut s = LineStream::new(max);
        let mut out = Vec::new();
        let mut take = |s: &mut LineStream, n: usize| {
            let ready = s.pending().get(..n).unwrap_or(&[]);
            let lines: Vec<_> = split_lines(ready, s.lines() + 1, s.max_line())
                .map(owned)
                .collect();
            let count = lines.len();
            out.extend(lines);
            s.consume(n, count);
        };
        let mut from = 0;
        for &cut in cuts.iter().chain([input.len()].iter()) {
            let cut = cut.clamp(from, input.len());
            let n = s.push(&input[from..cut]);
            take(&mut s, n);
            assert!(s.pending().len() <= max + 2 || s.pending().contains(&b'\n'));
            from = cut;
        }
        let n = s.finish();
        take(&mut s, n);
        out
    }

    #[test]
    fn splits_at_lf_and_drops_one_cr() {
        let input = b"a:1|c\r\n\nb\r\r\nc\rd\nlast\r";
        let lines: Vec<_> = split_lines(input, 1, 100).collect();
        assert_eq!(
            lines,
            [
                (1, Line::Text(b"a:1|c")),
                (2, Line::Text(b"")),
                (3, Line::Text(b"b\r")),
                (4, Line::Text(b"c\rd")),
                (5, Line::Text(b"last")),
            ]
        );
        assert_eq!(count_lines(input), 5);
        assert_eq!(count_lines(b"x\n"), 1);
        assert_eq!(count_lines(b""), 0);
    }

    #[test]
    fn an_over_long_line_is_one_error_and_the_next_line_decodes() {
        let got = whole(b"abcdefgh\na:1|c\nabcde\r\nabcdef\r\nabcde\r", 5);
        assert_eq!(
            got,
            [
                (1, Err(5)),
                (2, Ok(b"a:1|c".to_vec())),
                (3, Ok(b"abcde".to_vec())),
                (4, Err(5)),
                (5, Ok(b"abcde".to_vec())),
            ]
        );
        assert_eq!(
            OverlongLine { max: 16 << 20 }.to_string(),
            "line longer than 16777216 bytes"
        );
    }

    #[test]
    fn a_line_split_across_chunks_is_one_line() {
        let input = b"a:1|c\nbb:2|g\nc:3|ms";
        assert_eq!(streamed(input, &[8], 100), whole(input, 100));
        assert_eq!(streamed(input, &[6, 7, 12, 13], 100), whole(input, 100));
        let mut s = LineStream::new(100);
        assert_eq!(s.push(b"a:1|"), 0);
        assert_eq!(s.push(b"c\nb:2"), 6);
        assert_eq!(&s.pending()[..6], b"a:1|c\n");
    }

    #[test]
    fn an_unterminated_over_long_line_is_not_buffered() {
        let mut s = LineStream::new(4);
        // Handed out at once, cut to what shows that it is too long.
        assert_eq!(s.push(b"0123456789"), 6);
        s.consume(6, 1);
        // Its rest is dropped up to the next \n, never buffered.
        assert_eq!(s.push(&[b'x'; 1000]), 0);
        assert!(s.pending().is_empty());
        let n = s.push(b"de\nx:1|c\nyz");
        assert_eq!(&s.pending()[..n], b"x:1|c\n");
        s.consume(n, 1);
        assert_eq!(s.lines(), 2);
        // A CR at the end may start a CRLF: 4 bytes and a CR wait; another byte makes 5.
        s.reset();
        assert_eq!(s.push(b"abcd\r"), 0);
        assert_eq!(s.push(b"e"), 6);
    }

    #[test]
    fn chunk_boundaries_everywhere_give_the_whole_input_result() {
        let input = b"abcdefgh\na:1|c\r\nabcde\r\n\nabcdef\r\nab\rcde\rxyz\nabcde\r";
        for max in [1, 3, 5, 6, 100] {
            let expected = whole(input, max);
            for a in 0..=input.len() {
                for b in a..=input.len() {
                    assert_eq!(streamed(input, &[a, b], max), expected, "{max} {a} {b}");
                }
            }
        }
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
            proptest::collection::vec(
                prop_oneof![
                    4 => Just(b'a'),
                    1 => Just(b':'),
                    3 => Just(b'\n'),
                    3 => Just(b'\r'),
                    1 => any::<u8>(),
                ],
                0..200,
            )
        }

        proptest! {
            /// However the input is cut into chunks, the lines (and the errors of over-long
            /// ones) are those of the whole input.
            #[test]
            fn chunking_never_changes_the_result(
                input in stream_bytes(),
                mut cuts in proptest::collection::vec(0usize..220, 0..12),
                max in 1usize..40,
            ) {
                cuts.sort_unstable();
                prop_assert_eq!(streamed(&input, &cuts, max), whole(&input, max));
            }
        }
    }
}
