//! Broadcasts (一斉配信), end to end with the real binaries through the gateway: a site
//! submits a broadcast; the coordination centre returns it with a reason; the site revises and
//! resubmits; the centre publishes it; a broadcast-only member receives it, as does everyone
//! of the municipality it is for, and nobody elsewhere. Every step stays in its history, and
//! the centre's decisions are chained in the audit log.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Clock, IZUMO, YOKOHAMA, send, start};
use tsunagu_tests::care::{Member, auditor, member, professional, site_of_kind, text};

struct Town {
    p: Platform,
    _clock: Clock,
    centre: Member,
    site_admin: Member,
    other_site_admin: Member,
    helper: Member,
    nurse: Member,
    pharmacist: Member,
    other_nurse: Member,
    auditor: Member,
}

async fn town() -> anyhow::Result<Town> {
    let (p, clock) = start().await?;
    let coordination = site_of_kind(
        &p,
        IZUMO,
        "出雲市在宅医療・介護連携支援センター",
        "coordination_centre",
        &[],
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
    let pharmacy = site_of_kind(&p, IZUMO, "つむぎ薬局", "pharmacy", &[]).await?;
    let helpers = site_of_kind(&p, IZUMO, "えがお訪問介護", "home_visit_care", &["11"]).await?;
    let yokohama = site_of_kind(
        &p,
        YOKOHAMA,
        "みなと訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let roles = |role: &'static str| [role];
    Ok(Town {
        centre: member(
            &p,
            &clock,
            "centre.bc",
            &roles("coordination_centre_staff"),
            "medical_social_worker",
            Some(&coordination),
            IZUMO,
        )
        .await?,
        site_admin: member(
            &p,
            &clock,
            "admin.bc",
            &roles("site_admin"),
            "clerical_staff",
            Some(&nursing),
            IZUMO,
        )
        .await?,
        other_site_admin: member(
            &p,
            &clock,
            "admin2.bc",
            &roles("site_admin"),
            "clerical_staff",
            Some(&pharmacy),
            IZUMO,
        )
        .await?,
        helper: member(
            &p,
            &clock,
            "helper.bc",
            &roles("broadcast_recipient"),
            "care_worker",
            Some(&helpers),
            IZUMO,
        )
        .await?,
        nurse: professional(&p, &clock, "nurse.bc", "nurse", &nursing, IZUMO).await?,
        pharmacist: professional(&p, &clock, "pharmacist.bc", "pharmacist", &pharmacy, IZUMO)
            .await?,
        other_nurse: professional(&p, &clock, "nurse.yk.bc", "nurse", &yokohama, YOKOHAMA).await?,
        auditor: auditor(&p, &clock, "auditor.bc", IZUMO).await?,
        p,
        _clock: clock,
    })
}

impl Town {
    async fn call(
        &self,
        who: &Member,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = who.request(&self.p, method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        send(request).await
    }

    /// The titles of what `who` received, once their last write (or the centre's) is read.
    async fn received(&self, who: &Member, after: &str) -> anyhow::Result<Vec<String>> {
        let (status, page) = send(
            who.request(&self.p, Method::GET, "/api/v1/broadcasts")
                .header("Tsunagu-Min-Position", after),
        )
        .await?;
        anyhow::ensure!(status == 200, "received: {page}");
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b["title"].as_str().unwrap_or_default().to_owned())
            .collect())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_submission_is_returned_revised_published_and_received_by_a_broadcast_only_member()
-> anyhow::Result<()> {
    let t = town().await?;
    let (status, submitted) = t
        .call(
            &t.site_admin,
            Method::POST,
            "/api/v1/broadcasts",
            Some(json!({ "municipality": IZUMO, "title": "褥瘡ケア研修会",
                         "text": "1月15日（金）18時から。申込は当ステーションまで。" })),
        )
        .await?;
    assert_eq!(status, 201, "{submitted}");
    assert_eq!(submitted["status"], "pending");
    let id = text(&submitted, "broadcast_id")?;
    // Waiting for review, it reaches nobody.
    assert!(
        t.received(&t.helper, &text(&submitted, "position")?)
            .await?
            .is_empty()
    );

    // The centre finds it among its municipality's submissions, and returns it with a reason.
    let (status, page) = send(
        t.centre
            .request(&t.p, Method::GET, "/api/v1/broadcasts/submissions")
            .header("Tsunagu-Min-Position", text(&submitted, "position")?),
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["broadcast_id"], id.as_str(), "{page}");
    assert_eq!(
        page["items"][0]["submitted_by"]["site_name"],
        "ひかり訪問看護ステーション"
    );
    let review = format!("/api/v1/broadcasts/{id}/review");
    let (status, answer) = t
        .call(
            &t.centre,
            Method::POST,
            &review,
            Some(json!({ "decision": "return" })),
        )
        .await?;
    assert_eq!(status, 422, "a return needs a reason: {answer}");
    assert_eq!(answer["errors"][0]["pointer"], "/reason");
    let (status, returned) = t
        .call(
            &t.centre,
            Method::POST,
            &review,
            Some(json!({ "decision": "return", "reason": "会場名を書き添えてください" })),
        )
        .await?;
    assert_eq!(status, 200, "{returned}");
    assert_eq!(returned["status"], "returned");

    // Another site may not revise it (it answers as none); its submitter does.
    let revise = format!("/api/v1/broadcasts/{id}/revisions");
    let revision = json!({ "title": "褥瘡ケア研修会", "text": "1月15日（金）18時から、市民会館 第1会議室にて。" });
    let (status, _) = t
        .call(
            &t.other_site_admin,
            Method::POST,
            &revise,
            Some(revision.clone()),
        )
        .await?;
    assert_eq!(status, 404);
    let (status, page) = send(
        t.site_admin
            .request(&t.p, Method::GET, "/api/v1/broadcasts/submissions")
            .header("Tsunagu-Min-Position", text(&returned, "position")?),
    )
    .await?;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["status"], "returned", "{page}");
    assert_eq!(
        page["items"][0]["returned_reason"],
        "会場名を書き添えてください"
    );
    let (status, resubmitted) = t
        .call(&t.site_admin, Method::POST, &revise, Some(revision))
        .await?;
    assert_eq!(status, 201, "{resubmitted}");
    assert_eq!(resubmitted["version"], 2);

    let (status, published) = t
        .call(
            &t.centre,
            Method::POST,
            &review,
            Some(json!({ "decision": "publish" })),
        )
        .await?;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["status"], "published");
    let (status, again) = t
        .call(
            &t.centre,
            Method::POST,
            &review,
            Some(json!({ "decision": "publish" })),
        )
        .await?;
    assert_eq!(status, 409, "published once: {again}");

    // Everyone of 出雲市 receives it, the broadcast-only member too; 横浜市 does not.
    let after = text(&published, "position")?;
    for who in [&t.helper, &t.nurse, &t.pharmacist] {
        assert_eq!(t.received(who, &after).await?, ["褥瘡ケア研修会"]);
    }
    assert!(t.received(&t.other_nurse, &after).await?.is_empty());
    let (_, page) = send(
        t.helper
            .request(&t.p, Method::GET, "/api/v1/broadcasts")
            .header("Tsunagu-Min-Position", &after),
    )
    .await?;
    assert_eq!(
        page["items"][0]["text"], "1月15日（金）18時から、市民会館 第1会議室にて。",
        "the published version: {page}"
    );

    // Its history keeps every step; the centre's decisions are in the audit log.
    let (status, history) = t
        .call(
            &t.site_admin,
            Method::GET,
            &format!("/api/v1/broadcasts/{id}/history"),
            None,
        )
        .await?;
    assert_eq!(status, 200, "{history}");
    let steps: Vec<(String, u64)> = history["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["step"].as_str().unwrap_or_default().to_owned(),
                s["version"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("pending".to_owned(), 1),
            ("returned".to_owned(), 1),
            ("pending".to_owned(), 2),
            ("published".to_owned(), 2)
        ]
    );
    assert_eq!(history["steps"][1]["reason"], "会場名を書き添えてください");
    let (status, _) = t
        .call(
            &t.other_nurse,
            Method::GET,
            &format!("/api/v1/broadcasts/{id}/history"),
            None,
        )
        .await?;
    assert_eq!(status, 403, "a nurse follows no submissions");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, page) = send(
            t.auditor
                .request(&t.p, Method::GET, "/api/v1/audit/records")
                .query(&[("kind", "broadcast_reviewed")]),
        )
        .await?;
        assert_eq!(status, 200, "{page}");
        let events: Vec<&str> = page["records"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["record"]["detail"]["broadcast_id"] == id.as_str())
            .filter_map(|r| r["record"]["event_type"].as_str())
            .collect();
        if events.len() >= 2 {
            assert_eq!(
                events,
                ["BroadcastReturned", "BroadcastPublished"],
                "{page}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not chained: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_centre_sends_to_chosen_professions_at_once_and_bad_broadcasts_are_refused()
-> anyhow::Result<()> {
    let t = town().await?;
    let (status, sent) = t
        .call(
            &t.centre,
            Method::POST,
            "/api/v1/broadcasts",
            Some(json!({ "municipality": IZUMO, "title": "看護師の皆さまへ",
                         "text": "夜間の連絡体制を変更します。", "professions": ["nurse"] })),
        )
        .await?;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["status"], "published");
    let after = text(&sent, "position")?;
    assert_eq!(t.received(&t.nurse, &after).await?, ["看護師の皆さまへ"]);
    assert!(t.received(&t.pharmacist, &after).await?.is_empty());
    assert!(t.received(&t.helper, &after).await?.is_empty());

    for (body, field) in [
        (
            json!({ "municipality": IZUMO, "title": "", "text": "x" }),
            "/title",
        ),
        (
            json!({ "municipality": IZUMO, "title": "x", "text": " " }),
            "/text",
        ),
        (
            json!({ "municipality": IZUMO, "title": "x", "text": "y", "professions": ["wizard"] }),
            "/professions/0",
        ),
        (
            json!({ "municipality": YOKOHAMA, "title": "x", "text": "y" }),
            "/municipality",
        ),
    ] {
        let (status, answer) = t
            .call(&t.centre, Method::POST, "/api/v1/broadcasts", Some(body))
            .await?;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["pointer"], field, "{answer}");
    }
    // A nurse neither sends nor submits.
    let (status, _) = t
        .call(
            &t.nurse,
            Method::POST,
            "/api/v1/broadcasts",
            Some(json!({ "municipality": IZUMO, "title": "x", "text": "y" })),
        )
        .await?;
    assert_eq!(status, 403);
    Ok(())
}
