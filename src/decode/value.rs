//! `Val`: one JSON record parsed from its page's bytes, strings and keys borrowed from them
//! (owned only where an escape had to be undone), objects as their key/value pairs in
//! order, each key once. It lives while one record is decoded. It serialises exactly as `serde_json`'s
//! `Value` does, so JSON text kept in a column or in `_rescued` is byte for byte what it was.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value borrowed from the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    /// A negative integer (as `serde_json` keeps it).
    I64(i64),
    /// A non-negative integer.
    U64(u64),
    F64(f64),
    Str(Cow<'a, str>),
    Arr(Vec<Val<'a>>),
    Obj(Vec<(Cow<'a, str>, Val<'a>)>),
}

impl<'a> Val<'a> {
    /// Parses one record (UTF-8 checked at memory speed first, so the parser need not
    /// check each string again).
    pub fn parse(text: &'a [u8]) -> Result<Val<'a>, String> {
        let text = simdutf8::basic::from_utf8(text).map_err(|_| "not UTF-8".to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The value under `key` (keys are unique: a repeated key was merged when parsed).
    pub fn get(&self, key: &str) -> Option<&Val<'a>> {
        match self {
            Val::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer that fits in `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Val::I64(i) => Some(i),
            Val::U64(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Val::I64(i) => Some(i as f64),
            Val::U64(u) => Some(u as f64),
            Val::F64(f) => Some(f),
            _ => None,
        }
    }

    /// The JSON text, as `serde_json::Value::to_string` writes it.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail, and a `Val` holds no non-string keys.
        let _ = serde_json::to_writer(out, self);
    }

    pub fn to_json(&self) -> String {
        let mut out = Vec::new();
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Serialize for Val<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Null => s.serialize_unit(),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::I64(i) => s.serialize_i64(*i),
            Val::U64(u) => s.serialize_u64(*u),
            Val::F64(f) => s.serialize_f64(*f),
            Val::Str(x) => s.serialize_str(x),
            Val::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for x in items {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Val::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Val<'de>, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Val<'de>, E> {
        Ok(if i < 0 {
            Val::I64(i)
        } else {
            Val::U64(i as u64)
        })
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Val<'de>, E> {
        Ok(Val::U64(u))
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Val<'de>, E> {
        Ok(Val::F64(f))
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(x) = seq.next_element()? {
            items.push(x);
        }
        Ok(Val::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        let mut fields: Vec<(Cow<'de, str>, Val<'de>)> =
            Vec::with_capacity(map.size_hint().unwrap_or(0));
        // A key given twice keeps its first place and takes the last value, as a
        // `serde_json::Map` does. A bitmap of (length, first byte) pairs seen keeps the
        // search for an earlier equal key to the few keys that could be one.
        let mut seen: u128 = 0;
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            let v = map.next_value()?;
            let bit = 1u128 << ((k.len() * 31 + k.bytes().next().map_or(0, usize::from)) & 127);
            if seen & bit != 0 {
                if let Some(slot) = fields.iter_mut().find(|(p, _)| *p == k) {
                    slot.1 = v;
                    continue;
                }
            }
            seen |= bit;
            fields.push((k, v));
        }
        Ok(Val::Obj(fields))
    }
}

/// An object key, borrowed unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_serde_json_does() {
        let texts = [
            r#"{"a":1,"b":[true,null,-2,1.5e3,"x\"y\u00e9"],"c":{"d":{}},"e\n":18446744073709551615}"#,
            r#"{"k":1,"j":2,"k":3}"#,
            r#"[0.1,1e-7,123456789012345678901234567890,-0.0,"\ud83d\ude00"]"#,
        ];
        for t in texts {
            let ours = Val::parse(t.as_bytes()).expect("parse").to_json();
            let theirs = serde_json::from_str::<serde_json::Value>(t)
                .expect("serde_json")
                .to_string();
            assert_eq!(ours, theirs, "{t}");
        }
        let v = Val::parse(br#"{"k":1,"k":"last","s":"plain","t":"esc\\aped"}"#).expect("parse");
        assert_eq!(v.get("k"), Some(&Val::Str("last".into())));
        assert!(matches!(v.get("s"), Some(Val::Str(Cow::Borrowed(_)))));
        assert_eq!(v.get("t").and_then(Val::as_str), Some("esc\\aped"));
        assert_eq!(Val::parse(b"-3").expect("int").as_i64(), Some(-3));
        assert_eq!(
            Val::parse(b"18446744073709551615").expect("u64").as_i64(),
            None
        );
    }
}
