//! The decoder on small schemas: projection, rescue, discovery under each policy, shared
//! schemas, and the chunked and parallel paths agreeing.

use super::*;
use crate::model::batch::conform;
use crate::model::{schema, RESCUED};
use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Int64Type, TimestampMicrosecondType};
use serde_json::{json, Value};

/// Pages of values, as the source hands them over: serialised, then decoded from bytes.
trait DecodeValues {
    fn decode_values(
        &mut self,
        records: &[Value],
        parent: Option<&str>,
    ) -> Result<Vec<RecordBatch>, DecodeError>;
}

impl DecodeValues for BatchDecoder {
    fn decode_values(
        &mut self,
        records: &[Value],
        parent: Option<&str>,
    ) -> Result<Vec<RecordBatch>, DecodeError> {
        self.decode(&RawPage::from_values(records), parent)
    }
}

fn schema() -> TableSchema {
    TableSchema::parse(
        "t.json",
        r#"{"table": "t", "exclude": ["secret"], "columns": [
            {"name": "id", "type": "string", "nullable": false, "source": "_id"},
            {"name": "uid", "type": "int64", "source": "unix_uid"},
            {"name": "created", "type": "timestamp"},
            {"name": "mfa", "type": {"struct": [{"name": "configured", "type": "bool"}]}},
            {"name": "tags", "type": {"list": "string"}},
            {"name": "attributes", "type": "json"},
            {"name": "to_id", "type": "string", "source": "to/id"},
            {"name": "parent_id", "type": "string", "source": "$parent"}
        ]}"#,
    )
    .expect("schema")
}

fn strings(b: &RecordBatch, c: &str) -> Vec<Option<String>> {
    let a = b
        .column_by_name(c)
        .unwrap_or_else(|| panic!("column {c}"))
        .as_string::<i32>();
    (0..a.len())
        .map(|i| a.is_valid(i).then(|| a.value(i).to_string()))
        .collect()
}

