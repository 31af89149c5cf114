//! The resource directory, end to end with the real binaries through the gateway: a care
//! management office says, in one request, what it can take now; a care manager elsewhere
//! in the city finds it with who said it and when, fresh — and, a week later (the directory
//! restarted on a later clock: time injected, never slept), stale with its age. Only the site's own staff or a site admin of its organisation
//! say a site's status; another municipality's site answers as one that does not exist.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Clock, IZUMO, YOKOHAMA, send, start_with};
use tsunagu_tests::care::{Member, member, professional, site_of_kind, text};

/// Eight days after the platform's start: past the default week a status stays fresh.
const A_WEEK_AND_A_DAY_LATER: &str = "2026-10-09T12:00:00+09:00";

struct Town {
    p: Platform,
    _clock: Clock,
    office: String,
    care_manager: Member,
    reader: Member,
    stranger: Member,
    admin: Member,
    yokohama: Member,
}

async fn town() -> anyhow::Result<Town> {
    let (p, clock) = start_with(&[]).await?;
    let office = site_of_kind(
        &p,
        IZUMO,
        "みずうみ居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let other_office = site_of_kind(
        &p,
        IZUMO,
        "やまびこ居宅介護支援事業所",
        "care_management_office",
        &["43"],
    )
    .await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    // A day service run by the office's own organisation: its site admin acts for both.
    let (status, site) = send(p.operator(Method::GET, &format!("/api/v1/sites/{office}"))).await?;
    anyhow::ensure!(status == 200, "the office: {site}");
    let organisation = site["organisation"]["organisation_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (status, day) = send(
        p.operator(Method::POST, &format!("/api/v1/organisations/{organisation}/sites"))
            .json(&json!({
                "name": "みずうみデイサービス", "name_kana": "ミズウミデイサービス", "kind": "day_service",
                "service_types": ["15"], "home_municipality": IZUMO, "address": "出雲市1", "phone": "0853-00-0001"
            })),
    )
    .await?;
    anyhow::ensure!(status == 201, "the day service: {day}");
    let day_service = text(&day, "site_id")?;
    let yokohama_site = site_of_kind(
        &p,
        YOKOHAMA,
        "横浜の居宅",
        "care_management_office",
        &["43"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "cm.dir", "care_manager", &office, IZUMO).await?;
    let reader = professional(
        &p,
        &clock,
        "cm.reader",
        "care_manager",
        &other_office,
        IZUMO,
    )
    .await?;
    let stranger = professional(&p, &clock, "nurse.dir", "nurse", &nursing, IZUMO).await?;
    let admin = member(
        &p,
        &clock,
        "admin.dir",
        &["site_admin"],
        "clerical_staff",
        Some(&day_service),
        IZUMO,
    )
    .await?;
    let yokohama = member(
        &p,
        &clock,
        "admin.yokohama",
        &["site_admin", "professional"],
        "care_manager",
        Some(&yokohama_site),
        YOKOHAMA,
    )
    .await?;
    Ok(Town {
        p,
        _clock: clock,
        office,
        care_manager,
        reader,
        stranger,
        admin,
        yokohama,
    })
}

async fn say(t: &Town, who: &Member, site: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    send(
        who.request(
            &t.p,
            Method::PUT,
            &format!("/api/v1/sites/{site}/availability"),
        )
        .json(&body),
    )
    .await
}

async fn board(t: &Town, who: &Member) -> anyhow::Result<Vec<Value>> {
    let (status, body) = send(who.request(&t.p, Method::GET, "/api/v1/availability")).await?;
    anyhow::ensure!(status == 200, "the availability: {status} {body}");
    Ok(body["sites"].as_array().cloned().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_office_says_what_it_can_take_and_a_care_manager_sees_it_fresh_then_stale_with_its_history()
-> anyhow::Result<()> {
    let t = town().await?;

    // "With conditions" means saying them; nothing is stored otherwise.
    let (status, problem) = say(
        &t,
        &t.care_manager,
        &t.office,
        json!({ "accepting": "conditional" }),
    )
    .await?;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], "/conditions", "{problem}");
    assert!(
        board(&t, &t.reader).await?.is_empty(),
        "a refused update stores nothing"
    );

    let (status, saved) = say(
        &t,
        &t.care_manager,
        &t.office,
        json!({ "accepting": "conditional", "conditions": "要介護3まで。吸引のある方は要相談。", "new_clients": 2 }),
    )
    .await?;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["status"]["fresh"], true, "{saved}");

    let sites = board(&t, &t.reader).await?;
    assert_eq!(sites.len(), 1, "{sites:?}");
    let office = &sites[0];
    assert_eq!(office["site_name"], "みずうみ居宅介護支援事業所");
    assert_eq!(office["accepting"], "conditional");
    assert_eq!(office["conditions"], "要介護3まで。吸引のある方は要相談。");
    assert_eq!(office["new_clients"], 2);
    assert_eq!(
        office["updated_by"]["name"], "看護 花子",
        "who said it, by name: {office}"
    );
    assert_eq!(
        office["updated_by"]["site_name"],
        "みずうみ居宅介護支援事業所"
    );
    assert_eq!(office["fresh"], true);

    // A week and a day later, the same status is shown as stale, with its age.
    let mut t = t;
    directory_at(&mut t.p, A_WEEK_AND_A_DAY_LATER).await?;
    let stale = board(&t, &t.reader).await?;
    assert_eq!(stale[0]["fresh"], false, "{stale:?}");
    assert_eq!(stale[0]["age_days"], 8, "{stale:?}");
    assert_eq!(
        stale[0]["updated_at"], office["updated_at"],
        "the status itself is unchanged"
    );

    // A second word replaces the first on the board; the first stays in the history.
    let (status, again) = say(&t, &t.care_manager, &t.office, json!({ "accepting": "no" })).await?;
    assert_eq!(status, 200, "{again}");
    let (status, history) = send(t.reader.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/sites/{}/availability", t.office),
    ))
    .await?;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["current"]["accepting"], "no", "{history}");
    assert_eq!(history["current"]["fresh"], true);
    let earlier = history["earlier"].as_array().cloned().unwrap_or_default();
    assert_eq!(earlier.len(), 1, "{history}");
    assert_eq!(earlier[0]["accepting"], "conditional");
    assert_eq!(board(&t, &t.reader).await?.len(), 1, "one line per site");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_sites_staff_and_its_organisations_admin_say_its_status_and_no_other_municipality_sees_it()
