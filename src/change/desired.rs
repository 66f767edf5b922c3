//! The desired state, read from CSV, JSON Lines or Parquet: a file or a folder of them,
//! local or on S3. In come a location and the match key; out come `DesiredUsers` (one row
//! per user, the fields its columns manage) and `DesiredMemberships` (group name, member
//! key). It owns the column names a desired-state file may use and the checks on them: a
//! password column, an unknown column, a missing or repeated key are refused, naming the
//! file and row.

use std::collections::{BTreeMap, HashMap};

use arrow::record_batch::RecordBatchReader;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ChangeError;
use crate::sink::{key, Lake, LakeLocation, S3Options};

/// The user fields a desired-state column may manage: the API's name, and the spellings a
/// column may use (compared lowercase, without `_`, `-` and spaces).
const USER_FIELDS: &[(&str, &[&str])] = &[
    ("username", &["username"]),
    ("email", &["email"]),
    ("firstname", &["firstname", "givenname"]),
    ("middlename", &["middlename"]),
    ("lastname", &["lastname", "surname", "familyname"]),
    ("displayname", &["displayname"]),
    ("department", &["department"]),
    ("jobTitle", &["jobtitle", "title"]),
    ("manager", &["manager"]),
    ("employeeIdentifier", &["employeeidentifier", "employeeid"]),
    ("employeeType", &["employeetype"]),
    ("company", &["company"]),
    ("costCenter", &["costcenter"]),
    ("location", &["location"]),
    ("description", &["description"]),
    ("alternateEmail", &["alternateemail"]),
    ("state", &["state"]),
];

/// A custom attribute's column: `attributes.<name>` (also `attribute.` and `attr.`).
pub const ATTRIBUTE_PREFIX: &str = "attributes.";

/// What matches a desired row to a user of the org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchKey {
    #[serde(rename = "username")]
    Username,
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "employeeIdentifier")]
    EmployeeIdentifier,
}

impl MatchKey {
    pub fn parse(s: &str) -> Result<MatchKey, String> {
        match normal(s).as_str() {
            "username" => Ok(MatchKey::Username),
            "email" => Ok(MatchKey::Email),
            "employeeidentifier" | "employeeid" => Ok(MatchKey::EmployeeIdentifier),
            _ => Err(format!(
                "match key {s:?}: use username, email or employeeIdentifier"
            )),
        }
    }

    /// The API field.
    pub fn field(self) -> &'static str {
        match self {
            MatchKey::Username => "username",
            MatchKey::Email => "email",
            MatchKey::EmployeeIdentifier => "employeeIdentifier",
        }
    }

    /// A key value as compared: usernames and emails ignore case.
    pub fn normalise(self, v: &str) -> String {
        match self {
            MatchKey::EmployeeIdentifier => v.trim().to_string(),
            _ => v.trim().to_lowercase(),
        }
    }
}

impl std::fmt::Display for MatchKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.field())
    }
}

/// One row of the desired users.
#[derive(Debug, Clone)]
pub struct DesiredUser {
    /// `file:row` (row 1 is the first data row), for errors.
    pub at: String,
    /// API field (or `attributes.<name>`) → value; `None` for an empty cell: the field
    /// should be empty.
    pub values: BTreeMap<String, Option<String>>,
}

impl DesiredUser {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).and_then(|v| v.as_deref())
    }
}

/// The desired users: the fields their columns manage, and the rows.
#[derive(Debug, Clone)]
pub struct DesiredUsers {
    pub source: String,
    /// Managed API fields (and `attributes.<name>`), in column order.
    pub fields: Vec<String>,
    pub users: Vec<DesiredUser>,
}

/// One row of the desired memberships.
#[derive(Debug, Clone)]
pub struct DesiredMember {
    pub at: String,
    pub group: String,
    /// The member's match-key value.
    pub member: String,
}

#[derive(Debug, Clone)]
pub struct DesiredMemberships {
    pub source: String,
    pub rows: Vec<DesiredMember>,
}

/// A table as read: its columns and rows of text cells (`None`: empty or null).
struct RawTable {
    columns: Vec<String>,
    rows: Vec<(String, Vec<Option<String>>)>,
}

fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The field a column manages, or why it cannot be used.
fn column_field(column: &str) -> Result<String, String> {
    let n = normal(column);
    if n.contains("password") {
        return Err(format!(
            "column {column:?}: jclake never sets passwords; remove the column (new users set their own through JumpCloud's activation email)"
        ));
    }
    for prefix in ["attributes.", "attribute.", "attr."] {
        if column.len() > prefix.len() && column[..prefix.len()].eq_ignore_ascii_case(prefix) {
            return Ok(format!("{ATTRIBUTE_PREFIX}{}", &column[prefix.len()..]));
        }
    }
    for (field, names) in USER_FIELDS {
        if names.contains(&n.as_str()) {
            return Ok(field.to_string());
        }
    }
    let known: Vec<&str> = USER_FIELDS.iter().map(|(f, _)| *f).collect();
    Err(format!(
        "column {column:?} is not a user field ({}); name a custom attribute attributes.{column}",
        known.join(", ")
    ))
}

/// The desired users at `location`, keyed by `key`.
pub async fn read_users(
    location: &str,
    s3: &S3Options,
    match_key: MatchKey,
) -> Result<DesiredUsers, ChangeError> {
    let bad = |message: String| ChangeError::Desired {
        location: location.to_string(),
        message,
    };
    let table = read_table(location, s3).await?;
    let mut fields = Vec::new();
    for c in &table.columns {
        let f = column_field(c).map_err(bad)?;
        if fields.contains(&f) {
            return Err(bad(format!("two columns manage {f}")));
        }
        fields.push(f);
    }
    if !fields.iter().any(|f| f == match_key.field()) {
        return Err(bad(format!(
            "no {} column, the match key (set match_key to another column, or add it)",
            match_key.field()
        )));
    }
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut users = Vec::with_capacity(table.rows.len());
    for (at, cells) in table.rows {
        let mut values = BTreeMap::new();
        for (f, v) in fields.iter().zip(cells) {
            let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
            let v = match (f.as_str(), v) {
                ("state", Some(s)) => match s.to_uppercase().as_str() {
                    "ACTIVATED" | "SUSPENDED" => Some(s.to_uppercase()),
                    _ => {
                        return Err(bad(format!(
                            "{at}: state {s:?}: use ACTIVATED or SUSPENDED"
                        )))
                    }
                },
                (_, v) => v,
            };
            values.insert(f.clone(), v);
        }
        let user = DesiredUser { at, values };
        let Some(k) = user.get(match_key.field()) else {
            return Err(bad(format!("{}: no {}", user.at, match_key.field())));
        };
        if let Some(first) = seen.insert(match_key.normalise(k), user.at.clone()) {
            return Err(bad(format!(
                "{}: {} {k:?} is also on {first}; each user once",
                user.at,
                match_key.field()
            )));
        }
        users.push(user);
    }
    Ok(DesiredUsers {
        source: location.to_string(),
        fields,
        users,
    })
}

