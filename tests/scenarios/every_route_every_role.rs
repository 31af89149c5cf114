//! Tenancy and authorization on every route, proven from outside with the real binaries:
//!
//! - **The matrix**: every declared route (the gateway's own declarations, read from the
//!   same list the gateway mounts) called as every demo role — the operator, an auditor, the
//!   secretariat, the coordination centre, the community support centre, a site admin, each
//!   profession on a patient's team, a professional off the team, and someone signed out —
//!   once with ids of 出雲市's real objects (their own municipality) and once with 横浜市's
//!   (another one). Each cell's answer is held to the table below, written apart from the
//!   declarations: a route whose door changed, or was removed, fails here, and a route
//!   with no row fails too. A refusal is 401 (signed out), 403 or 404 with problem details
//!   that carry nothing of the other municipality: no name, no id, no record.
//! - **Object level**: for every id in a path, an id of the same kind from the other
//!   municipality answers exactly as an id that does not exist.
//! - **Mass assignment**: no write route lets a caller set what is not theirs to set.
//! - **Rates**: a burst of 64 clients over the limit per member or per address is answered
//!   429 with `Retry-After`, never a 5xx or a dropped connection.
//!
//! Writes in the matrix carry a JSON object with a field no body has: the door answers before the body is
//! read (a caller let through gets 422 and nothing changes), so the matrix can run every
//! cell on one region. Writes without a body act, on objects made for them. What a service
//! decides about the object itself — reads here, writes in the object-level test — runs
//! with real ids and real bodies.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use doors::{Door, Method as Verb, Object};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::Platform;
use tsunagu_tests::accounts::{
    Clock, IZUMO, START, YOKOHAMA, municipality_named, send, start_with,
};
use tsunagu_tests::care::{
    Member, PatientForm, add_seat, all_sites_except, attach_document, auditor, consent_form,
    grant_consent, member, pdf, read_record, register_patient, secretariat, text, upload,
};

const ALL: &[&str] = &[
    "care_records",
    "medication",
    "lab_results",
    "documents",
    "care_plan",
    "photos_video",
];

/// The professions of the demo region on a patient's team: (profession, the site kind they
/// work at). Fire and police work at their own stations, never on a team.
const PROFESSIONS: &[(&str, &str)] = &[
    ("physician", "clinic"),
    ("dentist", "dental"),
    ("dental_hygienist", "dental"),
    ("pharmacist", "pharmacy"),
    ("nurse", "nursing"),
    ("physical_therapist", "nursing"),
    ("occupational_therapist", "nursing"),
    ("speech_therapist", "nursing"),
    ("dietitian", "clinic"),
    ("care_manager", "office"),
    ("care_worker", "day"),
    ("emergency_services", "fire"),
    ("police", "police"),
];

/// The professions that may break the glass (the clinical ones).
const CLINICAL: &[&str] = &[
    "physician",
    "dentist",
    "dental_hygienist",
    "pharmacist",
    "nurse",
    "physical_therapist",
    "occupational_therapist",
    "speech_therapist",
];

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Who {
    Operator,
    Auditor,
    Secretariat,
    Coordinator,
    SupportCentre,
    SiteAdmin,
    Pro(&'static str),
    OffTeam,
    SignedOut,
}

impl Who {
    fn member(self) -> bool {
        !matches!(self, Who::Operator | Who::SignedOut)
    }
    /// Every person signed in as a member, auditors aside.
    fn people(self) -> bool {
        self.member() && self != Who::Auditor
    }
    /// Those who sit on patients' teams (fire and police never reach patient data).
    fn care(self) -> bool {
        match self {
            Who::SupportCentre | Who::OffTeam => true,
            Who::Pro(p) => !matches!(p, "emergency_services" | "police"),
            _ => false,
        }
    }
    /// On the patient's team of their municipality.
    fn on_team(self) -> bool {
        self.care() && self != Who::OffTeam
    }
    fn clinical(self) -> bool {
        match self {
            Who::Pro(p) => CLINICAL.contains(&p),
            Who::OffTeam => true,
            _ => false,
        }
    }
    /// Works at the nursing station, which holds the side's file.
    fn at_nursing(self) -> bool {
        matches!(
            self,
            Who::SiteAdmin
                | Who::Pro(
                    "nurse" | "physical_therapist" | "occupational_therapist" | "speech_therapist"
                )
        )
    }
    /// Sees the whole region (the records of both municipalities are theirs to read).
    fn region(self) -> bool {
        matches!(self, Who::Operator | Who::Auditor)
    }
}

/// Which of the two municipalities' objects a cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Own,
    Other,
}

