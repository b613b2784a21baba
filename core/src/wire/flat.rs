//! One flat record per decoded value, with catalog recognition: the shape that the CLI's
//! `decode`, the Node package and the wasm package all report.

use super::Record;
use super::decode::{DecodeError, Event, Lines, Sample, Samples, ServiceCheck, decode};
use crate::catalog::{Recognized, recognize_full};

/// The catalog match of a value's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogMatch<'a> {
    /// Not a catalog name.
    None,
    /// A catalog metric; `host` is the part between `realm.` and the catalog name (`None` when a
    /// custom prefix was given).
    Metric {
        /// The host part of the name.
        host: Option<&'a str>,
        /// The catalog row (and protocol version).
        recognized: Recognized,
    },
    /// A catalog name with a type that does not match the catalog kind.
    KindMismatch,
}

/// A decoded value with its line's name and its catalog match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlatValue<'a> {
    /// 1-based line number.
    pub line: usize,
    /// The metric name.
    pub name: &'a str,
    /// The value and its fields.
    pub sample: Sample<'a>,
    /// Catalog recognition.
    pub catalog: CatalogMatch<'a>,
}

/// One item of [`flatten`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Flat<'a> {
    /// A metric value.
    Value(FlatValue<'a>),
    /// An event.
    Event(Event<'a>),
    /// A service check.
    ServiceCheck(ServiceCheck<'a>),
    /// A malformed line.
    Error(DecodeError),
}

/// Iterator returned by [`flatten`].
#[derive(Clone, Debug)]
pub struct Flatten<'a, 'p> {
    lines: Lines<'a>,
    prefix: Option<&'p str>,
    current: Option<(usize, &'a str, Samples<'a>)>,
}

/// Decode `input` into one [`Flat`] per value, event, service check or malformed line, in input
/// order. With `prefix`, catalog names are recognised as `<prefix>.<catalog name>`; without it,
/// as `realm.<host>.<catalog name>`.
pub fn flatten<'a, 'p>(input: &'a [u8], prefix: Option<&'p str>) -> Flatten<'a, 'p> {
    Flatten {
        lines: decode(input),
        prefix,
        current: None,
    }
}

/// Catalog recognition of one name and sample: the one function every binding and the dashboard
/// use.
///
/// - Without `prefix`, `realm.<host>.<catalog name>`, the host taken from the name; or
///   `realm.<catalog name>` with a `host` tag (Telegraf `name,host=h1:3|g` or DogStatsD
///   `|#host:h1`), the host taken from the tag: what the encoder writes with a host tag.
/// - With `prefix`, `<prefix>.<catalog name>`; the host is the `host` tag's value, if any.
///
/// A `host` tag counts when it has a non-empty value; when there are several, the last one (the
/// DogStatsD one, as for every duplicate tag).
pub fn catalog_match<'a>(
    name: &'a str,
    sample: &Sample<'a>,
    prefix: Option<&str>,
) -> CatalogMatch<'a> {
    let kind = sample.ty.kind();
    let found = match recognize_full(name, prefix, kind) {
        Ok(Some((host, recognized))) => Ok(Some((host.or_else(|| host_tag(sample)), recognized))),
        // `realm.<catalog name>`: a match only with a host tag.
        Ok(None) if prefix.is_none() => match host_tag(sample) {
            Some(host) => recognize_full(name, Some(HOST_TAG_PREFIX), kind)
                .map(|o| o.map(|(_, recognized)| (Some(host), recognized))),
            None => Ok(None),
        },
        other => other,
    };
    match found {
        Ok(Some((host, recognized))) => CatalogMatch::Metric { host, recognized },
        Ok(None) => CatalogMatch::None,
        Err(()) => CatalogMatch::KindMismatch,
    }
}

/// The prefix of names whose host is in a tag (Telegraf's `hostname_as_tag` layout).
const HOST_TAG_PREFIX: &str = "realm";

/// The value of the sample's last `host` tag, when it is not empty.
fn host_tag<'a>(sample: &Sample<'a>) -> Option<&'a str> {
    let tags = sample.tags();
    if tags.is_empty() {
        return None;
    }
    tags.iter()
        .filter(|(k, _)| *k == "host")
        .last()
        .and_then(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

impl<'a> Iterator for Flatten<'a, '_> {
    type Item = Flat<'a>;

    fn next(&mut self) -> Option<Flat<'a>> {
        loop {
            if let Some((line, name, samples)) = &mut self.current {
                if let Some(sample) = samples.next() {
                    return Some(Flat::Value(FlatValue {
                        line: *line,
                        name,
                        catalog: catalog_match(name, &sample, self.prefix),
                        sample,
                    }));
                }
                self.current = None;
            }
            match self.lines.next()? {
                Ok(Record::Metric(l)) => self.current = Some((l.line, l.name, l.samples())),
                Ok(Record::Event(e)) => return Some(Flat::Event(e)),
                Ok(Record::ServiceCheck(s)) => return Some(Flat::ServiceCheck(s)),
                Err(e) => return Some(Flat::Error(e)),
            }
        }
    }
}
