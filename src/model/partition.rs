//! Where a table's rows live: the lake's layout (one org, or partitioned by org first) and
//! the Hive folders below a table (`[org_id=<id>/]snapshot_date=YYYY-MM-DD` or
//! `[org_id=<id>/]event_date=YYYY-MM-DD`; the `actions` audit table by `apply_date`). Built as types, written as the folder names.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The event stream's table; every other table is a daily snapshot.
pub const EVENTS: &str = "events";

/// How a lake's tables are partitioned, as `state.json` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// One org: `<table>/<date>/`.
    #[serde(rename = "single")]
    Single,
    /// Several orgs: `<table>/org_id=<id>/<date>/`.
    #[serde(rename = "org_id")]
    OrgId,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Single => "single",
            Layout::OrgId => "org_id",
        })
    }
}

/// The date folder of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DateKey {
    /// `snapshot_date=D`: a snapshot table's day.
    Snapshot(NaiveDate),
    /// `event_date=D`: a day of the event stream; `None` (`event_date=?`) when the stream
    /// failed before it reached a day.
    Event(Option<NaiveDate>),
    /// `apply_date=D`: the actions of the plans first applied on day D.
    Applied(NaiveDate),
}

impl fmt::Display for DateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateKey::Snapshot(d) => write!(f, "snapshot_date={}", d.format("%Y-%m-%d")),
            DateKey::Event(Some(d)) => write!(f, "event_date={}", d.format("%Y-%m-%d")),
            DateKey::Event(None) => f.write_str("event_date=?"),
            DateKey::Applied(d) => write!(f, "apply_date={}", d.format("%Y-%m-%d")),
        }
    }
}

/// The folders below a table that hold one partition's files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Partition {
    /// The org of a multi-org lake (`org_id=<id>/`).
    pub org: Option<String>,
    pub date: DateKey,
}

impl Partition {
    pub fn snapshot(org: Option<&str>, date: NaiveDate) -> Partition {
        Partition {
            org: org.map(str::to_string),
            date: DateKey::Snapshot(date),
        }
    }

    pub fn event_day(org: Option<&str>, date: Option<NaiveDate>) -> Partition {
        Partition {
            org: org.map(str::to_string),
            date: DateKey::Event(date),
        }
    }

    /// `org_id=<id>` of a multi-org lake.
    pub fn org_folder(&self) -> Option<String> {
        self.org.as_ref().map(|o| format!("org_id={o}"))
    }

    /// The folder names, outermost first.
    pub fn folders(&self) -> Vec<String> {
        self.org_folder()
            .into_iter()
            .chain([self.date.to_string()])
            .collect()
    }

    /// `[<table>, org_id=…,] date` below the lake root.
    pub fn path_in(&self, table: &str) -> Vec<String> {
        std::iter::once(table.to_string())
            .chain(self.folders())
            .collect()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(o) = &self.org {
            write!(f, "org_id={o}/")?;
        }
        write!(f, "{}", self.date)
    }
}

impl From<Partition> for String {
    fn from(p: Partition) -> String {
        p.to_string()
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(s: &str) -> Result<Partition, String> {
        let bad = || format!("not a partition: {s:?}");
        let (org, date) = match s.split_once('/') {
            Some((o, d)) => (Some(o.strip_prefix("org_id=").ok_or_else(bad)?), d),
            None => (None, s),
        };
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad());
        let date = if let Some(d) = date.strip_prefix("snapshot_date=") {
            DateKey::Snapshot(day(d)?)
        } else if date == "event_date=?" {
            DateKey::Event(None)
        } else if let Some(d) = date.strip_prefix("event_date=") {
            DateKey::Event(Some(day(d)?))
        } else if let Some(d) = date.strip_prefix("apply_date=") {
            DateKey::Applied(day(d)?)
        } else {
            return Err(bad());
        };
        Ok(Partition {
            org: org.map(str::to_string),
            date,
        })
    }
}

impl TryFrom<String> for Partition {
    type Error = String;

    fn try_from(s: String) -> Result<Partition, String> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_print_and_parse_as_their_folders() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 23).expect("date");
        for (p, text) in [
            (Partition::snapshot(None, d), "snapshot_date=2026-11-23"),
            (
                Partition::snapshot(Some("5ff2"), d),
                "org_id=5ff2/snapshot_date=2026-11-23",
            ),
            (Partition::event_day(None, Some(d)), "event_date=2026-11-23"),
            (
                Partition {
                    org: None,
                    date: DateKey::Applied(d),
                },
                "apply_date=2026-11-23",
            ),
            (
                Partition::event_day(Some("a1"), None),
                "org_id=a1/event_date=?",
            ),
        ] {
            assert_eq!(p.to_string(), text);
            assert_eq!(text.parse::<Partition>(), Ok(p.clone()));
            assert_eq!(
                serde_json::to_string(&p).expect("json"),
                format!("\"{text}\"")
            );
        }
        assert_eq!(
            Partition::snapshot(Some("o"), d).path_in("users"),
            ["users", "org_id=o", "snapshot_date=2026-11-23"]
        );
        assert!("users/snapshot_date=2026-11-23"
            .parse::<Partition>()
            .is_err());
        assert!("snapshot_date=23.11.2026".parse::<Partition>().is_err());
    }
}