/// Does the route let `who` through about `side`'s objects? `None`: the route has no row.
fn through(operation: &str, who: Who, side: Side) -> Option<bool> {
    use Who::*;
    let own = side == Side::Own;
    let operator = who == Operator;
    let people = operator || who.people();
    Some(match operation {
        // Open: liveness, the keys, the document, joining and signing in.
        "healthz"
        | "readyz"
        | "openapi"
        | "jwks"
        | "activate"
        | "confirm_second_factor"
        | "sign_in"
        | "refresh"
        | "self_register"
        | "client_token" => true,
        // One's own account.
        "me" => who.member(),
        // The first call (about the other town's objects, though it names none) ends the
        // session; the second is refused with it.
        "sign_out" => who.member() && side == Side::Other,
        // After sign-out (it comes last but one), the caller's sessions are over: refused.
        // What it ends is tested with two live sessions (lists_and_browser_sessions).
        "sign_out_everywhere" => false,
        // One's own list: every member has one (the operator's credential is no member's);
        // each patient on it is the decision's.
        "my_patients" => who.member(),
        // A search of one's own patients' timelines (none for those on no team).
        "search_posts" => who.member(),
        // A municipality's patients, registration data only: its secretariat.
        "municipality_patients" => operator || (own && who == Secretariat),
        // The register: the operator writes, the region's people read.
        "register_municipality"
        | "rename_municipality"
        | "add_area"
        | "remove_area"
        | "form_group"
        | "join_group"
        | "leave_group"
        | "register_integrator"
        | "rotate_signing_key" => operator,
        "list_municipalities"
        | "get_municipality"
        | "list_groups"
        | "get_group"
        | "list_organisations"
        | "get_organisation"
        | "list_sites"
        | "get_site" => people,
        // The directory: the operator and the secretariat (the service keeps it to its own).
        "register_organisation"
        | "rename_organisation"
        | "register_site"
        | "replace_site_details" => operator || who == Secretariat,
        "close_site" => operator || (who == Secretariat && own),
        // Members.
        "invite" | "deactivate" | "change_roles" => {
            operator || matches!(who, Secretariat | SiteAdmin)
        }
        // The member asked about is the town's nurse: themself, to the nurse.
        "get_member" => operator || (own && matches!(who, Secretariat | SiteAdmin | Pro("nurse"))),
        "reset_credentials" => operator || who == Secretariat,
        "verify_member" => operator || (own && who == Coordinator),
        "list_members_of_municipality" => operator || (own && who == Secretariat),
        "create_join_link" => operator || who == Coordinator,
        // Patients: commands pass the door by role, the service decides the patient.
        "register_patient" | "move_patient" | "certify_care_level" | "end_care"
        | "withdraw_consent" | "add_team_member" | "remove_team_member" | "set_contact_24h"
        | "add_family_contact" => operator || who.care() || who == Secretariat,
        "record_consent" | "amend_consent" | "attach_document" | "create_post" | "edit_post" => {
            operator || who.care()
        }
        "verify_consent" | "reject_consent" | "erase_patient" => operator || who == Secretariat,
        "open_break_glass" => operator || who.clinical(),
        "remove_family_contact" => {
            operator || (own && matches!(who, Secretariat | SupportCentre | Pro("care_manager")))
        }
        // Patient reads: the one access decision.
        "get_patient" => {
            operator || who == Auditor || (own && (who == Secretariat || who.on_team()))
        }
        "read_record" | "document_content" | "read_timeline" | "post_history" | "team_people"
        | "post_attachment" => own && who.on_team(),
        // A receipt is a read decided by the service: the door lets every signed-in caller
        // through, and the matrix's body stops them there.
        "record_receipt" => who != SignedOut,
        // So is a withdrawal: its author's, or the secretariat's, as the service decides.
        "retract_post" => who != SignedOut,
        "who_could_see" => who == Auditor || operator || (own && who == Secretariat),
        // The audit log: the operator's credential is not a member's, and reads nothing.
        "query_records" | "checkpoints" | "consistency_proof" => {
            matches!(who, Auditor | Secretariat | SiteAdmin)
        }
        "patient_report" => matches!(who, Auditor | Secretariat),
        "leak_report" | "verify" | "start_verification" | "replay" => who == Auditor,
        "monthly_review" => who == Auditor || (own && who == Secretariat),
        "inclusion_proof" => who == Auditor || (own && matches!(who, Secretariat | SiteAdmin)),
        "break_glass_alerts" => matches!(who, Auditor | Coordinator),
        // Boards: opened and pinned by the secretariat and the coordination centre (the
        // service keeps each to its own municipality); read and posted to by the people of
        // their municipality, fire and police only where a board names them (the town's
        // board is for everyone).
        "open_board" | "pin_board_post" => operator || matches!(who, Secretariat | Coordinator),
        "list_boards" | "post_to_board" | "search_boards" => people,
        "read_board" => {
            operator
                || (own && who.people() && !matches!(who, Pro("emergency_services" | "police")))
        }
        // Broadcasts: the coordination centre sends and reviews, site admins submit and
        // revise (the service keeps each to its own municipality and its own submissions);
        // every person but auditors receives.
        "send_broadcast" | "broadcast_submissions" => {
            operator || matches!(who, Coordinator | SiteAdmin)
        }
        "received_broadcasts" => people,
        "broadcast_history" => operator || (own && matches!(who, Coordinator | SiteAdmin)),
        "review_broadcast" => operator || who == Coordinator,
        "revise_broadcast" => operator || who == SiteAdmin,
        // Consultations: members open them with their coordination centre; the service keeps
        // each to its asker (the town's nurse) and the centre of its municipality.
        "open_consultation" | "list_consultations" | "answer_consultation" => people,
        "read_consultation" | "close_consultation" => {
            operator || (own && matches!(who, Coordinator | Pro("nurse")))
        }
        "assign_consultation" => operator || who == Coordinator,
        // The resource directory: every person reads their municipality's statuses (the
        // service answers another's site as none); a site's status is said by its staff (the
        // town's nursing station) and by site admins (the service holds them to their
        // organisation's sites — the door cannot see which organisation runs a site).
        "list_availability" | "list_listings" => people,
        // A listing: the secretariat and site admins (the service keeps each to its
        // municipality, and a site admin to their organisation's sites).
        "change_listing" => operator || matches!(who, Secretariat | SiteAdmin),
        "site_availability" => operator || (own && who.people()),
        "update_availability" => operator || who == SiteAdmin || (own && who.at_nursing()),
        // Files: members of the region upload; only holders download.
        "upload" => who.people(),
        "download" => own && who.at_nursing(),
        _ => return None,
    })
}

/// One municipality's people and objects.
struct Town {
    code: &'static str,
    organisation: String,
    site: BTreeMap<&'static str, String>,
    people: Vec<(Who, Member)>,
    patient: String,
    patient_form: PatientForm,
    consent: String,
    seat: String,
    /// Family contacts to remove, one a cell.
    contacts: Vec<String>,
    document: String,
    post: String,
    board: String,
    board_post: String,
    broadcast: String,
    consultation: String,
    file: String,
    area: String,
    group: String,
    /// A record of this town's nurse under a signed checkpoint.
    record: u64,
}

impl Town {
    fn member(&self, who: Who) -> &Member {
        &self
            .people
            .iter()
            .find(|(w, _)| *w == who)
            .expect("a member")
            .1
    }

    /// What another municipality must never be shown: its patient and their personal data,
    /// its members, the patient's consent, seats, contacts and documents.
    fn secrets(&self) -> Vec<String> {
        let mut out = vec![
            self.patient.clone(),
            self.consent.clone(),
            self.seat.clone(),
            self.document.clone(),
            self.post.clone(),
            self.board.clone(),
            self.board_post.clone(),
            self.broadcast.clone(),
            self.consultation.clone(),
            self.patient_form.name.clone(),
            self.patient_form.address.clone(),
            self.patient_form.insured_number.clone(),
        ];
        out.extend(self.contacts.iter().cloned());
        out.extend(self.people.iter().map(|(_, m)| m.id().to_owned()));
        out
    }
}

struct World {
    p: Platform,
    auditor: Member,
    izumo: Town,
    yokohama: Town,
    /// The size of the first signed checkpoint (for consistency proofs).
    first_checkpoint: u64,
}

async fn world() -> anyhow::Result<World> {
    let (p, clock) = start_with(&[
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "0"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "0"),
        ("TSUNAGU_AUDIT_CHECKPOINT_RECORDS", "50"),
    ])
    .await?;
    municipality_named(&p, IZUMO).await?;
    let auditor = auditor(&p, &clock, "matrix.auditor", IZUMO).await?;
    let izumo = town(&p, &clock, IZUMO, "izumo").await?;
    let yokohama = town(&p, &clock, YOKOHAMA, "yokohama").await?;
    let mut w = World {
        p,
        auditor,
        izumo,
        yokohama,
        first_checkpoint: 0,
    };
    // The log: each town's nurse read their patient, under a signed checkpoint; a walk of
    // the log has run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let (_, body) = send(
            w.auditor
                .request(&w.p, Method::GET, "/api/v1/audit/checkpoints"),
        )
        .await?;
        let sizes: Vec<u64> = body["checkpoints"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|c| c["checkpoint"]["body"]["tree_size"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        let covered = sizes.iter().copied().max().unwrap_or(0);
        let mut found = Vec::new();
        for town in [&w.izumo, &w.yokohama] {
            let nurse = town.member(Who::Pro("nurse")).id().to_owned();
            let (_, page) = send(
                w.auditor
                    .request(&w.p, Method::GET, "/api/v1/audit/records")
                    .query(&[("member_id", nurse.as_str()), ("kind", "patient_access")]),
            )
            .await?;
            found.push(
                page["records"]
                    .as_array()
                    .and_then(|r| r.first())
                    .and_then(|r| r["record"]["seq"].as_u64())
                    .filter(|seq| *seq < covered),
            );
        }
        if let [Some(i), Some(y)] = found[..] {
            w.izumo.record = i;
            w.yokohama.record = y;
            w.first_checkpoint = sizes.iter().copied().min().unwrap_or(1);
            break;
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "no checkpoint over both nurses' reads: {sizes:?} {found:?}"
        );
        // More records, so that a checkpoint is signed.
        for town in [&w.izumo, &w.yokohama] {
            read_record(
                &w.p,
                town.member(Who::Pro("physician")),
                &town.patient,
                &["care_records"],
                "care",
            )
            .await?;
        }
    }
    let (status, run) = send(
        w.auditor
            .request(&w.p, Method::POST, "/api/v1/audit/verification"),
    )
    .await?;
    anyhow::ensure!(status == 202, "a walk of the log: {run}");
    Ok(w)
}

