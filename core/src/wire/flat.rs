//! One flat record per decoded value, with catalog recognition: the shape that the CLI's
//! `decode`, the Node package and the wasm package all report.

use super::decode::{decode, DecodeError, Event, Lines, Sample, Samples, ServiceCheck, Tags};
use super::Record;
use crate::catalog::{recognize_full, Kind, Recognized};

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
    catalog_match_parts(name, sample.ty.kind(), sample.tags(), prefix)
}

/// [`catalog_match`] of a value of `kind` with `tags`: what it reads of the sample. (For
/// callers that have no [`Sample`], such as [`CommonLine::catalog_match`].)
///
/// [`CommonLine::catalog_match`]: super::CommonLine::catalog_match
#[inline(always)]
pub(crate) fn catalog_match_parts<'a>(
    name: &'a str,
    kind: Option<Kind>,
    tags: Tags<'a>,
    prefix: Option<&str>,
) -> CatalogMatch<'a> {
    match recognize_full(name, prefix, kind) {
        // The host in the name (the common case: the tags are not read).
        Ok(Some((Some(host), recognized))) => CatalogMatch::Metric {
            host: Some(host),
            recognized,
        },
        Ok(Some((None, recognized))) => CatalogMatch::Metric {
            host: host_tag(tags),
            recognized,
        },
        // `realm.<catalog name>`: a match only with a host tag, so without tags (most lines)
        // there is nothing more to look up.
        Ok(None) if prefix.is_none() && !tags.is_empty() => host_tagged(name, kind, tags),
        Ok(None) => CatalogMatch::None,
        Err(()) => CatalogMatch::KindMismatch,
    }
}

/// `realm.<catalog name>` with a `host` tag (see [`catalog_match`]). Out of line: rare.
#[inline(never)]
fn host_tagged<'a>(name: &'a str, kind: Option<Kind>, tags: Tags<'a>) -> CatalogMatch<'a> {
    let Some(host) = host_tag(tags) else {
        return CatalogMatch::None;
    };
    match recognize_full(name, Some(HOST_TAG_PREFIX), kind) {
        Ok(Some((_, recognized))) => CatalogMatch::Metric {
            host: Some(host),
            recognized,
        },
        Ok(None) => CatalogMatch::None,
        Err(()) => CatalogMatch::KindMismatch,
    }
}

/// The prefix of names whose host is in a tag (Telegraf's `hostname_as_tag` layout).
const HOST_TAG_PREFIX: &str = "realm";

/// The value of the last `host` tag, when it is not empty.
#[inline]
fn host_tag(tags: Tags<'_>) -> Option<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Metric;

    /// The catalog match of the first value of `line`.
    fn first<'a>(line: &'a str, prefix: Option<&str>) -> CatalogMatch<'a> {
        match flatten(line.as_bytes(), prefix).next() {
            Some(Flat::Value(v)) => v.catalog,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    fn host_of(m: CatalogMatch<'_>) -> Option<(Option<&str>, Metric)> {
        match m {
            CatalogMatch::Metric { host, recognized } => Some((host, recognized.metric)),
            _ => None,
        }
    }

    #[test]
    fn a_host_tag_names_the_host_of_realm_catalog_names() {
        for line in [
            "realm.connection.online,host=h1:3|g",
            "realm.connection.online:3|g|#host:h1",
            "realm.connection.online,env=prod,host=h1:3|g|@0.5",
            "realm.connection.online,host=h0:3|g|#env:prod,host:h1",
        ] {
            assert_eq!(
                host_of(first(line, None)),
                Some((Some("h1"), Metric::ConnectionOnline)),
                "{line}"
            );
        }
        // Without a host value there is no host, so no match.
        for line in [
            "realm.connection.online:3|g",
            "realm.connection.online:3|g|#host",
            "realm.connection.online,host=:3|g",
            "realm.connection.online:3|g|#hosts:h1",
            "realm.connection.online,host=h1:3|g|#host",
        ] {
            assert_eq!(first(line, None), CatalogMatch::None, "{line}");
        }
        // The host in the name wins; a wrong type is a kind mismatch.
        assert_eq!(
            host_of(first("realm.a.connection.online:3|g|#host:b", None)),
            Some((Some("a"), Metric::ConnectionOnline))
        );
        assert_eq!(
            first("realm.connection.online:3|ms|#host:h1", None),
            CatalogMatch::KindMismatch
        );
        // Another prefix than realm needs the prefix option.
        assert_eq!(
            first("svc.connection.online:3|g|#host:h1", None),
            CatalogMatch::None
        );
    }

    #[test]
    fn with_a_prefix_the_host_comes_from_the_tag() {
        assert_eq!(
            host_of(first("svc.realms.open:1|g|#host:h1", Some("svc"))),
            Some((Some("h1"), Metric::RealmsOpen))
        );
        assert_eq!(
            host_of(first("svc.realms.open:1|g", Some("svc"))),
            Some((None, Metric::RealmsOpen))
        );
    }

    #[test]
    fn the_encoders_host_tag_output_is_recognised() {
        use crate::wire::{Dialect, Encoder, Tag, Value};
        let global = [Tag::new("env", Some("prod"))];
        for dialect in [Dialect::Telegraf, Dialect::DogStatsd] {
            let enc = Encoder::new(dialect, "realm", &global)
                .unwrap()
                .with_host_tag("worker-1.example.com")
                .unwrap();
            let mut buf = [0u8; 256];
            let n = enc
                .encode_metric(&mut buf, Metric::SessionStarted, Value::Int(2))
                .unwrap();
            let line = core::str::from_utf8(&buf[..n]).unwrap();
            assert_eq!(
                host_of(first(line, None)),
                Some((Some("worker-1.example.com"), Metric::SessionStarted)),
                "{dialect}: {line}"
            );
        }
    }

    #[test]
    fn common_line_catalog_match_is_catalog_match() {
        use crate::wire::decode_common;
        let lines = [
            "realm.h1.connection.online:3|g",
            "realm.h1.connection.online:3|c",
            "realm.h1.session.started:2|c|#env:prod",
            "realm.h1.protocol.25.used:1|c",
            "realm.h1.protocol.bytes.sent:7|g",
            "realm.h1.sync.upload.latency:1.5|ms|@0.5",
            "realm.connection.online,host=h1:3|g",
            "realm.connection.online:3|g|#host:h1",
            "realm.connection.online:3|ms|#host:h1",
            "realm.connection.online:3|g|#env:prod",
            "realm.connection.online,host=:3|g",
            "realm.connection.online:3|g",
            "svc.realms.open:1|g|#host:h1",
            "svc.realms.open:1|g",
            "svc.realms.open:1|c",
            "other:1|c",
        ];
        for line in lines {
            let c = decode_common(line.as_bytes()).expect(line);
            for prefix in [None, Some("svc"), Some("realm"), Some("")] {
                let Some(Flat::Value(v)) = flatten(line.as_bytes(), prefix).next() else {
                    panic!("{line}");
                };
                assert_eq!(c.catalog_match(prefix), v.catalog, "{line} {prefix:?}");
            }
        }
    }
}