#[test]
fn projects_types_and_rescues_misfits() {
    let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
    let recs = vec![
        json!({"_id": "a", "unix_uid": 5, "created": "2024-03-05T17:21:09.123Z", "mfa": {"configured": true}, "tags": ["x"], "attributes": [{"name": "a.b c", "value": "1"}], "secret": "s", "to": {"id": "t1"}}),
        json!({"_id": "b", "unix_uid": "uid-6", "created": null, "mfa": {"configured": true, "new_key": 1}, "tags": ["x", 2], "extra": "e", "to": {"id": "t2", "type": "user"}}),
    ];
    let batches = d.decode_values(&recs, Some("p1")).expect("decode");
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(b.num_rows(), 2);
    let uid = b
        .column_by_name("uid")
        .expect("uid")
        .as_primitive::<Int64Type>();
    assert_eq!(uid.value(0), 5);
    assert!(uid.is_null(1));
    let created = b
        .column_by_name("created")
        .expect("created")
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(created.value(0), 1_709_659_269_123_000);
    assert_eq!(
        strings(b, "attributes")[0].as_deref(),
        Some(r#"[{"name":"a.b c","value":"1"}]"#)
    );
    assert_eq!(strings(b, "parent_id")[1].as_deref(), Some("p1"));
    assert_eq!(
        strings(b, "to_id"),
        [Some("t1".to_string()), Some("t2".to_string())]
    );
    let rescued = strings(b, RESCUED);
    assert_eq!(rescued[0], None, "the secret is excluded, not rescued");
    let r1: Value = serde_json::from_str(rescued[1].as_deref().expect("rescued")).expect("json");
    assert_eq!(
        r1,
        json!({"unix_uid": "uid-6", "mfa/new_key": 1, "tags": ["x", 2], "extra": "e", "to/type": "user"})
    );
    assert_eq!(d.stats().rows, 2);
    assert_eq!(d.stats().excluded, 1);
    assert_eq!(d.stats().rescued.get("unix_uid"), Some(&1));
    assert!(d.changes().is_empty(), "freeze never changes the schema");
}

#[test]
fn a_large_page_projected_in_parallel_equals_small_pages_in_order() {
    // 3000 records: one page takes the rayon path (>= PARALLEL_ROWS), pages of 100 do not.
    let recs: Vec<Value> = (0..3000)
        .map(|i| {
            let uid = if i % 7 == 0 { json!(format!("u{i}")) } else { json!(i) };
            json!({"_id": format!("r{i:04}"), "unix_uid": uid, "extra": (i % 5 == 0).then_some(i), "secret": "s"})
        })
        .collect();
    let decode = |pages: &[&[Value]]| {
        let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
        let batches: Vec<RecordBatch> = pages
            .iter()
            .flat_map(|p| d.decode_values(p, None).expect("decode"))
            .collect();
        let b = arrow::compute::concat_batches(&d.arrow_schema(), &batches).expect("concat");
        (b, d.stats().clone())
    };
    let (whole, s1) = decode(&[&recs]);
    let small: Vec<&[Value]> = recs.chunks(100).collect();
    let (paged, s2) = decode(&small);
    assert_eq!(whole, paged);
    assert_eq!(whole.num_rows(), 3000);
    let ids = strings(&whole, "id");
    assert_eq!(ids[0].as_deref(), Some("r0000"));
    assert_eq!(ids[2999].as_deref(), Some("r2999"));
    assert_eq!((s1.rows, s1.excluded), (3000, 3000));
    assert_eq!(s1.rescued.get("unix_uid"), Some(&429), "every 7th of 3000");
    assert_eq!(s1.rescued.get("extra"), Some(&600), "every 5th, 0 included");
    assert_eq!(
        (s1.rows, s1.excluded, &s1.rescued),
        (s2.rows, s2.excluded, &s2.rescued)
    );
}

#[test]
fn evolve_adds_columns_and_struct_fields_and_keeps_misfits() {
    let mut d =
        BatchDecoder::with_policy(schema(), SchemaPolicy::Evolve, "run-1").expect("decoder");
    let first = d
        .decode_values(&[json!({"_id": "a", "mfa": {"configured": true}})], None)
        .expect("page 1");
    assert_eq!(first[0].num_columns(), 9);
    let page2 = vec![
        json!({"_id": "b", "a.b c": "dots", "A.b C": "collides", "Team Name": 3, "mfa": {"configured": false, "enrolledAt": "x"}, "to": {"id": "t", "kind": "k"}}),
        json!({"_id": "c", "a.b c": 7, "unix_uid": 1.5}),
    ];
    let batches = d.decode_values(&page2, None).expect("page 2");
    let b = &batches[0];
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "id",
            "uid",
            "created",
            "mfa",
            "tags",
            "attributes",
            "to_id",
            "parent_id",
            "a_b_c",
            "a_b_c_2",
            "team_name",
            "to_kind",
            "_rescued"
        ]
    );
    let f = b
        .schema()
        .field_with_name("a_b_c_2")
        .expect("field")
        .clone();
    assert_eq!(
        f.metadata().get(schema::SOURCE_KEY).map(String::as_str),
        Some("A.b C")
    );
    assert_eq!(strings(b, "a_b_c"), [Some("dots".to_string()), None]);
    assert_eq!(strings(b, "to_kind"), [Some("k".to_string()), None]);
    let DataType::Struct(mfa) = b
        .schema()
        .field_with_name("mfa")
        .expect("mfa")
        .data_type()
        .clone()
    else {
        panic!("struct")
    };
    assert_eq!(
        mfa.iter().map(|f| f.name().as_str()).collect::<Vec<_>>(),
        ["configured", "enrolled_at"]
    );
    // 7 does not fit the string column `a_b_c`, 1.5 does not fit int64: both rescued.
    let r: Value =
        serde_json::from_str(strings(b, RESCUED)[1].as_deref().expect("rescued")).expect("json");
    assert_eq!(r, json!({"a.b c": 7, "unix_uid": 1.5}));
    assert_eq!(
        d.changes(),
        [
            "added column a_b_c (string) from a.b c",
            "added column a_b_c_2 (string) from A.b C",
            "added column team_name (int64) from Team Name",
            "added column to_kind (string) from to/kind",
            "added field mfa.enrolled_at (string)",
        ]
    );
    let disc = d
        .table_schema()
        .columns
        .iter()
        .find(|c| c.name == "team_name")
        .expect("team_name");
    assert_eq!(
        (disc.origin.as_deref(), disc.since_run.as_deref()),
        (Some("discovered"), Some("run-1"))
    );
    // A batch decoded before the change conforms to the wider schema.
    let wide = conform(&first[0], &d.arrow_schema()).expect("conform");
    assert_eq!(wide.num_columns(), 13);
    assert_eq!(wide.column_by_name("a_b_c").expect("a_b_c").null_count(), 1);
}