/// A site of `kind` of the town's organisation.
async fn site(
    p: &Platform,
    organisation: &str,
    code: &str,
    name: &str,
    kind: &str,
    service_types: &[&str],
) -> anyhow::Result<(String, String)> {
    let (status, site) = send(
        p.operator(
            Method::POST,
            &format!("/api/v1/organisations/{organisation}/sites"),
        )
        .json(&json!({
            "name": name, "name_kana": "ジギョウショ", "kind": kind,
            "service_types": service_types, "home_municipality": code,
            "address": format!("{name} 1-1"), "phone": "0853-00-0000"
        })),
    )
    .await?;
    anyhow::ensure!(status == 201, "site {name}: {site}");
    Ok((text(&site, "site_id")?, text(&site, "position")?))
}

async fn town(
    p: &Platform,
    clock: &Clock,
    code: &'static str,
    prefix: &str,
) -> anyhow::Result<Town> {
    municipality_named(p, code).await?;
    let (status, org) = send(p.operator(Method::POST, "/api/v1/organisations").json(&json!({
        "name": format!("医療法人 {prefix}会"), "name_kana": "イリョウホウジン", "kind": "medical_corporation",
        "home_municipality": code
    })))
    .await?;
    anyhow::ensure!(status == 201, "organisation: {org}");
    let organisation = text(&org, "organisation_id")?;
    let mut sites = BTreeMap::new();
    let mut position = String::new();
    for (key, kind, types) in [
        ("office", "care_management_office", &["43"][..]),
        ("nursing", "home_visit_nursing_station", &["13"][..]),
        ("clinic", "clinic", &[][..]),
        ("dental", "dental_clinic", &[][..]),
        ("pharmacy", "pharmacy", &[][..]),
        ("day", "day_service", &["15"][..]),
        ("support", "community_general_support_centre", &[][..]),
        ("coordination", "coordination_centre", &[][..]),
        ("fire", "fire", &[][..]),
        ("police", "police", &[][..]),
        ("off_team", "home_visit_nursing_station", &["13"][..]),
        ("closing", "other", &[][..]),
    ] {
        let (id, at) = site(
            p,
            &organisation,
            code,
            &format!("{prefix} {key}"),
            kind,
            types,
        )
        .await?;
        sites.insert(key, id);
        position = at;
    }
    // Read-your-writes: the directory holds every site before members join them.
    let (status, read) = send(
        p.operator(Method::GET, &format!("/api/v1/sites/{}", sites["closing"]))
            .header("Tsunagu-Min-Position", position),
    )
    .await?;
    anyhow::ensure!(status == 200, "the last site: {read}");

    let mut people = vec![(
        Who::Secretariat,
        secretariat(p, clock, &format!("{prefix}.secretariat"), code).await?,
    )];
    for (who, role, profession, at) in [
        (
            Who::Coordinator,
            "coordination_centre_staff",
            "medical_social_worker",
            "coordination",
        ),
        (
            Who::SupportCentre,
            "community_support_centre_staff",
            "chief_care_manager",
            "support",
        ),
        (Who::SiteAdmin, "site_admin", "clerical_staff", "nursing"),
        (Who::OffTeam, "professional", "nurse", "off_team"),
    ] {
        let m = member(
            p,
            clock,
            &format!("{prefix}.{role}"),
            &[role],
            profession,
            Some(&sites[at]),
            code,
        )
        .await?;
        people.push((who, m));
    }
    for (profession, at) in PROFESSIONS {
        let m = member(
            p,
            clock,
            &format!("{prefix}.{profession}"),
            &["professional"],
            profession,
            Some(&sites[at]),
            code,
        )
        .await?;
        people.push((Who::Pro(profession), m));
    }
    let of = |who: Who| &people.iter().find(|(w, _)| *w == who).expect("a member").1;
    let care_manager = of(Who::Pro("care_manager"));
    let nurse = of(Who::Pro("nurse"));

    let patient_form = PatientForm::new(&format!("{prefix}表"), code);
    let patient = register_patient(p, care_manager, &patient_form, Some(&sites["office"])).await?;
    add_seat(
        p,
        care_manager,
        &patient,
        &sites["office"],
        Some(care_manager.id()),
        "care_manager",
    )
    .await?;
    let mut seat = String::new();
    for (at, part) in [
        ("nursing", "visiting_nurse"),
        ("clinic", "home_doctor"),
        ("dental", "dentist"),
        ("pharmacy", "pharmacy"),
        ("day", "day_service"),
        ("support", "community_support_centre"),
    ] {
        let id = add_seat(p, care_manager, &patient, &sites[at], None, part).await?;
        if at == "nursing" {
            seat = id;
        }
    }
    let consent = grant_consent(
        p,
        care_manager,
        of(Who::Secretariat),
        &patient,
        &consent_form(all_sites_except(&[]), ALL, &sites["office"], "2026-10-01"),
    )
    .await?;
    let mut contacts = Vec::new();
    for i in 0..20 {
        let (status, added) = send(
            care_manager
                .request(
                    p,
                    Method::POST,
                    &format!("/api/v1/patients/{patient}/family-contacts"),
                )
                .json(&json!({
                    "name": format!("家族 {prefix}{i}"), "relationship": "child",
                    "phone": "090-0000-0000"
                })),
        )
        .await?;
        anyhow::ensure!(status == 201, "a family contact: {added}");
        contacts.push(text(&added, "contact_id")?);
    }
    let file = upload(p, nurse, pdf(&format!("{prefix} 退院時サマリー"))).await?;
    let (status, attached) =
        attach_document(p, nurse, &patient, "documents", &file, "退院時サマリー").await?;
    anyhow::ensure!(status == 201, "a document: {attached}");
    let document = text(&attached, "document_id")?;
    let (status, read) = read_record(p, nurse, &patient, &["care_records"], "care").await?;
    anyhow::ensure!(status == 200, "the nurse reads: {read}");
    let (status, posted) = send(
        nurse
            .request(
                p,
                Method::POST,
                &format!("/api/v1/patients/{patient}/posts"),
            )
            .json(&json!({ "text": format!("{prefix} 本日訪問、変わりなし。"), "attachments": [file] })),
    )
    .await?;
    anyhow::ensure!(status == 201, "a post: {posted}");
    let post = text(&posted, "post_id")?;
    // The town's board, for everyone, with one notice on it.
    let (status, opened) = send(
        of(Who::Secretariat)
            .request(p, Method::POST, "/api/v1/boards")
            .json(&json!({ "name": format!("{prefix} お知らせ"), "municipality": code })),
    )
    .await?;
    anyhow::ensure!(status == 201, "a board: {opened}");
    let board = text(&opened, "board_id")?;
    let (status, noticed) = send(
        nurse
            .request(p, Method::POST, &format!("/api/v1/boards/{board}/posts"))
            .json(&json!({ "text": format!("{prefix} 研修会のお知らせ") })),
    )
    .await?;
    anyhow::ensure!(status == 201, "a board post: {noticed}");
    let board_post = text(&noticed, "post_id")?;
    // A site's broadcast, waiting for the coordination centre's review.
    let (status, submitted) = send(
        of(Who::SiteAdmin)
            .request(p, Method::POST, "/api/v1/broadcasts")
            .json(
                &json!({ "municipality": code, "title": format!("{prefix} 研修会"),
                           "text": "1月15日 18時から" }),
            ),
    )
    .await?;
    anyhow::ensure!(status == 201, "a broadcast: {submitted}");
    let broadcast = text(&submitted, "broadcast_id")?;
    // The nurse's consultation with the coordination centre, about the patient.
    let (status, opened) = send(
        nurse
            .request(p, Method::POST, "/api/v1/consultations")
            .json(&json!({ "subject": format!("{prefix} 退院調整"), "text": "訪問看護の開始時期について",
                           "patient_id": patient })),
    )
    .await?;
    anyhow::ensure!(status == 201, "a consultation: {opened}");
    let consultation = text(&opened, "consultation_id")?;

    let area = format!("{prefix}-area");
    let (status, body) = send(
        p.operator(Method::POST, &format!("/api/v1/municipalities/{code}/areas"))
            .json(&json!({ "area_id": area, "kind": "daily_life_area", "name": "北", "name_kana": "キタ" })),
    )
    .await?;
    anyhow::ensure!(status == 201, "an area: {body}");
    let group = format!("{prefix}-group");
    let (status, body) = send(p.operator(Method::POST, "/api/v1/municipality-groups").json(
        &json!({ "group_id": group, "kind": "other", "name": "連携", "name_kana": "レンケイ", "members": [code] }),
    ))
    .await?;
    anyhow::ensure!(status == 201, "a group: {body}");
    Ok(Town {
        code,
        organisation,
        site: sites,
        people,
        patient,
        patient_form,
        consent,
        seat,
        contacts,
        document,
        post,
        board,
        board_post,
        broadcast,
        consultation,
        file,
        area,
        group,
        record: 0,
    })
}

