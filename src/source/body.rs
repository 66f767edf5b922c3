//! The shape of a JSON answer, found in one pass over its bytes without building it: a bare
//! array of records (v2, Directory Insights) or an object with `totalCount` and a `results`
//! array (v1), each record located as a span of the body. The pass also checks the whole
//! body is JSON, so a cut or garbled answer is retried like any failed request.

use std::fmt;
use std::ops::Range;

use bytes::Bytes;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::model::RawPage;

/// What an answer is.
#[derive(Debug)]
pub enum Shape {
    Array(RawPage),
    Object {
        total_count: Option<u64>,
        /// `None` when there is no `results` key or it is not an array.
        results: Option<RawPage>,
    },
    /// A string, number, boolean or null.
    Scalar,
}

/// Locates the records of `body`; an error means it is not JSON.
pub fn split(body: Bytes) -> Result<Shape, String> {
    let base = body.as_ptr() as usize;
    let found = {
        // UTF-8 is checked once for the whole body, at memory speed, so the parse (here and
        // the decoder's of each record) reads a `str` and need not check every string.
        let text =
            simdutf8::basic::from_utf8(&body).map_err(|_| "the answer is not UTF-8".to_string())?;
        let mut de = serde_json::Deserializer::from_str(text);
        let found = de
            .deserialize_any(Top { base })
            .map_err(|e| e.to_string())?;
        de.end().map_err(|e| e.to_string())?;
        found
    };
    Ok(match found {
        Found::Array(spans) => Shape::Array(RawPage::new(body, spans)),
        Found::Object { total, results } => Shape::Object {
            total_count: total,
            results: results.map(|s| RawPage::new(body, s)),
        },
        Found::Scalar => Shape::Scalar,
    })
}

enum Found {
    Array(Vec<Range<usize>>),
    Object {
        total: Option<u64>,
        results: Option<Vec<Range<usize>>>,
    },
    Scalar,
}

fn span(base: usize, raw: &RawValue) -> Range<usize> {
    let start = raw.get().as_ptr() as usize - base;
    start..start + raw.get().len()
}

fn spans<'de, A: SeqAccess<'de>>(base: usize, mut seq: A) -> Result<Vec<Range<usize>>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
    while let Some(raw) = seq.next_element::<&'de RawValue>()? {
        out.push(span(base, raw));
    }
    Ok(out)
}

struct Top {
    base: usize,
}

impl<'de> Visitor<'de> for Top {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Found, A::Error> {
        spans(self.base, seq).map(Found::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let (mut total, mut results) = (None, None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "totalCount" => total = map.next_value::<Count>()?.0,
                "results" => results = map.next_value_seed(Records { base: self.base })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Found::Object { total, results })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Found, E> {
        Ok(Found::Scalar)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Found, E> {
        Ok(Found::Scalar)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Found, E> {
        Ok(Found::Scalar)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Found, E> {
        Ok(Found::Scalar)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Found, E> {
        Ok(Found::Scalar)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Found, E> {
        Ok(Found::Scalar)
    }
}

/// The spans of an array's elements, or `None` for any other value.
struct Records {
    base: usize,
}

impl<'de> de::DeserializeSeed<'de> for Records {
    type Value = Option<Vec<Range<usize>>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Records {
    type Value = Option<Vec<Range<usize>>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        spans(self.base, seq).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A count if the value is a non-negative integer; anything else is no count.
struct Count(Option<u64>);

impl<'de> de::Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Count(v.as_u64()))
    }
}

/// The `_id` (v1) or, without one, the `id` (v2) of one record, if it is a string.
pub fn record_id(record: &[u8]) -> Option<String> {
    string_field(record, &["_id", "id"])
}

/// One top-level string field of a record (a directory's `type`).
pub fn record_field(record: &[u8], key: &str) -> Option<String> {
    string_field(record, &[key])
}

/// The `id` of one event, if it is a string.
pub fn event_id(record: &[u8]) -> Option<String> {
    string_field(record, &["id"])
}

/// The value of the first of `keys` the record has (a key given twice: its last value),
/// if that value is a string; everything else in the record is skipped unparsed.
fn string_field(record: &[u8], keys: &[&str]) -> Option<String> {
    struct Fields<'k>(&'k [&'k str]);
    impl<'de> Visitor<'de> for Fields<'_> {
        type Value = Vec<Option<serde_json::Value>>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = vec![None; self.0.len()];
            while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match self.0.iter().position(|w| *w == k.as_ref()) {
                    Some(i) => found[i] = Some(map.next_value()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(found)
        }
    }
    let text = simdutf8::basic::from_utf8(record).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    let found = de.deserialize_map(Fields(keys)).ok()?;
    let first = found.into_iter().flatten().next()?;
    first.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(p: &RawPage) -> Vec<String> {
        p.records()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    #[test]
    fn arrays_envelopes_and_scalars() {
        let Shape::Array(p) = split(Bytes::from_static(b" [ {\"a\": 1}, 2 ,\"x\"] ")).unwrap()
        else {
            panic!("not an array")
        };
        assert_eq!(texts(&p), ["{\"a\": 1}", "2", "\"x\""]);
        let body = br#"{"results": [{"_id": "u1"}, {"_id": "u2"}], "totalCount": 7, "x": {}}"#;
        let Shape::Object {
            total_count,
            results: Some(p),
        } = split(Bytes::from_static(body)).unwrap()
        else {
            panic!("not an envelope")
        };
        assert_eq!(total_count, Some(7));
        assert_eq!(texts(&p), [r#"{"_id": "u1"}"#, r#"{"_id": "u2"}"#]);
        assert!(matches!(
            split(Bytes::from_static(
                br#"{"results": {"a": 1}, "totalCount": "x"}"#
            ))
            .unwrap(),
            Shape::Object {
                total_count: None,
                results: None
            }
        ));
        assert!(matches!(
            split(Bytes::from_static(b"null")).unwrap(),
            Shape::Scalar
        ));
        // Cut or trailing garbage is not JSON.
        assert!(split(Bytes::from_static(b"[{\"a\": 1}, {\"b\"")).is_err());
        assert!(split(Bytes::from_static(b"[1] x")).is_err());
    }

    #[test]
    fn ids_of_records() {
        assert_eq!(
            record_id(br#"{"x": [1], "_id": "a1"}"#).as_deref(),
            Some("a1")
        );
        assert_eq!(record_id(br#"{"id": "b2"}"#).as_deref(), Some("b2"));
        assert_eq!(record_id(br#"{"id": 3}"#), None);
        assert_eq!(
            event_id(br#"{"_id": "x", "id": "e\u0031"}"#).as_deref(),
            Some("e1")
        );
        assert_eq!(event_id(b"[]"), None);
    }
}
