//! The OpenAPI document the gateway serves, compared with the one it served before routes
//! were declared beside their contracts (`fixtures/openapi-before-declarations.json`, taken
//! from the gateway as it was): path by path, method by method and status by status,
//! ignoring order. The differences meant are listed here, one by one (`as_meant`,
//! `meant_in_schemas`, and the routes added since with what they may change); anything else
//! that differs fails.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

const BEFORE: &str = include_str!("fixtures/openapi-before-declarations.json");

const METHODS: [&str; 6] = ["get", "head", "post", "put", "patch", "delete"];

/// Text compared without its line breaks: a summary wrapped at another column says the same.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn described(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        for key in ["summary", "description"] {
            if let Some(Value::String(text)) = map.get(key) {
                let text = words(text);
                map.insert(key.to_owned(), Value::String(text));
            }
        }
    }
    value
}

/// One operation, with its lists put in order and its prose unwrapped.
fn normalised(op: &Value) -> Value {
    let mut op = described(op.clone());
    let map = op.as_object_mut().expect("an operation is an object");
    if let Some(Value::Array(tags)) = map.get_mut("tags") {
        tags.sort_by_key(Value::to_string);
    }
    if let Some(Value::Array(parameters)) = map.get_mut("parameters") {
        for p in parameters.iter_mut() {
            *p = described(p.take());
        }
        parameters.sort_by_key(|p| format!("{} {}", p["in"], p["name"]));
    }
    if let Some(body) = map.get_mut("requestBody") {
        *body = described(body.take());
    }
    if let Some(Value::Object(responses)) = map.get_mut("responses") {
        for response in responses.values_mut() {
            *response = described(response.take());
        }
    }
    op
}

/// Every operation of a document by (path, method).
fn operations(doc: &Value) -> BTreeMap<(String, String), Value> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            if METHODS.contains(&method.as_str()) {
                out.insert((path.clone(), method.clone()), normalised(op));
            }
        }
    }
    out
}

