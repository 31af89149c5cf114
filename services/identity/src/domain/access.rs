//! The identity context's events as the access decision reads them: each event's
//! [`consent::Change`]s, for the live facts of a patient ([`consent::PatientAccessFacts`]) and
//! for time travel ([`consent::PatientHistory`]).

use chrono::{DateTime, Utc};
use consent::{Change, ConsentStatus, ConsentVersion, PatientAccessFacts, PatientHistory};
use identity_api::events::IdentityEvent;
use permissions::Role;

/// What an event, recorded at `recorded_at` (its envelope's `occurred_at`), changes for the
/// access decision. Patient events give the patient's changes; member and site events give
/// the directory changes time travel needs. Events that touch neither give none.
pub fn changes(recorded_at: DateTime<Utc>, event: &IdentityEvent) -> Vec<Change> {
    use IdentityEvent as E;
    let version = |consent_id: &str, version: u32, terms: &consent::ConsentTerms, status| {
        Change::ConsentVersionRecorded {
            version: ConsentVersion {
                consent_id: consent_id.into(),
                version,
                terms: terms.clone(),
                status,
            },
        }
    };
    match event {
        E::PatientRegistered {
            home_municipality,
            registering_site,
            ..
        } => vec![Change::PatientRegistered {
            home_municipality: home_municipality.clone(),
            registering_site: registering_site.as_deref().map(Into::into),
        }],
        E::PatientMoved {
            to_municipality,
            effective_on,
            ..
        } => vec![Change::PatientMoved {
            home_municipality: to_municipality.clone(),
            effective_at: consent::time::start_of_day(*effective_on),
        }],
        E::PatientCareEnded { effective_at, .. } => vec![Change::CareEnded {
            effective_at: *effective_at,
        }],
        E::ConsentRecorded {
            consent_id,
            version: v,
            terms,
            ..
        } => vec![version(consent_id, *v, terms, ConsentStatus::Pending)],
        E::ConsentAmended {
            consent_id,
            version: v,
            terms,
            in_force_at_once,
            ..
        } => {
            let status = if *in_force_at_once {
                ConsentStatus::Active
            } else {
                ConsentStatus::Pending
            };
            vec![version(consent_id, *v, terms, status)]
        }
        E::ConsentActivated {
            consent_id,
            version,
            ..
        } => vec![Change::ConsentActivated {
            consent_id: consent_id.as_str().into(),
            version: *version,
        }],
        E::ConsentRejected {
            consent_id,
            version,
            ..
        } => vec![Change::ConsentRejected {
            consent_id: consent_id.as_str().into(),
            version: *version,
        }],
        E::ConsentWithdrawn {
            consent_id,
            effective_at,
            ..
        } => vec![Change::ConsentWithdrawn {
            consent_id: consent_id.as_str().into(),
            effective_at: *effective_at,
        }],
        E::ConsentExpired {
            consent_id,
            version,
            ..
        } => vec![Change::ConsentExpired {
            consent_id: consent_id.as_str().into(),
            version: *version,
        }],
        E::TeamMemberAdded { membership, .. } => vec![Change::TeamMemberAdded {
            membership: membership.clone(),
        }],
        E::TeamMemberRemoved {
            membership_id,
            effective_at,
            ..
        } => vec![Change::TeamMemberRemoved {
            membership_id: membership_id.as_str().into(),
            effective_at: *effective_at,
        }],
        E::BreakGlassOpened { grant, .. } => vec![Change::BreakGlassOpened {
            grant: grant.clone(),
        }],
        // Nothing to change: a grant past its `expires_at` already opens nothing.
        E::BreakGlassEnded { .. } => Vec::new(),
        E::MemberInvited {
            member_id,
            profession,
            roles,
            sites,
            municipality,
            ..
        } => {
            let mut out = vec![Change::MemberProfile {
                member: member_id.as_str().into(),
                profession: *profession,
                roles: roles.clone(),
                municipality: Some(municipality.clone()),
            }];
            out.extend(sites.iter().map(|site| Change::MemberStartedAtSite {
                member: member_id.as_str().into(),
                site: site.as_str().into(),
                since: recorded_at,
            }));
            out
        }
        E::MemberSelfRegistered {
            member_id,
            profession,
            municipality,
            ..
        } => vec![Change::MemberProfile {
            member: member_id.as_str().into(),
            profession: *profession,
            roles: vec![Role::BroadcastRecipient],
            municipality: Some(municipality.clone()),
        }],
        E::MemberRolesChanged {
            member_id, roles, ..
        } => vec![Change::MemberRolesChanged {
            member: member_id.as_str().into(),
            roles: roles.clone(),
            effective_at: recorded_at,
        }],
        E::MemberDeactivated { member_id, .. } => vec![Change::MemberDeactivated {
            member: member_id.as_str().into(),
            effective_at: recorded_at,
        }],
        E::SiteClosed { site_id } => vec![Change::SiteClosed {
            site: site_id.as_str().into(),
            effective_at: recorded_at,
        }],
        _ => Vec::new(),
    }
}