/// A request to one route, as one cell of the matrix makes it.
struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Body>,
}

enum Body {
    Json(Value),
    Bytes(&'static str, Vec<u8>),
}

impl World {
    fn town(&self, side: Side) -> &Town {
        match side {
            Side::Own => &self.izumo,
            Side::Other => &self.yokohama,
        }
    }

    /// The callers of the matrix, from 出雲市 (the auditor's reach is the region).
    fn callers(&self) -> Vec<(Who, Option<&Member>)> {
        let mut out = vec![(Who::Operator, None), (Who::Auditor, Some(&self.auditor))];
        out.extend(self.izumo.people.iter().map(|(w, m)| (*w, Some(m))));
        out.push((Who::SignedOut, None));
        out
    }

    /// The request `route` makes about `side`'s objects; `contact` is the family contact
    /// this cell may remove.
    fn call(
        &self,
        route: &dyn doors::Declaration,
        side: Side,
        contact: &mut usize,
        json_body: bool,
    ) -> Call {
        let town = self.town(side);
        let meta = route.meta();
        let mut path = meta.path.to_owned();
        for id in route.ids() {
            let value = match id.object {
                Object::Municipality => town.code.to_owned(),
                Object::Area => town.area.clone(),
                Object::MunicipalityGroup => town.group.clone(),
                Object::Organisation => town.organisation.clone(),
                Object::Site if meta.operation_id == "close_site" => town.site["closing"].clone(),
                Object::Site => town.site["nursing"].clone(),
                Object::Member => town.member(Who::Pro("nurse")).id().to_owned(),
                Object::Patient => town.patient.clone(),
                Object::Consent => town.consent.clone(),
                Object::TeamSeat => town.seat.clone(),
                Object::FamilyContact => {
                    *contact += 1;
                    town.contacts[(*contact - 1) % town.contacts.len()].clone()
                }
                Object::Document => town.document.clone(),
                Object::Post => town.post.clone(),
                Object::Board => town.board.clone(),
                Object::BoardPost => town.board_post.clone(),
                Object::Broadcast => town.broadcast.clone(),
                Object::Consultation => town.consultation.clone(),
                Object::File => town.file.clone(),
                Object::Month => "2026-10".to_owned(),
            };
            path = path.replace(&format!("{{{}}}", id.name), &value);
        }
        let nurse = town.member(Who::Pro("nurse")).id().to_owned();
        let query = match meta.operation_id {
            "read_record" => vec![("categories", "care_records".to_owned())],
            "who_could_see" => vec![
                ("at", START.to_owned()),
                ("reading", "in_force_as_known_today".to_owned()),
            ],
            // Not a time: a caller let through is refused at the query, and the seat stays.
            "remove_team_member" => vec![("effective_at", "not-a-time".to_owned())],
            "inclusion_proof" => vec![("seq", town.record.to_string())],
            "consistency_proof" => vec![("first", self.first_checkpoint.to_string())],
            "leak_report" => vec![("member_id", nurse)],
            "search_posts" => vec![("q", "褥瘡".to_owned())],
            "search_boards" => vec![("q", "通行止め".to_owned())],
            _ => Vec::new(),
        };
        let body = match meta.operation_id {
            "upload" => Some(Body::Bytes(
                "application/octet-stream",
                pdf(&format!("matrix {}", meta.operation_id)),
            )),
            // A field no body has: the gateway refuses it (422) once the door let the
            // caller through, and nothing reaches the service.
            _ if json_body => Some(Body::Json(json!({ "matrix": true }))),
            _ => None,
        };
        Call {
            method: method(meta.method),
            path,
            query,
            body,
        }
    }