/// The desired memberships at `location`: columns `group` and the match key (or
/// `username`).
pub async fn read_memberships(
    location: &str,
    s3: &S3Options,
    match_key: MatchKey,
) -> Result<DesiredMemberships, ChangeError> {
    let bad = |message: String| ChangeError::Desired {
        location: location.to_string(),
        message,
    };
    let table = read_table(location, s3).await?;
    let find = |names: &[&str]| {
        table
            .columns
            .iter()
            .position(|c| names.contains(&normal(c).as_str()))
    };
    let group = find(&["group", "groupname", "usergroup"])
        .ok_or_else(|| bad("no group column (the user group's name)".into()))?;
    let key_names: &[&str] = match match_key {
        MatchKey::Username => &["username", "user", "member"],
        MatchKey::Email => &["email", "member"],
        MatchKey::EmployeeIdentifier => &["employeeidentifier", "employeeid", "member"],
    };
    let member = find(key_names).ok_or_else(|| {
        bad(format!(
            "no {} column (the member's match key)",
            match_key.field()
        ))
    })?;
    let mut rows = Vec::with_capacity(table.rows.len());
    for (at, cells) in table.rows {
        let cell = |i: usize| {
            cells
                .get(i)
                .cloned()
                .flatten()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let (Some(g), Some(m)) = (cell(group), cell(member)) else {
            return Err(bad(format!("{at}: a group and a member are both needed")));
        };
        rows.push(DesiredMember {
            at,
            group: g,
            member: m,
        });
    }
    Ok(DesiredMemberships {
        source: location.to_string(),
        rows,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
    Parquet,
}

fn format_of(name: &str) -> Option<Format> {
    let lower = name.to_lowercase();
    if lower.ends_with(".csv") {
        Some(Format::Csv)
    } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") || lower.ends_with(".json") {
        Some(Format::JsonLines)
    } else if lower.ends_with(".parquet") {
        Some(Format::Parquet)
    } else {
        None
    }
}

/// The files at `location` (a file, or every CSV, JSON Lines and Parquet file of a folder,
/// in name order), as one table: every file must have the same columns.
async fn read_table(location: &str, s3: &S3Options) -> Result<RawTable, ChangeError> {
    let bad = |message: String| ChangeError::Desired {
        location: location.to_string(),
        message,
    };
    let files = fetch_files(location, s3).await?;
    if files.is_empty() {
        return Err(bad(
            "no .csv, .jsonl, .ndjson, .json or .parquet file".into()
        ));
    }
    let mut out: Option<RawTable> = None;
    for (name, bytes) in files {
        let Some(format) = format_of(&name) else {
            return Err(bad(format!(
                "{name}: not a .csv, .jsonl, .ndjson, .json or .parquet file"
            )));
        };
        let t = match format {
            Format::Csv => csv_table(&name, &bytes),
            Format::JsonLines => json_lines_table(&name, &bytes),
            Format::Parquet => parquet_table(&name, bytes),
        }
        .map_err(|m| bad(format!("{name}: {m}")))?;
        match &mut out {
            None => out = Some(t),
            Some(acc) => {
                // Same columns in any order.
                let mut order = Vec::with_capacity(acc.columns.len());
                for c in &acc.columns {
                    match t.columns.iter().position(|x| x == c) {
                        Some(i) => order.push(i),
                        None => return Err(bad(format!("{name} has no column {c:?}"))),
                    }
                }
                if t.columns.len() != acc.columns.len() {
                    return Err(bad(format!(
                        "{name} has other columns than the first file ({})",
                        acc.columns.join(", ")
                    )));
                }
                for (at, cells) in t.rows {
                    let cells = order.iter().map(|&i| cells[i].clone()).collect();
                    acc.rows.push((at, cells));
                }
            }
        }
    }
    out.ok_or_else(|| bad("no rows".into()))
}

/// Each file's name and bytes.
async fn fetch_files(location: &str, s3: &S3Options) -> Result<Vec<(String, Bytes)>, ChangeError> {
    let bad = |message: String| ChangeError::Desired {
        location: location.to_string(),
        message,
    };
    match LakeLocation::parse(location).map_err(|e| bad(e.to_string()))? {
        LakeLocation::Local(path) => {
            let meta = std::fs::metadata(&path).map_err(|e| bad(e.to_string()))?;
            let paths = if meta.is_dir() {
                let mut v: Vec<_> = std::fs::read_dir(&path)
                    .map_err(|e| bad(e.to_string()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file()
                            && p.file_name()
                                .and_then(|n| n.to_str())
                                .is_some_and(|n| format_of(n).is_some())
                    })
                    .collect();
                v.sort();
                v
            } else {
                vec![path]
            };
            paths
                .into_iter()
                .map(|p| {
                    let bytes =
                        std::fs::read(&p).map_err(|e| bad(format!("{}: {e}", p.display())))?;
                    Ok((p.display().to_string(), Bytes::from(bytes)))
                })
                .collect()
        }
        LakeLocation::S3 { bucket, prefix } => {
            let store = Lake::open(
                &LakeLocation::S3 {
                    bucket: bucket.clone(),
                    prefix: String::new(),
                },
                s3,
            )?;
            let path = key(prefix.split('/').filter(|p| !p.is_empty()));
            if let Some(b) = store.get(&path).await? {
                return Ok(vec![(location.to_string(), b)]);
            }
            let mut objects = store.list(&path).await?;
            objects.retain(|o| {
                o.location
                    .filename()
                    .is_some_and(|n| format_of(n).is_some())
            });
            objects.sort_by(|a, b| a.location.cmp(&b.location));
            let mut out = Vec::with_capacity(objects.len());
            for o in objects {
                if let Some(b) = store.get(&o.location).await? {
                    out.push((format!("s3://{bucket}/{}", o.location), b));
                }
            }
            Ok(out)
        }
    }
}

fn csv_table(name: &str, bytes: &[u8]) -> Result<RawTable, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let columns: Vec<String> = r
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| e.to_string())?;
        let cells = rec
            .iter()
            .map(|c| (!c.is_empty()).then(|| c.to_string()))
            .collect();
        rows.push((format!("{name}:{}", i + 1), cells));
    }
    Ok(RawTable { columns, rows })
}

