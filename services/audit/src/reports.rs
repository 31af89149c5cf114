//! The reports built from the log: a patient's access report, leak response, the monthly
//! review, and replay of the raw audit stream.

use crate::AuditError;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use audit_api::{
    AuditRecord, LeakQuery, LeakReport, MemberVolume, MonthlyReview, PatientReport,
    PatientReportQuery, Rendered, ReplayQuery, ReportLine, TouchedPatient,
};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use event_store::JetStreamStore;
use futures::StreamExt;
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::scope::Scope;

/// Lines one report carries (the bus carries 512 KiB).
const MAX_REPORT_LINES: usize = 1_000;
/// Patients one leak answer carries.
const MAX_LEAK_PATIENTS: usize = 2_000;
/// Bytes of raw events one replay page carries.
const MAX_REPLAY_BYTES: usize = 400 * 1024;

fn japan() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).expect("a valid offset")
}

/// The instants a month (`YYYY-MM`, in Japan) starts and ends.
pub fn month_bounds(month: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let (y, m) = month.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    let start = japan()
        .from_local_datetime(&first.and_hms_opt(0, 0, 0)?)
        .single()?;
    let end = japan()
        .from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
        .single()?;
    Some((start.with_timezone(&Utc), end.with_timezone(&Utc)))
}

/// Outside working hours: before 08:00 or from 19:00, or on a weekend, in Japan.
pub fn outside_hours(at: DateTime<Utc>) -> bool {
    let local = at.with_timezone(&japan());
    local.hour() < 8 || local.hour() >= 19 || matches!(local.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Why an access was allowed or refused, in words.
pub fn why(record: &AuditRecord, grants: &HashMap<String, String>) -> String {
    let reason = &record.reason;
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
    match record.outcome.as_deref() {
        Some("allowed") => {
            let basis = reason.get("basis").cloned().unwrap_or(Value::Null);
            match basis.get("kind").and_then(Value::as_str) {
                Some("consent") => format!(
                    "consent {} version {}, team seat {} at site {}",
                    text(&basis, "consent_id"),
                    basis.get("version").and_then(Value::as_u64).unwrap_or(0),
                    text(&basis, "team_membership"),
                    text(&basis, "site")
                ),
                Some("break_glass") => {
                    let grant = text(&basis, "grant_id");
                    let stated = grants
                        .get(&grant)
                        .map(|r| format!(": \"{r}\""))
                        .unwrap_or_default();
                    format!(
                        "break-glass (emergency) grant {grant} until {}{stated}",
                        text(&basis, "expires_at")
                    )
                }
                Some("registration") => format!(
                    "registration data through {}",
                    basis
                        .get("tie")
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "a tie".into())
                ),
                Some(other) => format!("allowed ({other})"),
                None => "allowed".into(),
            }
        }
        Some("denied") => {
            let why = reason.get("reason").cloned().unwrap_or(Value::Null);
            format!(
                "refused: {}",
                why.get("kind")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| why.to_string())
            )
        }
        _ => String::new(),
    }
}

async fn records_where(
    client: &impl GenericClient,
    condition: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    limit: usize,
) -> Result<Vec<AuditRecord>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!("SELECT record FROM records WHERE {condition} ORDER BY seq LIMIT {limit}"),
            params,
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| serde_json::from_slice(&r.get::<_, Vec<u8>>(0)).ok())
        .collect())
}

