//! Boards (掲示板), end to end with the real binaries through the gateway: the secretariat
//! opens a municipality's boards, each for everyone or for chosen professions; each member
//! sees and reads only the boards meant for them (fire and police only where a board names
//! them), another municipality's boards answer as boards that do not exist, emergency notices
//! are pinned to the top, and a board never carries a patient.

use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{Clock, IZUMO, YOKOHAMA, send, start};
use tsunagu_tests::care::{
    Member, PatientForm, professional, register_patient, secretariat, site_of_kind, text,
};

struct Town {
    p: Platform,
    _clock: Clock,
    secretariat: Member,
    nurse: Member,
    pharmacist: Member,
    fire: Member,
    other_secretariat: Member,
    other_nurse: Member,
    nursing: String,
}

async fn town() -> anyhow::Result<Town> {
    let (p, clock) = start().await?;
    let nursing = site_of_kind(
        &p,
        IZUMO,
        "ひかり訪問看護ステーション",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    let pharmacy = site_of_kind(&p, IZUMO, "つむぎ薬局", "pharmacy", &[]).await?;
    let station = site_of_kind(&p, IZUMO, "出雲市消防本部", "fire", &[]).await?;
    let yokohama = site_of_kind(
        &p,
        YOKOHAMA,
        "みなと訪問看護",
        "home_visit_nursing_station",
        &["13"],
    )
    .await?;
    Ok(Town {
        secretariat: secretariat(&p, &clock, "secretariat.bd", IZUMO).await?,
        nurse: professional(&p, &clock, "nurse.bd", "nurse", &nursing, IZUMO).await?,
        pharmacist: professional(&p, &clock, "pharmacist.bd", "pharmacist", &pharmacy, IZUMO)
            .await?,
        fire: professional(&p, &clock, "fire.bd", "emergency_services", &station, IZUMO).await?,
        other_secretariat: secretariat(&p, &clock, "secretariat.yk", YOKOHAMA).await?,
        other_nurse: professional(&p, &clock, "nurse.yk", "nurse", &yokohama, YOKOHAMA).await?,
        nursing,
        p,
        _clock: clock,
    })
}

impl Town {
    async fn open(&self, by: &Member, board: Value) -> anyhow::Result<(u16, Value)> {
        send(
            by.request(&self.p, Method::POST, "/api/v1/boards")
                .json(&board),
        )
        .await
    }

    async fn boards(&self, who: &Member, after: Option<&str>) -> anyhow::Result<Vec<String>> {
        let mut request = who.request(&self.p, Method::GET, "/api/v1/boards");
        if let Some(position) = after {
            request = request.header("Tsunagu-Min-Position", position);
        }
        let (status, page) = send(request).await?;
        anyhow::ensure!(status == 200, "boards: {page}");
        Ok(page["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b["name"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    async fn read(&self, who: &Member, board: &str) -> anyhow::Result<(u16, Value)> {
        send(who.request(
            &self.p,
            Method::GET,
            &format!("/api/v1/boards/{board}/posts"),
        ))
        .await
    }

    async fn post(&self, who: &Member, board: &str, body: Value) -> anyhow::Result<(u16, Value)> {
        send(
            who.request(
                &self.p,
                Method::POST,
                &format!("/api/v1/boards/{board}/posts"),
            )
            .json(&body),
        )
        .await
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
async fn each_member_sees_the_boards_meant_for_them_and_fire_the_emergency_board_only()
-> anyhow::Result<()> {
    let t = town().await?;
    let (status, nurses) = t
        .open(
            &t.secretariat,
            json!({ "name": "看護師向け", "municipality": IZUMO, "professions": ["nurse"] }),
        )
        .await?;
    assert_eq!(status, 201, "{nurses}");
    let nurses = text(&nurses, "board_id")?;
    let (status, emergency) = t
        .open(
            &t.secretariat,
            json!({ "name": "緊急のお知らせ", "municipality": IZUMO, "fire_and_police": true,
                    "description": "災害・感染症・通行止めなどの緊急情報" }),
        )
        .await?;
    assert_eq!(status, 201, "{emergency}");
    let emergency = text(&emergency, "board_id")?;
    let (status, sites) = t
        .open(
            &t.secretariat,
            json!({ "name": "事業所のお知らせ", "municipality": IZUMO, "sites": [t.nursing] }),
        )
        .await?;
    assert_eq!(status, 201, "{sites}");
    let last_opened = text(&sites, "position")?;
    let sites = text(&sites, "board_id")?;

    let after = Some(last_opened.as_str());
    assert_eq!(
        t.boards(&t.nurse, after).await?,
        ["看護師向け", "緊急のお知らせ", "事業所のお知らせ"]
    );
    assert_eq!(t.boards(&t.pharmacist, after).await?, ["緊急のお知らせ"]);
    assert_eq!(t.boards(&t.fire, after).await?, ["緊急のお知らせ"]);
    assert!(t.boards(&t.other_nurse, after).await?.is_empty());

    // A board not meant for you answers as one that does not exist, and takes no post.
    for (who, board) in [
        (&t.pharmacist, &nurses),
        (&t.fire, &sites),
        (&t.other_nurse, &emergency),
        (&t.other_secretariat, &emergency),
    ] {
        let (status, answer) = t.read(who, board).await?;
        assert_eq!(status, 404, "{answer}");
        let (nobody, none) = t.read(who, &uuid::Uuid::now_v7().to_string()).await?;
        assert_eq!(
            (status, answer["detail"].clone()),
            (nobody, none["detail"].clone())
        );
        let (status, _) = t
            .post(who, board, json!({ "text": "見えないはず" }))
            .await?;
        assert_eq!(status, 404);
    }

    // The site board names its site by name.
    let (_, page) = t.read(&t.nurse, &sites).await?;
    assert_eq!(
        page["board"]["sites"][0]["name"], "ひかり訪問看護ステーション",
        "{page}"
    );
    assert_eq!(page["board"]["everyone"], false);

    // Fire posts a road closure where it reads; the nurse and the pharmacist read it, by name.
    let (status, closure) = t
        .post(
            &t.fire,
            &emergency,
            json!({ "text": "国道9号 塩冶町付近 12月8日 9時〜17時 通行止め", "kind": "road_closure" }),
        )
        .await?;
    assert_eq!(status, 201, "{closure}");
    let (status, page) = send(
        t.pharmacist
            .request(
                &t.p,
                Method::GET,
                &format!("/api/v1/boards/{emergency}/posts"),
            )
            .header("Tsunagu-Min-Position", text(&closure, "position")?),
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    let shown = &page["items"][0];
    assert_eq!(shown["kind"], "road_closure", "{page}");
    assert_eq!(shown["author"]["profession"], "emergency_services");
    assert_eq!(shown["author"]["site_name"], "出雲市消防本部");
    assert_eq!(page["board"]["fire_and_police"], true);

    // A search over the boards each may read: 通行止め (two kanji pairs) is found under its
    // board's name; a nurses' note is found by a nurse and never by the pharmacist.
    let (status, note) = t
        .post(
            &t.nurse,
            &nurses,
            json!({ "text": "吸引器の貸し出し、通行止めの間は本部で受け付けます" }),
        )
        .await?;
    assert_eq!(status, 201, "{note}");
    let search = |who: &Member, q: &str| {
        let request = who
            .request(&t.p, Method::GET, "/api/v1/boards/search")
            .query(&[("q", q)])
            .header(
                "Tsunagu-Min-Position",
                text(&note, "position").unwrap_or_default(),
            );
        async move { send(request).await }
    };
    let (status, found) = search(&t.pharmacist, "通行止め").await?;
    assert_eq!(status, 200, "{found}");
    let hits = found["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        hits.len(),
        1,
        "the pharmacist finds only the emergency board's post: {found}"
    );
    assert_eq!(hits[0]["board_name"], "緊急のお知らせ");
    assert_eq!(hits[0]["post"]["kind"], "road_closure");
    let (_, found) = search(&t.nurse, "ツウコウドメ 通行止め").await?;
    assert!(
        found["items"].as_array().is_some_and(|h| h.is_empty()),
        "every word must be held: {found}"
    );
    let (_, found) = search(&t.nurse, "通行止め").await?;
    assert_eq!(found["items"].as_array().map(Vec::len), Some(2), "{found}");
    assert_eq!(
        found["items"][0]["board_name"], "看護師向け",
        "newest first: {found}"
    );
    let (_, found) = search(&t.other_nurse, "通行止め").await?;
    assert!(
        found["items"].as_array().is_some_and(|h| h.is_empty()),
        "another municipality finds nothing: {found}"
    );
    let (status, refused) = search(&t.nurse, "止").await?;
    assert_eq!(status, 422, "{refused}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_notice_is_pinned_to_the_top_by_the_secretariat_only() -> anyhow::Result<()> {
    let t = town().await?;
    let (_, board) = t
        .open(
            &t.secretariat,
            json!({ "name": "お知らせ", "municipality": IZUMO }),
        )
        .await?;
    let board = text(&board, "board_id")?;
    let (status, notice) = t
        .post(
            &t.nurse,
            &board,
            json!({ "text": "大雪のため明日の訪問は午後からになります", "kind": "emergency" }),
        )
        .await?;
    assert_eq!(status, 201, "{notice}");
    let notice = text(&notice, "post_id")?;
    let (status, question) = t
        .post(
            &t.pharmacist,
            &board,
            json!({ "text": "在宅の吸入指導ができる薬局を教えてください", "kind": "question" }),
        )
        .await?;
    assert_eq!(status, 201, "{question}");
    let question = text(&question, "post_id")?;
    let (status, reply) = t
        .post(
            &t.nurse,
            &board,
            json!({ "text": "つむぎ薬局さんが対応されています", "reply_to": question }),
        )
        .await?;
    assert_eq!(status, 201, "{reply}");

    let pin = |who: &Member, pinned: bool| {
        send(
            who.request(
                &t.p,
                Method::POST,
                &format!("/api/v1/boards/{board}/posts/{notice}/pin"),
            )
            .json(&json!({ "pinned": pinned })),
        )
    };
    // The nurse may not pin (the door); another municipality's secretariat finds no board.
    assert_eq!(pin(&t.nurse, true).await?.0, 403);
    assert_eq!(pin(&t.other_secretariat, true).await?.0, 404);
    let (status, pinned) = pin(&t.secretariat, true).await?;
    assert_eq!(status, 200, "{pinned}");
    assert_eq!(pinned["pinned"], true);

    let (status, page) = send(
        t.pharmacist
            .request(&t.p, Method::GET, &format!("/api/v1/boards/{board}/posts"))
            .header("Tsunagu-Min-Position", text(&pinned, "position")?),
    )
    .await?;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["pinned"][0]["post_id"], notice.as_str(), "{page}");
    assert_eq!(page["pinned"][0]["kind"], "emergency");
    assert_eq!(
        page["items"][0]["reply_to"],
        question.as_str(),
        "newest first: {page}"
    );
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    assert_eq!(page["board"]["manage"], false);

    // Unpinned, it is in its place only.
    let (status, unpinned) = pin(&t.secretariat, false).await?;
    assert_eq!(status, 200, "{unpinned}");
    let (_, page) = send(
        t.secretariat
            .request(&t.p, Method::GET, &format!("/api/v1/boards/{board}/posts"))
            .header("Tsunagu-Min-Position", text(&unpinned, "position")?),
    )
    .await?;
    assert_eq!(page["pinned"], json!([]), "{page}");
    assert_eq!(page["board"]["manage"], true);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_board_never_carries_a_patient_and_bad_boards_are_refused_at_their_field()
-> anyhow::Result<()> {
    let t = town().await?;
    let (_, board) = t
        .open(
            &t.secretariat,
            json!({ "name": "お知らせ", "municipality": IZUMO }),
        )
        .await?;
    let board_id = text(&board, "board_id")?;
    let patient = register_patient(
        &t.p,
        &t.secretariat,
        &PatientForm::new("掲示板", IZUMO),
        None,
    )
    .await?;
    let before = messaging_last(&t.p).await?;
    for (body, field) in [
        (
            json!({ "text": "この患者さんについて", "patient_id": patient }),
            "/patient_id",
        ),
        (json!({ "text": "  " }), "/text"),
        (json!({ "text": "x", "kind": "gossip" }), "/kind"),
        (
            json!({ "text": "x", "reply_to": uuid::Uuid::now_v7() }),
            "/reply_to",
        ),
    ] {
        let (status, answer) = t.post(&t.nurse, &board_id, body).await?;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["pointer"], field, "{answer}");
    }
    for (body, field) in [
        (json!({ "name": "", "municipality": IZUMO }), "/name"),
        (
            json!({ "name": "x", "municipality": IZUMO, "professions": ["wizard"] }),
            "/professions/0",
        ),
        (
            json!({ "name": "x", "municipality": YOKOHAMA }),
            "/municipality",
        ),
        (
            json!({ "name": "x", "municipality": IZUMO, "professions": ["nurse"], "fire_and_police": true }),
            "/fire_and_police",
        ),
    ] {
        let (status, answer) = t.open(&t.secretariat, body).await?;
        assert_eq!(status, 422, "{answer}");
        assert_eq!(answer["errors"][0]["pointer"], field, "{answer}");
    }
    // A region-wide board is the operator's.
    let (status, _) = t.open(&t.secretariat, json!({ "name": "全域" })).await?;
    assert_eq!(status, 403);
    assert_eq!(messaging_last(&t.p).await?, before, "nothing stored");
    let (status, region) = send(
        t.p.operator(Method::POST, "/api/v1/boards")
            .json(&json!({ "name": "圏域のお知らせ" })),
    )
    .await?;
    assert_eq!(status, 201, "{region}");
    assert!(
        t.boards(&t.other_nurse, Some(&text(&region, "position")?))
            .await?
            .contains(&"圏域のお知らせ".to_owned()),
        "a region-wide board is read in every municipality"
    );
    Ok(())
}
