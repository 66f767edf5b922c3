//! Pacing shared by every request of a run (and by every org that shares a key): a token
//! bucket whose rate adapts to the service (cut by 10 % on a 429, raised a little with each
//! success, never above a configured limit), a pause for everyone while a `Retry-After`
//! runs, and an adaptive cap on requests in flight (additive increase while answers are fast
//! and good, multiplicative decrease on 429s and slow answers). A run converges
//! just under the service's limit without being told it, and never storms it with 429s.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The window over which the achieved request rate is measured.
const WINDOW: Duration = Duration::from_secs(5);

struct State {
    /// Requests per second allowed now; infinite until the service first says no.
    rate: f64,
    tokens: f64,
    refilled: Instant,
    paused_until: Option<Instant>,
    last_cut: Option<Instant>,
    /// Request start times within `WINDOW`.
    recent: VecDeque<Instant>,
    in_flight: usize,
    /// Requests allowed in flight (fractional for additive increase).
    limit: f64,
    /// Smoothed latency of good answers.
    latency: Option<Duration>,
    last_shrink: Option<Instant>,
}

/// The pacer of one run.
pub struct Pacer {
    configured: Option<f64>,
    max_in_flight: usize,
    state: Mutex<State>,
    released: Notify,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("configured", &self.configured)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// A slot in flight; dropping it frees the slot.
pub struct Permit<'a> {
    pacer: &'a Pacer,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        {
            let mut s = self.pacer.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.pacer.released.notify_waiters();
    }
}

impl Pacer {
    /// `rpm`: a configured ceiling in requests per minute (none: learn it from 429s).
    pub fn new(rpm: Option<u32>, max_in_flight: usize) -> Pacer {
        let configured = rpm.map(|r| r.max(1) as f64 / 60.0);
        let max_in_flight = max_in_flight.max(1);
        Pacer {
            configured,
            max_in_flight,
            state: Mutex::new(State {
                rate: configured.unwrap_or(f64::INFINITY),
                tokens: 1.0,
                refilled: Instant::now(),
                paused_until: None,
                last_cut: None,
                recent: VecDeque::new(),
                in_flight: 0,
                limit: (max_in_flight as f64 / 2.0).max(1.0),
                latency: None,
                last_shrink: None,
            }),
            released: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rate the pacer holds to now, in requests per minute (none while unlimited).
    pub fn rate_per_minute(&self) -> Option<f64> {
        let r = self.lock().rate;
        r.is_finite().then_some(r * 60.0)
    }

    pub fn configured_per_minute(&self) -> Option<f64> {
        self.configured.map(|r| r * 60.0)
    }

    /// Waits for the pause to end, a token, and a slot in flight.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.released.notified();
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                if let Some(until) = s.paused_until.filter(|u| *u > now) {
                    Some(until - now)
                } else if (s.in_flight as f64) >= s.limit.floor().max(1.0) {
                    None
                } else {
                    let rate = s.rate;
                    if rate.is_finite() {
                        let elapsed = now.duration_since(s.refilled).as_secs_f64();
                        // A burst of one second's worth at most.
                        s.tokens = (s.tokens + elapsed * rate).min(rate.max(1.0));
                        s.refilled = now;
                    }
                    if !rate.is_finite() || s.tokens >= 1.0 {
                        if rate.is_finite() {
                            s.tokens -= 1.0;
                        }
                        s.in_flight += 1;
                        s.recent.push_back(now);
                        while s
                            .recent
                            .front()
                            .is_some_and(|t| now.duration_since(*t) > WINDOW)
                        {
                            s.recent.pop_front();
                        }
                        return Permit { pacer: self };
                    }
                    Some(Duration::from_secs_f64((1.0 - s.tokens) / rate))
                }
            };
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                // Woken when a slot frees; the timeout covers a limit that grew meanwhile.
                None => {
                    let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
                }
            }
        }
    }

    /// A good answer: raise the rate a little and, if it was fast, the slots in flight.
    pub fn on_success(&self, latency: Duration) {
        let mut s = self.lock();
        if s.rate.is_finite() {
            // +2 % per second at any rate: each success adds 2 % of one second's share.
            s.rate += 0.02;
            if let Some(c) = self.configured {
                s.rate = s.rate.min(c);
            }
        }
        let ewma = match s.latency {
            None => latency,
            Some(l) => l.mul_f64(0.8) + latency.mul_f64(0.2),
        };
        s.latency = Some(ewma);
        if latency <= ewma.mul_f64(2.0) {
            s.limit = (s.limit + 1.0 / s.limit.max(1.0)).min(self.max_in_flight as f64);
        } else {
            self.shrink(&mut s);
        }
    }

    /// A 429: slow down to 90 % of what was achieved, and pause everyone for `retry_after`.
    pub fn on_throttle(&self, retry_after: Option<Duration>) {
        let mut s = self.lock();
        let now = Instant::now();
        if let Some(wait) = retry_after {
            let until = now + wait;
            s.paused_until = Some(s.paused_until.map_or(until, |u| u.max(until)));
        }
        // Answers already in flight when the rate was cut come back as 429s too: cut once
        // per second at most.
        if s.last_cut
            .is_none_or(|t| now.duration_since(t) > Duration::from_secs(1))
        {
            let span = s
                .recent
                .front()
                .map(|t| now.duration_since(*t).as_secs_f64())
                .unwrap_or(0.0)
                .max(1.0);
            let achieved = s.recent.len() as f64 / span;
            s.rate = (s.rate.min(achieved) * 0.9).max(1.0 / 60.0);
            s.tokens = s.tokens.min(0.0);
            s.last_cut = Some(now);
        }
        self.shrink(&mut s);
    }

    fn shrink(&self, s: &mut State) {
        let now = Instant::now();
        if s.last_shrink
            .is_none_or(|t| now.duration_since(t) > Duration::from_millis(500))
        {
            s.limit = (s.limit * 0.7).max(1.0);
            s.last_shrink = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_configured_rate_is_held() {
        let p = Pacer::new(Some(600), 4);
        let t0 = Instant::now();
        for _ in 0..21 {
            drop(p.acquire().await);
        }
        // One token to start, then 10 per second: 20 more take 2 s.
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(1900) && took < Duration::from_millis(2600),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn a_throttle_cuts_the_rate_and_pauses_everyone() {
        let p = Pacer::new(None, 4);
        assert_eq!(p.rate_per_minute(), None);
        for _ in 0..50 {
            drop(p.acquire().await);
        }
        p.on_throttle(Some(Duration::from_millis(300)));
        let rate = p.rate_per_minute().expect("a learnt rate");
        assert!(rate > 0.0);
        let t0 = Instant::now();
        drop(p.acquire().await);
        assert!(
            t0.elapsed() >= Duration::from_millis(290),
            "{:?}",
            t0.elapsed()
        );
        // A second 429 within the second does not cut again.
        p.on_throttle(None);
        assert_eq!(p.rate_per_minute(), Some(rate));
    }

    #[tokio::test]
    async fn slots_in_flight_are_capped() {
        let p = Pacer::new(None, 2);
        let a = p.acquire().await;
        let blocked = tokio::time::timeout(Duration::from_millis(100), p.acquire()).await;
        assert!(blocked.is_err(), "the start limit is half the maximum: 1");
        drop(a);
        let _b = tokio::time::timeout(Duration::from_millis(200), p.acquire())
            .await
            .expect("freed");
    }
}
