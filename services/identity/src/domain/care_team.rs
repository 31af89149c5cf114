//! A patient's care team: the sites and members looking after them and their parts, the
//! team's 24-hour contact, and family contacts (who are not users).
//!
//! The team lives on the patient's subject with the consents: who may see a patient is one
//! decision, made from one history. Who may change the team (the patient's care manager, the
//! registering site, the secretariat) is the permission rules' call, in the handler.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use consent::TeamMembership;
use identity_api::events::IdentityEvent;
use identity_api::patients::{Contact24h, FamilyContact, NewTeamMember};

use super::numbers::phone;
use super::{Invalid, normalised_kana, normalised_name};

/// At most this many family contacts per patient.
pub const MAX_FAMILY_CONTACTS: usize = 20;

/// The longest note on a contact, in characters.
pub const MAX_NOTE_CHARS: usize = 500;

/// A patient's team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareTeam {
    pub patient_id: String,
    pub care_ended: bool,
    /// Every seat, held or ended, by id.
    pub seats: BTreeMap<String, TeamMembership>,
    pub contact_24h: Option<Contact24h>,
    /// Ids of the family contacts (their details are personal and may be erased).
    pub family_contacts: BTreeSet<String>,
}

impl CareTeam {
    /// Seats held at `at`.
    pub fn held_at(&self, at: DateTime<Utc>) -> impl Iterator<Item = &TeamMembership> {
        self.seats.values().filter(move |m| m.held_at(at))
    }
}

/// Facts the handler looked up for a new seat.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SeatFacts {
    /// The site is an open site of the register.
    pub site_open: bool,
    /// The member named (if any) works at that site.
    pub member_works_there: bool,
}

/// What is asked of a team. Ids, the caller and time come in the command.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamCommand {
    Add {
        membership_id: String,
        seat: NewTeamMember,
        added_by: String,
        now: DateTime<Utc>,
        facts: SeatFacts,
    },
    Remove {
        membership_id: String,
        effective_at: Option<DateTime<Utc>>,
        removed_by: String,
        now: DateTime<Utc>,
    },
    SetContact24h {
        contact: Option<Contact24h>,
        now: DateTime<Utc>,
    },
    AddFamilyContact {
        contact_id: String,
        contact: FamilyContact,
    },
    RemoveFamilyContact {
        contact_id: String,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("no such patient")]
    PatientNotRegistered,
    #[error("the patient's care has ended; the team is closed")]
    CareEnded,
    #[error("already on the team in this part (seat {0})")]
    AlreadySeated(String),
    #[error("no such seat on the team")]
    NoSuchSeat,
    #[error("no such family contact")]
    NoSuchContact,
    #[error("a patient has at most {MAX_FAMILY_CONTACTS} family contacts")]
    TooManyContacts,
}

