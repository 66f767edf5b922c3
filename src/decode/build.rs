//! Records straight into Arrow: the schema picks one builder per column type (strings,
//! JSON text, integers, floats, booleans, timestamps, structs, lists), and each parsed record
//! is walked once, its keys matched to the columns that read them. A value that does not fit
//! its column is kept in `_rescued` under its source path and the column gets a null; so is
//! every key no column reads. A list keeps its elements together: one misfit rescues it
//! whole. The rules are those of `TableSchema` and `_rescued` everywhere in the lake.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, ListArray, StringBuilder, StructArray,
    TimestampMicrosecondBuilder,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, FieldRef, Fields, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use super::discover::{lookup, path_join, path_keys};
use super::graph::{Derived, Reversed};
use super::value::Val;
use super::{parse_timestamp_us, DecodeError};
use crate::model::{Column, ColumnType, TableSchema};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Which keys of an object the fields of one level read (a field's source may be a path).
#[derive(Default)]
struct KeyNode {
    children: FastMap<String, KeyNode>,
    /// Some field reads this value whole: nothing below it is unknown.
    whole: bool,
    /// The fields that read this value.
    fields: Vec<usize>,
}

impl KeyNode {
    fn insert(&mut self, path: &str, field: Option<usize>) {
        let mut node = self;
        for part in path_keys(path) {
            node = node.children.entry(part).or_default();
        }
        node.whole = true;
        node.fields.extend(field);
    }

    /// Fills `slots` with the values the fields read and, with `report`, lists the non-null
    /// values under keys nothing reads.
    fn walk<'v, 'a>(
        &self,
        obj: &'v [(Cow<'a, str>, Val<'a>)],
        prefix: &str,
        slots: &mut [Option<&'v Val<'a>>],
        unknown: &mut Vec<(String, &'v Val<'a>)>,
        report: bool,
    ) {
        for (k, v) in obj {
            match self.children.get(k.as_ref()) {
                None => {
                    if report && !v.is_null() {
                        unknown.push((path_join(prefix, k), v));
                    }
                }
                Some(child) => {
                    for &f in &child.fields {
                        slots[f] = Some(v);
                    }
                    // Below a key some field reads whole nothing is unknown; deeper keys
                    // are walked only for the fields that read them.
                    if !child.children.is_empty() {
                        if let Val::Obj(inner) = v {
                            let deeper = report && !child.whole;
                            let sub = if deeper {
                                path_join(prefix, k)
                            } else {
                                String::new()
                            };
                            child.walk(inner, &sub, slots, unknown, deeper);
                        }
                    }
                }
            }
        }
    }
}

/// Where a top-level column's value comes from.
#[derive(Clone, PartialEq)]
enum Origin {
    Record,
    /// The parent object's id (fan-out tables).
    Parent,
    /// A fixed text (the target type of an edge asked from its other end).
    Text(&'static str),
    /// Computed from the record's graph `paths` or its compiled attributes.
    Derived(Derived),
    /// Another `$` source: always null.
    Nothing,
}

struct Field {
    /// The key (path) under which a misfit is rescued.
    path: String,
    from: Origin,
    required: bool,
    name: String,
    builder: Builder,
}

/// The fields of one object level: a record's columns or a struct's fields.
struct Level {
    keys: KeyNode,
    fields: Vec<Field>,
}

/// The `bool` of the number builders is `lenient`: numbers and flags sent as text count.
enum Builder {
    Utf8(StringBuilder),
    Json(StringBuilder, Vec<u8>),
    Int64(Int64Builder, bool),
    Float64(Float64Builder, bool),
    Bool(BooleanBuilder, bool),
    Timestamp(TimestampMicrosecondBuilder, DataType),
    Struct(Box<Level>, NullBufferBuilder, Fields),
    List(Box<Builder>, Vec<i32>, NullBufferBuilder, FieldRef),
}

/// What a record's walk found beyond its row: the values to rescue and whether any key
/// was unknown (which schema discovery may turn into a column).
#[derive(Default)]
pub(super) struct Found<'v, 'a> {
    rescued: Vec<(String, &'v Val<'a>)>,
    pub unknown: bool,
}

impl<'v, 'a> Found<'v, 'a> {
    /// As a JSON object keeps it: a path given twice stays at its first place.
    fn rescue(&mut self, path: String, v: &'v Val<'a>) {
        match self.rescued.iter_mut().find(|(p, _)| *p == path) {
            Some(slot) => slot.1 = v,
            None => self.rescued.push((path, v)),
        }
    }
}

impl Level {
    fn new(
        cols: &[Column],
        prefix: Option<&str>,
        arrow: &Fields,
        reversed: Option<Reversed>,
    ) -> Level {
        let mut keys = KeyNode::default();
        let mut fields = Vec::with_capacity(cols.len());
        for (c, af) in cols.iter().zip(arrow.iter()) {
            let mut source = c.source();
            let from = match (prefix, reversed, source) {
                (None, Some(_), "$parent") => {
                    source = "to/id";
                    Origin::Record
                }
                (None, Some(_), "to/id") => Origin::Parent,
                (None, Some(r), "to/type") => Origin::Text(r.target_type),
                (None, Some(_), "to/attributes") => Origin::Nothing,
                (None, _, "$parent") => Origin::Parent,
                (None, _, s) if s.starts_with('$') => {
                    Derived::parse(s).map_or(Origin::Nothing, Origin::Derived)
                }
                _ => Origin::Record,
            };
            match from {
                Origin::Record => keys.insert(source, Some(fields.len())),
                // Reversed, the far end is the parent: its type and attributes are read by
                // no column, and are not unknown either.
                _ if reversed.is_some() && source.starts_with("to/") => keys.insert(source, None),
                _ => {}
            }
            let path = match prefix {
                None => source.to_string(),
                Some(p) => path_join(p, source),
            };
            let builder = Builder::new(&c.ty, c.lenient, af.data_type(), &path);
            fields.push(Field {
                path,
                from,
                required: !c.nullable && prefix.is_none(),
                name: c.name.clone(),
                builder,
            });
        }
        Level { keys, fields }
    }

    /// Appends one object; misfits and unknown keys (with paths under `prefix`) go to
    /// `found`.
    fn append<'v, 'a>(
        &mut self,
        obj: &'v [(Cow<'a, str>, Val<'a>)],
        prefix: &str,
        parent: Option<&'v Val<'a>>,
        found: &mut Found<'v, 'a>,
    ) -> Result<(), usize> {
        let mut slots = vec![None; self.fields.len()];
        let mut unknown = Vec::new();
        self.keys.walk(obj, prefix, &mut slots, &mut unknown, true);
        let mut missing = None;
        for (i, f) in self.fields.iter_mut().enumerate() {
            let appended = match &f.from {
                Origin::Record => f.builder.append(slots[i], &f.path, found),
                Origin::Parent => f.builder.append(parent, &f.path, found),
                Origin::Nothing => f.builder.append(None, &f.path, found),
                // A made value is not the record's: its sources stay in their own columns,
                // so a misfit is not rescued twice.
                Origin::Text(t) => {
                    let v = Val::Str(Cow::Borrowed(t));
                    f.builder.append(Some(&v), &f.path, &mut Found::default())
                }
                Origin::Derived(d) => {
                    let v = d.value(obj);
                    f.builder.append(v.as_ref(), &f.path, &mut Found::default())
                }
            };
            if !appended && f.required && missing.is_none() {
                missing = Some(i);
            }
        }
        if !unknown.is_empty() {
            found.unknown = true;
            for (p, v) in unknown {
                found.rescue(p, v);
            }
        }
        missing.map_or(Ok(()), Err)
    }

    /// Whether the object would be appended with nothing rescued.
    fn fits(&self, obj: &[(Cow<'_, str>, Val<'_>)], unknown_seen: &mut bool) -> bool {
        let mut slots = vec![None; self.fields.len()];
        let mut unknown = Vec::new();
        self.keys.walk(obj, "", &mut slots, &mut unknown, true);
        if !unknown.is_empty() {
            *unknown_seen = true;
        }
        let known = unknown.is_empty();
        // No short cut at the first misfit: an unknown key further on must still be seen.
        self.fields.iter().zip(slots).fold(known, |ok, (f, v)| {
            v.is_none_or(|v| f.builder.fits(v, unknown_seen)) && ok
        })
    }

    fn append_null(&mut self) {
        for f in &mut self.fields {
            f.builder.append_null();
        }
    }

    fn finish(&mut self) -> Result<Vec<ArrayRef>, ArrowError> {
        self.fields.iter_mut().map(|f| f.builder.finish()).collect()
    }
}

impl Builder {
    fn new(ty: &ColumnType, lenient: bool, arrow: &DataType, path: &str) -> Builder {
        match (ty, arrow) {
            (ColumnType::Struct(cols), DataType::Struct(fields)) => Builder::Struct(
                Box::new(Level::new(cols, Some(path), fields, None)),
                NullBufferBuilder::new(0),
                fields.clone(),
            ),
            (ColumnType::List(inner), DataType::List(item)) => Builder::List(
                Box::new(Builder::new(inner, lenient, item.data_type(), path)),
                vec![0],
                NullBufferBuilder::new(0),
                item.clone(),
            ),
            (ColumnType::Json, _) => Builder::Json(StringBuilder::new(), Vec::new()),
            (ColumnType::Int64, _) => Builder::Int64(Int64Builder::new(), lenient),
            (ColumnType::Float64, _) => Builder::Float64(Float64Builder::new(), lenient),
            (ColumnType::Bool, _) => Builder::Bool(BooleanBuilder::new(), lenient),
            (ColumnType::Timestamp, t) => {
                Builder::Timestamp(TimestampMicrosecondBuilder::new(), t.clone())
            }
            _ => Builder::Utf8(StringBuilder::new()),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Utf8(b) | Builder::Json(b, _) => b.append_null(),
            Builder::Int64(b, _) => b.append_null(),
            Builder::Float64(b, _) => b.append_null(),
            Builder::Bool(b, _) => b.append_null(),
            Builder::Timestamp(b, _) => b.append_null(),
            Builder::Struct(level, nulls, _) => {
                level.append_null();
                nulls.append_null();
            }
            Builder::List(_, offsets, nulls, _) => {
                offsets.push(offsets.last().copied().unwrap_or(0));
                nulls.append_null();
            }
        }
    }

    /// Appends `v` (or a null); returns whether a value was appended. A misfit is rescued
    /// under `path` and appended as null.
    fn append<'v, 'a>(
        &mut self,
        v: Option<&'v Val<'a>>,
        path: &str,
        found: &mut Found<'v, 'a>,
    ) -> bool {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            self.append_null();
            return false;
        };
        let fitted = match (&mut *self, v) {
            (Builder::Utf8(b), Val::Str(s)) => {
                b.append_value(s);
                true
            }
            (Builder::Json(b, scratch), v) => {
                scratch.clear();
                v.write_json(scratch);
                b.append_value(std::str::from_utf8(scratch).unwrap_or_default());
                true
            }
            (Builder::Int64(b, lenient), v) => {
                int(v, *lenient).map(|i| b.append_value(i)).is_some()
            }
            (Builder::Float64(b, lenient), v) => {
                float(v, *lenient).map(|f| b.append_value(f)).is_some()
            }
            (Builder::Bool(b, lenient), v) => {
                boolean(v, *lenient).map(|x| b.append_value(x)).is_some()
            }
            // JumpCloud sends "" for an unset date.
            (Builder::Timestamp(b, _), Val::Str(s)) if s.is_empty() => {
                b.append_null();
                return false;
            }
            (Builder::Timestamp(b, _), Val::Str(s)) => {
                parse_timestamp_us(s).map(|t| b.append_value(t)).is_some()
            }
            (Builder::Struct(level, nulls, _), Val::Obj(obj)) => {
                // Misfits of struct fields are rescued one by one; the struct stays.
                let _ = level.append(obj, path, None, found);
                nulls.append_non_null();
                true
            }
            (Builder::List(item, offsets, nulls, _), Val::Arr(items)) => {
                let mut unknown = false;
                // Every element is looked at: an unknown key in a later one must be seen.
                let misfits = items.iter().filter(|x| !item.fits(x, &mut unknown)).count();
                let fits = misfits == 0;
                found.unknown |= unknown;
                if fits {
                    let mut inner = Found::default();
                    for x in items {
                        item.append(Some(x), path, &mut inner);
                    }
                    offsets.push(offsets.last().copied().unwrap_or(0) + items.len() as i32);
                    nulls.append_non_null();
                }
                fits
            }
            _ => false,
        };
        if !fitted {
            found.rescue(path.to_string(), v);
            self.append_null();
        }
        fitted
    }

    /// Whether `v` would be appended with nothing rescued.
    fn fits(&self, v: &Val, unknown_seen: &mut bool) -> bool {
        match (self, v) {
            (_, Val::Null) | (Builder::Json(..), _) => true,
            (Builder::Utf8(_), Val::Str(_)) => true,
            (Builder::Bool(_, lenient), v) => boolean(v, *lenient).is_some(),
            (Builder::Int64(_, lenient), v) => int(v, *lenient).is_some(),
            (Builder::Float64(_, lenient), v) => float(v, *lenient).is_some(),
            (Builder::Timestamp(..), Val::Str(s)) => {
                s.is_empty() || parse_timestamp_us(s).is_some()
            }
            (Builder::Struct(level, ..), Val::Obj(obj)) => level.fits(obj, unknown_seen),
            (Builder::List(item, ..), Val::Arr(items)) => {
                items.iter().filter(|x| !item.fits(x, unknown_seen)).count() == 0
            }
            _ => false,
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Builder::Utf8(b) | Builder::Json(b, _) => Arc::new(b.finish()),
            Builder::Int64(b, _) => Arc::new(b.finish()),
            Builder::Float64(b, _) => Arc::new(b.finish()),
            Builder::Bool(b, _) => Arc::new(b.finish()),
            Builder::Timestamp(b, t) => {
                let a = b.finish();
                match t {
                    DataType::Timestamp(_, tz) => Arc::new(a.with_timezone_opt(tz.clone())),
                    _ => Arc::new(a),
                }
            }
            Builder::Struct(level, nulls, fields) => {
                let children = level.finish()?;
                let len = nulls.len();
                let nulls = nulls.finish();
                if children.is_empty() {
                    Arc::new(StructArray::new_empty_fields(len, nulls))
                } else {
                    Arc::new(StructArray::try_new(fields.clone(), children, nulls)?)
                }
            }
            Builder::List(item, offsets, nulls, field) => {
                let values = item.finish()?;
                let offsets =
                    OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(offsets, vec![0])));
                Arc::new(ListArray::try_new(
                    field.clone(),
                    offsets,
                    values,
                    nulls.finish(),
                )?)
            }
        })
    }
}

