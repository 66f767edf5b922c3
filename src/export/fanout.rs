//! Which end a fan-out asks from: in come a table's parents, path and other end; out
//! comes the end with fewer objects (one request per object at least, so fewer objects is
//! fewer requests), by the org's collection sizes, counted once per run (`ObjectCounts`).

use crate::catalog::{self, OtherEnd, Parents};
use crate::decode::Reversed;
use crate::source::{count_objects, ApiClient, SourceError};

/// The object counts of one org's collections, asked once per run and shared by the
/// tables that choose a fan-out end by them.
#[derive(Clone, Default)]
pub(crate) struct ObjectCounts(
    std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<&'static str, u64>>>,
);

impl ObjectCounts {
    pub(crate) async fn of(&self, client: &ApiClient, p: Parents) -> Result<u64, SourceError> {
        // Held across the request: two tables asking for one count ask once.
        let mut known = self.0.lock().await;
        if let Some(n) = known.get(p.route) {
            return Ok(*n);
        }
        let n = count_objects(client, p.api, p.route).await?;
        known.insert(p.route, n);
        Ok(n)
    }

    /// The end a fan-out asks from: its other end only when that has fewer objects.
    /// Returns the parents, the path, the reversal for the decoder and both counts.
    pub(crate) async fn choose(
        &self,
        client: &ApiClient,
        parents: Parents,
        path: &'static str,
        other_end: Option<OtherEnd>,
    ) -> Result<FanOutChoice, SourceError> {
        let Some(o) = other_end else {
            return Ok(FanOutChoice {
                parents,
                path,
                reversed: None,
                counts: None,
            });
        };
        // A count that fails leaves the table to its forward end.
        let (here, there) = match (
            self.of(client, parents).await,
            self.of(client, o.parents).await,
        ) {
            (Ok(h), Ok(t)) => (h, t),
            (h, t) => {
                let e = h
                    .err()
                    .or(t.err())
                    .map(|e| e.to_string())
                    .unwrap_or_default();
                tracing::warn!(path, error = %e, "cannot count a fan-out's ends; asking from the forward end");
                return Ok(FanOutChoice {
                    parents,
                    path,
                    reversed: None,
                    counts: None,
                });
            }
        };
        Ok(if there < here {
            FanOutChoice {
                parents: o.parents,
                path: o.path,
                // Read from the other end, the far end is the parent: the rows still name
                // the forward target's type.
                reversed: catalog::target_type(path).map(|target_type| Reversed { target_type }),
                counts: Some((there, here)),
            }
        } else {
            FanOutChoice {
                parents,
                path,
                reversed: None,
                counts: Some((here, there)),
            }
        })
    }
}

/// Which end a fan-out runs from.
pub(crate) struct FanOutChoice {
    pub parents: Parents,
    pub path: &'static str,
    pub reversed: Option<Reversed>,
    /// (objects of the chosen end, objects of the other end), for tables with two ends.
    pub counts: Option<(u64, u64)>,
}