fn json_lines_table(name: &str, bytes: &[u8]) -> Result<RawTable, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let mut columns: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{name}:{}", i + 1);
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let Value::Object(map) = v else {
            return Err(format!("line {}: not a JSON object", i + 1));
        };
        let mut flat = Vec::new();
        for (k, v) in map {
            match v {
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        flat.push((format!("{k}.{ik}"), cell_text(&iv, &at)?));
                    }
                }
                v => flat.push((k, cell_text(&v, &at)?)),
            }
        }
        for (k, _) in &flat {
            if !columns.contains(k) {
                columns.push(k.clone());
            }
        }
        objects.push((at, flat));
    }
    let rows = objects
        .into_iter()
        .map(|(at, flat)| {
            let cells = columns
                .iter()
                .map(|c| {
                    flat.iter()
                        .find(|(k, _)| k == c)
                        .and_then(|(_, v)| v.clone())
                })
                .collect();
            (at, cells)
        })
        .collect();
    Ok(RawTable { columns, rows })
}

fn cell_text(v: &Value, at: &str) -> Result<Option<String>, String> {
    Ok(match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(_) | Value::Number(_) => Some(v.to_string()),
        _ => return Err(format!("{at}: a list is not a field value")),
    })
}

fn parquet_table(name: &str, bytes: Bytes) -> Result<RawTable, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(|e| e.to_string())?;
    let columns: Vec<String> = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    let opts = FormatOptions::default();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let formatters = batch
            .columns()
            .iter()
            .map(|a| ArrayFormatter::try_new(a.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        for r in 0..batch.num_rows() {
            let cells = batch
                .columns()
                .iter()
                .zip(&formatters)
                .map(|(a, f)| (!a.is_null(r)).then(|| f.value(r).to_string()))
                .collect();
            rows.push((format!("{name}:{}", rows.len() + 1), cells));
        }
    }
    Ok(RawTable { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_map_to_fields_and_refuse_passwords_and_strangers() {
        assert_eq!(column_field("First_Name").as_deref(), Ok("firstname"));
        assert_eq!(column_field("job title").as_deref(), Ok("jobTitle"));
        assert_eq!(
            column_field("employee_id").as_deref(),
            Ok("employeeIdentifier")
        );
        assert_eq!(
            column_field("attributes.costCode").as_deref(),
            Ok("attributes.costCode")
        );
        let e = column_field("Password").unwrap_err();
        assert!(e.contains("never sets passwords"), "{e}");
        let e = column_field("shoe_size").unwrap_err();
        assert!(e.contains("attributes.shoe_size"), "{e}");
    }

    #[tokio::test]
    async fn csv_rows_are_checked_for_key_state_and_repeats() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("hr.csv");
        std::fs::write(
            &f,
            "username,email,state\nann,ann@x.org,suspended\nbob,bob@x.org,\n",
        )
        .expect("write");
        let d = read_users(
            f.to_str().expect("path"),
            &S3Options::default(),
            MatchKey::Username,
        )
        .await
        .expect("read");
        assert_eq!(d.fields, ["username", "email", "state"]);
        assert_eq!(d.users[0].get("state"), Some("SUSPENDED"));
        assert_eq!(d.users[1].get("state"), None);
        std::fs::write(&f, "username,email,state\nann,a@x.org,gone\n").expect("write");
        let e = read_users(
            f.to_str().expect("path"),
            &S3Options::default(),
            MatchKey::Username,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("hr.csv:1: state \"gone\": use ACTIVATED or SUSPENDED"),
            "{e}"
        );
        std::fs::write(&f, "username,email\nAnn,a@x.org\nann,b@x.org\n").expect("write");
        let e = read_users(
            f.to_str().expect("path"),
            &S3Options::default(),
            MatchKey::Username,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(e.contains("hr.csv:2: username \"ann\" is also on"), "{e}");
        std::fs::write(&f, "email,password\na@x.org,x\n").expect("write");
        let e = read_users(
            f.to_str().expect("path"),
            &S3Options::default(),
            MatchKey::Email,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(e.contains("never sets passwords"), "{e}");
    }
}
