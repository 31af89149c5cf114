//! The web application in a real browser: Debian's Chromium, driven by playwright-core
//! (services/web/e2e/run.mjs), against the real platform started here with the built
//! application served by the gateway. This test seeds what the people need (出雲市, a care
//! management office and a nursing station on a patient's team with a consent recorded and
//! waiting, a nursing station that is not on it, the secretariat and an auditor) and hands
//! the browser scenarios their accounts; the scenarios sign in with second-factor codes on
//! the services' injected clock. Screenshots land in tests/output/browser/ for review.
//!
//! It needs the application built (`npm ci && npm run build` in services/web, which
//! tests/run does) and Chromium (tests/run installs Debian's when missing).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::json;
use tsunagu_tests::accounts::{IZUMO, PASSWORD, START, join_as, send, start_with};
use tsunagu_tests::care::{
    PatientForm, add_seat, consent_form, listed_sites, professional, record_consent,
    register_patient, site_of_kind,
};

const ALL: &[&str] = &[
    "care_records",
    "medication",
    "lab_results",
    "documents",
    "care_plan",
    "photos_video",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root")
        .to_owned()
}

fn chromium() -> String {
    std::env::var("TSUNAGU_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn people_sign_in_verify_a_consent_open_a_patient_and_read_its_access_report_in_a_real_browser()
-> anyhow::Result<()> {
    let web = root().join("services/web");
    let dist = web.join("dist");
    anyhow::ensure!(
        dist.join("index.html").is_file() && web.join("node_modules/playwright-core").is_dir(),
        "the web application is not built: run tests/run (it runs npm ci and npm run build in services/web)"
    );
    anyhow::ensure!(
        Path::new(&chromium()).is_file(),
        "no Chromium at {} (tests/run installs Debian's chromium)",
        chromium()
    );
    let dist_text = dist.to_string_lossy().into_owned();
    let (p, clock) = start_with(&[("TSUNAGU_WEB_DIR", dist_text.as_str())]).await?;

    // 出雲市: a care management office whose care manager registers the patient and records
    // the consent, a nursing station on the team, and one that is not.
    let office = site_of_kind(
        &p,
        IZUMO,
        "みずうみ居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let elsewhere = site_of_kind(
        &p,
        IZUMO,
        "よそ訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let coordination = site_of_kind(
        &p,
        IZUMO,
        "出雲市在宅医療・介護連携支援センター",
        "coordination_centre",
        &[],
    )
    .await?;
    let care_manager = professional(&p, &clock, "cm.web", "care_manager", &office, IZUMO).await?;
    // Those who sign in in the browser are only enrolled here: each second-factor code
    // works once, and the browser needs the current one.
    let nurse = join_as(
        &p,
        &clock,
        None,
        "nurse.web",
        &["professional"],
        &[&nursing],
        IZUMO,
        "nurse",
    )
    .await?;
    let outsider = join_as(
        &p,
        &clock,
        None,
        "outsider.web",
        &["professional"],
        &[&elsewhere],
        IZUMO,
        "nurse",
    )
    .await?;
    let secretariat = join_as(
        &p,
        &clock,
        None,
        "secretariat.web",
        &["municipal_secretariat"],
        &[],
        IZUMO,
        "municipal_staff",
    )
    .await?;
    let centre = join_as(
        &p,
        &clock,
        None,
        "centre.web",
        &["coordination_centre_staff"],
        &[&coordination],
        IZUMO,
        "medical_social_worker",
    )
    .await?;
    // A second care manager of the office records, in the browser, the consent form of a
    // patient the secretariat registers there.
    let care_manager_in_browser = join_as(
        &p,
        &clock,
        None,
        "cm2.web",
        &["professional"],
        &[&office],
        IZUMO,
        "chief_care_manager",
    )
    .await?;
    let auditor = join_as(
        &p,
        &clock,
        None,
        "auditor.web",
        &["auditor"],
        &[],
        IZUMO,
        "other",
    )
    .await?;

    let form = PatientForm::new("ブラウザ", IZUMO);
    let patient = register_patient(&p, &care_manager, &form, Some(&office)).await?;
    add_seat(&p, &care_manager, &patient, &office, None, "care_manager").await?;
    add_seat(
        &p,
        &care_manager,
        &patient,
        &nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    let phone = "0853-21-0024";
    let (status, body) = send(
        care_manager
            .request(
                &p,
                Method::PUT,
                &format!("/api/v1/patients/{patient}/contact-24h"),
            )
            .json(&json!({ "site": nursing, "phone": phone, "note": "夜間は訪問看護の当番携帯" })),
    )
    .await?;
    anyhow::ensure!(
        status == 201 || status == 200,
        "24-hour contact: {status} {body}"
    );
    record_consent(
        &p,
        &care_manager,
        &patient,
        &consent_form(
            listed_sites(&[&office, &nursing]),
            ALL,
            &office,
            "2026-10-01",
        ),
    )
    .await?;

    let output = root().join("tests/output/browser");
    let _ = std::fs::remove_dir_all(&output);
    std::fs::create_dir_all(&output)?;
    let started_wall_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64
        - clock.started.elapsed().as_millis() as i64;
    let account = |a: &tsunagu_tests::accounts::Account| json!({ "username": a.username, "password": PASSWORD, "secret": a.secret.to_base32() });
    let config = json!({
        "base_url": p.base_url,
        "output_dir": output,
        "chromium": chromium(),
        "clock_start_unix": chrono::DateTime::parse_from_rfc3339(START)?.timestamp(),
        "started_wall_ms": started_wall_ms,
        "accounts": {
            "nurse": account(&nurse),
            "outsider": account(&outsider),
            "secretariat": account(&secretariat),
            "auditor": account(&auditor),
            "centre": account(&centre),
            "care_manager": account(&care_manager_in_browser),
        },
        "patient": { "id": patient, "name": form.name, "name_kana": form.name_kana, "phone": phone },
        "nursing_site": nursing,
    });
    let config_file = p.dir.path().join("browser.json");
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config)?)?;

    let run = tokio::process::Command::new("node")
        .arg(web.join("e2e/run.mjs"))
        .arg(&config_file)
        .current_dir(&web)
        .kill_on_drop(true)
        .output()
        .await?;
    print!("{}", String::from_utf8_lossy(&run.stdout));
    eprint!("{}", String::from_utf8_lossy(&run.stderr));
    anyhow::ensure!(
        run.status.success(),
        "the browser scenarios failed ({}); screenshots in {}\n--- gateway ---\n{}\n--- identity ---\n{}\n--- audit ---\n{}\n--- messaging ---\n{}",
        run.status,
        output.display(),
        p.gateway.log_tail(20),
        p.identity.log_tail(20),
        p.audit.log_tail(20),
        p.messaging.log_tail(20)
    );
    Ok(())
}
