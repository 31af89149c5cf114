//! Exports: CSV, NDJSON, FHIR R4 `AuditEvent` (shaped after IHE BALP), and the printable
//! patient access report.

use audit_api::{MonthlyReview, PatientReport, RecordKind, RecordPage, RecordView, Rendered};
use serde_json::{Value, json};

/// One CSV cell: quoted when needed, and never read as a formula by a spreadsheet.
fn cell(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

fn row(cells: &[String]) -> String {
    let mut line = cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Records as CSV with a header row.
pub fn csv(page: &RecordPage) -> Rendered {
    let mut body = row(&[
        "seq",
        "at",
        "kind",
        "event_type",
        "member_id",
        "session_id",
        "roles",
        "sites",
        "municipality",
        "patient",
        "patient_id",
        "outcome",
        "categories",
        "resources",
        "purpose",
        "break_glass",
        "client_address",
        "route",
        "chain_hash",
    ]
    .map(str::to_owned));
    for v in &page.records {
        let r = &v.record;
        body.push_str(&row(&[
            r.seq.to_string(),
            r.at.to_rfc3339(),
            r.kind.as_str().to_owned(),
            r.event_type.clone(),
            opt(&r.member_id),
            opt(&r.session_id),
            r.roles.join(" "),
            r.sites.join(" "),
            opt(&r.municipality),
            opt(&r.patient),
            opt(&v.patient_id),
            opt(&r.outcome),
            r.categories.join(" "),
            r.resources.join(" "),
            opt(&r.purpose),
            r.break_glass.to_string(),
            opt(&r.client_address),
            opt(&r.route),
            v.chain_hash.to_hex(),
        ]));
    }
    Rendered {
        media_type: "text/csv; charset=utf-8".into(),
        body,
        next_after: page.next_after,
    }
}

/// Records as NDJSON, one view per line.
pub fn ndjson(page: &RecordPage) -> Rendered {
    let mut body = String::new();
    for v in &page.records {
        body.push_str(&serde_json::to_string(v).unwrap_or_default());
        body.push('\n');
    }
    Rendered {
        media_type: "application/x-ndjson".into(),
        body,
        next_after: page.next_after,
    }
}

const DCM: &str = "http://dicom.nema.org/resources/ontology/DCM";

/// One record as a FHIR R4 `AuditEvent`, after IHE Basic Audit Log Patterns: the type
/// from DICOM (110110 patient record, 110114 user authentication, 110113 security alert,
/// 110100 application activity), outcome 0 (success) or 4 (refused), the purpose of use
/// from HL7 v3 ActReason, the accessor as the requesting agent with their network address,
/// the platform as the source, the patient (by pseudonym, or id when the reader may see it)
/// as the entity.
pub fn audit_event(view: &RecordView) -> Value {
    let r = &view.record;
    let (code, display) = match r.kind {
        RecordKind::PatientAccess | RecordKind::DocumentAttached | RecordKind::PostWritten => {
            ("110110", "Patient Record")
        }
        RecordKind::SignIn | RecordKind::SignInFailed | RecordKind::SessionRevoked => {
            ("110114", "User Authentication")
        }
        RecordKind::LockedOut
        | RecordKind::PermissionDenied
        | RecordKind::BreakGlassOpened
        | RecordKind::BreakGlassEnded
        | RecordKind::CredentialsReset
        | RecordKind::SecurityChange => ("110113", "Security Alert"),
        _ => ("110100", "Application Activity"),
    };
    let action = match (r.kind, r.route.as_deref()) {
        (RecordKind::PatientAccess, Some(route)) if !route.starts_with("GET ") => "C",
        (RecordKind::PatientAccess, _) => "R",
        (RecordKind::SignIn | RecordKind::SignInFailed, _) => "E",
        (RecordKind::PermissionDenied, Some(route)) => match route.split(' ').next() {
            Some("GET") => "R",
            Some("POST") => "C",
            Some("DELETE") => "D",
            _ => "U",
        },
        _ => "U",
    };
    let outcome = match r.outcome.as_deref() {
        Some("denied") | Some("failed") => "4",
        _ => "0",
    };
    let purpose = match r.purpose.as_deref() {
        Some("care") => Some(("TREAT", "treatment")),
        Some("emergency") => Some(("ETREAT", "emergency treatment")),
        Some("audit") => Some(("HSYSADMIN", "health system administration")),
        Some(_) => Some(("HOPERAT", "healthcare operations")),
        None => None,
    };
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": format!("tsunagu-audit-{}", r.seq),
        "meta": { "profile": ["https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead"] },
        "type": { "system": DCM, "code": code, "display": display },
        "subtype": [{ "system": "urn:tsunagu:event-type", "code": r.event_type }],
        "action": action,
        "recorded": r.at.to_rfc3339(),
        "outcome": outcome,
        "agent": [{
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "code": "humanuser", "display": "human user" }] },
            "who": { "identifier": { "system": "urn:tsunagu:member", "value": r.member_id.clone().unwrap_or_else(|| r.actor.clone()) } },
            "altId": r.session_id,
            "role": r.roles.iter().map(|role| json!({ "text": role })).collect::<Vec<_>>(),
            "requestor": true,
            "network": r.client_address.as_ref().map(|a| json!({ "address": a, "type": "2" })),
        }],
        "source": {
            "site": r.municipality,
            "observer": { "display": "tsunagu" },
            "type": [{ "system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server" }]
        },
        "extension": [{ "url": "urn:tsunagu:chain-hash", "valueString": view.chain_hash.to_hex() }],
    });
    if let Some((code, display)) = purpose {
        event["purposeOfEvent"] = json!([{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": code, "display": display }] }]);
    }
    if let Some(outcome) = r.outcome.as_deref().filter(|_| !r.reason.is_null()) {
        event["outcomeDesc"] = Value::String(format!("{outcome}: {}", r.reason));
    }
    if let Some(pseudonym) = &r.patient {
        let (system, value) = match &view.patient_id {
            Some(id) => ("urn:tsunagu:patient", id.clone()),
            None => ("urn:tsunagu:patient-pseudonym", pseudonym.clone()),
        };
        let mut entity = json!({
            "what": { "identifier": { "system": system, "value": value } },
            "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
            "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" },
        });
        if !r.categories.is_empty() || !r.resources.is_empty() {
            entity["detail"] = json!([{ "type": "categories", "valueString": r.categories.iter().chain(r.resources.iter()).cloned().collect::<Vec<_>>().join(" ") }]);
        }
        event["entity"] = json!([entity]);
    }
    event
}

/// Records as a FHIR R4 searchset Bundle of `AuditEvent`s.
pub fn fhir(page: &RecordPage) -> Rendered {
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": page.records.len(),
        "entry": page.records.iter().map(|v| json!({ "resource": audit_event(v) })).collect::<Vec<_>>(),
    });
    Rendered {
        media_type: "application/fhir+json".into(),
        body: serde_json::to_string(&bundle).unwrap_or_default(),
        next_after: page.next_after,
    }
}