/// The differences meant, applied to the document as it was.
fn as_meant(mut before: BTreeMap<(String, String), Value>) -> BTreeMap<(String, String), Value> {
    // 1. The member list of a municipality always honoured Tsunagu-Min-Position; it now says so.
    let read_after = before[&("/api/v1/municipalities".to_owned(), "get".to_owned())]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "Tsunagu-Min-Position")
        .expect("the read-after header")
        .clone();
    let members = before
        .get_mut(&(
            "/api/v1/municipalities/{code}/members".to_owned(),
            "get".to_owned(),
        ))
        .expect("the member list");
    members["parameters"]
        .as_array_mut()
        .expect("parameters")
        .push(read_after);
    // 2. Every GET also answers HEAD (RFC 9110): the same operation, without bodies.
    let gets: Vec<_> = before
        .iter()
        .filter(|((_, method), _)| method == "get")
        .map(|((path, _), op)| (path.clone(), op.clone()))
        .collect();
    for (path, get) in gets {
        let mut head = get;
        let id = head["operationId"]
            .as_str()
            .expect("an operationId")
            .to_owned();
        head["operationId"] = json!(format!("{id}_head"));
        for response in head["responses"]
            .as_object_mut()
            .expect("responses")
            .values_mut()
        {
            response
                .as_object_mut()
                .expect("a response")
                .remove("content");
        }
        before.insert((path, "head".to_owned()), head);
    }
    // 3. The end of a period says it may not come before its start (issue 31: the server
    // refused what the document allowed).
    for op in before.values_mut() {
        let parameters = op.get_mut("parameters").and_then(Value::as_array_mut);
        for p in parameters.into_iter().flatten() {
            if p["name"] == "to" && p["description"] == "Until (RFC 3339, exclusive)." {
                p["description"] = json!("Until (RFC 3339, exclusive); not before `from`.");
            }
            // 4. The log chains posts to patients' timelines too: a kind of record more.
            if p["name"] == "kind"
                && let Some(pattern) = p["schema"]["pattern"].as_str()
            {
                let widened = pattern.replace(
                    "document_attached|audit_read",
                    "document_attached|post_written|broadcast_reviewed|consultation_change|audit_read",
                );
                p["schema"]["pattern"] = json!(widened);
            }
            // 5. What the server checks beyond the schema is said in words (issue 31): a page
            // key names something the previous page gave, a leak report names a member or a
            // session, a municipality code's check digit is verified. A service type is one
            // of the listed codes, as an enum.
            let reworded = match (p["name"].as_str(), p["description"].as_str()) {
                (Some("after"), Some(d)) if d.ends_with("(an organisation id).") => Some(
                    "Key of the last item of the previous page (an organisation id, as the previous page gave it: an id that names no organisation is refused).",
                ),
                (Some("after"), Some(d)) if d.ends_with("(a site id).") => Some(
                    "Key of the last item of the previous page (a site id, as the previous page gave it: an id that names no site is refused).",
                ),
                (Some("member_id"), Some("The member.")) => Some(
                    "The member. Name a member, or one of their sessions (`session_id`): one of the two is required.",
                ),
                (Some("session_id"), Some("Or one of their sessions.")) => {
                    Some("Or one of their sessions (instead of `member_id`).")
                }
                (
                    Some("code"),
                    Some("Local government code (6 digits, the last a check digit)."),
                ) => Some(
                    "Local government code: 6 digits, the last a check digit (JIS X 0402, modulus 11): a code whose check digit is wrong is refused (422).",
                ),
                _ => None,
            };
            if let Some(words) = reworded {
                p["description"] = json!(words);
            }
            if p["name"] == "service_type" {
                p.as_object_mut()
                    .expect("a parameter")
                    .remove("description");
                p["schema"] = service_type_code();
            }
        }
    }
    // 6. A person reads the access history newest first (issue 30): the query may ask for it.
    for method in ["get", "head"] {
        let records = before
            .get_mut(&("/api/v1/audit/records".to_owned(), method.to_owned()))
            .expect("the records query");
        let parameters = records["parameters"].as_array_mut().expect("parameters");
        let at = parameters
            .iter()
            .position(|p| p["name"] == "outcome")
            .expect("the outcome parameter");
        parameters.insert(
            at,
            json!({
                "description": "Newest first, as a person reads a history (default: oldest first, as an export replays it). `after` then pages back towards the first record.",
                "in": "query", "name": "newest_first", "required": false,
                "schema": { "type": "boolean" }
            }),
        );
    }
    before
        .into_iter()
        .map(|(key, op)| (key, normalised(&op)))
        .collect()
}

/// Third difference: added since, for the web application. These operations are new
/// (checked in their own tests), so they are only required to be documented.
const ADDED: &[(&str, &str)] = &[
    ("/api/v1/me/patients", "get"),
    ("/api/v1/me/patients", "head"),
    ("/api/v1/me/sessions", "delete"),
    ("/api/v1/municipalities/{code}/patients", "get"),
    ("/api/v1/municipalities/{code}/patients", "head"),
    // Team messaging: a patient's timeline.
    ("/api/v1/patients/{patient_id}/posts", "get"),
    ("/api/v1/patients/{patient_id}/posts", "head"),
    ("/api/v1/patients/{patient_id}/posts", "post"),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/receipt",
        "post",
    ),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/edits",
        "post",
    ),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/retraction",
        "post",
    ),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/history",
        "get",
    ),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/history",
        "head",
    ),
    ("/api/v1/posts/search", "get"),
    ("/api/v1/posts/search", "head"),
    ("/api/v1/patients/{patient_id}/team/people", "get"),
    ("/api/v1/patients/{patient_id}/team/people", "head"),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/attachments/{sha256}",
        "get",
    ),
    (
        "/api/v1/patients/{patient_id}/posts/{post_id}/attachments/{sha256}",
        "head",
    ),
    ("/api/v1/boards", "get"),
    ("/api/v1/boards", "head"),
    ("/api/v1/boards", "post"),
    ("/api/v1/boards/{board_id}/posts", "get"),
    ("/api/v1/boards/{board_id}/posts", "head"),
    ("/api/v1/boards/{board_id}/posts", "post"),
    ("/api/v1/boards/{board_id}/posts/{post_id}/pin", "post"),
    ("/api/v1/boards/search", "get"),
    ("/api/v1/boards/search", "head"),
    ("/api/v1/broadcasts", "get"),
    ("/api/v1/broadcasts", "head"),
    ("/api/v1/broadcasts", "post"),
    ("/api/v1/broadcasts/submissions", "get"),
    ("/api/v1/broadcasts/submissions", "head"),
    ("/api/v1/broadcasts/{broadcast_id}/history", "get"),
    ("/api/v1/broadcasts/{broadcast_id}/history", "head"),
    ("/api/v1/broadcasts/{broadcast_id}/review", "post"),
    ("/api/v1/broadcasts/{broadcast_id}/revisions", "post"),
    ("/api/v1/consultations", "get"),
    ("/api/v1/consultations", "head"),
    ("/api/v1/consultations", "post"),
    ("/api/v1/consultations/{consultation_id}", "get"),
    ("/api/v1/consultations/{consultation_id}", "head"),
    ("/api/v1/consultations/{consultation_id}/messages", "post"),
    ("/api/v1/consultations/{consultation_id}/assignment", "post"),
    ("/api/v1/consultations/{consultation_id}/closure", "post"),
    // The resource directory: what each site can take now.
    ("/api/v1/availability", "get"),
    ("/api/v1/availability", "head"),
    ("/api/v1/sites/{site_id}/availability", "get"),
    ("/api/v1/sites/{site_id}/availability", "head"),
    ("/api/v1/sites/{site_id}/availability", "put"),
    ("/api/v1/listings", "get"),
    ("/api/v1/listings", "head"),
    ("/api/v1/sites/{site_id}/listing", "put"),
];

