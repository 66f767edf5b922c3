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

#[test]
fn lenient_columns_take_osquery_numbers_and_flags_and_rescue_what_does_not_parse() {
    let s = TableSchema::parse(
        "si.json",
        r#"{"table": "si", "key": ["system_id"], "columns": [
            {"name": "system_id", "type": "string", "nullable": false},
            {"name": "size", "type": "int64", "lenient": true},
            {"name": "strict", "type": "int64"},
            {"name": "seen", "type": "float64", "lenient": true},
            {"name": "flag", "type": "bool", "lenient": true},
            {"name": "collection_time", "type": "timestamp"},
            {"name": "note", "type": "string"}
        ]}"#,
    )
    .expect("schema");
    let mut d = BatchDecoder::with_policy(s, SchemaPolicy::Freeze, "").expect("decoder");
    let recs = vec![
        json!({"system_id": "a", "size": "17179869184", "strict": 1, "seen": "1.55668896350383E9", "flag": 1, "collection_time": "2019-06-03t19:41:31.125z", "note": ""}),
        json!({"system_id": "b", "size": "1.5E3", "strict": "2", "seen": 3, "flag": "0", "collection_time": "2019-06-03T19:41:30.658Z"}),
        json!({"system_id": "c", "size": "n/a", "seen": "NaN", "flag": 2, "note": "x "}),
        json!({"system_id": "d", "size": 7, "flag": true, "seen": "", "strict": null}),
    ];
    let b = &d.decode_values(&recs, None).expect("decode")[0];
    let size = b
        .column_by_name("size")
        .expect("size")
        .as_primitive::<Int64Type>();
    assert_eq!(size.value(0), 17_179_869_184);
    assert_eq!(size.value(1), 1500);
    assert!(size.is_null(2));
    assert_eq!(size.value(3), 7);
    let strict = b
        .column_by_name("strict")
        .expect("strict")
        .as_primitive::<Int64Type>();
    assert_eq!(strict.value(0), 1);
    assert!(
        strict.is_null(1),
        "a column not marked lenient takes no text"
    );
    let seen = b
        .column_by_name("seen")
        .expect("seen")
        .as_primitive::<arrow::datatypes::Float64Type>();
    assert_eq!(seen.value(0), 1_556_688_963.503_83);
    assert_eq!(seen.value(1), 3.0);
    assert!(seen.is_null(2) && seen.is_null(3));
    let flag = b.column_by_name("flag").expect("flag").as_boolean();
    assert!(flag.value(0) && !flag.value(1) && flag.is_null(2) && flag.value(3));
    let t = b
        .column_by_name("collection_time")
        .expect("collection_time")
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(t.value(0), 1_559_590_891_125_000, "lower-case RFC 3339");
    assert_eq!(t.value(1), 1_559_590_890_658_000);
    assert_eq!(
        strings(b, "note"),
        [Some(String::new()), None, Some("x ".into()), None],
        "empty strings and trailing spaces stay as sent"
    );
    let rescued: Vec<Option<Value>> = strings(b, RESCUED)
        .into_iter()
        .map(|r| r.map(|r| serde_json::from_str(&r).expect("json")))
        .collect();
    assert_eq!(rescued[0], None);
    assert_eq!(rescued[1], Some(json!({"strict": "2"})));
    assert_eq!(
        rescued[2],
        Some(json!({"size": "n/a", "seen": "NaN", "flag": 2}))
    );
    assert_eq!(rescued[3], Some(json!({"seen": ""})));
}

