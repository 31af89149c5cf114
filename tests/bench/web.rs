//! bench-web: the web application in headless Chromium on the PC profile, against the
//! platform on release binaries (services/web/e2e/bench.mjs measures; this starts the
//! platform with the built application, enrols the members it signs in as, and hands over).
//!
//!   tests/bench/run web [--members 20] [--opens 50]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;
use tsunagu_tests::accounts::{IZUMO, PASSWORD, START, join_as, start_with};
use tsunagu_tests::bench_args::{flags, number};
use tsunagu_tests::care::site_of_kind;

const USAGE: &str =
    "bench-web [--members N (20)] [--opens N (50)]: first screen, sign-in and reopening, p50/p99";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_owned()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (mut members, mut opens) = (20, 50);
    for (name, value) in flags(USAGE)? {
        match name.as_str() {
            "--members" => members = number(&name, &value, 1)?,
            "--opens" => opens = number(&name, &value, 1)?,
            other => anyhow::bail!("unknown flag {other}\n{USAGE}"),
        }
    }
    let web = root().join("services/web");
    let dist = web.join("dist");
    anyhow::ensure!(
        dist.join("index.html").is_file(),
        "the web application is not built (tests/bench/run web builds it)"
    );
    let dist = dist.to_string_lossy().into_owned();
    let (p, clock) = start_with(&[("TSUNAGU_WEB_DIR", dist.as_str())]).await?;
    let site = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    eprintln!("bench-web: enrolling {members} members");
    let mut accounts = Vec::new();
    for i in 0..members {
        let a = join_as(
            &p,
            &clock,
            None,
            &format!("bench.nurse{i}"),
            &["professional"],
            &[&site],
            IZUMO,
            "nurse",
        )
        .await?;
        accounts.push(
            json!({ "username": a.username, "password": PASSWORD, "secret": a.secret.to_base32() }),
        );
    }
    let started_wall_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64
        - clock.started.elapsed().as_millis() as i64;
    let config = json!({
        "base_url": p.base_url,
        "chromium": std::env::var("TSUNAGU_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "clock_start_unix": chrono::DateTime::parse_from_rfc3339(START)?.timestamp(),
        "started_wall_ms": started_wall_ms,
        "accounts": accounts,
        "opens": opens,
    });
    let file = p.dir.path().join("bench-web.json");
    std::fs::write(&file, serde_json::to_vec(&config)?)?;
    let status = tokio::process::Command::new("node")
        .arg(web.join("e2e/bench.mjs"))
        .arg(&file)
        .current_dir(&web)
        .status()
        .await?;
    anyhow::ensure!(status.success(), "the browser benchmark failed ({status})");
    Ok(())
}
