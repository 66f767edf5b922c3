//! The columns an effective-access or edge table computes rather than reads: from a graph
//! object (`{id, type, compiledAttributes, paths}`) whether a path is direct, which groups
//! the paths run through and the compiled attributes (`Derived`); and how an edge's rows
//! are read when it is asked from its other end (`Reversed`).

use std::borrow::Cow;

use super::discover::path_keys;
use super::value::Val;

/// Values an effective-access row computes from its graph object
/// (`{id, type, compiledAttributes, paths}`).
#[derive(Clone, PartialEq)]
pub(super) enum Derived {
    /// `$direct`: some path is a single connection.
    Direct,
    /// `$via/<type>`: the ids of the `<type>` objects on any path, each once, in order.
    Via(String),
    /// `$attr/<path>` (`$attr`: all of it): the value under `compiledAttributes`, else
    /// under `attributes`.
    Attr(Vec<String>),
}

impl Derived {
    pub(super) fn parse(source: &str) -> Option<Derived> {
        if source == "$direct" {
            return Some(Derived::Direct);
        }
        if source == "$attr" {
            return Some(Derived::Attr(Vec::new()));
        }
        if let Some(t) = source.strip_prefix("$via/") {
            return Some(Derived::Via(t.to_string()));
        }
        source
            .strip_prefix("$attr/")
            .map(|p| Derived::Attr(path_keys(p)))
    }

    pub(super) fn value<'a>(&self, obj: &[(Cow<'a, str>, Val<'a>)]) -> Option<Val<'a>> {
        let get = |k: &str| obj.iter().find(|(x, _)| x == k).map(|(_, v)| v);
        let paths = || match get("paths") {
            Some(Val::Arr(p)) => p.as_slice(),
            _ => &[],
        };
        match self {
            Derived::Direct => Some(Val::Bool(
                paths()
                    .iter()
                    .any(|p| matches!(p, Val::Arr(c) if c.len() == 1)),
            )),
            Derived::Via(kind) => {
                let mut ids: Vec<Val<'a>> = Vec::new();
                let ends = paths().iter().flat_map(|p| match p {
                    Val::Arr(c) => c.as_slice(),
                    _ => &[],
                });
                for end in ends.flat_map(|c| [c.get("from"), c.get("to")]).flatten() {
                    if end.get("type").and_then(Val::as_str) == Some(kind) {
                        if let Some(id) = end.get("id").filter(|v| v.as_str().is_some()) {
                            if !ids.contains(id) {
                                ids.push(id.clone());
                            }
                        }
                    }
                }
                Some(Val::Arr(ids))
            }
            Derived::Attr(keys) => ["compiledAttributes", "attributes"].iter().find_map(|top| {
                let mut v = get(top)?;
                for k in keys {
                    v = v.get(k)?;
                }
                (!v.is_null()).then(|| v.clone())
            }),
        }
    }
}

/// How an edge table's rows are read when its fan-out runs from the other end: the parent
/// is then the far end, so the columns that read `$parent` and `to/id` trade places, the
/// target type is the parent's type, and the attributes of the target object are unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reversed {
    /// The graph type of the forward target, i.e. of the parents now fanned out over.
    pub target_type: &'static str,
}