/// Every access to one patient's data in the period, with why.
pub async fn patient_report(
    client: &impl GenericClient,
    pseudonym: &str,
    q: &PatientReportQuery,
    scope: &Scope,
) -> Result<PatientReport, tokio_postgres::Error> {
    let (from, to) = (q.from, q.to);
    let municipality = match scope {
        Scope::Municipality(code) => Some(code.clone()),
        _ => None,
    };
    let records = records_where(
        client,
        "patient = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3) AND kind IN ('patient_access', 'break_glass_opened')
         AND ($4::text IS NULL OR municipality = $4)",
        &[&pseudonym, &from, &to, &municipality],
        MAX_REPORT_LINES * 2 + 1,
    )
    .await?;
    let grants: HashMap<String, String> = records
        .iter()
        .filter(|r| r.kind == audit_api::RecordKind::BreakGlassOpened)
        .filter_map(|r| {
            let grant = r.detail.get("grant")?;
            Some((
                grant.get("grant_id")?.as_str()?.to_owned(),
                r.reason.as_str().unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    let accesses: Vec<&AuditRecord> = records
        .iter()
        .filter(|r| r.kind == audit_api::RecordKind::PatientAccess)
        .collect();
    let complete = accesses.len() <= MAX_REPORT_LINES && records.len() <= MAX_REPORT_LINES * 2;
    let names = crate::names::Names::of(
        client,
        &accesses
            .iter()
            .filter_map(|r| r.member_id.clone())
            .collect::<Vec<_>>(),
        &accesses
            .iter()
            .flat_map(|r| r.sites.iter().cloned())
            .collect::<Vec<_>>(),
    )
    .await?;
    let lines: Vec<ReportLine> = accesses
        .iter()
        .take(MAX_REPORT_LINES)
        .map(|r| ReportLine {
            at: r.at,
            member_id: r.member_id.clone(),
            member: r.member_id.as_deref().map(|id| names.member(id, scope)),
            roles: r.roles.clone(),
            sites: r.sites.clone(),
            site_names: r.sites.iter().map(|id| names.site(id, scope)).collect(),
            what: r
                .categories
                .iter()
                .chain(r.resources.iter())
                .cloned()
                .collect(),
            outcome: r.outcome.clone(),
            why: why(r, &grants),
            break_glass: r.break_glass,
            seq: r.seq,
        })
        .collect();
    let log_size = crate::log::head(client).await?.0;
    Ok(PatientReport {
        patient_id: q.patient_id.clone(),
        from: q.from,
        to: q.to,
        break_glass_uses: lines.iter().filter(|l| l.break_glass).count() as u64,
        denied: lines
            .iter()
            .filter(|l| l.outcome.as_deref() == Some("denied"))
            .count() as u64,
        lines,
        log_size,
        complete,
    })
}

/// Every patient a member or session touched in the period, with what was seen.
pub async fn leak_report(
    client: &impl GenericClient,
    q: &LeakQuery,
) -> Result<LeakReport, tokio_postgres::Error> {
    let (from, to) = (q.from, q.to);
    let rows = client
        .query(
            "SELECT r.record, p.patient_id FROM records r
             LEFT JOIN patients p ON p.pseudonym = r.patient
             WHERE r.kind = 'patient_access'
               AND ($1::timestamptz IS NULL OR r.at >= $1) AND ($2::timestamptz IS NULL OR r.at < $2)
               AND ($3::text IS NULL OR r.member_id = $3)
               AND ($4::text IS NULL OR r.session_id = $4)
             ORDER BY r.seq LIMIT 500000",
            &[&from, &to, &q.member_id, &q.session_id],
        )
        .await?;
    let mut touched: BTreeMap<String, (TouchedPatient, BTreeSet<String>)> = BTreeMap::new();
    for row in &rows {
        let Ok(record) = serde_json::from_slice::<AuditRecord>(&row.get::<_, Vec<u8>>(0)) else {
            continue;
        };
        let Some(pseudonym) = record.patient.clone() else {
            continue;
        };
        let entry = touched.entry(pseudonym.clone()).or_insert_with(|| {
            (
                TouchedPatient {
                    patient_id: row.get(1),
                    patient: pseudonym,
                    accesses: 0,
                    denied: 0,
                    seen: Vec::new(),
                    first_at: record.at,
                    last_at: record.at,
                },
                BTreeSet::new(),
            )
        });
        if record.outcome.as_deref() == Some("allowed") {
            entry.0.accesses += 1;
            entry.1.extend(record.categories.iter().cloned());
            entry.1.extend(record.resources.iter().cloned());
        } else {
            entry.0.denied += 1;
        }
        entry.0.first_at = entry.0.first_at.min(record.at);
        entry.0.last_at = entry.0.last_at.max(record.at);
    }
    let complete = touched.len() <= MAX_LEAK_PATIENTS && rows.len() < 500_000;
    let mut patients: Vec<TouchedPatient> = touched
        .into_values()
        .map(|(mut p, seen)| {
            p.seen = seen.into_iter().collect();
            p
        })
        .collect();
    patients.sort_by(|a, b| a.first_at.cmp(&b.first_at).then(a.patient.cmp(&b.patient)));
    patients.truncate(MAX_LEAK_PATIENTS);
    Ok(LeakReport {
        member_id: q.member_id.clone(),
        session_id: q.session_id.clone(),
        patients,
        complete,
    })
}

/// A municipality's month: accesses, denials, break-glass, outside hours, unusual volume.
pub async fn monthly_review(
    client: &impl GenericClient,
    municipality: &str,
    month: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<MonthlyReview, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT kind, member_id, patient, outcome, break_glass, at FROM records
             WHERE municipality = $1 AND at >= $2 AND at < $3
               AND kind IN ('patient_access', 'sign_in_failed', 'permission_denied')",
            &[&municipality, &from, &to],
        )
        .await?;
    let mut review = MonthlyReview {
        municipality: municipality.to_owned(),
        month: month.to_owned(),
        accesses: 0,
        denied: 0,
        break_glass: 0,
        outside_hours: 0,
        sign_in_failures: 0,
        permission_denials: 0,
        patients: 0,
        members: Vec::new(),
        unusual_rule: String::new(),
    };
    let mut patients = BTreeSet::new();
    let mut members: BTreeMap<String, (MemberVolume, BTreeSet<String>)> = BTreeMap::new();
    for row in &rows {
        let kind: String = row.get(0);
        match kind.as_str() {
            "sign_in_failed" => {
                review.sign_in_failures += 1;
                continue;
            }
            "permission_denied" => {
                review.permission_denials += 1;
                continue;
            }
            _ => {}
        }
        let member: Option<String> = row.get(1);
        let patient: Option<String> = row.get(2);
        let outcome: Option<String> = row.get(3);
        let at: DateTime<Utc> = row.get(5);
        let denied = outcome.as_deref() == Some("denied");
        let late = outside_hours(at);
        review.accesses += 1;
        review.denied += denied as u64;
        review.break_glass += row.get::<_, bool>(4) as u64;
        review.outside_hours += late as u64;
        if let Some(p) = &patient {
            patients.insert(p.clone());
        }
        if let Some(m) = member {
            let entry = members.entry(m.clone()).or_insert_with(|| {
                (
                    MemberVolume {
                        member_id: m,
                        accesses: 0,
                        patients: 0,
                        denied: 0,
                        outside_hours: 0,
                        unusual: false,
                    },
                    BTreeSet::new(),
                )
            });
            entry.0.accesses += 1;
            entry.0.denied += denied as u64;
            entry.0.outside_hours += late as u64;
            if let Some(p) = patient {
                entry.1.insert(p);
            }
        }
    }
    review.patients = patients.len() as u64;
    let mut volumes: Vec<MemberVolume> = members
        .into_values()
        .map(|(mut v, p)| {
            v.patients = p.len() as u64;
            v
        })
        .collect();
    let mut counts: Vec<u64> = volumes.iter().map(|v| v.accesses).collect();
    counts.sort_unstable();
    let median = counts.get(counts.len() / 2).copied().unwrap_or(0);
    // Review practice: a member with several times the usual volume is worth a look; a
    // floor keeps a quiet month from flagging a member with a handful of accesses.
    let threshold = (median * 3).max(30);
    for v in &mut volumes {
        v.unusual = v.accesses > threshold;
    }
    volumes.sort_by(|a, b| {
        b.accesses
            .cmp(&a.accesses)
            .then(a.member_id.cmp(&b.member_id))
    });
    review.members = volumes;
    review.unusual_rule = format!(
        "more than {threshold} accesses in the month (3 × the median member's {median}, at least 30)"
    );
    Ok(review)
}

/// The raw events of the audit stream in a time window, as NDJSON: one
/// `{"sequence": …, "event": envelope}` per line.
pub async fn replay(
    store: &JetStreamStore,
    q: &ReplayQuery,
    limit: i64,
) -> Result<Rendered, AuditError> {
    let last = store.last_sequence(audit_api::CONTEXT).await?;
    let mut body = String::new();
    let mut next_after = None;
    let start = q.after.map(|a| a.saturating_add(1));
    if start.is_some_and(|s| s > last) || last == 0 {
        return Ok(Rendered {
            media_type: "application/x-ndjson".into(),
            body,
            next_after,
        });
    }
    let mut subscription = match (start, q.from) {
        (Some(from), _) => {
            store
                .subscribe(audit_api::CONTEXT, Vec::new(), from)
                .await?
        }
        (None, Some(since)) => {
            store
                .subscribe_since(audit_api::CONTEXT, Vec::new(), since)
                .await?
        }
        (None, None) => store.subscribe(audit_api::CONTEXT, Vec::new(), 1).await?,
    };
    let mut count = 0;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(2), subscription.next()).await;
        let Ok(Some(delivered)) = next else { break };
        let delivered = delivered?;
        let sequence = delivered.position.sequence;
        let Ok(event) = delivered.envelope else {
            continue;
        };
        if q.to.is_some_and(|to| event.occurred_at >= to) {
            break;
        }
        if q.from.is_none_or(|from| event.occurred_at >= from) {
            let line = serde_json::to_string(
                &serde_json::json!({ "sequence": sequence, "event": event }),
            )?;
            if count as i64 >= limit || body.len() + line.len() > MAX_REPLAY_BYTES {
                next_after = Some(sequence - 1);
                break;
            }
            body.push_str(&line);
            body.push('\n');
            count += 1;
        }
        if sequence >= last || delivered.pending == 0 {
            break;
        }
    }
    Ok(Rendered {
        media_type: "application/x-ndjson".into(),
        body,
        next_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_midnight_to_midnight_in_japan() {
        let (from, to) = month_bounds("2026-10").unwrap();
        assert_eq!(from.to_rfc3339(), "2026-09-30T15:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-10-31T15:00:00+00:00");
        let (_, to) = month_bounds("2026-12").unwrap();
        assert_eq!(to.to_rfc3339(), "2026-12-31T15:00:00+00:00");
        for bad in ["2026-13", "2026-1", "26-10", "2026/10", ""] {
            assert!(month_bounds(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn evenings_and_weekends_are_outside_working_hours() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert!(!outside_hours(at("2026-10-01T09:30:00+09:00"))); // Thursday morning
        assert!(outside_hours(at("2026-10-01T19:00:00+09:00")));
        assert!(outside_hours(at("2026-10-01T07:59:00+09:00")));
        assert!(outside_hours(at("2026-10-03T10:00:00+09:00"))); // Saturday
    }
}