fn note(field: &str, note: Option<String>) -> Result<Option<String>, Invalid> {
    let Some(note) = note else {
        return Ok(None);
    };
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(Invalid::new(
            field,
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok((!note.is_empty()).then(|| note.to_owned()))
}

/// Decides what a command does to a team (`state` is `None` while the patient is not
/// registered). `Ok(None)`: the command asks for what already holds.
pub fn decide(
    state: Option<&CareTeam>,
    command: TeamCommand,
) -> Result<Option<IdentityEvent>, TeamError> {
    use TeamCommand as C;
    let Some(team) = state else {
        return Err(TeamError::PatientNotRegistered);
    };
    if team.care_ended {
        return Err(TeamError::CareEnded);
    }
    let patient_id = team.patient_id.clone();
    match command {
        C::Add {
            membership_id,
            seat,
            added_by,
            now,
            facts,
        } => {
            if !facts.site_open {
                return Err(Invalid::new("/site", "no open site has this id").into());
            }
            if seat.member.is_some() && !facts.member_works_there {
                return Err(Invalid::new("/member", "no member of this site has this id").into());
            }
            let since = seat.since.unwrap_or(now);
            let same = team.seats.values().find(|m| {
                m.site == seat.site
                    && m.member.as_ref().map(|x| x.as_str()) == seat.member.as_deref()
                    && m.part == seat.part
                    && m.until.is_none_or(|u| u > since)
            });
            if let Some(same) = same {
                return Err(TeamError::AlreadySeated(
                    same.membership_id.as_str().to_owned(),
                ));
            }
            Ok(Some(IdentityEvent::TeamMemberAdded {
                patient_id,
                membership: TeamMembership {
                    membership_id: membership_id.into(),
                    site: seat.site.into(),
                    member: seat.member.map(Into::into),
                    part: seat.part,
                    since,
                    until: None,
                },
                added_by,
            }))
        }
        C::Remove {
            membership_id,
            effective_at,
            removed_by,
            now,
        } => {
            let seat = team
                .seats
                .get(&membership_id)
                .ok_or(TeamError::NoSuchSeat)?;
            let effective_at = effective_at.unwrap_or(now);
            if seat.until.is_some_and(|u| u <= effective_at) {
                return Ok(None);
            }
            if effective_at < seat.since {
                return Err(
                    Invalid::new("/effective_at", "a seat cannot end before it started").into(),
                );
            }
            Ok(Some(IdentityEvent::TeamMemberRemoved {
                patient_id,
                membership_id,
                effective_at,
                removed_by,
            }))
        }
        C::SetContact24h { contact, now } => {
            let contact = match contact {
                None => None,
                Some(c) => {
                    let number = phone("/phone", &c.phone)?;
                    let off_team = c
                        .site
                        .as_ref()
                        .is_some_and(|site| !team.held_at(now).any(|m| m.site == *site));
                    if off_team {
                        return Err(
                            Invalid::new("/site", "not a site on the patient's team").into()
                        );
                    }
                    Some(Contact24h {
                        site: c.site,
                        phone: number,
                        note: note("/note", c.note)?,
                    })
                }
            };
            if contact == team.contact_24h {
                return Ok(None);
            }
            Ok(Some(IdentityEvent::Contact24hChanged {
                patient_id,
                contact,
            }))
        }
        C::AddFamilyContact {
            contact_id,
            contact,
        } => {
            if team.family_contacts.len() >= MAX_FAMILY_CONTACTS {
                return Err(TeamError::TooManyContacts);
            }
            let contact = FamilyContact {
                name: normalised_name("/name", &contact.name)?,
                name_kana: contact
                    .name_kana
                    .map(|k| normalised_kana("/name_kana", &k))
                    .transpose()?,
                relationship: contact.relationship,
                phone: phone("/phone", &contact.phone)?,
                key_person: contact.key_person,
                note: note("/note", contact.note)?,
            };
            Ok(Some(IdentityEvent::FamilyContactAdded {
                patient_id,
                contact_id,
                personal: Some(contact),
            }))
        }
        C::RemoveFamilyContact { contact_id } => {
            if !team.family_contacts.contains(&contact_id) {
                return Err(TeamError::NoSuchContact);
            }
            Ok(Some(IdentityEvent::FamilyContactRemoved {
                patient_id,
                contact_id,
            }))
        }
    }
}

/// Folds one event into the state. Registration opens the team; the end of care closes every
/// seat at the moment care ended.
pub fn evolve(state: Option<CareTeam>, event: &IdentityEvent) -> Option<CareTeam> {
    use IdentityEvent as E;
    match (state, event) {
        (None, E::PatientRegistered { patient_id, .. }) => Some(CareTeam {
            patient_id: patient_id.clone(),
            care_ended: false,
            seats: BTreeMap::new(),
            contact_24h: None,
            family_contacts: BTreeSet::new(),
        }),
        (Some(mut t), E::PatientCareEnded { effective_at, .. }) => {
            t.care_ended = true;
            for seat in t.seats.values_mut() {
                seat.until = Some(seat.until.map_or(*effective_at, |u| u.min(*effective_at)));
            }
            Some(t)
        }
        (Some(mut t), E::TeamMemberAdded { membership, .. }) => {
            t.seats.insert(
                membership.membership_id.as_str().to_owned(),
                membership.clone(),
            );
            Some(t)
        }
        (
            Some(mut t),
            E::TeamMemberRemoved {
                membership_id,
                effective_at,
                ..
            },
        ) => {
            if let Some(seat) = t.seats.get_mut(membership_id) {
                seat.until = Some(seat.until.map_or(*effective_at, |u| u.min(*effective_at)));
            }
            Some(t)
        }
        (Some(mut t), E::Contact24hChanged { contact, .. }) => {
            t.contact_24h = contact.clone();
            Some(t)
        }
        (Some(mut t), E::FamilyContactAdded { contact_id, .. }) => {
            t.family_contacts.insert(contact_id.clone());
            Some(t)
        }
        (Some(mut t), E::FamilyContactRemoved { contact_id, .. }) => {
            t.family_contacts.remove(contact_id);
            Some(t)
        }
        (state, _) => state,
    }
}

#[cfg(test)]
mod tests {
    use consent::{FamilyRelationship, TeamPart};
    use identity_api::patients::EndOfCareReason;

    use super::*;

    const P: &str = "0190a0c0-0000-7000-8000-0000000000aa";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn registered() -> IdentityEvent {
        IdentityEvent::PatientRegistered {
            patient_id: P.into(),
            home_municipality: "322032".into(),
            insurer_number: "322032".into(),
            registering_site: Some("care-office".into()),
            registered_by: "cm".into(),
            possible_duplicates: vec![],
            personal: None,
        }
    }

    fn given(events: &[IdentityEvent]) -> Option<CareTeam> {
        events.iter().fold(None, evolve)
    }

    fn when(history: &mut Vec<IdentityEvent>, command: TeamCommand) -> IdentityEvent {
        let event = decide(given(history).as_ref(), command)
            .expect("allowed")
            .expect("an event");
        history.push(event.clone());
        event
    }

    fn ok() -> SeatFacts {
        SeatFacts {
            site_open: true,
            member_works_there: true,
        }
    }

    fn add(id: &str, site: &str, member: Option<&str>, part: TeamPart) -> TeamCommand {
        TeamCommand::Add {
            membership_id: id.into(),
            seat: NewTeamMember {
                site: site.into(),
                member: member.map(str::to_owned),
                part,
                since: None,
            },
            added_by: "cm".into(),
            now: at("2026-10-01T00:00:00Z"),
            facts: ok(),
        }
    }

    fn field_of(err: TeamError) -> String {
        match err {
            TeamError::Invalid(i) => i.field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn the_care_manager_builds_a_team_of_sites_and_named_members() {
        let mut h = vec![registered()];
        when(
            &mut h,
            add("t-cm", "care-office", Some("cm"), TeamPart::CareManager),
        );
        when(
            &mut h,
            add("t-ns", "nursing", None, TeamPart::VisitingNurse),
        );
        when(
            &mut h,
            add("t-dr", "clinic", Some("dr"), TeamPart::HomeDoctor),
        );
        let team = given(&h).unwrap();
        let held: Vec<_> = team
            .held_at(at("2026-10-02T00:00:00Z"))
            .map(|m| (m.site.as_str(), m.part))
            .collect();
        assert_eq!(
            held,
            [
                ("care-office", TeamPart::CareManager),
                ("clinic", TeamPart::HomeDoctor),
                ("nursing", TeamPart::VisitingNurse)
            ]
        );
    }

    #[test]
    fn a_seat_needs_an_open_site_and_a_member_who_works_there_and_is_not_taken_twice() {
        let mut h = vec![registered()];
        let with = |facts: SeatFacts| TeamCommand::Add {
            membership_id: "t1".into(),
            seat: NewTeamMember {
                site: "clinic".into(),
                member: Some("dr".into()),
                part: TeamPart::HomeDoctor,
                since: None,
            },
            added_by: "cm".into(),
            now: at("2026-10-01T00:00:00Z"),
            facts,
        };
        let state = given(&h);
        let site_closed = SeatFacts {
            site_open: false,
            ..ok()
        };
        assert_eq!(
            field_of(decide(state.as_ref(), with(site_closed)).unwrap_err()),
            "/site"
        );
        let elsewhere = SeatFacts {
            member_works_there: false,
            ..ok()
        };
        assert_eq!(
            field_of(decide(state.as_ref(), with(elsewhere)).unwrap_err()),
            "/member"
        );
        when(&mut h, with(ok()));
        assert_eq!(
            decide(
                given(&h).as_ref(),
                add("t2", "clinic", Some("dr"), TeamPart::HomeDoctor)
            ),
            Err(TeamError::AlreadySeated("t1".into()))
        );
    }

    #[test]
    fn a_removed_seat_ends_when_said_and_removing_it_again_changes_nothing() {
        let mut h = vec![registered()];
        when(&mut h, add("t-ph", "pharmacy", None, TeamPart::Pharmacy));
        let remove = |now: &str| TeamCommand::Remove {
            membership_id: "t-ph".into(),
            effective_at: None,
            removed_by: "cm".into(),
            now: at(now),
        };
        when(&mut h, remove("2026-11-01T00:00:00Z"));
        let team = given(&h).unwrap();
        assert_eq!(team.seats["t-ph"].until, Some(at("2026-11-01T00:00:00Z")));
        assert_eq!(team.held_at(at("2026-11-01T00:00:00Z")).count(), 0);
        assert_eq!(
            decide(Some(&team), remove("2026-11-02T00:00:00Z")),
            Ok(None)
        );
        assert_eq!(
            decide(
                Some(&team),
                TeamCommand::Remove {
                    membership_id: "nope".into(),
                    effective_at: None,
                    removed_by: "cm".into(),
                    now: at("2026-11-02T00:00:00Z"),
                }
            ),
            Err(TeamError::NoSuchSeat)
        );
        // The pharmacy may join again later.
        let mut again = add("t-ph2", "pharmacy", None, TeamPart::Pharmacy);
        if let TeamCommand::Add { now, .. } = &mut again {
            *now = at("2026-12-01T00:00:00Z");
        }
        when(&mut h, again);
    }

    #[test]
    fn the_24_hour_contact_is_a_phone_of_a_site_on_the_team() {
        let mut h = vec![registered()];
        when(
            &mut h,
            add("t-ns", "nursing", None, TeamPart::VisitingNurse),
        );
        let set = |site: &str, phone: &str| TeamCommand::SetContact24h {
            contact: Some(Contact24h {
                site: Some(site.into()),
                phone: phone.into(),
                note: Some(" 夜間は当番携帯 ".into()),
            }),
            now: at("2026-10-02T00:00:00Z"),
        };
        assert_eq!(
            field_of(decide(given(&h).as_ref(), set("clinic", "090-1234-5678")).unwrap_err()),
            "/site"
        );
        assert_eq!(
            field_of(decide(given(&h).as_ref(), set("nursing", "1234")).unwrap_err()),
            "/phone"
        );
        when(&mut h, set("nursing", "０９０－１２３４－５６７８"));
        let team = given(&h).unwrap();
        let contact = team.contact_24h.clone().unwrap();
        assert_eq!(contact.phone, "090-1234-5678");
        assert_eq!(contact.note.as_deref(), Some("夜間は当番携帯"));
        assert_eq!(
            decide(Some(&team), set("nursing", "090-1234-5678")),
            Ok(None)
        );
    }

    #[test]
    fn family_contacts_are_personal_and_not_users() {
        let mut h = vec![registered()];
        let event = when(
            &mut h,
            TeamCommand::AddFamilyContact {
                contact_id: "f1".into(),
                contact: FamilyContact {
                    name: "出雲　花子".into(),
                    name_kana: Some("いずも はなこ".into()),
                    relationship: FamilyRelationship::Child,
                    phone: "090-0000-0000".into(),
                    key_person: true,
                    note: None,
                },
            },
        );
        let IdentityEvent::FamilyContactAdded {
            personal: Some(contact),
            ..
        } = &event
        else {
            panic!("added")
        };
        assert_eq!(contact.name_kana.as_deref(), Some("イズモ ハナコ"));
        assert!(event.has_personal_field());
        when(
            &mut h,
            TeamCommand::RemoveFamilyContact {
                contact_id: "f1".into(),
            },
        );
        assert!(given(&h).unwrap().family_contacts.is_empty());
        assert_eq!(
            decide(
                given(&h).as_ref(),
                TeamCommand::RemoveFamilyContact {
                    contact_id: "f1".into()
                }
            ),
            Err(TeamError::NoSuchContact)
        );
    }

    #[test]
    fn the_end_of_care_closes_the_team() {
        let mut h = vec![registered()];
        when(
            &mut h,
            add("t-ns", "nursing", None, TeamPart::VisitingNurse),
        );
        h.push(IdentityEvent::PatientCareEnded {
            patient_id: P.into(),
            reason: EndOfCareReason::AdmittedOutsideNetwork,
            effective_at: at("2026-12-20T00:00:00Z"),
        });
        let team = given(&h).unwrap();
        assert_eq!(team.seats["t-ns"].until, Some(at("2026-12-20T00:00:00Z")));
        assert_eq!(
            decide(
                Some(&team),
                add("t-dr", "clinic", None, TeamPart::HomeDoctor)
            ),
            Err(TeamError::CareEnded)
        );
        assert_eq!(
            decide(None, add("t-dr", "clinic", None, TeamPart::HomeDoctor)),
            Err(TeamError::PatientNotRegistered)
        );
    }
}
