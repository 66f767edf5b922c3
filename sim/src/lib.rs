//! The JumpCloud simulator: in come a seed, org sizes and realism knobs; out comes an HTTP
//! server on 127.0.0.1 that answers the v1, v2, Directory Insights and OAuth routes the way
//! `shared/jumpcloud-api.md` says the real service does, quirks included. It owns the org
//! data (`data`), the wire behaviour of each API family (`v1v2`, `insights`, and
//! `collections` for the further read routes of `shared/jumpcloud-api-extended.md` §3, with
//! their `SimHandle` accessors; `graph`: v2 association targets and effective-access
//! traversals), auth and the fault, rate-limit and latency knobs (`server`). Tests start it in-process with [`start`]; `jclake-sim serve` (or
//! `jclake sim serve`) runs it as a process.
//! System Insights (`sysinsights`): `GET /api/v2/systeminsights/<table>` for the 60 tables,
//! rows of every reporting system made on demand by `data::sysinsights` (once per table,
//! then kept until the org changes).
//! Writes (`writes`, checked and applied by `data::writes`): users created, updated and
//! deleted, user groups created, group members added and removed, with a read-after-write
//! lag and applied-then-failed answers as fault knobs. The `SimHandle` accessors always
//! show the latest org, whatever the read routes still serve.

// Handlers return an early error `Response` by value; it is built once per request, so boxing
// it would buy nothing.
#![allow(clippy::result_large_err)]

pub mod cli;
mod collections;
mod data;
mod graph;
mod http;
mod insights;
mod query;
mod server;
mod state;
mod sysinsights;
mod v1v2;
mod writes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

pub use data::{id_of, Drift, Mutation, MutationReport, OrgSize, SERVICES};
pub use state::{Faults, SimStats};

use state::SimState;

/// The key every simulator accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "sim-api-key";
/// A multi-tenant (MSP) key: requests must name an org with `x-org-id`.
pub const DEFAULT_MSP_KEY: &str = "sim-msp-key";
/// A key whose admin lacks API permission: every request gets 403.
pub const DEFAULT_FORBIDDEN_KEY: &str = "sim-forbidden-key";
/// Service-account client credentials accepted by `POST /oauth2/token`.
pub const DEFAULT_CLIENT_ID: &str = "sim-client";
pub const DEFAULT_CLIENT_SECRET: &str = "sim-secret";

/// Everything a simulator instance is made from.
#[derive(Clone)]
pub struct SimConfig {
    /// 0 picks a free port.
    pub port: u16,
    pub seed: u64,
    pub size: OrgSize,
    /// Orgs reachable with the MSP key; org 0 is also the org of the plain key.
    pub orgs: usize,
    pub api_key: String,
    pub msp_key: String,
    pub forbidden_key: String,
    pub client_id: String,
    pub client_secret: String,
    /// Lifetime of service-account tokens.
    pub token_ttl: Duration,
    pub faults: Faults,
    pub drift: Drift,
    /// The simulator's "now": event windows end here. Defaults to the wall clock at start.
    pub now: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SimConfig {
    // The keys are test fixtures, but the habit of never printing a key holds here too.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("port", &self.port)
            .field("seed", &self.seed)
            .field("size", &self.size)
            .field("orgs", &self.orgs)
            .field("faults", &self.faults)
            .field("drift", &self.drift)
            .finish_non_exhaustive()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            seed: 42,
            size: OrgSize::default(),
            orgs: 2,
            api_key: DEFAULT_API_KEY.into(),
            msp_key: DEFAULT_MSP_KEY.into(),
            forbidden_key: DEFAULT_FORBIDDEN_KEY.into(),
            client_id: DEFAULT_CLIENT_ID.into(),
            client_secret: DEFAULT_CLIENT_SECRET.into(),
            token_ttl: Duration::from_secs(3600),
            faults: Faults::default(),
            drift: Drift::default(),
            now: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("simulator: cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
}

/// A running simulator. Dropping it stops the server.
pub struct SimHandle {
    base_url: String,
    addr: SocketAddr,
    state: Arc<SimState>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, to which `/api`, `/api/v2`, `/insights/directory/v1` and
    /// `/oauth2/token` are appended.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The org ids, org 0 first (the org of the plain API key).
    pub fn org_ids(&self) -> Vec<String> {
        self.state.org_ids()
    }

    /// The ids of one collection of org `org` (route name: `systemusers`, `usergroups`, …).
    pub fn ids(&self, org: usize, collection: &str) -> Vec<String> {
        self.state.ids(org, collection)
    }

    /// The records of one collection of org `org` (`systemusers`, `usergroups`, …), as the
    /// API serves them once every write is visible.
    pub fn records(&self, org: usize, collection: &str) -> Vec<serde_json::Value> {
        self.state.records(org, collection)
    }

    /// Every System Insights row of `table` in org `org`, as `GET
    /// /api/v2/systeminsights/<table>` serves them unsorted and unfiltered (reporting systems
    /// in `_id` order, then each system's rows); empty for an unknown table.
    pub fn system_insights(&self, org: usize, table: &str) -> Vec<serde_json::Value> {
        sysinsights::rows(&self.state, org, table)
    }

    /// The ids of every event of org `org`.
    pub fn event_ids(&self, org: usize) -> Vec<String> {
        self.state.event_ids(org)
    }

    /// The direct members of a group of org `org`, as (graph type, id).
    pub fn members(&self, org: usize, group_id: &str) -> Vec<(String, String)> {
        self.state.members(org, group_id)
    }

    /// The ids of the `target` objects associated with object (`kind`, `id`) of org `org`.
    pub fn associations(
        &self,
        org: usize,
        kind: &'static str,
        id: &str,
        target: &str,
    ) -> Vec<String> {
        self.state.associations(org, kind, id, target)
    }

    /// Every association edge of org `org`, each once, as (a type, a id, b type, b id,
    /// attributes): which end is `a` carries no meaning. With [`SimHandle::members`] it is
    /// the whole graph, for computing effective access independently of the routes.
    pub fn edges(&self, org: usize) -> Vec<(String, String, String, String, serde_json::Value)> {
        self.state.edges(org)
    }

    /// Applies one mutation step to org `org` (users added/removed/changed, new and late events).
    pub fn mutate(&self, org: usize, m: &Mutation) -> MutationReport {
        self.state.mutate(org, m)
    }

    /// Applies `m` to every org every `every`, until the server stops: an org that changes
    /// between runs (users added, removed, changed; new events, some late).
    pub fn mutate_every(&self, every: Duration, m: Mutation) {
        let state = self.state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                // The server is gone once only this task holds the state.
                if std::sync::Arc::strong_count(&state) <= 1 {
                    break;
                }
                for org in 0..state.org_ids().len() {
                    state.mutate(org, &m);
                }
            }
        });
    }

    /// Replaces the fault knobs of the running server.
    pub fn set_faults(&self, f: Faults) {
        self.state.set_faults(f)
    }

    pub fn stats(&self) -> SimStats {
        self.state.stats()
    }

    pub fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Generates the org data and starts serving on 127.0.0.1. Must be called inside a Tokio
/// runtime; the server runs on it until the handle is dropped.
pub async fn start(config: SimConfig) -> Result<SimHandle, SimError> {
    let port = config.port;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| SimError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| SimError::Bind { port, source })?;
    let state = Arc::new(SimState::new(config));
    let (tx, rx) = oneshot::channel();
    tokio::spawn(server::serve(listener, state.clone(), rx));
    Ok(SimHandle {
        base_url: format!("http://{addr}"),
        addr,
        state,
        shutdown: Some(tx),
    })
}
