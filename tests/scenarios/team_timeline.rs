//! A patient's timeline, end to end with the real binaries through the gateway: the care
//! team writes once and every member reads when they can. Every read and write is the one
//! access decision's (identity & consent decides and records it, for the messaging service,
//! on facts fresh to the patient's last event), and the text is sealed with the patient's
//! key, so erasing the patient shreds it.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Clock, IZUMO, send, start};
use tsunagu_tests::care::{
    Member, PatientForm, access_records, add_seat, all_sites_except, auditor, consent_form,
    grant_consent, jpeg, professional, register_patient, secretariat, site_of_kind, text, upload,
    withdraw_consent,
};

const ALL: &[&str] = &[
    "care_records",
    "medication",
    "lab_results",
    "documents",
    "care_plan",
    "photos_video",
];

struct Team {
    p: Platform,
    _clock: Clock,
    nurse: Member,
    care_manager: Member,
    pharmacist: Member,
    physician: Member,
    stranger: Member,
    secretariat: Member,
    auditor: Member,
    patient: String,
    consent: String,
}

/// 出雲市: a patient whose team is the care management office, the nursing station, the
/// clinic and the pharmacy, under a verified 一括同意; and a nurse of another station.
async fn team() -> anyhow::Result<Team> {
    let (p, clock) = start().await?;
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
    let clinic = site_of_kind(&p, IZUMO, "ひかりクリニック", "clinic", &[]).await?;
    let pharmacy = site_of_kind(&p, IZUMO, "つむぎ薬局", "pharmacy", &[]).await?;
    let other = site_of_kind(
        &p,
        IZUMO,
        "そよかぜ訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let care_manager = professional(&p, &clock, "cm.tl", "care_manager", &office, IZUMO).await?;
    let nurse = professional(&p, &clock, "nurse.tl", "nurse", &nursing, IZUMO).await?;
    let physician = professional(&p, &clock, "doctor.tl", "physician", &clinic, IZUMO).await?;
    let pharmacist =
        professional(&p, &clock, "pharmacist.tl", "pharmacist", &pharmacy, IZUMO).await?;
    let stranger = professional(&p, &clock, "stranger.tl", "nurse", &other, IZUMO).await?;
    let secretariat = secretariat(&p, &clock, "secretariat.tl", IZUMO).await?;
    let auditor = auditor(&p, &clock, "auditor.tl", IZUMO).await?;
    let patient = register_patient(
        &p,
        &care_manager,
        &PatientForm::new("時系列", IZUMO),
        Some(&office),
    )
    .await?;
    add_seat(
        &p,
        &care_manager,
        &patient,
        &office,
        Some(care_manager.id()),
        "care_manager",
    )
    .await?;
    add_seat(
        &p,
        &care_manager,
        &patient,
        &nursing,
        None,
        "visiting_nurse",
    )
    .await?;
    add_seat(&p, &care_manager, &patient, &clinic, None, "home_doctor").await?;
    add_seat(&p, &care_manager, &patient, &pharmacy, None, "pharmacy").await?;
    let form = consent_form(all_sites_except(&[]), ALL, &nursing, "2026-10-01");
    let consent = grant_consent(&p, &nurse, &secretariat, &patient, &form).await?;
    Ok(Team {
        p,
        _clock: clock,
        nurse,
        care_manager,
        pharmacist,
        physician,
        stranger,
        secretariat,
        auditor,
        patient,
        consent,
    })
}

impl Team {
    async fn post(&self, who: &Member, body: Value) -> anyhow::Result<(u16, Value)> {
        send(
            who.request(
                &self.p,
                Method::POST,
                &format!("/api/v1/patients/{}/posts", self.patient),
            )
            .json(&body),
        )
        .await
    }

    async fn timeline(&self, who: &Member, after: Option<&str>) -> anyhow::Result<(u16, Value)> {
        let mut request = who.request(
            &self.p,
            Method::GET,
            &format!("/api/v1/patients/{}/posts", self.patient),
        );
        if let Some(position) = after {
            request = request.header("Tsunagu-Min-Position", position);
        }
        send(request).await
    }
}

/// The last sequence of the messaging stream.
async fn messaging_last(p: &Platform) -> anyhow::Result<u64> {
    let js = async_nats::jetstream::new(p.nats.connect().await?);
    let name = format!("{}_MESSAGING", p.namespace)
        .to_ascii_uppercase()
        .replace('-', "_");
    Ok(js.get_stream(name).await?.info().await?.state.last_sequence)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nurse_posts_an_urgent_report_and_the_team_reads_it_by_name_and_site()
-> anyhow::Result<()> {
    let t = team().await?;
    let (status, posted) = t
        .post(
            &t.nurse,
            json!({ "text": "本日訪問。仙骨部の褥瘡が悪化しています。", "urgent": true, "reply_requested": true }),
        )
        .await?;
    assert_eq!(status, 201, "{posted}");
    let position = text(&posted, "position")?;
    let post_id = text(&posted, "post_id")?;

    // The care manager and the pharmacist read it, newest first, with who wrote it.
    for reader in [&t.care_manager, &t.pharmacist] {
        let (status, page) = t.timeline(reader, Some(&position)).await?;
        assert_eq!(status, 200, "{page}");
        let post = &page["items"][0];
        assert_eq!(post["post_id"], post_id.as_str(), "{page}");
        assert_eq!(post["text"], "本日訪問。仙骨部の褥瘡が悪化しています。");
        assert_eq!(post["urgent"], true);
        assert_eq!(post["reply_requested"], true);
        assert_eq!(post["category"], "care_records");
        // Every member the harness invites is 看護 花子; the site tells them apart.
        assert_eq!(post["author"]["name"], "看護 花子", "{post}");
        assert_eq!(post["author"]["profession"], "nurse", "{post}");
        assert_eq!(
            post["author"]["site_name"], "ひかり訪問看護ステーション",
            "{post}"
        );
    }
    // A second post comes first; the page after it holds the first.
    let (_, second) = t
        .post(&t.physician, json!({ "text": "処方を変更しました。" }))
        .await?;
    let (_, page) = t
        .timeline(&t.nurse, Some(&text(&second, "position")?))
        .await?;
    assert_eq!(page["items"][0]["text"], "処方を変更しました。", "{page}");
    assert_eq!(page["items"][1]["post_id"], post_id.as_str(), "{page}");
    let (status, first_page) = send(t.nurse.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/patients/{}/posts?limit=1", t.patient),
    ))
    .await?;
    assert_eq!(status, 200);
    let after = first_page["next_after"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (_, rest) = send(t.nurse.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/patients/{}/posts?limit=1&after={after}", t.patient),
    ))
    .await?;
    assert_eq!(rest["items"][0]["post_id"], post_id.as_str(), "{rest}");
    assert!(rest.get("next_after").is_none(), "{rest}");

    // The auditor finds the post in the log, by who and when, without its text.
    let record = t
        .audited(&post_id, 1)
        .await?
        .into_iter()
        .next()
        .expect("a post_written record");
    assert_eq!(record["record"]["member_id"], t.nurse.id(), "{record}");
    assert!(
        !record.to_string().contains("褥瘡"),
        "no text in the log: {record}"
    );
    assert!(
        record["record"]["detail"].get("text_sealed").is_none(),
        "{record}"
    );

    // Nothing of the text is stored in clear: the projection holds the sealed text only.
    let client = t.p.messaging_db.pool()?.get().await?;
    let rows = client
        .query("SELECT text_sealed FROM timeline.posts", &[])
        .await?;
    assert_eq!(rows.len(), 2);
    for row in rows {
        let sealed: String = row.get(0);
        assert!(!sealed.contains("褥瘡"), "{sealed}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nurse_posts_an_urgent_photo_and_the_team_downloads_it_through_the_decision()
-> anyhow::Result<()> {
    let t = team().await?;
    let photo = jpeg("仙骨部 2026-12-07");
    let sha256 = upload(&t.p, &t.nurse, photo.clone()).await?;
    // A photo may say it all.
    let (status, posted) = t
        .post(
            &t.nurse,
            json!({ "text": "", "urgent": true, "category": "photos_video", "attachments": [sha256] }),
        )
        .await?;
    assert_eq!(status, 201, "{posted}");
    let post_id = text(&posted, "post_id")?;
    let (status, page) = t
        .timeline(&t.care_manager, Some(&text(&posted, "position")?))
        .await?;
    assert_eq!(status, 200, "{page}");
    let shown = &page["items"][0];
    assert_eq!(shown["post_id"], post_id.as_str(), "{page}");
    assert_eq!(
        shown["attachments"][0]["sha256"],
        sha256.as_str(),
        "{shown}"
    );
    assert_eq!(
        shown["attachments"][0]["media_type"], "image/jpeg",
        "{shown}"
    );
    assert_eq!(shown["attachments"][0]["size"], photo.len(), "{shown}");
    let href = text(&shown["attachments"][0], "href")?;

    // The care manager downloads it: the bytes as uploaded, recorded as a read of the post.
    let before = access_records(&t.p).await?.len();
    let response = t
        .care_manager
        .request(&t.p, Method::GET, &href)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    assert_eq!(response.bytes().await?.to_vec(), photo);
    let records = access_records(&t.p).await?;
    assert!(
        records[before..]
            .iter()
            .any(|r| r.member_id == t.care_manager.id()
                && r.allowed
                && r.route == "messaging.open_attachment"),
        "the download is recorded: {:#?}",
        &records[before..]
    );

    // A nurse of another station does not: refused, and the refusal recorded.
    let (status, answer) = send(t.stranger.request(&t.p, Method::GET, &href)).await?;
    assert_eq!(status, 403, "{answer}");
    let records = access_records(&t.p).await?;
    assert!(
        records.iter().any(|r| r.member_id == t.stranger.id()
            && !r.allowed
            && r.route == "messaging.open_attachment"),
        "the refusal is recorded"
    );
    // A file that is not on the post is not served through it, even to the team.
    let other = upload(&t.p, &t.care_manager, jpeg("別の写真")).await?;
    let (status, _) = send(t.care_manager.request(
        &t.p,
        Method::GET,
        &format!(
            "/api/v1/patients/{}/posts/{post_id}/attachments/{other}",
            t.patient
        ),
    ))
    .await?;
    assert_eq!(status, 404);

    // A file the writer never uploaded is refused at its field, and nothing is stored.
    let before = messaging_last(&t.p).await?;
    for (attachments, field) in [
        (json!([other]), "/attachments/0"),
        (json!([sha256, "0f".repeat(32)]), "/attachments/1"),
        (json!(["写真.jpg"]), "/attachments/0"),
    ] {
        let (status, answer) = t
            .post(
                &t.nurse,
                json!({ "text": "写真", "attachments": attachments }),
            )
            .await?;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["pointer"], field, "{answer}");
    }
    assert_eq!(messaging_last(&t.p).await?, before, "nothing stored");

    // Withdrawn, the post's photo is served no more.
    let (status, withdrawn) = send(
        t.nurse
            .request(
                &t.p,
                Method::POST,
                &format!("/api/v1/patients/{}/posts/{post_id}/retraction", t.patient),
            )
            .json(&json!({ "reason": "別の患者さんの写真でした" })),
    )
    .await?;
    assert_eq!(status, 200, "{withdrawn}");
    let (status, _) = send(
        t.care_manager
            .request(&t.p, Method::GET, &href)
            .header("Tsunagu-Min-Position", text(&withdrawn, "position")?),
    )
    .await?;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_off_the_team_is_refused_and_the_refusal_is_recorded() -> anyhow::Result<()> {
    let t = team().await?;
    let (status, posted) = t
        .post(&t.nurse, json!({ "text": "夜間の連絡先を更新" }))
        .await?;
    assert_eq!(status, 201, "{posted}");
    let before = access_records(&t.p).await?.len();
    let (status, answer) = t
        .timeline(&t.stranger, Some(&text(&posted, "position")?))
        .await?;
    assert_eq!(status, 403, "{answer}");
    assert!(!answer.to_string().contains("夜間"), "{answer}");
    let records = access_records(&t.p).await?;
    let new: Vec<_> = records[before..]
        .iter()
        .filter(|r| r.member_id == t.stranger.id())
        .collect();
    assert_eq!(new.len(), 1, "one read, one record: {new:#?}");
    assert!(!new[0].allowed, "{:#?}", new[0]);
    assert_eq!(new[0].patient_id, t.patient);
    assert!(new[0].route.starts_with("messaging."), "{:#?}", new[0]);
    // Nor may they write.
    let (status, _) = t
        .post(&t.stranger, json!({ "text": "書けないはず" }))
        .await?;
    assert_eq!(status, 403);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_posts_are_refused_at_their_field_and_nothing_is_stored() -> anyhow::Result<()> {
    let t = team().await?;
    let before = messaging_last(&t.p).await?;
    for (body, field) in [
        (json!({ "text": "   " }), "/text"),
        (json!({ "text": "あ".repeat(4001) }), "/text"),
        (json!({ "text": "x", "category": "gossip" }), "/category"),
        (json!({ "text": "x", "author": "someone" }), "/author"),
        (json!({ "text": "x", "purpose": "audit" }), "/purpose"),
    ] {
        let (status, answer) = t.post(&t.nurse, body).await?;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["pointer"], field, "{answer}");
    }
    assert_eq!(messaging_last(&t.p).await?, before, "nothing stored");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawal_refuses_the_next_read_and_erasure_shreds_the_text() -> anyhow::Result<()> {
    let t = team().await?;
    let (_, posted) = t
        .post(&t.nurse, json!({ "text": "褥瘡の処置を変更" }))
        .await?;
    let position = text(&posted, "position")?;
    let (status, _) = t.timeline(&t.pharmacist, Some(&position)).await?;
    assert_eq!(status, 200);
    withdraw_consent(&t.p, &t.nurse, &t.patient, &t.consent, None).await?;
    let (status, answer) = t.timeline(&t.pharmacist, None).await?;
    assert_eq!(status, 403, "the very next read: {answer}");
    let (status, _) = t.post(&t.nurse, json!({ "text": "撤回後の記録" })).await?;
    assert_eq!(status, 403, "nor is a write taken");

    // A new consent opens the timeline again; erasure leaves the posts, unreadable.
    let nursing = t.nurse.site.clone().unwrap_or_default();
    let form = consent_form(all_sites_except(&[]), ALL, &nursing, "2026-10-01");
    grant_consent(&t.p, &t.nurse, &t.secretariat, &t.patient, &form).await?;
    let (status, page) = t.timeline(&t.pharmacist, None).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["text"], "褥瘡の処置を変更");
    let (status, erased) = send(
        t.secretariat
            .request(
                &t.p,
                Method::POST,
                &format!("/api/v1/patients/{}/erasure", t.patient),
            )
            .json(&json!({ "reason": "本人からの削除請求" })),
    )
    .await?;
    assert!(status == 200 || status == 201, "{status} {erased}");
    let (status, page) = t.timeline(&t.pharmacist, None).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["post_id"], posted["post_id"], "{page}");
    assert!(page["items"][0]["text"].is_null(), "shredded: {page}");

    // A rebuild from the stream gives the same timeline, and still none of the text.
    let rebuilt = tokio::process::Command::new(testkit::binary("tsunagu-messaging")?)
        .args(["rebuild", "--swap"])
        .envs(t.p.messaging_env())
        .output()
        .await?;
    let said = String::from_utf8_lossy(&rebuilt.stdout);
    assert!(
        rebuilt.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&rebuilt.stderr)
    );
    assert!(!said.contains("DIFFERENT"), "{said}");
    let (status, page) = t.timeline(&t.pharmacist, None).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["post_id"], posted["post_id"], "{page}");
    assert!(
        page["items"][0]["text"].is_null(),
        "shredded after a rebuild: {page}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn each_post_shows_who_has_read_it_and_who_has_not_and_the_physician_acknowledges()
-> anyhow::Result<()> {
    let t = team().await?;
    let (status, posted) = t
        .post(&t.nurse, json!({ "text": "至急：発熱38.5度。往診をお願いします。", "urgent": true, "reply_requested": true }))
        .await?;
    assert_eq!(status, 201, "{posted}");
    let post_id = text(&posted, "post_id")?;
    let receipt = |who: &Member, acknowledged: bool| {
        let path = format!("/api/v1/patients/{}/posts/{post_id}/receipt", t.patient);
        send(
            who.request(&t.p, Method::POST, &path)
                .json(&json!({ "acknowledged": acknowledged })),
        )
    };
    // The care manager and the pharmacist read it.
    for reader in [&t.care_manager, &t.pharmacist] {
        let (status, answer) = receipt(reader, false).await?;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["read"], true);
    }
    // Reading again records nothing more.
    let before = messaging_last(&t.p).await?;
    let (_, position) = receipt(&t.pharmacist, false).await?;
    assert_eq!(messaging_last(&t.p).await?, before, "{position}");

    // The nurse sees who has read it, and that the physician has not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let page = loop {
        let (_, page) = t.timeline(&t.nurse, None).await?;
        if page["items"][0]["readers"].as_array().map_or(0, Vec::len) >= 2 {
            break page;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the receipts never showed: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let post = &page["items"][0];
    assert_eq!(post["mine"], true, "{post}");
    let readers: Vec<&str> = post["readers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["member_id"].as_str())
        .collect();
    assert_eq!(readers, [t.care_manager.id(), t.pharmacist.id()], "{post}");
    let unread: Vec<&str> = post["unread"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["member_id"].as_str())
        .collect();
    assert_eq!(
        unread,
        [t.physician.id()],
        "the physician has not read it: {post}"
    );
    assert_eq!(post["unread"][0]["site_name"], "ひかりクリニック", "{post}");

    // The physician acknowledges with one tap (了解): read and acknowledged.
    let (status, answer) = receipt(&t.physician, true).await?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["acknowledged"], true, "{answer}");
    let position = answer["position"].as_str().unwrap_or_default().to_owned();
    let (_, page) = t.timeline(&t.physician, Some(&position)).await?;
    let post = &page["items"][0];
    assert_eq!(post["acknowledged_by_me"], true, "{post}");
    assert_eq!(post["read_by_me"], true, "{post}");
    assert!(
        post["unread"].as_array().is_some_and(Vec::is_empty),
        "{post}"
    );
    let acknowledged: Vec<&str> = post["readers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["acknowledged"] == true)
        .filter_map(|r| r["member_id"].as_str())
        .collect();
    assert_eq!(acknowledged, [t.physician.id()], "{post}");

    // A member off the team gets no receipt in, and the refusal is recorded; an unknown
    // post answers 404.
    let (status, _) = receipt(&t.stranger, true).await?;
    assert_eq!(status, 403);
    let (status, _) = send(
        t.nurse
            .request(
                &t.p,
                Method::POST,
                &format!(
                    "/api/v1/patients/{}/posts/{}/receipt",
                    t.patient,
                    uuid::Uuid::now_v7()
                ),
            )
            .json(&json!({})),
    )
    .await?;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_joins_the_thread_of_the_post_it_answers_on_the_same_timeline_only()
-> anyhow::Result<()> {
    let t = team().await?;
    let (_, question) = t
        .post(
            &t.care_manager,
            json!({ "text": "担当者会議の日程、火曜でよいですか。", "reply_requested": true }),
        )
        .await?;
    let question_id = text(&question, "post_id")?;
    let (status, answer) = t
        .post(
            &t.nurse,
            json!({ "text": "火曜で大丈夫です。", "reply_to": question_id }),
        )
        .await?;
    assert_eq!(status, 201, "{answer}");
    // A reply to the reply joins the same thread (its first post).
    let (status, again) = t
        .post(
            &t.physician,
            json!({ "text": "午後なら参加できます。", "reply_to": text(&answer, "post_id")? }),
        )
        .await?;
    assert_eq!(status, 201, "{again}");
    let (_, page) = t
        .timeline(&t.pharmacist, Some(&text(&again, "position")?))
        .await?;
    let threads: Vec<(String, Value)> = page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["text"].as_str().unwrap_or_default().to_owned(),
                p["reply_to"].clone(),
            )
        })
        .collect();
    assert_eq!(
        threads,
        [
            ("午後なら参加できます。".to_owned(), json!(question_id)),
            ("火曜で大丈夫です。".to_owned(), json!(question_id)),
            (
                "担当者会議の日程、火曜でよいですか。".to_owned(),
                Value::Null
            ),
        ]
    );
    // A post id of nobody's, or not a post id at all, is refused at the field; nothing stored.
    let before = messaging_last(&t.p).await?;
    for reply_to in [uuid::Uuid::now_v7().to_string(), "not-an-id".to_owned()] {
        let (status, refused) = t
            .post(
                &t.nurse,
                json!({ "text": "宛先のない返信", "reply_to": reply_to }),
            )
            .await?;
        assert_eq!(status, 422, "{refused}");
        assert_eq!(refused["errors"][0]["pointer"], "/reply_to", "{refused}");
    }
    assert_eq!(messaging_last(&t.p).await?, before);
    Ok(())
}

impl Team {
    async fn edit(&self, who: &Member, post: &str, text: &str) -> anyhow::Result<(u16, Value)> {
        send(
            who.request(
                &self.p,
                Method::POST,
                &format!("/api/v1/patients/{}/posts/{post}/edits", self.patient),
            )
            .json(&json!({ "text": text })),
        )
        .await
    }

    async fn retract(&self, who: &Member, post: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        send(
            who.request(
                &self.p,
                Method::POST,
                &format!("/api/v1/patients/{}/posts/{post}/retraction", self.patient),
            )
            .json(&body),
        )
        .await
    }

    async fn history(&self, who: &Member, post: &str) -> anyhow::Result<(u16, Value)> {
        send(who.request(
            &self.p,
            Method::GET,
            &format!("/api/v1/patients/{}/posts/{post}/history", self.patient),
        ))
        .await
    }

    /// The audit log's records of the post, by event type, once `n` of them are there.
    async fn audited(&self, post: &str, n: usize) -> anyhow::Result<Vec<Value>> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (status, page) = send(
                self.auditor
                    .request(&self.p, Method::GET, "/api/v1/audit/records")
                    .query(&[
                        ("kind", "post_written"),
                        ("patient_id", self.patient.as_str()),
                    ]),
            )
            .await?;
            anyhow::ensure!(status == 200, "{page}");
            let found: Vec<Value> = page["records"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["record"]["detail"]["post_id"] == post)
                .cloned()
                .collect();
            if found.len() >= n {
                return Ok(found);
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "{} of {n} records of the post: {page}",
                found.len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_keeps_the_original_and_a_withdrawal_keeps_the_post_marked() -> anyhow::Result<()> {
    let t = team().await?;
    let (status, posted) = t
        .post(&t.nurse, json!({ "text": "右踵に発赤あり" }))
        .await?;
    assert_eq!(status, 201, "{posted}");
    let post = text(&posted, "post_id")?;

    // Only the author edits, with some text; a refusal stores nothing.
    let before = messaging_last(&t.p).await?;
    let (status, answer) = t.edit(&t.pharmacist, &post, "書き換え").await?;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = t.edit(&t.nurse, &post, "  ").await?;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["errors"][0]["pointer"], "/text", "{answer}");
    assert_eq!(messaging_last(&t.p).await?, before, "nothing stored");

    let (status, edited) = t.edit(&t.nurse, &post, "訂正：左踵に発赤あり").await?;
    assert_eq!(status, 201, "{edited}");
    assert_eq!(edited["version"], 2, "{edited}");
    let (status, page) = t
        .timeline(&t.pharmacist, Some(&text(&edited, "position")?))
        .await?;
    assert_eq!(status, 200, "{page}");
    let shown = &page["items"][0];
    assert_eq!(shown["text"], "訂正：左踵に発赤あり", "{shown}");
    assert!(shown["edited_at"].is_string(), "{shown}");

    // The original stays: the team reads every text, first to last, by whom and when.
    let (status, history) = t.history(&t.pharmacist, &post).await?;
    assert_eq!(status, 200, "{history}");
    let versions = history["versions"].as_array().cloned().unwrap_or_default();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(versions[0]["text"], "右踵に発赤あり", "{history}");
    assert_eq!(versions[1]["text"], "訂正：左踵に発赤あり", "{history}");
    assert_eq!(
        versions[0]["written_by"]["member_id"],
        t.nurse.id(),
        "{history}"
    );
    assert!(
        versions[0]["written_by"]["name"].is_string(),
        "by name: {history}"
    );
    // …and nobody off the team does: refused, and recorded.
    let (status, answer) = t.history(&t.stranger, &post).await?;
    assert_eq!(status, 403, "{answer}");
    assert!(!answer.to_string().contains("発赤"), "{answer}");

    // Neither the author nor the secretariat: refused. The secretariat says why.
    let (status, answer) = t.retract(&t.care_manager, &post, json!({})).await?;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = t.retract(&t.secretariat, &post, json!({})).await?;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["errors"][0]["pointer"], "/reason", "{answer}");
    let (status, retracted) = t
        .retract(
            &t.secretariat,
            &post,
            json!({ "reason": "別の患者さんへの投稿でした" }),
        )
        .await?;
    assert_eq!(status, 200, "{retracted}");

    // The post stays, marked, without its text; its history keeps every text.
    let (status, page) = t
        .timeline(&t.pharmacist, Some(&text(&retracted, "position")?))
        .await?;
    assert_eq!(status, 200, "{page}");
    let shown = &page["items"][0];
    assert_eq!(shown["post_id"], post.as_str(), "{shown}");
    assert!(shown["text"].is_null(), "{shown}");
    assert_eq!(
        shown["retraction"]["retracted_by"]["member_id"],
        t.secretariat.id(),
        "{shown}"
    );
    assert_eq!(
        shown["retraction"]["reason"], "別の患者さんへの投稿でした",
        "{shown}"
    );
    let (_, history) = t.history(&t.pharmacist, &post).await?;
    assert_eq!(
        history["versions"][0]["text"], "右踵に発赤あり",
        "{history}"
    );
    assert!(history["retraction"].is_object(), "{history}");

    // A withdrawn post is not edited; withdrawing it again changes nothing.
    let (status, answer) = t.edit(&t.nurse, &post, "再度の訂正").await?;
    assert_eq!(status, 409, "{answer}");
    let before = messaging_last(&t.p).await?;
    let (status, again) = t.retract(&t.nurse, &post, json!({})).await?;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["retracted_at"], retracted["retracted_at"], "{again}");
    assert_eq!(messaging_last(&t.p).await?, before, "nothing stored");

    // The auditor sees the post written, edited and withdrawn, by whom — never its text.
    let records = t.audited(&post, 3).await?;
    let kinds: Vec<&str> = records
        .iter()
        .filter_map(|r| r["record"]["event_type"].as_str())
        .collect();
    for kind in ["PostCreated", "PostEdited", "PostRetracted"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let all = serde_json::to_string(&records)?;
    assert!(!all.contains("発赤") && !all.contains("別の患者"), "{all}");
    Ok(())
}

impl Team {
    async fn search(
        &self,
        who: &Member,
        q: &str,
        after: Option<&str>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = who
            .request(&self.p, Method::GET, "/api/v1/posts/search")
            .query(&[("q", q)]);
        if let Some(position) = after {
            request = request.header("Tsunagu-Min-Position", position);
        }
        send(request).await
    }
}

fn found(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|hit| hit["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_japanese_search_finds_褥瘡_for_the_team_and_nothing_for_anyone_else()
-> anyhow::Result<()> {
    let t = team().await?;
    for text in [
        "本日訪問。仙骨部の褥瘡が悪化。",
        "発熱なし。食事は全量摂取。",
    ] {
        let (status, posted) = t.post(&t.nurse, json!({ "text": text })).await?;
        assert_eq!(status, 201, "{posted}");
    }
    let (_, posted) = t
        .post(&t.nurse, json!({ "text": "ジョクソウ予防のマットを導入" }))
        .await?;
    let last = text(&posted, "position")?;

    // A two-character word, in the middle of a sentence.
    let (status, page) = t.search(&t.pharmacist, "褥瘡", Some(&last)).await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        found(&page),
        vec!["本日訪問。仙骨部の褥瘡が悪化。"],
        "{page}"
    );
    assert_eq!(page["items"][0]["patient_id"], t.patient.as_str(), "{page}");
    assert!(page["items"][0]["author"]["name"].is_string(), "{page}");
    assert!(
        page["items"][0]["patient_name"].is_string(),
        "by name: {page}"
    );
    // Half-width kana finds full-width; every word must be there.
    let (_, page) = t.search(&t.pharmacist, "ｼﾞｮｸｿｳ", None).await?;
    assert_eq!(found(&page), vec!["ジョクソウ予防のマットを導入"], "{page}");
    let (_, page) = t.search(&t.pharmacist, "発熱 全量", None).await?;
    assert_eq!(found(&page).len(), 1, "{page}");
    let (_, page) = t.search(&t.pharmacist, "発熱 褥瘡", None).await?;
    assert!(found(&page).is_empty(), "{page}");

    // One character is no word to search for.
    let (status, answer) = t.search(&t.pharmacist, "褥", None).await?;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(answer["errors"][0]["pointer"], "/q", "{answer}");

    // Someone off the team, the secretariat: nothing.
    for who in [&t.stranger, &t.secretariat] {
        let (status, page) = t.search(who, "褥瘡", None).await?;
        assert_eq!(status, 200, "{page}");
        assert!(found(&page).is_empty(), "{page}");
    }

    // What was found was read: recorded for the patient, by the searcher.
    let records = access_records(&t.p).await?;
    assert!(
        records.iter().any(|r| r.member_id == t.pharmacist.id()
            && r.patient_id == t.patient
            && r.allowed
            && r.route == "messaging.search_posts"),
        "the search's reads are recorded"
    );

    // After a withdrawal, the very next search finds nothing.
    withdraw_consent(&t.p, &t.nurse, &t.patient, &t.consent, None).await?;
    let (status, page) = t.search(&t.pharmacist, "褥瘡", None).await?;
    assert_eq!(status, 200, "{page}");
    assert!(found(&page).is_empty(), "{page}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_care_team_says_whom_to_call_by_name_site_and_phone() -> anyhow::Result<()> {
    let t = team().await?;
    let (status, patient) = send(t.nurse.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/patients/{}", t.patient),
    ))
    .await?;
    assert_eq!(status, 200, "{patient}");
    let seats = patient["team"].as_array().cloned().unwrap_or_default();
    assert_eq!(seats.len(), 4, "{patient}");
    for seat in &seats {
        assert!(seat["site_name"].is_string(), "each site by name: {seat}");
        assert!(
            seat["site_phone"]
                .as_str()
                .is_some_and(|p| p.starts_with('0')),
            "each site's phone: {seat}"
        );
    }
    let named = seats
        .iter()
        .find(|s| s["member"] == t.care_manager.id())
        .expect("the care manager's own seat");
    assert!(named["member_name"].is_string(), "{named}");
    assert_eq!(named["member_profession"], "care_manager", "{named}");
    assert_eq!(named["site_name"], "みずうみ居宅介護支援事業所", "{named}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_addresses_members_of_the_team_by_name_and_nobody_else() -> anyhow::Result<()> {
    let t = team().await?;
    // Whom a post may address: the team now, by name.
    let (status, people) = send(t.nurse.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/patients/{}/team/people", t.patient),
    ))
    .await?;
    assert_eq!(status, 200, "{people}");
    let ids: Vec<&str> = people["people"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["member_id"].as_str())
        .collect();
    for member in [&t.nurse, &t.care_manager, &t.pharmacist, &t.physician] {
        assert!(ids.contains(&member.id()), "{people}");
    }
    assert!(!ids.contains(&t.stranger.id()), "{people}");
    let (status, _) = send(t.stranger.request(
        &t.p,
        Method::GET,
        &format!("/api/v1/patients/{}/team/people", t.patient),
    ))
    .await?;
    assert_eq!(status, 403, "off the team, refused");

    // Someone off the team, or nobody at all: refused at the field, nothing stored.
    let before = messaging_last(&t.p).await?;
    for (mention, field) in [
        (t.stranger.id().to_owned(), "/mentions/0"),
        (uuid::Uuid::now_v7().to_string(), "/mentions/0"),
        ("先生".to_owned(), "/mentions/0"),
    ] {
        let (status, answer) = t
            .post(
                &t.nurse,
                json!({ "text": "ご確認ください", "mentions": [mention] }),
            )
            .await?;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["pointer"], field, "{answer}");
    }
    assert_eq!(messaging_last(&t.p).await?, before, "nothing stored");

    let (status, posted) = t
        .post(
            &t.nurse,
            json!({ "text": "先生、処方の変更をご確認ください", "mentions": [t.physician.id()], "reply_requested": true }),
        )
        .await?;
    assert_eq!(status, 201, "{posted}");
    let position = text(&posted, "position")?;
    let (_, page) = t.timeline(&t.physician, Some(&position)).await?;
    let shown = &page["items"][0];
    assert_eq!(
        shown["mentions"][0]["member_id"],
        t.physician.id(),
        "{shown}"
    );
    assert!(shown["mentions"][0]["name"].is_string(), "by name: {shown}");
    assert_eq!(shown["mentions_me"], true, "{shown}");
    let (_, page) = t.timeline(&t.pharmacist, None).await?;
    assert_eq!(page["items"][0]["mentions_me"], false, "{page}");
    Ok(())
}
