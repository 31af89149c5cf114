//! Every route's door decides as it did before routes were declared beside their contracts
//! (`fixtures/doors-before-declarations.json`, taken from the access table as it was): for
//! every role (and every profession of those on patients' teams), asking about an object of
//! their own — their municipality, their account, their site — and about another one's.

use std::collections::BTreeMap;

use gateway::access::{self, Door};
use permissions::{Action, Caller, Profession, Relationship, Role, Subject};

const BEFORE: &str = include_str!("fixtures/doors-before-declarations.json");

/// The callers of the fixture, in its order.
fn callers() -> Vec<(String, Subject, bool)> {
    let mut out = Vec::new();
    for &role in Role::ALL {
        let professions: Vec<Option<Profession>> =
            if matches!(role, Role::Professional | Role::CommunitySupportCentreStaff) {
                Profession::ALL.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
        for profession in professions {
            for own in [true, false] {
                let label = format!(
                    "{}{} {}",
                    role.as_str(),
                    profession
                        .map(|p| format!("/{}", p.as_str()))
                        .unwrap_or_default(),
                    if own { "own" } else { "other" }
                );
                out.push((label, Subject::new(vec![role], profession), own));
            }
        }
    }
    out
}

/// Whether the door lets `subject` through, about its own object or another one's.
fn lets_through(row: &access::RouteAccess, subject: &Subject, own: bool) -> bool {
    let caller = Caller {
        member_id: "m-self".into(),
        session_id: "s".into(),
        subject: subject.clone(),
        sites: vec!["site-own".into()],
        municipality: Some("322032".into()),
    };
    let object = row
        .ids
        .iter()
        .find(|id| id.object.is_placed_by_the_gateway())
        .map(|id| id.object);
    let value = match (object, own) {
        (Some(access::Object::Municipality), true) => "322032",
        (Some(access::Object::Municipality), false) => "141003",
        (Some(access::Object::Member), true) => "m-self",
        (Some(access::Object::Member), false) => "m-other",
        (Some(access::Object::Site), true) => "site-own",
        (Some(access::Object::Site), false) => "site-other",
        _ => "x",
    };
    match row.door {
        Door::Open | Door::PatientRead => true,
        Door::OwnAccount => {
            permissions::decide(subject, Action::ManageOwnAccount, &[Relationship::Self_])
                .is_allowed()
        }
        Door::Signed(actions) => {
            let ties = access::ties(row.ids, &caller, |_| Some(value));
            actions
                .iter()
                .any(|&a| permissions::decide(subject, a, &ties).is_allowed())
        }
    }
}

/// Routes added since (for the web application, then team messaging), with the door each
/// was given: checked here, as the fixture knows nothing of them.
fn added(route: &str, row: &access::RouteAccess) -> Option<bool> {
    let own_account = matches!(row.door, Door::OwnAccount);
    match route {
        "DELETE /api/v1/me/sessions" | "GET /api/v1/me/patients" | "GET /api/v1/posts/search" => {
            Some(own_account)
        }
        "GET /api/v1/municipalities/{code}/patients" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::VerifyConsent])
                && row
                    .ids
                    .iter()
                    .any(|id| id.object == access::Object::Municipality),
        ),
        // A timeline: read through the one decision (the service's), written by those who
        // write clinical content (then decided by consent and team, in the service).
        // A post's history and its withdrawal (its author's, or the secretariat's) too.
        "GET /api/v1/patients/{patient_id}/posts"
        | "POST /api/v1/patients/{patient_id}/posts/{post_id}/receipt"
        | "GET /api/v1/patients/{patient_id}/posts/{post_id}/history"
        | "GET /api/v1/patients/{patient_id}/team/people"
        | "GET /api/v1/patients/{patient_id}/posts/{post_id}/attachments/{sha256}"
        | "POST /api/v1/patients/{patient_id}/posts/{post_id}/retraction" => {
            Some(matches!(row.door, Door::PatientRead))
        }
        "POST /api/v1/patients/{patient_id}/posts"
        | "POST /api/v1/patients/{patient_id}/posts/{post_id}/edits" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::WritePatientClinical]),
        ),
        // Boards: opened and pinned by those who manage them, read and posted to by the
        // people of a municipality or of the region (the service keeps each board to its
        // audience).
        "POST /api/v1/boards" | "POST /api/v1/boards/{board_id}/posts/{post_id}/pin" => {
            Some(matches!(row.door, Door::Signed(actions) if actions == [Action::ManageBoards]))
        }
        "GET /api/v1/boards"
        | "GET /api/v1/boards/{board_id}/posts"
        | "GET /api/v1/boards/search" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::ReadBoards, Action::ReadRegionBoards]),
        ),
        // Broadcasts: sent by the coordination centre, submitted by sites; received by every
        // person but auditors; followed by submitters and the centre; reviewed by the centre.
        "POST /api/v1/broadcasts" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::SendBroadcast, Action::SubmitBroadcast]),
        ),
        "GET /api/v1/broadcasts" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::ReceiveBroadcasts]),
        ),
        "GET /api/v1/broadcasts/submissions" | "GET /api/v1/broadcasts/{broadcast_id}/history" => {
            Some(
                matches!(row.door, Door::Signed(actions) if actions == [Action::SubmitBroadcast, Action::ReviewAssociationPosts, Action::SendBroadcast]),
            )
        }
        "POST /api/v1/broadcasts/{broadcast_id}/review" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::ReviewAssociationPosts]),
        ),
        "POST /api/v1/broadcasts/{broadcast_id}/revisions" => {
            Some(matches!(row.door, Door::Signed(actions) if actions == [Action::SubmitBroadcast]))
        }
        // Consultations: opened by members, answered by the coordination centre; the service
        // keeps each to its asker and the centre of its municipality.
        "POST /api/v1/consultations" => {
            Some(matches!(row.door, Door::Signed(actions) if actions == [Action::OpenConsultation]))
        }
        "GET /api/v1/consultations"
        | "GET /api/v1/consultations/{consultation_id}"
        | "POST /api/v1/consultations/{consultation_id}/messages"
        | "POST /api/v1/consultations/{consultation_id}/closure" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::OpenConsultation, Action::AnswerConsultation]),
        ),
        // The resource directory: read by every person (the service keeps each to their
        // municipality); a site's status said by its staff or its organisation's site admins.
        "GET /api/v1/availability"
        | "GET /api/v1/sites/{site_id}/availability"
        | "GET /api/v1/listings" => {
            Some(matches!(row.door, Door::Signed(actions) if actions == [Action::ReadResources]))
        }
        "PUT /api/v1/sites/{site_id}/availability" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::UpdateAvailability]),
        ),
        "PUT /api/v1/sites/{site_id}/listing" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::UpdateProviderEntry]),
        ),
        "POST /api/v1/consultations/{consultation_id}/assignment" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::AnswerConsultation]),
        ),
        "POST /api/v1/boards/{board_id}/posts" => Some(
            matches!(row.door, Door::Signed(actions) if actions == [Action::PostToBoard, Action::PostToRegionBoard]),
        ),
        _ => None,
    }
}