/// Folds one recorded event of a patient's subject into their live facts, and moves the
/// facts' sequence to the event's.
pub fn apply(
    facts: &mut PatientAccessFacts,
    sequence: u64,
    recorded_at: DateTime<Utc>,
    event: &IdentityEvent,
) {
    for change in changes(recorded_at, event) {
        facts.apply(&change);
    }
    facts.sequence = facts.sequence.max(sequence);
}

/// Adds one recorded event to a history for time travel (patient and directory changes).
pub fn record(history: &mut PatientHistory, recorded_at: DateTime<Utc>, event: &IdentityEvent) {
    for change in changes(recorded_at, event) {
        history.record(recorded_at, change);
    }
}

#[cfg(test)]
mod tests {
    use consent::{
        AccessRequest, CategorySet, ConsentModel, DenialReason, Purpose, Reach, Reading, TeamPart,
    };
    use identity_api::patients::{ConsentDetails, ConsentGiver, ReceivedForm};
    use permissions::{Caller, Profession, Subject};

    use super::*;
    use crate::domain::care_team::{self, SeatFacts, TeamCommand};
    use crate::domain::consent::{self as consents, ConsentCommand, FormFacts};

    const P: &str = "0190a0c0-0000-7000-8000-0000000000aa";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The handler's loop, in miniature: decide on the folded state, append, fold.
    struct Subject_ {
        events: Vec<(DateTime<Utc>, IdentityEvent)>,
    }

    impl Subject_ {
        fn consents(&self) -> Option<consents::Consents> {
            self.events
                .iter()
                .fold(None, |s, (_, e)| consents::evolve(s, e))
        }
        fn team(&self) -> Option<care_team::CareTeam> {
            self.events
                .iter()
                .fold(None, |s, (_, e)| care_team::evolve(s, e))
        }
        fn push(&mut self, now: &str, event: Option<IdentityEvent>) {
            self.events.push((at(now), event.expect("an event")));
        }
        fn facts(&self) -> PatientAccessFacts {
            let mut facts = PatientAccessFacts::new(P.into());
            for (i, (when, e)) in self.events.iter().enumerate() {
                apply(&mut facts, i as u64 + 1, *when, e);
            }
            facts
        }
    }