    async fn send(&self, call: &Call, as_: Option<&Member>, who: Who) -> anyhow::Result<Answer> {
        let mut request = self
            .p
            .http
            .request(call.method.clone(), self.p.url(&call.path));
        request = match (who, as_) {
            (Who::Operator, _) => request.bearer_auth(&self.p.token),
            (_, Some(m)) => request.bearer_auth(&m.token),
            _ => request,
        };
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        request = match &call.body {
            Some(Body::Json(v)) => request.json(v),
            Some(Body::Bytes(t, b)) => request.header("content-type", *t).body(b.clone()),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = String::from_utf8_lossy(&response.bytes().await?).into_owned();
        Ok(Answer {
            status,
            content_type,
            text,
        })
    }
}

struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

fn method(m: Verb) -> Method {
    match m {
        Verb::Get => Method::GET,
        Verb::Post => Method::POST,
        Verb::Put => Method::PUT,
        Verb::Patch => Method::PATCH,
        Verb::Delete => Method::DELETE,
    }
}

/// The routes as the gateway mounts them, sign-out last (it ends the caller's session), then
/// signing out everywhere.
fn routes() -> Vec<&'static dyn doors::Declaration> {
    let mut routes: Vec<_> = gateway::mount::declared().collect();
    routes.sort_by_key(|r| {
        let id = r.meta().operation_id;
        (
            match id {
                "sign_out" => 1,
                "sign_out_everywhere" => 2,
                _ => 0,
            },
            id,
        )
    });
    routes
}

/// The routes whose operation takes a JSON body, by (method, path), from the served document.
async fn json_bodies(p: &Platform) -> anyhow::Result<BTreeSet<(String, String)>> {
    let (status, doc) = send(p.http.get(p.url("/api/v1/openapi.json"))).await?;
    anyhow::ensure!(status == 200, "the document");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            if op["requestBody"]["content"]["application/json"].is_object() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_answers_every_role_of_both_municipalities_as_its_row_says()
-> anyhow::Result<()> {
    let w = world().await?;
    let routes = routes();
    let bodies = json_bodies(&w.p).await?;
    let callers = w.callers();
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    let (mut cells, mut allowed) = (0usize, 0usize);
    let mut contact = 0;
    let mut sent = BTreeSet::new();
    for route in &routes {
        let meta = route.meta();
        let name = meta.operation_id;
        if through(name, Who::Operator, Side::Own).is_none() {
            missing.push(format!("{} {} ({name})", meta.method.as_str(), meta.path));
            continue;
        }
        let takes_json = bodies.contains(&(meta.method.as_str().to_owned(), meta.path.to_owned()));
        // The other municipality's objects first: a write that acts does so on one's own last.
        for side in [Side::Other, Side::Own] {
            let secrets: Vec<String> = match side {
                Side::Other => w
                    .yokohama
                    .secrets()
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect(),
                Side::Own => Vec::new(),
            };
            for (who, as_) in &callers {
                let call = w.call(*route, side, &mut contact, takes_json);
                let answer = w.send(&call, *as_, *who).await?;
                let expected = through(name, *who, side).unwrap_or(false);
                cells += 1;
                let refused = matches!(answer.status, 401 | 403 | 404);
                let cell = format!(
                    "{name} as {who:?} on {side:?}: {} {}",
                    answer.status,
                    answer.text.chars().take(300).collect::<String>()
                );
                if answer.status >= 500 {
                    wrong.push(format!("5xx: {cell}"));
                    continue;
                }
                if expected {
                    allowed += 1;
                    if refused {
                        wrong.push(format!("refused, the row lets through: {cell}"));
                    }
                } else {
                    if !refused {
                        wrong.push(format!("let through, the row refuses: {cell}"));
                    } else if *who == Who::SignedOut
                        && meta.door != Door::Open
                        && answer.status != 401
                    {
                        wrong.push(format!("signed out, not 401: {cell}"));
                    } else if !answer.content_type.starts_with("application/problem+json") {
                        wrong.push(format!("a refusal without problem details: {cell}"));
                    }
                }
                // Nothing of the other municipality reaches one who does not read the region,
                // but what they sent themselves.
                // (An id 出雲市's callers sent may come back in the records of their own
                // refusals, to those who audit them: that is what they sent, not 横浜市's.)
                let url = format!("{}?{:?}", call.path, call.query);
                if !who.region() {
                    for secret in &secrets {
                        if let Some(at) = answer.text.find(secret.as_str())
                            && !sent.contains(secret)
                        {
                            let from = answer.text.floor_char_boundary(at.saturating_sub(300));
                            let around: String = answer.text[from..].chars().take(500).collect();
                            wrong.push(format!(
                                "{secret:?} of 横浜市 in {name} as {who:?} on {side:?} ({}): …{around}…",
                                answer.status
                            ));
                        }
                    }
                    sent.extend(secrets.iter().filter(|s| url.contains(s.as_str())).cloned());
                }
            }
        }
    }
    let rows: BTreeSet<&str> = routes.iter().map(|r| r.meta().operation_id).collect();
    // Straight to stderr, past the test harness's capture: `tests/run` shows it.
    writeln!(
        std::io::stderr(),
        "matrix: {} routes × {} roles × 2 municipalities = {cells} cells, {allowed} let through",
        rows.len(),
        callers.len()
    )?;
    assert!(
        missing.is_empty(),
        "routes with no row in the matrix:\n{}",
        missing.join("\n")
    );
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells answered otherwise than their row:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, rows.len() * callers.len() * 2);
    Ok(())
}

/// Who asks, on the object-level test, on a route with ids in its path; `None` where the
/// object is rightly seen to exist by anyone of the region: the register and the directory
/// of organisations and sites are the region's (read by all, changed by the operator and the
/// secretariat concerned, who are told 403), and break-glass, the emergency exception, opens
/// any patient of the region (flagged to the coordination centre and auditors).
fn object_caller(operation: &str) -> Option<Option<Who>> {
    use Who::*;
    const REGION: &[&str] = &[
        "get_municipality",
        "rename_municipality",
        "add_area",
        "remove_area",
        "get_group",
        "join_group",
        "leave_group",
        "get_organisation",
        "get_site",
        "rename_organisation",
        "register_site",
        "replace_site_details",
        "close_site",
        "open_break_glass",
    ];
    const SECRETARIAT: &[&str] = &[
        "get_member",
        "deactivate",
        "change_roles",
        "reset_credentials",
        "list_members_of_municipality",
        "municipality_patients",
        "get_patient",
        "who_could_see",
        "verify_consent",
        "reject_consent",
        "erase_patient",
        "patient_report",
        "monthly_review",
        "pin_board_post",
    ];
    const CARE_MANAGER: &[&str] = &[
        "move_patient",
        "certify_care_level",
        "end_care",
        "record_consent",
        "amend_consent",
        "withdraw_consent",
        "add_team_member",
        "remove_team_member",
        "set_contact_24h",
        "add_family_contact",
        "remove_family_contact",
    ];
    const NURSE: &[&str] = &[
        "read_record",
        "document_content",
        "attach_document",
        "download",
        "create_post",
        "read_timeline",
        "record_receipt",
        "edit_post",
        "retract_post",
        "post_history",
        "team_people",
        "post_attachment",
        "read_board",
        "post_to_board",
        "read_consultation",
        "answer_consultation",
        "close_consultation",
        "site_availability",
    ];
    Some(if REGION.contains(&operation) {
        None
    } else if matches!(
        operation,
        "review_broadcast" | "broadcast_history" | "assign_consultation"
    ) {
        Some(Coordinator)
    } else if matches!(operation, "revise_broadcast" | "update_availability") {
        Some(SiteAdmin)
    } else if SECRETARIAT.contains(&operation) || operation == "change_listing" {
        Some(Secretariat)
    } else if operation == "verify_member" {
        Some(Coordinator)
    } else if CARE_MANAGER.contains(&operation) {
        Some(Pro("care_manager"))
    } else if NURSE.contains(&operation) {
        Some(Pro("nurse"))
    } else {
        return None;
    })
}

impl World {
    /// A valid body for `operation`, as 出雲市's caller would send it about their own.
    fn real_body(&self, operation: &str) -> Option<Value> {
        let town = &self.izumo;
        let site = json!({
            "name": "置換 訪問看護", "name_kana": "チカン", "kind": "home_visit_nursing_station",
            "service_types": ["13"], "home_municipality": town.code, "address": "出雲市 2-2",
            "phone": "0853-00-0001"
        });
        Some(match operation {
            "rename_organisation" => json!({ "name": "医療法人 改名会", "name_kana": "カイメイ" }),
            "register_site" | "replace_site_details" => site,
            "deactivate" | "reset_credentials" => json!({ "reason": "退職" }),
            "change_roles" => json!({ "roles": ["professional"], "reason": "異動" }),
            "move_patient" => json!({
                "home_municipality": town.code, "insurer_number": town.code,
                "insured_number": "0000000001", "address": "出雲市 3-3", "effective_on": "2026-10-01"
            }),
            "certify_care_level" => json!({
                "level": "care_level3", "valid_from": "2026-10-01", "valid_until": "2027-09-30"
            }),
            "end_care" => json!({ "reason": "death", "effective_at": START }),
            "record_consent" | "amend_consent" => consent_form(
                all_sites_except(&[]),
                ALL,
                &town.site["office"],
                "2026-10-01",
            ),
            "verify_consent" => json!({ "version": 1 }),
            "reject_consent" => json!({ "version": 1, "reason": "署名がない" }),
            "withdraw_consent" => json!({}),
            "add_team_member" => json!({ "site": town.site["off_team"], "part": "visiting_nurse" }),
            "set_contact_24h" => json!({ "phone": "0853-00-0024" }),
            "add_family_contact" => {
                json!({ "name": "家族 別", "relationship": "child", "phone": "090-0000-0001" })
            }
            "open_break_glass" => json!({ "reason": "意識がなく救急搬送", "minutes": 30 }),
            "attach_document" => {
                json!({ "category": "documents", "sha256": town.file, "title": "別の文書" })
            }
            "erase_patient" => json!({ "reason": "保存期間満了" }),
            "create_post" => json!({ "text": "別の報告", "urgent": true }),
            "record_receipt" => json!({ "acknowledged": true }),
            "edit_post" => json!({ "text": "訂正" }),
            "retract_post" => json!({ "reason": "誤投稿" }),
            "open_board" => json!({ "name": "看護師向け", "municipality": town.code,
                                    "professions": ["nurse"], "sites": [town.site["nursing"]] }),
            "post_to_board" => json!({ "text": "通行止めのお知らせ", "kind": "road_closure" }),
            "pin_board_post" => json!({ "pinned": true }),
            "send_broadcast" => json!({ "municipality": town.code, "title": "お知らせ",
                                        "text": "年末年始の連絡体制について" }),
            "review_broadcast" => {
                json!({ "decision": "return", "reason": "日付を確認してください" })
            }
            "revise_broadcast" => json!({ "title": "研修会（訂正）", "text": "1月16日 18時から" }),
            "open_consultation" => json!({ "subject": "相談", "text": "夜間の連絡先について" }),
            "answer_consultation" => json!({ "text": "承知しました" }),
            "assign_consultation" => {
                json!({ "member_id": town.member(Who::Coordinator).id() })
            }
            "update_availability" => json!({ "accepting": "conditional", "conditions": "要相談" }),
            "change_listing" => {
                json!({ "latitude": 35.36, "longitude": 132.75, "capabilities": ["suction"] })
            }
            _ => return None,
        })
    }

