//! Telegraf bucket tags and DogStatsD `|#` tags.

/// Tags of one sample: Telegraf bucket tags first, then DogStatsD `|#` tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Tags<'a> {
    pub(super) bucket: &'a str,
    pub(super) dog: &'a str,
}

impl<'a> Tags<'a> {
    /// Whether there are no tags.
    #[inline]
    pub fn is_empty(&self) -> bool {
        // Most lines have no tags at all: answer those without the iterator (a call in wasm).
        (self.bucket.is_empty() && self.dog.is_empty()) || self.iter().next().is_none()
    }

    /// Whether both are the same slices of one input, and so the same tags, in constant time
    /// (the values of one segment of a line, `a:1:2|c|#t`, share theirs).
    pub fn is_same(&self, other: &Tags<'_>) -> bool {
        core::ptr::eq(self.bucket, other.bucket) && core::ptr::eq(self.dog, other.dog)
    }

    /// The tags as `(key, value)`; a bare DogStatsD tag has no value, and a bucket tag without
    /// `=` is left out. Later duplicates are not removed.
    #[inline]
    pub fn iter(&self) -> TagIter<'a> {
        TagIter {
            bucket: self.bucket,
            dog: self.dog,
        }
    }
}

/// Iterator over [`Tags`].
#[derive(Clone, Debug)]
pub struct TagIter<'a> {
    bucket: &'a str,
    dog: &'a str,
}

// Tag lists are short: a byte loop beats `str::find`'s searcher, above all in wasm.
#[inline]
fn split_first_entry(s: &str) -> (&str, &str) {
    match s.bytes().position(|b| b == b',') {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..).unwrap_or("")),
        None => (s, ""),
    }
}

#[inline]
fn split_kv(s: &str, sep: u8) -> (&str, Option<&str>) {
    match s.bytes().position(|b| b == sep) {
        Some(i) => (s.get(..i).unwrap_or(""), s.get(i + 1..)),
        None => (s, None),
    }
}

impl<'a> Iterator for TagIter<'a> {
    type Item = (&'a str, Option<&'a str>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while !self.bucket.is_empty() {
            let (entry, rest) = split_first_entry(self.bucket);
            self.bucket = rest;
            // A bucket tag without `=` is dropped, as Telegraf and statsd_exporter do.
            if let (k, Some(v)) = split_kv(entry, b'=') {
                return Some((k, Some(v)));
            }
        }
        while !self.dog.is_empty() {
            let (entry, rest) = split_first_entry(self.dog);
            self.dog = rest;
            if !entry.is_empty() {
                return Some(split_kv(entry, b':'));
            }
        }
        None
    }
}

/// Check tags for empty keys; returns the offset of the bad entry. An entry has an empty key
/// when it starts with `sep`: `sep` first in the list or right after a `,`.
#[inline]
pub(super) fn check_tags(tags: &str, sep: u8) -> Result<(), usize> {
    let b = tags.as_bytes();
    // Every pair of neighbours at once, without an early exit: LLVM vectorises this. The
    // offset is looked for only for a bad list.
    let bad = b.first() == Some(&sep)
        || b.iter()
            .zip(b.iter().skip(1))
            .fold(false, |acc, (&p, &c)| acc | ((p == b',') & (c == sep)));
    if bad {
        Err(first_empty_key(b, sep))
    } else {
        Ok(())
    }
}

#[cold]
#[inline(never)]
fn first_empty_key(b: &[u8], sep: u8) -> usize {
    let mut prev = b',';
    for (i, &c) in b.iter().enumerate() {
        if c == sep && prev == b',' {
            return i;
        }
        prev = c;
    }
    0
}