/// A patient's report as CSV.
pub fn report_csv(report: &PatientReport) -> Rendered {
    let mut body = row(&[
        "at",
        "member_id",
        "member_name",
        "roles",
        "sites",
        "site_names",
        "what",
        "outcome",
        "why",
        "break_glass",
        "seq",
    ]
    .map(str::to_owned));
    for l in &report.lines {
        body.push_str(&row(&[
            l.at.to_rfc3339(),
            opt(&l.member_id),
            l.member.as_ref().map(named).unwrap_or_default(),
            l.roles.join(" "),
            l.sites.join(" "),
            l.site_names.iter().map(named).collect::<Vec<_>>().join(" "),
            l.what.join(" "),
            opt(&l.outcome),
            l.why.clone(),
            l.break_glass.to_string(),
            l.seq.to_string(),
        ]));
    }
    Rendered {
        media_type: "text/csv; charset=utf-8".into(),
        body,
        next_after: None,
    }
}

/// A member or site in words for a printed report: the name, or why there is none.
fn named(view: &audit_api::NameView) -> String {
    match (&view.name, view.withheld.as_deref()) {
        (Some(name), _) => name.clone(),
        (None, Some("other_municipality")) => "他の市町村の職員・事業所".to_owned(),
        _ => "（登録の記録なし）".to_owned(),
    }
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A patient's report as a printable page (Japanese headings, times in JST).
pub fn report_html(report: &PatientReport) -> Rendered {
    let jst = chrono::FixedOffset::east_opt(9 * 3600).expect("a valid offset");
    let mut body = String::from(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>アクセス記録</title>\
         <style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #444;padding:2px 6px;font-size:10pt}\
         .bg{background:#fdd}</style></head><body>",
    );
    body.push_str(&format!(
        "<h1>あなたの情報へのアクセス記録</h1><p>利用者ID: {}<br>期間: {} 〜 {}<br>件数: {}（うち緊急時アクセス {}、拒否 {}）</p>",
        html(&report.patient_id),
        report.from.map(|f| f.with_timezone(&jst).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "開始".into()),
        report.to.map(|t| t.with_timezone(&jst).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "現在".into()),
        report.lines.len(),
        report.break_glass_uses,
        report.denied,
    ));
    body.push_str("<table><tr><th>日時</th><th>職員</th><th>職種・役割</th><th>事業所</th><th>内容</th><th>結果</th><th>理由</th></tr>");
    for l in &report.lines {
        body.push_str(&format!(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if l.break_glass { " class=\"bg\"" } else { "" },
            l.at.with_timezone(&jst).format("%Y-%m-%d %H:%M"),
            html(&l.member.as_ref().map_or_else(|| "—".to_owned(), named)),
            html(&crate::words::roles(&l.roles)),
            html(&l.site_names.iter().map(named).collect::<Vec<_>>().join("、")),
            html(
                &l.what
                    .iter()
                    .map(|w| crate::words::what(w))
                    .fold(Vec::<String>::new(), |mut seen, w| {
                        if !seen.contains(&w) {
                            seen.push(w);
                        }
                        seen
                    })
                    .join("、")
            ),
            crate::words::outcome(l.outcome.as_deref()),
            html(&crate::words::why(&l.why)),
        ));
    }
    body.push_str("</table>");
    if !report.complete {
        body.push_str(
            "<p>この期間の記録は一度に表示できる件数を超えています。期間を分けてください。</p>",
        );
    }
    body.push_str(&format!(
        "<p>記録の改ざん検知: 監査ログ {} 件の時点で作成</p></body></html>",
        report.log_size
    ));
    Rendered {
        media_type: "text/html; charset=utf-8".into(),
        body,
        next_after: None,
    }
}

/// A monthly review as CSV: the summary, then one row per member.
pub fn review_csv(review: &MonthlyReview) -> Rendered {
    let mut body = row(&[
        "municipality",
        "month",
        "accesses",
        "denied",
        "break_glass",
        "outside_hours",
        "sign_in_failures",
        "permission_denials",
        "patients",
    ]
    .map(str::to_owned));
    body.push_str(&row(&[
        review.municipality.clone(),
        review.month.clone(),
        review.accesses.to_string(),
        review.denied.to_string(),
        review.break_glass.to_string(),
        review.outside_hours.to_string(),
        review.sign_in_failures.to_string(),
        review.permission_denials.to_string(),
        review.patients.to_string(),
    ]));
    body.push_str("\r\n");
    body.push_str(&row(&[
        "member_id",
        "accesses",
        "patients",
        "denied",
        "outside_hours",
        "unusual",
    ]
    .map(str::to_owned)));
    for m in &review.members {
        body.push_str(&row(&[
            m.member_id.clone(),
            m.accesses.to_string(),
            m.patients.to_string(),
            m.denied.to_string(),
            m.outside_hours.to_string(),
            m.unusual.to_string(),
        ]));
    }
    Rendered {
        media_type: "text/csv; charset=utf-8".into(),
        body,
        next_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_that_a_spreadsheet_would_run_is_defused_and_quotes_are_doubled() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(html("<script>&'\""), "&lt;script&gt;&amp;&#39;&quot;");
    }
}