#[test]
fn effective_access_columns_are_computed_from_paths_and_compiled_attributes() {
    let s = TableSchema::parse(
        "acc.json",
        r#"{"table": "acc", "ignore": ["attributes", "compiledAttributes"], "columns": [
            {"name": "system_id", "type": "string", "nullable": false, "source": "$parent"},
            {"name": "user_id", "type": "string", "nullable": false, "source": "id"},
            {"name": "type", "type": "string"},
            {"name": "direct", "type": "bool", "source": "$direct"},
            {"name": "via_user_groups", "type": {"list": "string"}, "source": "$via/user_group"},
            {"name": "via_system_groups", "type": {"list": "string"}, "source": "$via/system_group"},
            {"name": "sudo", "type": "bool", "source": "$attr/sudo/enabled"},
            {"name": "passwordless_sudo", "type": "bool", "source": "$attr/sudo/withoutPassword"},
            {"name": "paths", "type": "json"},
            {"name": "compiled_attributes", "type": "json", "source": "$attr"}
        ]}"#,
    )
    .expect("schema");
    let conn = |f: (&str, &str), t: (&str, &str)| json!({"from": {"id": f.0, "type": f.1, "attributes": null}, "to": {"id": t.0, "type": t.1, "attributes": null}, "attributes": null});
    let recs = vec![
        json!({"id": "u1", "type": "user", "compiledAttributes": {"sudo": {"enabled": true, "withoutPassword": false}},
               "paths": [[conn(("s1", "system"), ("u1", "user"))],
                         [conn(("s1", "system"), ("g1", "user_group")), conn(("g1", "user_group"), ("g0", "user_group")), conn(("g0", "user_group"), ("u1", "user"))]]}),
        json!({"id": "u2", "type": "user", "compiledAttributes": null, "attributes": {"sudo": {"enabled": false}},
               "paths": [[conn(("s1", "system"), ("sg", "system_group")), conn(("sg", "system_group"), ("u2", "user"))]]}),
    ];
    let mut d = BatchDecoder::with_policy(s, SchemaPolicy::Freeze, "").expect("decoder");
    let b = &d.decode_values(&recs, Some("s1")).expect("decode")[0];
    assert_eq!(
        strings(b, "system_id"),
        [Some("s1".to_string()), Some("s1".to_string())]
    );
    let direct = b.column_by_name("direct").expect("direct").as_boolean();
    assert!(direct.value(0) && !direct.value(1));
    let list = |c: &str, row: usize| -> Vec<String> {
        let l = b.column_by_name(c).expect(c).as_list::<i32>().value(row);
        let a = l.as_string::<i32>();
        (0..a.len()).map(|i| a.value(i).to_string()).collect()
    };
    assert_eq!(list("via_user_groups", 0), ["g1", "g0"]);
    assert!(list("via_system_groups", 0).is_empty());
    assert_eq!(list("via_system_groups", 1), ["sg"]);
    let sudo = b.column_by_name("sudo").expect("sudo").as_boolean();
    assert!(sudo.value(0) && !sudo.value(1), "falls back to attributes");
    let nopw = b
        .column_by_name("passwordless_sudo")
        .expect("nopw")
        .as_boolean();
    assert!(!nopw.value(0) && nopw.is_null(1));
    assert_eq!(
        strings(b, "compiled_attributes"),
        [
            Some(r#"{"sudo":{"enabled":true,"withoutPassword":false}}"#.to_string()),
            Some(r#"{"sudo":{"enabled":false}}"#.to_string())
        ],
        "compiledAttributes, else attributes"
    );
    assert_eq!(strings(b, RESCUED), [None, None]);
}

#[test]
fn an_edge_asked_from_its_other_end_fills_the_same_columns() {
    let s = TableSchema::parse(
        "edge.json",
        r#"{"table": "edge", "columns": [
            {"name": "user_id", "type": "string", "nullable": false, "source": "$parent"},
            {"name": "system_id", "type": "string", "nullable": false, "source": "to/id"},
            {"name": "target_type", "type": "string", "source": "to/type"},
            {"name": "target_attributes", "type": "json", "source": "to/attributes"},
            {"name": "attributes", "type": "json"}
        ]}"#,
    )
    .expect("schema");
    let rec = |id: &str, ty: &str| json!({"to": {"id": id, "type": ty, "attributes": {"x": 1}}, "attributes": {"sudo": {"enabled": true}}});
    let mut fwd = BatchDecoder::with_policy(s.clone(), SchemaPolicy::Fail, "").expect("decoder");
    let f = &fwd
        .decode_values(&[rec("s1", "system")], Some("u1"))
        .expect("forward")[0];
    let mut back = BatchDecoder::with_policy(s, SchemaPolicy::Fail, "").expect("decoder");
    back.reverse(Reversed {
        target_type: "system",
    });
    let r = &back
        .decode_values(&[rec("u1", "user")], Some("s1"))
        .expect("reversed")[0];
    for c in ["user_id", "system_id", "target_type", "attributes"] {
        assert_eq!(strings(f, c), strings(r, c), "{c}");
    }
    assert_eq!(strings(r, "user_id"), [Some("u1".to_string())]);
    assert_eq!(strings(r, "target_attributes"), [None]);
    assert_eq!(strings(r, RESCUED), [None]);
}