    #[test]
    fn the_outcome_of_the_issue_from_commands_to_the_decision() {
        // A nursing station records the signed form, the secretariat activates it, the care
        // manager builds the team; the nurse reads, the pharmacist the consent does not cover
        // is refused; after the withdrawal the nurse's next request is refused.
        let mut s = Subject_ {
            events: vec![(
                at("2026-10-01T00:00:00Z"),
                IdentityEvent::PatientRegistered {
                    patient_id: P.into(),
                    home_municipality: "322032".into(),
                    insurer_number: "322032".into(),
                    registering_site: Some("care-office".into()),
                    registered_by: "cm".into(),
                    possible_duplicates: vec![],
                    personal: None,
                },
            )],
        };
        let form = ConsentDetails {
            model: ConsentModel::ListedSites {
                sites: vec!["nursing".into(), "care-office".into()],
            },
            categories: consent::DataCategory::ALL.to_vec(),
            valid_from: "2026-10-01".parse().unwrap(),
            valid_until: None,
            family_information: false,
            form: ReceivedForm::Written,
            given_by: ConsentGiver::Patient,
            signed_on: "2026-10-01".parse().unwrap(),
            received_at_site: "nursing".into(),
            scanned_form: None,
        };
        let recorded = consents::decide(
            s.consents().as_ref(),
            ConsentCommand::Record {
                consent_id: "c1".into(),
                details: form,
                recorded_by: "ns".into(),
                facts: FormFacts {
                    receiving_site_ok: true,
                    unknown_sites: vec![],
                    today: None,
                },
            },
        )
        .unwrap();
        s.push("2026-10-01T01:00:00Z", recorded);
        for (id, site, part) in [
            ("t-ns", "nursing", TeamPart::VisitingNurse),
            ("t-ph", "pharmacy", TeamPart::Pharmacy),
        ] {
            let added = care_team::decide(
                s.team().as_ref(),
                TeamCommand::Add {
                    membership_id: id.into(),
                    seat: identity_api::patients::NewTeamMember {
                        site: site.into(),
                        member: None,
                        part,
                        since: None,
                    },
                    added_by: "cm".into(),
                    now: at("2026-10-01T02:00:00Z"),
                    facts: SeatFacts {
                        site_open: true,
                        member_works_there: true,
                    },
                },
            )
            .unwrap();
            s.push("2026-10-01T02:00:00Z", added);
        }
        let caller = |id: &str, profession, site: &str| Caller {
            member_id: id.into(),
            session_id: "s".into(),
            subject: Subject::new([permissions::Role::Professional], Some(profession)),
            sites: vec![site.into()],
            municipality: Some("322032".into()),
        };
        let nurse = caller("ns", Profession::Nurse, "nursing");
        let pharmacist = caller("ph", Profession::Pharmacist, "pharmacy");
        let ask = |s: &Subject_, who: &Caller, when: &str| {
            let facts = s.facts();
            consent::decide(
                &facts,
                &AccessRequest {
                    member: who,
                    patient: P,
                    reach: Reach::ReadClinical {
                        categories: CategorySet::ALL,
                    },
                    purpose: Purpose::Care,
                    at: at(when),
                    subject_last_sequence: Some(s.events.len() as u64),
                },
            )
        };
        assert_eq!(
            ask(&s, &nurse, "2026-10-01T03:00:00Z").reason(),
            Some(DenialReason::ConsentPending)
        );
        let activated = consents::decide(
            s.consents().as_ref(),
            ConsentCommand::Verify {
                consent_id: "c1".into(),
                version: 1,
                verified_by: "sec".into(),
            },
        )
        .unwrap();
        s.push("2026-10-01T04:00:00Z", activated);
        assert!(ask(&s, &nurse, "2026-10-01T05:00:00Z").is_allowed());
        assert_eq!(
            ask(&s, &pharmacist, "2026-10-01T05:00:00Z").reason(),
            Some(DenialReason::SiteNotCovered)
        );
        let withdrawn = consents::decide(
            s.consents().as_ref(),
            ConsentCommand::Withdraw {
                consent_id: "c1".into(),
                effective_at: None,
                recorded_by: "ns".into(),
                now: at("2026-11-01T00:00:00Z"),
            },
        )
        .unwrap();
        s.push("2026-11-01T00:00:00Z", withdrawn);
        assert_eq!(
            ask(&s, &nurse, "2026-11-01T00:00:01Z").reason(),
            Some(DenialReason::ConsentWithdrawn)
        );

        // And the auditor asks about 15 October.
        let mut history = PatientHistory::new(P.into());
        record(
            &mut history,
            at("2026-04-01T00:00:00Z"),
            &IdentityEvent::MemberInvited {
                member_id: "ns".into(),
                name: "看護 花子".into(),
                name_kana: "カンゴ ハナコ".into(),
                profession: Profession::Nurse,
                roles: vec![permissions::Role::Professional],
                sites: vec!["nursing".into()],
                municipality: "322032".into(),
                expires_at: at("2026-04-15T00:00:00Z"),
            },
        );
        for (when, e) in &s.events {
            record(&mut history, *when, e);
        }
        let answer = history.who_could_see(at("2026-10-15T03:00:00Z"), Reading::AsKnownThen);
        assert!(answer.member("ns").unwrap().decision.is_allowed());
        let later = history.who_could_see(at("2026-11-15T03:00:00Z"), Reading::AsKnownThen);
        assert!(later.allowed().is_empty());
    }
}