/// An integer; leniently also one sent as text ("17179869184", "1.7179869184E10") or as an
/// integral float, within the 53 bits a float holds exactly.
fn int(v: &Val, lenient: bool) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    let integral =
        |f: f64| (f.is_finite() && f.fract() == 0.0 && f.abs() <= EXACT).then_some(f as i64);
    match v {
        Val::Str(s) if lenient => s
            .parse::<i64>()
            .ok()
            .or_else(|| s.parse::<f64>().ok().and_then(integral)),
        Val::F64(f) if lenient => integral(*f),
        v => v.as_i64(),
    }
}

/// A number; leniently also one sent as text ("1.55668896350383E9").
fn float(v: &Val, lenient: bool) -> Option<f64> {
    match v {
        Val::Str(s) if lenient => s.parse::<f64>().ok().filter(|f| f.is_finite()),
        v => v.as_f64(),
    }
}

/// A boolean; leniently also osquery's 0/1 flags, as numbers or text.
fn boolean(v: &Val, lenient: bool) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        Val::I64(_) | Val::U64(_) | Val::F64(_) if lenient => match v.as_f64() {
            Some(0.0) => Some(false),
            Some(1.0) => Some(true),
            _ => None,
        },
        Val::Str(s) if lenient => match s.as_ref() {
            "0" | "false" => Some(false),
            "1" | "true" => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// One batch of records in a table's schema, with what they rescued and excluded.
pub(super) struct Rows {
    pub batch: RecordBatch,
    /// Per row: the source paths of its rescued values.
    pub rescued: Vec<String>,
    pub excluded: u64,
    pub unknown: bool,
}

/// Decodes records (JSON texts) into one batch of `schema`.
pub(super) fn decode_records<'p>(
    schema: &TableSchema,
    arrow: &SchemaRef,
    records: impl Iterator<Item = &'p [u8]>,
    parent: Option<&str>,
    reversed: Option<Reversed>,
) -> Result<Rows, DecodeError> {
    let mut level = Level::new(&schema.columns, None, arrow.fields(), reversed);
    // Secrets and repeats of a column are read by nothing, and are not unknown either.
    for e in schema.exclude.iter().chain(&schema.ignore) {
        level.keys.insert(e, None);
    }
    let mut rescued_col = StringBuilder::new();
    let mut rescued_paths = Vec::new();
    let mut excluded = 0;
    let mut unknown = false;
    let mut rows = 0;
    let parent_val = parent.map(|p| Val::Str(Cow::Borrowed(p)));
    let mut scratch = Vec::new();
    for text in records {
        let rec = Val::parse(text).map_err(|e| DecodeError::NotAnObject {
            table: schema.table.clone(),
            found: format!("unparsable record: {e}"),
        })?;
        let Val::Obj(obj) = &rec else {
            return Err(DecodeError::NotAnObject {
                table: schema.table.clone(),
                found: truncate(&rec.to_json(), 80),
            });
        };
        let mut found = Found::default();
        if let Err(i) = level.append(obj, "", parent_val.as_ref(), &mut found) {
            return Err(DecodeError::MissingRequired {
                table: schema.table.clone(),
                column: level.fields[i].name.clone(),
                record: truncate(&rec.to_json(), 120),
            });
        }
        unknown |= found.unknown;
        excluded += schema
            .exclude
            .iter()
            .filter(|e| lookup(&rec, e).is_some_and(|v| !v.is_null()))
            .count() as u64;
        if found.rescued.is_empty() {
            rescued_col.append_null();
        } else {
            scratch.clear();
            write_rescued(&found.rescued, &mut scratch);
            rescued_col.append_value(std::str::from_utf8(&scratch).unwrap_or_default());
            rescued_paths.extend(found.rescued.into_iter().map(|(p, _)| p));
        }
        rows += 1;
    }
    let err = |source| DecodeError::Arrow {
        table: schema.table.clone(),
        source,
    };
    let mut columns = level.finish().map_err(err)?;
    columns.push(Arc::new(rescued_col.finish()));
    let batch = RecordBatch::try_new_with_options(
        arrow.clone(),
        columns,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(err)?;
    Ok(Rows {
        batch,
        rescued: rescued_paths,
        excluded,
        unknown,
    })
}

/// `{"path": value, …}` in order, as `serde_json` writes an object.
fn write_rescued(rescued: &[(String, &Val)], out: &mut Vec<u8>) {
    struct AsMap<'r, 'v, 'a>(&'r [(String, &'v Val<'a>)]);
    impl serde::Serialize for AsMap<'_, '_, '_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in self.0 {
                m.serialize_entry(k, v)?;
            }
            m.end()
        }
    }
    let _ = serde_json::to_writer(out, &AsMap(rescued));
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}