    /// `route`'s path with each id taken from `pick` (the id's place, what it names).
    fn path_with(
        &self,
        route: &dyn doors::Declaration,
        pick: impl Fn(usize, Object) -> String,
    ) -> String {
        let mut path = route.meta().path.to_owned();
        for (i, id) in route.ids().iter().enumerate() {
            path = path.replace(&format!("{{{}}}", id.name), &pick(i, id.object));
        }
        path
    }

    /// The id of `object` in `town` (as the matrix uses them).
    fn id_of(&self, town: &Town, object: Object) -> String {
        match object {
            Object::Municipality => town.code.to_owned(),
            Object::Area => town.area.clone(),
            Object::MunicipalityGroup => town.group.clone(),
            Object::Organisation => town.organisation.clone(),
            Object::Site => town.site["closing"].clone(),
            Object::Member => town.member(Who::Pro("nurse")).id().to_owned(),
            Object::Patient => town.patient.clone(),
            Object::Consent => town.consent.clone(),
            Object::TeamSeat => town.seat.clone(),
            Object::FamilyContact => town.contacts[town.contacts.len() - 1].clone(),
            Object::Document => town.document.clone(),
            Object::Post => town.post.clone(),
            Object::Board => town.board.clone(),
            Object::BoardPost => town.board_post.clone(),
            Object::Broadcast => town.broadcast.clone(),
            Object::Consultation => town.consultation.clone(),
            Object::File => town.file.clone(),
            Object::Month => "2026-10".to_owned(),
        }
    }
}

/// An id of `object` that nothing has.
fn no_such(object: Object) -> String {
    match object {
        Object::Municipality => "131016".to_owned(),
        Object::Area => "nowhere".to_owned(),
        Object::MunicipalityGroup => "no-group".to_owned(),
        Object::File => "0f".repeat(32),
        Object::Month => "2026-10".to_owned(),
        _ => uuid::Uuid::now_v7().to_string(),
    }
}

/// An answer with what differs by the id asked about left out: the request id, and the ids
/// themselves where the answer repeats them.
fn comparable(answer: &Answer, ids: &[String]) -> (u16, Value) {
    let mut text = answer.text.clone();
    for id in ids {
        text = text.replace(id.as_str(), "<id>");
    }
    let mut body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if let Some(map) = body.as_object_mut() {
        map.remove("instance");
        // A report says how large the log was; every read makes it larger.
        map.remove("log_size");
    }
    (answer.status, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_from_another_municipality_answers_as_an_id_that_does_not_exist() -> anyhow::Result<()>
{
    let region = world().await?;
    let w = &region;
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    let mut compared = 0;
    for route in routes() {
        let meta = route.meta();
        if route.ids().is_empty() {
            continue;
        }
        let Some(who) = object_caller(meta.operation_id) else {
            missing.push(format!("{} {}", meta.method.as_str(), meta.path));
            continue;
        };
        let Some(who) = who else { continue };
        let caller = w.izumo.member(who);
        let body = w.real_body(meta.operation_id);
        let ask = |path: String| {
            let call = Call {
                method: method(meta.method),
                path,
                query: match meta.operation_id {
                    "read_record" => vec![("categories", "care_records".to_owned())],
                    "who_could_see" => vec![
                        ("at", START.to_owned()),
                        ("reading", "in_force_as_known_today".to_owned()),
                    ],
                    _ => Vec::new(),
                },
                body: body.clone().map(Body::Json),
            };
            async move { w.send(&call, Some(caller), who).await }
        };
        let ids = route.ids();
        // Every id from the other municipality, against every id made up; then, where the
        // path holds a patient and something of theirs, 出雲市's own patient with the other
        // town's object against a made-up one.
        let mut variants: Vec<(String, String, Vec<String>)> = Vec::new();
        let fake: Vec<String> = ids.iter().map(|id| no_such(id.object)).collect();
        let theirs: Vec<String> = ids
            .iter()
            .map(|id| w.id_of(&w.yokohama, id.object))
            .collect();
        variants.push((
            w.path_with(route, |i, _| theirs[i].clone()),
            w.path_with(route, |i, _| fake[i].clone()),
            theirs.iter().chain(&fake).cloned().collect(),
        ));
        if ids.len() == 2 && ids[0].object == Object::Patient {
            let ours = w.izumo.patient.clone();
            variants.push((
                w.path_with(route, |i, _| {
                    if i == 0 {
                        ours.clone()
                    } else {
                        theirs[i].clone()
                    }
                }),
                w.path_with(route, |i, _| {
                    if i == 0 {
                        ours.clone()
                    } else {
                        fake[i].clone()
                    }
                }),
                vec![theirs[1].clone(), fake[1].clone()],
            ));
        }
        for (other_path, fake_path, ids) in variants {
            let other = ask(other_path.clone()).await?;
            let none = ask(fake_path.clone()).await?;
            compared += 1;
            let (a, b) = (comparable(&other, &ids), comparable(&none, &ids));
            if a != b || (other.status < 300 && meta.method != Verb::Get) {
                differ.push(format!(
                    "{} as {who:?}:\n  {other_path} → {} {}\n  {fake_path} → {} {}",
                    meta.operation_id, other.status, other.text, none.status, none.text
                ));
            }
        }
    }
    writeln!(std::io::stderr(), "object level: {compared} paths compared")?;
    assert!(
        missing.is_empty(),
        "routes with ids and no object-level row:\n{}",
        missing.join("\n")
    );
    assert!(
        differ.is_empty(),
        "{} answers tell another municipality's id from one that does not exist (or let it through):\n{}",
        differ.len(),
        differ.join("\n")
    );
    Ok(())
}

/// The last sequence of the identity stream: nothing was stored while it stays the same.
async fn identity_stream_last(p: &Platform) -> anyhow::Result<u64> {
    let js = async_nats::jetstream::new(p.nats.connect().await?);
    let name = format!("{}_IDENTITY", p.namespace)
        .to_ascii_uppercase()
        .replace('-', "_");
    let mut stream = js.get_stream(name).await?;
    Ok(stream.info().await?.state.last_sequence)
}

/// `body` with the value at `pointer` replaced by `id` (an array of ids, `…/*`, by `[id]`).
fn with_id(body: &Value, pointer: &str, id: &str) -> Value {
    let mut body = body.clone();
    let (at, value) = match pointer.strip_suffix("/*") {
        Some(array) => (array, json!([id])),
        None => (pointer, json!(id)),
    };
    let (parent, field) = at.rsplit_once('/').expect("a pointer");
    if let Some(map) = body.pointer_mut(parent).and_then(Value::as_object_mut) {
        map.insert(field.to_owned(), value);
    }
    body
}

impl World {
    /// A valid body for a write whose body names objects of the caller's municipality, as
    /// 出雲市's `who` would send it.
    fn own_body(&self, operation: &str) -> Option<Value> {
        let town = &self.izumo;
        Some(match operation {
            "invite" => json!({ "name": "誰 か", "name_kana": "ダレ カ", "profession": "nurse",
                               "roles": ["professional"], "sites": [town.site["nursing"]],
                               "municipality": town.code }),
            "create_join_link" => json!({ "municipality": town.code, "valid_days": 30 }),
            "register_organisation" => json!({ "name": "越境法人", "name_kana": "エッキョウ",
                                               "kind": "medical_corporation",
                                               "home_municipality": town.code }),
            "register_patient" => {
                PatientForm::new("越境", town.code).body(Some(&town.site["office"]))
            }
            _ => return self.real_body(operation),
        })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_id_from_another_municipality_in_a_body_answers_as_an_id_that_does_not_exist_and_stores_nothing()
-> anyhow::Result<()> {
    let region = world().await?;
    let w = &region;
    let callers = w.callers();
    let mut differ = Vec::new();
    let mut no_body = Vec::new();
    let mut fields = BTreeSet::new();
    let mut cells = 0;
    let before = identity_stream_last(&w.p).await?;
    for route in routes() {
        let meta = route.meta();
        let own: Vec<&doors::BodyId> = route
            .body_ids()
            .iter()
            .filter(|id| id.scope == doors::Scope::Own)
            .collect();
        if own.is_empty() {
            continue;
        }
        let Some(body) = w.own_body(meta.operation_id) else {
            no_body.push(meta.operation_id);
            continue;
        };
        let path = w.path_with(route, |_, object| w.id_of(&w.izumo, object));
        // Every role the door lets through; the operator acts for the region (by design).
        for (who, member) in callers.iter().copied() {
            if who == Who::Operator || through(meta.operation_id, who, Side::Own) != Some(true) {
                continue;
            }
            for id in &own {
                fields.insert((meta.operation_id, id.pointer));
                let theirs = w.id_of(&w.yokohama, id.object);
                let fake = no_such(id.object);
                let ask = |value: &str| Call {
                    method: method(meta.method),
                    path: path.clone(),
                    query: Vec::new(),
                    body: Some(Body::Json(with_id(&body, id.pointer, value))),
                };
                let other = w.send(&ask(&theirs), member, who).await?;
                let none = w.send(&ask(&fake), member, who).await?;
                cells += 1;
                let ids = [theirs.clone(), fake.clone()];
                let (a, b) = (comparable(&other, &ids), comparable(&none, &ids));
                if a != b || other.status < 300 {
                    differ.push(format!(
                        "{} {} as {who:?}:\n  theirs → {} {}\n  none → {} {}",
                        meta.operation_id,
                        id.pointer,
                        other.status,
                        other.text,
                        none.status,
                        none.text
                    ));
                }
            }
        }
    }
    let after = identity_stream_last(&w.p).await?;
    writeln!(
        std::io::stderr(),
        "body ids: {} fields held to the caller's municipality, {cells} cells compared",
        fields.len()
    )?;
    assert!(
        no_body.is_empty(),
        "routes with body ids and no body here: {no_body:?}"
    );
    assert!(
        differ.is_empty(),
        "{} answers tell another municipality's id in a body from one that does not exist (or let it through):\n{}",
        differ.len(),
        differ.join("\n")
    );
    assert_eq!(before, after, "a refused body stored an event");
    assert!(fields.len() >= 10, "fields covered: {fields:?}");

    // By name, where the domain crosses municipalities on purpose: a wide-area care team
    // takes a site of another municipality, decided for the patient by their care manager.
    let care_manager = w.izumo.member(Who::Pro("care_manager"));
    let (status, answer) = send(
        care_manager
            .request(
                &w.p,
                Method::POST,
                &format!("/api/v1/patients/{}/team", w.izumo.patient),
            )
            .json(&json!({ "site": w.yokohama.site["nursing"], "part": "visiting_nurse" })),
    )
    .await?;
    assert_eq!(status, 201, "a wide-area team: {answer}");
    Ok(())
}

/// Fields a caller may not set as they please, wherever a body might carry them.
const GUARDED: &[&str] = &[
    "municipality",
    "home_municipality",
    "member",
    "member_id",
    "roles",
    "sites",
    "site",
    "registering_site",
    "received_at_site",
    "verified_by",
    "position",
    "positions",
    "status",
];

/// Guarded fields a body declares because setting them is the point of the route.
const BY_DESIGN: &[(&str, &str, &str)] = &[
    (
        "move_patient",
        "home_municipality",
        "a move names the municipality the patient moved to",
    ),
    (
        "register_patient",
        "home_municipality",
        "a care site registers a patient of any municipality it serves (teams span municipalities); the secretariat only its own (checked below)",
    ),
    (
        "add_team_member",
        "site",
        "a patient's team may hold sites of several municipalities (wide-area cooperation)",
    ),
];

/// The names of the properties of a body's schema, its references followed.
fn properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return properties(doc, &doc["components"]["schemas"][name]);
    }
    let mut out: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema[key].as_array().into_iter().flatten() {
            out.extend(properties(doc, part));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn no_write_route_lets_a_caller_set_what_is_not_theirs_to_set() -> anyhow::Result<()> {
    let region = world().await?;
    let w = &region;
    let (i, y) = (&w.izumo, &w.yokohama);
    let (_, doc) = send(w.p.http.get(w.p.url("/api/v1/openapi.json"))).await?;
    let by_id: BTreeMap<&str, &'static dyn doors::Declaration> = routes()
        .into_iter()
        .map(|r| (r.meta().operation_id, r))
        .collect();

    // 1. A guarded field a body does not declare is refused, naming it.
    let mut unknown_checked = 0;
    let mut declared = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let Some(schema) = op["requestBody"]["content"]["application/json"].get("schema")
            else {
                continue;
            };
            let name = op["operationId"].as_str().unwrap_or_default();
            let fields = properties(&doc, schema);
            let route = by_id[name];
            let concrete = w.path_with(route, |_, object| w.id_of(i, object));
            for field in GUARDED {
                if fields.contains(*field) {
                    declared.push((name.to_owned(), (*field).to_owned()));
                    continue;
                }
                let (status, body) = send(
                    w.p.http
                        .request(method.to_uppercase().parse()?, w.p.url(&concrete))
                        .bearer_auth(&w.p.token)
                        .json(&json!({ *field: "x" })),
                )
                .await?;
                assert_eq!(status, 422, "{name} ({path}) with {field}: {body}");
                assert_eq!(
                    body["errors"][0]["pointer"],
                    format!("/{field}"),
                    "{name}: {body}"
                );
                unknown_checked += 1;
            }
        }
    }

    // 2. A guarded field a body declares is held to the caller: each is refused when it names
    // what is not theirs, or is settable by design (said above).
    let secretariat = i.member(Who::Secretariat);
    let site_admin = i.member(Who::SiteAdmin);
    let coordinator = i.member(Who::Coordinator);
    let care_manager = i.member(Who::Pro("care_manager"));
    let invite = |municipality: &str, roles: &[&str], sites: &[&str]| {
        json!({ "name": "誰 か", "name_kana": "ダレ カ", "profession": "nurse",
                "roles": roles, "sites": sites, "municipality": municipality })
    };
    let site_body = |municipality: &str| {
        json!({ "name": "越境 訪問看護", "name_kana": "エッキョウ", "kind": "home_visit_nursing_station",
                "service_types": ["13"], "home_municipality": municipality, "address": "横浜市 1",
                "phone": "045-000-0000" })
    };
    let patient = PatientForm::new("越境", YOKOHAMA);
    let nurse_y = y.member(Who::Pro("nurse")).id().to_owned();
    let cases: Vec<(&str, &str, &Member, Method, String, Value)> = vec![
        (
            "invite",
            "municipality",
            secretariat,
            Method::POST,
            "/api/v1/invitations".into(),
            invite(YOKOHAMA, &["professional"], &[]),
        ),
        (
            "invite",
            "roles",
            site_admin,
            Method::POST,
            "/api/v1/invitations".into(),
            invite(IZUMO, &["municipal_secretariat"], &[&i.site["nursing"]]),
        ),
        (
            "invite",
            "sites",
            site_admin,
            Method::POST,
            "/api/v1/invitations".into(),
            invite(IZUMO, &["professional"], &[&y.site["nursing"]]),
        ),
        (
            "create_join_link",
            "municipality",
            coordinator,
            Method::POST,
            "/api/v1/join-links".into(),
            json!({ "municipality": YOKOHAMA, "valid_days": 30 }),
        ),
        (
            "change_roles",
            "roles",
            secretariat,
            Method::PUT,
            format!("/api/v1/members/{}/roles", i.member(Who::Pro("nurse")).id()),
            json!({ "roles": ["operator"], "reason": "昇格" }),
        ),
        (
            "register_organisation",
            "home_municipality",
            secretariat,
            Method::POST,
            "/api/v1/organisations".into(),
            json!({ "name": "越境法人", "name_kana": "エッキョウ", "kind": "medical_corporation",
                    "home_municipality": YOKOHAMA }),
        ),
        (
            "register_site",
            "home_municipality",
            secretariat,
            Method::POST,
            format!("/api/v1/organisations/{}/sites", i.organisation),
            site_body(YOKOHAMA),
        ),
        (
            "replace_site_details",
            "home_municipality",
            secretariat,
            Method::PUT,
            format!("/api/v1/sites/{}", i.site["closing"]),
            site_body(YOKOHAMA),
        ),
        (
            "register_patient",
            "home_municipality",
            secretariat,
            Method::POST,
            "/api/v1/patients".into(),
            patient.body(None),
        ),
        (
            "assign_consultation",
            "member_id",
            i.member(Who::Coordinator),
            Method::POST,
            format!("/api/v1/consultations/{}/assignment", i.consultation),
            json!({ "member_id": nurse_y }),
        ),
        (
            "send_broadcast",
            "municipality",
            i.member(Who::Coordinator),
            Method::POST,
            "/api/v1/broadcasts".into(),
            json!({ "municipality": YOKOHAMA, "title": "越境", "text": "越境の配信" }),
        ),
        (
            "open_board",
            "municipality",
            secretariat,
            Method::POST,
            "/api/v1/boards".into(),
            json!({ "name": "越境掲示板", "municipality": YOKOHAMA }),
        ),
        (
            "open_board",
            "sites",
            secretariat,
            Method::POST,
            "/api/v1/boards".into(),
            json!({ "name": "越境掲示板", "municipality": i.code, "sites": [y.site["nursing"]] }),
        ),
        (
            "register_patient",
            "registering_site",
            care_manager,
            Method::POST,
            "/api/v1/patients".into(),
            patient.body(Some(&y.site["office"])),
        ),
        (
            "record_consent",
            "received_at_site",
            care_manager,
            Method::POST,
            format!("/api/v1/patients/{}/consents", i.patient),
            consent_form(all_sites_except(&[]), ALL, &y.site["office"], "2026-10-01"),
        ),
        (
            "amend_consent",
            "received_at_site",
            care_manager,
            Method::POST,
            format!(
                "/api/v1/patients/{}/consents/{}/amendments",
                i.patient, i.consent
            ),
            consent_form(all_sites_except(&[]), ALL, &y.site["office"], "2026-10-01"),
        ),
        (
            "set_contact_24h",
            "site",
            care_manager,
            Method::PUT,
            format!("/api/v1/patients/{}/contact-24h", i.patient),
            json!({ "site": y.site["nursing"], "phone": "045-000-0024" }),
        ),
        (
            "add_team_member",
            "member",
            care_manager,
            Method::POST,
            format!("/api/v1/patients/{}/team", i.patient),
            json!({ "site": i.site["clinic"], "member": nurse_y, "part": "home_doctor" }),
        ),
    ];
    let mut handled: BTreeSet<(String, String)> = BY_DESIGN
        .iter()
        .map(|(op, field, _)| ((*op).to_owned(), (*field).to_owned()))
        .collect();
    let mut let_through = Vec::new();
    for (op, field, who, method, path, body) in &cases {
        handled.insert(((*op).to_owned(), (*field).to_owned()));
        let (status, answer) = send(who.request(&w.p, method.clone(), path).json(body)).await?;
        // Refused for what it names: 403, or 422 at the field itself.
        let at_field = answer["errors"][0]["pointer"]
            .as_str()
            .is_some_and(|p| p.starts_with(&format!("/{field}")));
        if !(status == 403 || status == 422 && at_field) {
            let_through.push(format!(
                "{op} with {field} as {}: {status} {answer}",
                who.account.username
            ));
        }
    }
    let unhandled: Vec<_> = declared.iter().filter(|d| !handled.contains(*d)).collect();
    writeln!(
        std::io::stderr(),
        "mass assignment: {unknown_checked} undeclared fields refused, {} declared ones held to the caller",
        cases.len()
    )?;
    assert!(
        unhandled.is_empty(),
        "guarded fields a body declares, neither checked here nor settable by design: {unhandled:?}"
    );
    assert!(
        let_through.is_empty(),
        "a caller set what is not theirs:\n{}",
        let_through.join("\n")
    );
    Ok(())
}

/// 64 clients, each on its own connection, send one request each at once; answers every
/// status with its `Retry-After`, or fails if any connection was dropped.
async fn burst(
    p: &Platform,
    path: &str,
    token: Option<&str>,
) -> anyhow::Result<Vec<(u16, Option<u64>, Value)>> {
    let requests = (0..64).map(|_| {
        let client = reqwest::Client::builder().build();
        let url = p.url(path);
        let token = token.map(str::to_owned);
        async move {
            let mut request = client?.get(url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let body = response.json().await.unwrap_or(Value::Null);
            anyhow::Ok((status, retry_after, body))
        }
    });
    futures::future::join_all(requests)
        .await
        .into_iter()
        .collect()
}

/// Every answer of a burst is the route's own or a 429 saying why and when to come back; at
/// most `limit` (and a refill) get through.
fn held_to(answers: &[(u16, Option<u64>, Value)], ok: u16, limit: usize, whose: &str) {
    let through = answers.iter().filter(|(s, _, _)| *s == ok).count();
    let limited: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert_eq!(
        through + limited.len(),
        answers.len(),
        "only {ok} or 429: {answers:?}"
    );
    assert!(
        (1..=limit + 1).contains(&through),
        "{through} of 64 through"
    );
    assert!(limited.len() >= 64 - limit - 1, "{} limited", limited.len());
    for (_, retry_after, body) in limited {
        assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After: {body}");
        assert_eq!(body["status"], 429, "problem details: {body}");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(whose),
            "{whose}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_64_clients_over_a_limit_is_answered_429_with_retry_after_and_never_dropped()
-> anyhow::Result<()> {
    // Per member: one nurse's token from 64 clients at once.
    let (p, clock) = start_with(&[
        ("TSUNAGU_RATE_LIMIT_PER_MEMBER", "10"),
        ("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "0"),
    ])
    .await?;
    let site = tsunagu_tests::accounts::site_in(&p, IZUMO, "医療法人 連打", "連打訪問看護").await?;
    let nurse = member(
        &p,
        &clock,
        "burst.nurse",
        &["professional"],
        "nurse",
        Some(&site),
        IZUMO,
    )
    .await?;
    let answers = burst(&p, "/api/v1/me", Some(&nurse.token)).await?;
    held_to(&answers, 200, 10, "your account");
    drop(p);

    // Per address: 64 clients of one address, signed in or not.
    let q = Platform::start_with(&[("TSUNAGU_RATE_LIMIT_PER_ADDRESS", "20")]).await?;
    let answers = burst(&q, "/healthz", None).await?;
    held_to(&answers, 200, 20, "your address");
    let answers = burst(&q, "/api/v1/municipalities", Some(&q.token)).await?;
    assert!(
        answers.iter().all(|(s, r, _)| *s == 429 && r.is_some()),
        "the address stays limited: {answers:?}"
    );
    Ok(())
}