-> anyhow::Result<()> {
    let t = town().await?;
    let yes = json!({ "accepting": "yes" });

    let (status, refused) = say(&t, &t.stranger, &t.office, yes.clone()).await?;
    assert_eq!(status, 403, "a nurse of another site: {refused}");

    // Another municipality's site admin: the site answers as one nobody has.
    let (status, elsewhere) = say(&t, &t.yokohama, &t.office, yes.clone()).await?;
    assert_eq!(status, 404, "{elsewhere}");
    let nobody = uuid_nobody_has();
    let (status, unknown) = say(&t, &t.yokohama, &nobody, yes.clone()).await?;
    assert_eq!(status, 404, "{unknown}");
    assert_eq!(
        elsewhere["detail"], unknown["detail"],
        "the same answer as an id nobody has"
    );
    assert!(
        board(&t, &t.reader).await?.is_empty(),
        "nothing stored by a refusal"
    );

    // The organisation's site admin (at its day service) says the office's status.
    let (status, saved) = say(
        &t,
        &t.admin,
        &t.office,
        json!({ "accepting": "yes", "new_clients": 5 }),
    )
    .await?;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(
        saved["status"]["updated_by"]["site_name"], "みずうみデイサービス",
        "acting for their own site: {saved}"
    );
    assert_eq!(board(&t, &t.reader).await?.len(), 1);

    // 横浜市 sees none of 出雲市's statuses, and not the office's history.
    assert!(board(&t, &t.yokohama).await?.is_empty());
    let (status, hidden) = send(t.yokohama.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/sites/{}/availability", t.office),
    ))
    .await?;
    assert_eq!(status, 404, "{hidden}");
    Ok(())
}