/// Tags added since, with their services.
const ADDED_TAGS: &[&str] = &[
    "timeline",
    "boards",
    "broadcasts",
    "consultations",
    "directory",
];

/// Fourth difference: changed since, for the browser's refresh cookie. These keep every
/// answer and parameter they had, and may say and answer more (the cookie header, its 403,
/// its `Set-Cookie`).
const WIDENED: &[(&str, &str)] = &[
    ("/api/v1/sessions", "post"),
    ("/api/v1/sessions/refresh", "post"),
    ("/api/v1/sessions/current", "delete"),
];

/// The schemas of the third and fourth: new ones only need to exist; widened ones keep every property
/// (their refresh token is no longer required: a browser's is in the cookie).
const ADDED_SCHEMAS: &[&str] = &[
    "Capability",
    "Listing",
    "ListingView",
    "Listings",
    "BoardSearchHit",
    "BoardSearchPage",
    "Accepting",
    "AvailabilityBoard",
    "AvailabilityHistory",
    "AvailabilityUpdate",
    "AvailabilityUpdated",
    "AvailabilityView",
    "UpdaterView",
    "Vacancy",
    "MyPatient",
    "Page_MyPatient",
    "Page_PatientRegistrationView",
    "PatientSummary",
    "SessionsEnded",
    "SiteIdText",
    "NewPost",
    "Posted",
    "PostView",
    "PostAuthorView",
    "Page_PostView",
    "ReceiptBody",
    "Receipt",
    "ReaderView",
    "PostEdit",
    "Edited",
    "RetractionBody",
    "Retracted",
    "PostHistory",
    "PostVersionView",
    "RetractionView",
    "SearchHit",
    "Page_SearchHit",
    "TeamPeople",
    "AttachmentView",
    "BoardOpenedAnswer",
    "BoardPage",
    "BoardPostKind",
    "BoardPostView",
    "BoardView",
    "NewBoard",
    "NewBoardPost",
    "Page_BoardView",
    "PinBody",
    "Pinned",
    "SiteNamed",
    "BroadcastAnswer",
    "BroadcastHistory",
    "BroadcastRevision",
    "BroadcastStatus",
    "BroadcastStep",
    "BroadcastView",
    "NewBroadcast",
    "Page_BroadcastView",
    "ReviewBody",
    "ReviewDecision",
    "AssignmentBody",
    "ConsultationAnswer",
    "ConsultationMessageBody",
    "ConsultationMessageView",
    "ConsultationPatient",
    "ConsultationSummary",
    "ConsultationView",
    "NewConsultation",
    "Page_ConsultationSummary",
    // Issue 30: the audit log names people and places.
    "NameView",
];
/// Also widened since (issue 31): an attachment names its purpose as a read does, and a
/// break-glass reason must say something in words (its minimum length and description).
const WIDENED_SCHEMAS: &[&str] = &[
    "TokenPair",
    "RefreshSession",
    "NewDocument",
    "BreakGlassRequest",
    // The rules the server enforces, stated (enums, patterns, the check digit and the
    // order of two fields in words), each keeping every property it had.
    "ConsentDetails",
    "Contact24h",
    "CreateJoinLink",
    "FormGroup",
    "InviteMember",
    "NewGroupMember",
    "NewOrganisation",
    "NewPatient",
    "NewTeamMember",
    "RegisterMunicipality",
    "RoleChange",
    "SiteDetails",
    // Issue 30: a record and a report line name the member and the sites (ids kept).
    "RecordView",
    "ReportLine",
    // Issue 30: a team seat names its site and person and gives the phones to call.
    "TeamSeat",
];

