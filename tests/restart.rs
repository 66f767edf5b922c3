//! A run killed with SIGKILL and rerun at once, before its parent reaps it: the killed
//! process is a zombie still holding its pid, and the rerun must take its lock over
//! instead of exiting 7.

use std::time::{Duration, Instant};

use crate::util::{sim, Export};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_rerun_at_once_takes_over_its_lock() {
    let org = sim::start(sim::SimConfig {
        size: sim::OrgSize {
            users: 300,
            events: 500,
            ..sim::OrgSize::default()
        },
        faults: sim::Faults {
            latency_ms: 40,
            ..sim::Faults::default()
        },
        ..sim::SimConfig::default()
    })
    .await
    .expect("sim");
    let tmp = tempfile::tempdir().expect("tmp");
    let lake = tmp.path().join("lake");
    let export = Export::new(org.base_url(), lake.display())
        .arg("--snapshot-date", "2026-11-20")
        .settings("lock_ttl_seconds = 600");
    let (mut cmd, _settings) = export.command();
    let mut first = cmd.spawn().expect("spawn");
    let lock = lake.join("_jclake/lock.json");
    let t0 = Instant::now();
    while !lock.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the run never took the lock"
        );
        assert!(
            first.try_wait().expect("poll").is_none(),
            "the run ended too soon"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // SIGKILL, and no wait(): the process stays a zombie while the rerun starts. The rerun
    // may wait a little for the kill to land, never for the reap (that comes after it).
    first.kill().expect("kill");
    let rerun = export.clone().arg("--wait-for-lock", 20).bin(&[]);
    rerun.expect_code(0);
    assert!(
        !rerun.stderr.contains("another run holds the lake's lock"),
        "{}",
        rerun.all()
    );
    first.wait().expect("reap");
    crate::util::jclake(["verify", "--lake", &lake.display().to_string()]).expect_code(0);
}