#[test]
fn fail_policy_names_table_field_and_record() {
    let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Fail, "run-1").expect("decoder");
    let err = d
        .decode_values(
            &[json!({"_id": "a"}), json!({"_id": "rec-9", "surprise": 1})],
            None,
        )
        .expect_err("fails");
    assert_eq!(err.to_string(), "table t: field surprise is not in the schema (schema policy `fail`); example record id rec-9");
    let err = d
        .decode_values(&[json!({"_id": "rec-3", "mfa": {"new": true}})], None)
        .expect_err("fails");
    assert_eq!(err.to_string(), "table t: field mfa/new is not in the schema (schema policy `fail`); example record id rec-3");
}

#[test]
fn sanitised_names_are_sql_safe_and_deterministic() {
    assert_eq!(sanitize("Team Name"), "team_name");
    assert_eq!(sanitize("a.b c"), "a_b_c");
    assert_eq!(sanitize("employeeIdentifier"), "employee_identifier");
    assert_eq!(sanitize("部署"), "u90e8_u7f72");
    assert_eq!(sanitize("emoji 🚀"), "emoji_u1f680");
    assert_eq!(sanitize("@version"), "version");
    assert_eq!(sanitize("2fa"), "c_2fa");
    assert_eq!(sanitize("../.."), "field");
    assert_eq!(
        unique_name("team_name", &["team_name", "team_name_2"]),
        "team_name_3"
    );
    assert_eq!(unique_name("_rescued", &[]), "_rescued_2");
}

#[test]
fn missing_required_column_names_table_and_column() {
    let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
    let err = d
        .decode_values(&[json!({"unix_uid": 1})], None)
        .expect_err("must fail");
    assert!(
        err.to_string()
            .starts_with("table t: record {\"unix_uid\":1} has no value for required column id"),
        "{err}"
    );
}

#[test]
fn nanosecond_timestamps_keep_microseconds() {
    assert_eq!(
        parse_timestamp_us("2026-11-16T13:17:39.422123456Z"),
        Some(1_794_835_059_422_123)
    );
    assert_eq!(
        parse_timestamp_us("2026-11-16T13:17:39+01:00"),
        Some(1_794_831_459_000_000)
    );
    assert_eq!(parse_timestamp_us("yesterday"), None);
}