/// Fifth difference: a body that carries ids says, in its description, whose each may be
/// (the rule the gateway enforces and a schema cannot state). Taken from the document as it
/// is, once it is seen to name every declared id.
fn ids_described(
    expected: &mut Value,
    actual: &Value,
    path: &str,
    method: &str,
    out: &mut Vec<String>,
) {
    let Some(route) = gateway::mount::declared()
        .find(|r| r.meta().path == path && r.meta().method.as_str().eq_ignore_ascii_case(method))
    else {
        return;
    };
    if route.body_ids().is_empty() {
        return;
    }
    let description = actual["requestBody"]["description"]
        .as_str()
        .unwrap_or_default();
    for id in route.body_ids() {
        if !description.contains(&format!("`{}`", id.pointer)) {
            out.push(format!(
                "{} {path}: the body's description does not say whose {} may be",
                method.to_uppercase(),
                id.pointer
            ));
        }
    }
    expected["requestBody"]["description"] = json!(description);
}

fn keeps_what_it_had(before: &Value, after: &Value, at: &str, out: &mut Vec<String>) {
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    };
    for (part, what) in [("responses", "answer"), ("properties", "property")] {
        let lost: Vec<String> = keys(&before[part])
            .difference(&keys(&after[part]))
            .cloned()
            .collect();
        if !lost.is_empty() {
            out.push(format!("{at}: lost {what}s {lost:?}"));
        }
    }
    let names = |v: &Value| -> BTreeSet<String> {
        v["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["name"].to_string())
            .collect()
    };
    if !names(before).is_subset(&names(after)) {
        out.push(format!("{at}: lost parameters"));
    }
}

/// The differences meant in the schemas, applied to the document as it was.
/// A service type code, as the document now states it: one of the listed codes.
fn service_type_code() -> Value {
    json!({
        "type": "string",
        "description": "A service type code of the long-term care insurance (介護保険サービス種類, e.g. `13` 訪問看護).",
        "enum": identity_api::service_types::all().iter().map(|t| t.code).collect::<Vec<_>>(),
    })
}

fn meant_in_schemas(before: &mut Value) {
    before["components"]["schemas"]["ServiceTypeCodeText"] = service_type_code();
    // Posts to patients' timelines are chained too, after attached documents, and the
    // coordination centre's reviews of broadcasts.
    if let Some(kinds) = before["components"]["schemas"]["RecordKind"]["enum"].as_array_mut()
        && let Some(at) = kinds.iter().position(|k| k == "document_attached")
    {
        kinds.insert(at + 1, json!("post_written"));
        kinds.insert(at + 2, json!("broadcast_reviewed"));
        kinds.insert(at + 3, json!("consultation_change"));
    }
    // An inclusion proof carries the record's bytes only to those who read records whole.
    let proof = &mut before["components"]["schemas"]["InclusionProof"];
    proof["required"]
        .as_array_mut()
        .expect("required fields")
        .retain(|field| field != "record");
    proof["properties"]["record"]["description"] = json!(
        "The record's canonical bytes, as stored (UTF-8 JSON), for those who read records\n\
         whole: auditors, and a site admin for their staff. Absent for the secretariat, who\n\
         read records without their clinical detail: what is proved to them is the leaf hash."
    );
}

