//! `serve`: the simulator as a process, for `make demo`, benchmarks and manual runs. In
//! come flags; out goes the base URL on stdout's first line, and the server runs until
//! Ctrl-C or SIGTERM. `jclake-sim serve` and `jclake sim serve` share these flags.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value_t = 250)]
    users: usize,
    #[arg(long, default_value_t = 120)]
    systems: usize,
    #[arg(long, default_value_t = 20)]
    user_groups: usize,
    #[arg(long, default_value_t = 10)]
    system_groups: usize,
    #[arg(long, default_value_t = 12)]
    applications: usize,
    #[arg(long, default_value_t = 8)]
    commands: usize,
    #[arg(long, default_value_t = 2)]
    radius_servers: usize,
    #[arg(long, default_value_t = 15)]
    policies: usize,
    #[arg(long, default_value_t = 3)]
    directories: usize,
    #[arg(long, default_value_t = 3000)]
    events: usize,
    /// Events are spread over this many days before now.
    #[arg(long, default_value_t = 7)]
    event_days: u32,
    /// Orgs behind the multi-tenant key (org 0 is also the plain key's org).
    #[arg(long, default_value_t = 2)]
    orgs: usize,
    /// Accepted `x-api-key`.
    #[arg(long, default_value = crate::DEFAULT_API_KEY)]
    api_key: String,
    /// Lifetime of OAuth service-account tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Requests per minute per key; more get 429.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Leave `Retry-After` off rate-limit answers.
    #[arg(long)]
    no_retry_after: bool,
    /// Milliseconds added to every API answer.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests answered 500/502/503/504.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Share of requests whose connection is dropped without an answer.
    #[arg(long, default_value_t = 0.0)]
    reset_rate: f64,
    /// Share of answers cut off half-way through the body.
    #[arg(long, default_value_t = 0.0)]
    truncate_rate: f64,
    /// Share of requests answered 429 whatever the rate.
    #[arg(long, default_value_t = 0.0)]
    throttle_rate: f64,
    /// Drop the connection of every API request from this number on.
    #[arg(long)]
    reset_from_request: Option<u64>,
    /// Users from this index on carry a new field and a new nested key.
    #[arg(long)]
    drift_field_after: Option<usize>,
    /// Every n-th user has fields of another JSON type.
    #[arg(long)]
    drift_type_every: Option<usize>,
    /// Users carry `ssh_keys` (mostly empty lists), shaped differently in org 0 and the
    /// other orgs, as real orgs differ.
    #[arg(long)]
    drift_ssh_keys: bool,
    /// Mutate every org every this many seconds: 5 users added, 2 removed, 3 changed, 200
    /// new events (half in the newest millisecond), 20 late ones (up to 30 min back), and 10
    /// new policy and 10 new command results. `POST /_sim/mutate` does one step on demand.
    #[arg(long)]
    mutate_every: Option<u64>,
}

impl ServeArgs {
    pub fn config(&self) -> crate::SimConfig {
        crate::SimConfig {
            port: self.port,
            seed: self.seed,
            size: crate::OrgSize {
                users: self.users,
                systems: self.systems,
                user_groups: self.user_groups,
                system_groups: self.system_groups,
                applications: self.applications,
                commands: self.commands,
                radius_servers: self.radius_servers,
                policies: self.policies,
                directories: self.directories,
                events: self.events,
                event_days: self.event_days,
            },
            orgs: self.orgs,
            api_key: self.api_key.clone(),
            token_ttl: Duration::from_secs(self.token_ttl),
            faults: crate::Faults {
                rate_limit_rpm: self.rate_limit,
                retry_after: !self.no_retry_after,
                latency_ms: self.latency_ms,
                error_rate: self.error_rate,
                reset_rate: self.reset_rate,
                truncate_rate: self.truncate_rate,
                throttle_rate: self.throttle_rate,
                reset_from_request: self.reset_from_request,
                ..crate::Faults::default()
            },
            drift: crate::Drift {
                field_after: self.drift_field_after,
                type_every: self.drift_type_every,
                ssh_keys: self.drift_ssh_keys,
            },
            ..crate::SimConfig::default()
        }
    }
}

/// Serves until Ctrl-C or SIGTERM; the base URL is the first line of stdout.
pub async fn serve(args: ServeArgs) -> ExitCode {
    let handle = match crate::start(args.config()).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("jclake-sim: {e}");
            return ExitCode::from(1);
        }
    };
    use std::io::Write;
    println!("{}", handle.base_url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "jclake-sim: serving org {} on {} (x-api-key: {}); Ctrl-C stops",
        handle.org_ids().first().map(String::as_str).unwrap_or("?"),
        handle.base_url(),
        args.api_key
    );
    if let Some(secs) = args.mutate_every.filter(|s| *s > 0) {
        let step = crate::Mutation {
            add_users: 5,
            remove_users: 2,
            change_users: 3,
            new_events: 200,
            late_events: 20,
            late_by_ms: 30 * 60 * 1000,
            new_results: 10,
        };
        handle.mutate_every(Duration::from_secs(secs), step);
    }
    wait_for_stop().await;
    handle.shutdown();
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