/// Two orgs of one run, whose first values disagree: the first to discover a field
/// decides its column for both, struct fields keep one order, nothing is added twice.
#[test]
fn decoders_sharing_a_schema_agree_on_every_column() {
    let shared = SharedSchema::new(schema());
    let mut a = BatchDecoder::sharing(&shared, SchemaPolicy::Evolve, "r").expect("a");
    let mut b = BatchDecoder::sharing(&shared, SchemaPolicy::Evolve, "r").expect("b");
    // Org b sees an empty list first (JSON text), org a a list of objects.
    b.decode_values(&[json!({"_id": "b1", "keys": [], "mfa": {"y": 1}})], None)
        .expect("b");
    let batches = a
        .decode_values(
            &[json!({"_id": "a1", "keys": [{"k": "v"}], "mfa": {"x": true}})],
            None,
        )
        .expect("a");
    // a adopted b's column: its list of objects is JSON text in it, not a second type.
    assert_eq!(
        strings(&batches[0], "keys"),
        [Some("[{\"k\":\"v\"}]".into())]
    );
    assert_eq!(a.changes(), ["added field mfa.x (bool)"]);
    assert_eq!(
        b.changes(),
        [
            "added column keys (json (string)) from keys",
            "added field mfa.y (int64)"
        ]
    );
    // b's next page adopts a's field: one schema, one field order, for both.
    b.decode_values(&[json!({"_id": "b2"})], None)
        .expect("b again");
    assert_eq!(a.arrow_schema(), b.arrow_schema());
    assert_eq!(
        shared.widened().expect("widened").columns,
        a.table_schema().columns
    );
    let DataType::Struct(mfa) = a
        .arrow_schema()
        .field_with_name("mfa")
        .expect("mfa")
        .data_type()
        .clone()
    else {
        panic!("mfa is a struct")
    };
    let names: Vec<&str> = mfa.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["configured", "y", "x"]);
    let keys = a
        .table_schema()
        .columns
        .iter()
        .filter(|c| c.source() == "keys")
        .count();
    assert_eq!(keys, 1, "adopted columns are not discovered again");
}

#[test]
fn a_key_given_twice_is_read_as_serde_json_reads_it() {
    let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
    // The last value wins, at the key's first place: `to` is null, `x` null (nothing to
    // rescue), `y` rescued once with its last value.
    let text: &[u8] =
        br#"{"_id": "a", "to": {"id": "s1"}, "x": 1, "to": null, "x": null, "y": 1, "y": 2}"#;
    let span = 0..text.len();
    let page = RawPage::new(bytes::Bytes::from_static(text), Vec::from([span]));
    let b = d.decode(&page, None).expect("decode");
    assert_eq!(strings(&b[0], "to_id"), [None]);
    assert_eq!(strings(&b[0], RESCUED), [Some(r#"{"y":2}"#.to_string())]);
}

#[test]
fn an_unknown_key_in_a_later_list_element_is_discovered() {
    let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Evolve, "r").expect("decoder");
    d.decode_values(&[json!({"_id": "a", "keys": [{"k": "v"}]})], None)
        .expect("page 1");
    // The first element misfits (the list is rescued whole); the second has a new key,
    // which must still widen the struct, as discovery over the whole page did.
    let b = d
        .decode_values(
            &[json!({"_id": "b", "keys": [{"k": 5}, {"k": "x", "new": true}]})],
            None,
        )
        .expect("page 2");
    assert!(
        d.changes()
            .iter()
            .any(|c| c == "added field keys.new (bool)"),
        "{:?}",
        d.changes()
    );
    assert_eq!(
        strings(&b[0], RESCUED),
        [Some(
            r#"{"keys":[{"k":5},{"k":"x","new":true}]}"#.to_string()
        )]
    );
    let mut f = BatchDecoder::with_policy(d.table_schema().clone(), SchemaPolicy::Fail, "r")
        .expect("decoder");
    let err = f
        .decode_values(
            &[json!({"_id": "c", "keys": [{"k": 5}, {"k": "x", "other": 1}]})],
            None,
        )
        .expect_err("fails");
    assert_eq!(err.to_string(), "table t: field keys/other is not in the schema (schema policy `fail`); example record id c");
}

#[test]
fn the_first_bad_record_of_a_page_split_over_the_cores_is_the_one_named() {
    let mut d = BatchDecoder::with_policy(schema(), SchemaPolicy::Freeze, "").expect("decoder");
    let recs: Vec<Value> = (0..1200)
        .map(|i| {
            if i == 10 || i == 1100 {
                json!({"n": i})
            } else {
                json!({"_id": format!("r{i}")})
            }
        })
        .collect();
    let err = d.decode_values(&recs, None).expect_err("fails");
    assert_eq!(
        err.to_string(),
        r#"table t: record {"n":10} has no value for required column id"#
    );
}