fn differences(expected: &Value, actual: &Value, at: &str, out: &mut Vec<String>) {
    if expected == actual {
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let keys: BTreeSet<&String> = e.keys().chain(a.keys()).collect();
            for key in keys {
                let here = format!("{at}/{key}");
                match (e.get(key), a.get(key)) {
                    (Some(e), Some(a)) => differences(e, a, &here, out),
                    (Some(_), None) => out.push(format!("{here}: expected, missing")),
                    (None, Some(_)) => out.push(format!("{here}: there, not expected")),
                    (None, None) => {}
                }
            }
        }
        _ => out.push(format!("{at}: was {expected}, is {actual}")),
    }
}

#[test]
fn the_document_describes_the_same_routes_statuses_parameters_and_schemas_as_before() {
    let mut before: Value = serde_json::from_str(BEFORE).expect("the fixture is JSON");
    meant_in_schemas(&mut before);
    let (_, after) = gateway::app::api();
    let after = serde_json::to_value(&after).expect("the document serialises");

    let expected = as_meant(operations(&before));
    let actual = operations(&after);
    let mut found = Vec::new();
    for key in expected
        .keys()
        .chain(actual.keys())
        .collect::<BTreeSet<_>>()
    {
        let (path, method) = key;
        let at = format!("{} {path}", method.to_uppercase());
        let listed = |list: &[(&str, &str)]| list.contains(&(path.as_str(), method.as_str()));
        if listed(ADDED) {
            if !actual.contains_key(key) {
                found.push(format!("{at}: added, yet not documented"));
            }
            continue;
        }
        if listed(WIDENED) {
            match (expected.get(key), actual.get(key)) {
                (Some(e), Some(a)) => keeps_what_it_had(e, a, &at, &mut found),
                _ => found.push(format!("{at}: widened, yet missing")),
            }
            continue;
        }
        match (expected.get(key), actual.get(key)) {
            (Some(e), Some(a)) => {
                let mut e = e.clone();
                ids_described(&mut e, a, path, method, &mut found);
                let e = &e;
                let statuses = |op: &Value| -> BTreeSet<String> {
                    op["responses"]
                        .as_object()
                        .map(|r| r.keys().cloned().collect())
                        .unwrap_or_default()
                };
                let (was, is) = (statuses(e), statuses(a));
                if was != is {
                    found.push(format!("{at}: statuses were {was:?}, are {is:?}"));
                }
                differences(e, a, &at, &mut found);
            }
            (Some(_), None) => found.push(format!("{at}: expected, not documented")),
            (None, Some(_)) => found.push(format!("{at}: documented, not expected")),
            (None, None) => {}
        }
    }
    let tags = |doc: &Value| -> BTreeSet<String> {
        doc["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .filter(|t| !ADDED_TAGS.contains(&t["name"].as_str().unwrap_or_default()))
            .map(Value::to_string)
            .collect()
    };
    if tags(&before) != tags(&after) {
        found.push(format!(
            "tags were {:?}, are {:?}",
            tags(&before),
            tags(&after)
        ));
    }
    differences(&before["info"], &after["info"], "info", &mut found);
    let mut before_components = before["components"].clone();
    let mut after_components = after["components"].clone();
    for name in ADDED_SCHEMAS {
        if after_components["schemas"][*name].is_null() {
            found.push(format!("components/schemas/{name}: added, yet missing"));
        }
        if let Some(schemas) = after_components["schemas"].as_object_mut() {
            schemas.remove(*name);
        }
    }
    for name in WIDENED_SCHEMAS {
        let at = format!("components/schemas/{name}");
        keeps_what_it_had(
            &before_components["schemas"][*name],
            &after_components["schemas"][*name],
            &at,
            &mut found,
        );
        for components in [&mut before_components, &mut after_components] {
            if let Some(schemas) = components["schemas"].as_object_mut() {
                schemas.remove(*name);
            }
        }
    }
    differences(
        &before_components,
        &after_components,
        "components",
        &mut found,
    );
    assert!(
        found.is_empty(),
        "{} differences:\n{}",
        found.len(),
        found.join("\n")
    );
    assert!(actual.len() > 100, "operations compared: {}", actual.len());
}