#[test]
fn every_routes_door_lets_through_exactly_whom_it_did_before() {
    let before: serde_json::Value = serde_json::from_str(BEFORE).expect("the fixture is JSON");
    let callers = callers();
    let labels: Vec<&str> = callers.iter().map(|(l, _, _)| l.as_str()).collect();
    let fixture_labels: Vec<&str> = before["callers"]
        .as_array()
        .expect("callers")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    assert_eq!(
        labels, fixture_labels,
        "the same callers, in the same order"
    );

    let mut now = BTreeMap::new();
    let mut found = Vec::new();
    for row in access::routes() {
        let route = format!("{} {}", row.method, row.path);
        if let Some(as_meant) = added(&route, row) {
            if !as_meant {
                found.push(format!("{route}: added with another door than meant"));
            }
            continue;
        }
        let cells: String = callers
            .iter()
            .map(|(_, subject, own)| {
                if lets_through(row, subject, *own) {
                    '1'
                } else {
                    '0'
                }
            })
            .collect();
        now.insert(format!("{} {}", row.method, row.path), cells);
    }
    let then: BTreeMap<String, String> = before["routes"]
        .as_object()
        .expect("routes")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    for (route, cells) in &then {
        match now.get(route) {
            None => found.push(format!("{route}: no longer a route")),
            Some(c) if c != cells => {
                for (i, (was, is)) in cells.chars().zip(c.chars()).enumerate() {
                    if was != is {
                        found.push(format!("{route}: {} was {was}, is {is}", labels[i]));
                    }
                }
            }
            Some(_) => {}
        }
    }
    for route in now.keys().filter(|r| !then.contains_key(*r)) {
        found.push(format!("{route}: a route not there before"));
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
    assert_eq!(now.len(), 76, "routes compared (besides those added since)");
}