/// Restarts the directory on a clock that starts at `at` (the other services keep theirs).
async fn directory_at(p: &mut Platform, at: &str) -> anyhow::Result<()> {
    p.directory.kill();
    p.directory
        .restart_with(&[("TSUNAGU_CLOCK_START".to_owned(), at.to_owned())])?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = p
            .http
            .get(format!("{}/readyz", p.directory_health))
            .send()
            .await
            && r.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the directory did not come back\n{}",
            p.directory.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn uuid_nobody_has() -> String {
    "01900000-0000-7000-8000-000000000000".to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listing_says_where_a_site_is_and_what_it_can_do_kept_by_the_secretariat_and_its_own_admin()
-> anyhow::Result<()> {
    let t = town().await?;
    let (p, clock) = (&t.p, &t._clock);
    let secretariat = tsunagu_tests::care::secretariat(p, clock, "sec.dir", IZUMO).await?;
    let listing = json!({
        "latitude": 35.3669, "longitude": 132.7547,
        "opening_hours": "平日 8:30〜17:30（24時間電話対応）",
        "capacity": 25,
        "capabilities": ["suction", "tube_feeding", "terminal_care"],
        "languages": ["英語"],
        "description": "医療的ケアの必要な方も、まずはご相談ください。"
    });
    let put = |who: &Member, body: Value| {
        let request = who
            .request(
                p,
                Method::PUT,
                &format!("/api/v1/sites/{}/listing", t.office),
            )
            .json(&body);
        async move { send(request).await }
    };

    // Out of range, without its pair, a capability nobody has: each named, nothing stored.
    for (body, field) in [
        (json!({ "latitude": 95.0, "longitude": 132.7 }), "/latitude"),
        (json!({ "latitude": 35.3 }), "/longitude"),
        (
            json!({ "capabilities": ["suction", "suction"] }),
            "/capabilities/1",
        ),
    ] {
        let (status, problem) = put(&t.admin, body).await?;
        assert_eq!(status, 422, "{problem}");
        assert_eq!(problem["errors"][0]["pointer"], field, "{problem}");
    }
    let (status, problem) = put(&t.admin, json!({ "capabilities": ["teleportation"] })).await?;
    assert_eq!(status, 422, "an unknown capability: {problem}");

    // The organisation's site admin keeps it; a nurse of another site may not; 横浜市's
    // admin finds no such site.
    let (status, saved) = put(&t.admin, listing.clone()).await?;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["listing"]["capabilities"][2], "terminal_care");
    let (status, _) = put(&t.stranger, listing.clone()).await?;
    assert_eq!(status, 403);
    let (status, _) = put(&t.yokohama, listing.clone()).await?;
    assert_eq!(status, 404);

    // The secretariat replaces it whole: what it leaves out is cleared.
    let (status, replaced) = put(
        &secretariat,
        json!({ "latitude": 35.37, "longitude": 132.76, "capabilities": ["dementia"] }),
    )
    .await?;
    assert_eq!(status, 200, "{replaced}");
    let (status, all) = send(t.reader.request(p, Method::GET, "/api/v1/listings").header(
        "Tsunagu-Min-Position",
        text(&replaced, "position").unwrap_or_default(),
    ))
    .await?;
    assert_eq!(status, 200, "{all}");
    let sites = all["sites"].as_array().cloned().unwrap_or_default();
    assert_eq!(sites.len(), 1, "{all}");
    assert_eq!(sites[0]["site_name"], "みずうみ居宅介護支援事業所");
    assert_eq!(sites[0]["listing"]["capabilities"], json!(["dementia"]));
    assert_eq!(
        sites[0]["listing"]["opening_hours"],
        Value::Null,
        "left out, so cleared"
    );
    assert_eq!(
        sites[0]["updated_by"]["profession"], "municipal_staff",
        "{all}"
    );
    let (status, none) = send(t.yokohama.request(p, Method::GET, "/api/v1/listings")).await?;
    assert_eq!(status, 200);
    assert_eq!(
        none["sites"],
        json!([]),
        "another municipality's listings stay its own"
    );
    Ok(())
}
