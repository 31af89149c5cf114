//! A made-up but realistic identity stream, the same for a seed: a region of four
//! municipalities whose organisations, sites and members are registered first, then a
//! running region — members signing in and out, patients registered with their consents
//! and teams, documents attached, consents amended and withdrawn, moves, ends of care,
//! erasures, break-glass, new staff and role changes, site details changed. Every event is
//! valid for the projections (each names what exists), so replaying it parks nothing.
//!
//! For replay tests (batched against one by one) and the rebuild benchmark: the events are
//! written straight to the stream, not through the service, so 100,000 take seconds.

use chrono::{DateTime, Duration, TimeZone, Utc};
use consent::{
    BreakGlassGrant, CategorySet, ConsentForm, ConsentModel, ConsentTerms, DataCategory, GivenBy,
    ObtainedBy, TeamMembership, TeamPart,
};
use event_store::{Actor, EventContract, EventEnvelope, Visibility};
use identity_api::events::{IdentityEvent, SiteEntry};
use identity_api::municipalities::AreaKind;
use identity_api::organisations::{OrganisationKind, SiteKind};
use identity_api::patients::{BreakGlassEndReason, Contact24h, EndOfCareReason};
use permissions::{Profession, Role};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// The region's municipalities (valid local government codes).
pub const MUNICIPALITIES: [(&str, &str, &str); 4] = [
    ("322032", "出雲市", "イズモシ"),
    ("141003", "横浜市", "ヨコハマシ"),
    ("322041", "益田市", "マスダシ"),
    ("322059", "大田市", "オオダシ"),
];

struct Site {
    id: String,
    municipality: &'static str,
    closed: bool,
}

struct Member {
    id: String,
    site: usize,
    municipality: &'static str,
    active: bool,
    roles: Vec<Role>,
    sessions: Vec<String>,
}

struct Patient {
    id: String,
    municipality: &'static str,
    sites: Vec<usize>,
    consents: Vec<(String, u32)>,
    seats: Vec<String>,
    grants: Vec<(String, String, DateTime<Utc>)>,
    ended: bool,
    erased: bool,
}

/// Generates the stream.
pub struct IdentityMix {
    rng: StdRng,
    at: DateTime<Utc>,
    sites: Vec<Site>,
    members: Vec<Member>,
    patients: Vec<Patient>,
    out: Vec<EventEnvelope>,
}

/// `n` events of the mix for `seed`, in stream order.
pub fn identity_events(n: usize, seed: u64) -> Vec<EventEnvelope> {
    let mut mix = IdentityMix {
        rng: StdRng::seed_from_u64(seed),
        at: Utc.with_ymd_and_hms(2026, 4, 1, 8, 0, 0).unwrap(),
        sites: Vec::new(),
        members: Vec::new(),
        patients: Vec::new(),
        out: Vec::with_capacity(n + 16),
    };
    mix.region(n);
    while mix.out.len() < n {
        mix.step();
    }
    mix.out.truncate(n);
    mix.out
}

/// How the envelope is scoped, like the service does it.
enum Scope {
    Region,
    Municipality(&'static str),
    Patient(&'static str),
}

impl IdentityMix {
    fn id(&mut self) -> String {
        Uuid::from_u128(self.rng.random()).to_string()
    }

    fn push(
        &mut self,
        aggregate_type: &str,
        aggregate_id: &str,
        scope: Scope,
        event: IdentityEvent,
    ) {
        self.at += Duration::milliseconds(self.rng.random_range(200..20_000));
        let (visibility, municipality) = match scope {
            Scope::Region => (Visibility::Region, None),
            Scope::Municipality(m) => (Visibility::Municipality, Some(m.to_owned())),
            Scope::Patient(m) => (Visibility::Patient, Some(m.to_owned())),
        };
        let mut payload = event.to_payload();
        if event.has_personal_field() {
            // Sealed text of the size the service writes (the projection keeps it opaque).
            let text: String = (0..240)
                .map(|_| char::from(b'A' + self.rng.random_range(0..26u8)))
                .collect();
            payload["personal"] = serde_json::json!({ "sealed": text });
        }
        let event_type = event.event_type();
        debug_assert!(
            IdentityEvent::decode(event_type, schema(event_type), payload.clone()).is_ok()
        );
        self.out.push(EventEnvelope {
            event_id: Uuid::from_u128(self.rng.random()),
            event_type: event_type.to_owned(),
            schema_version: schema(event_type),
            visibility,
            municipality,
            aggregate_type: aggregate_type.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            occurred_at: self.at,
            actor: Actor::system(),
            correlation_id: Uuid::from_u128(self.rng.random()),
            causation_id: None,
            traceparent: None,
            payload,
        });
    }

    fn municipality(&mut self) -> &'static str {
        MUNICIPALITIES[self.rng.random_range(0..MUNICIPALITIES.len())].0
    }

    /// The register of the region: sized to the stream (a site per ~150 events, staff per
    /// ~30).
    fn region(&mut self, n: usize) {
        for (code, name, kana) in MUNICIPALITIES {
            self.push(
                "municipality",
                code,
                Scope::Region,
                IdentityEvent::MunicipalityRegistered {
                    code: code.into(),
                    name: name.into(),
                    name_kana: kana.into(),
                    prefecture_code: code[..2].into(),
                },
            );
            for a in 1..=3 {
                self.push(
                    "municipality",
                    code,
                    Scope::Region,
                    IdentityEvent::AreaAdded {
                        code: code.into(),
                        area_id: format!("area-{a}"),
                        kind: AreaKind::DailyLifeArea,
                        name: format!("第{a}圏域"),
                        name_kana: format!("ダイ{a}ケンイキ"),
                    },
                );
            }
        }
        for _ in 0..(n / 300).max(3) {
            self.organisation();
        }
        for _ in 0..(n / 60).max(8) {
            self.new_member();
        }
    }

    fn organisation(&mut self) {
        let organisation_id = self.id();
        let home = self.municipality();
        self.push(
            "organisation",
            &organisation_id,
            Scope::Region,
            IdentityEvent::OrganisationRegistered {
                organisation_id: organisation_id.clone(),
                name: format!("医療法人 {}会", self.sites.len()),
                name_kana: "イリョウホウジン".into(),
                corporate_number: None,
                kind: OrganisationKind::MedicalCorporation,
                home_municipality: home.into(),
            },
        );
        for _ in 0..2 {
            let site_id = self.id();
            let entry = self.entry(home);
            self.push(
                "site",
                &site_id,
                Scope::Region,
                IdentityEvent::SiteRegistered {
                    site_id: site_id.clone(),
                    organisation_id: organisation_id.clone(),
                    entry,
                },
            );
            self.sites.push(Site {
                id: site_id,
                municipality: home,
                closed: false,
            });
        }
    }

    fn entry(&mut self, home: &'static str) -> SiteEntry {
        let (kind, types) = match self.rng.random_range(0..4) {
            0 => (SiteKind::HomeVisitNursingStation, vec!["13".to_owned()]),
            1 => (SiteKind::CareManagementOffice, vec!["43".to_owned()]),
            2 => (SiteKind::Clinic, Vec::new()),
            _ => (
                SiteKind::HomeVisitCare,
                vec!["11".to_owned(), "15".to_owned()],
            ),
        };
        let mut served = vec![home.to_owned()];
        let other = self.municipality();
        if other != home {
            served.push(other.to_owned());
            served.sort();
        }
        SiteEntry {
            provider_number: None,
            name: format!("事業所{}", self.sites.len()),
            name_kana: "ジギョウショ".into(),
            kind,
            service_types: types,
            home_municipality: home.into(),
            area_id: Some(format!("area-{}", self.rng.random_range(1..=3))),
            municipalities_served: served,
            address: "島根県出雲市今市町1-1".into(),
            phone: "0853-21-0000".into(),
            fax: self.rng.random_bool(0.5).then(|| "0853-21-0001".into()),
            contact_24h: None,
        }
    }

    fn open_site(&mut self) -> usize {
        loop {
            let s = self.rng.random_range(0..self.sites.len());
            if !self.sites[s].closed {
                return s;
            }
        }
    }

    fn new_member(&mut self) {
        let member_id = self.id();
        let site = self.open_site();
        let municipality = self.sites[site].municipality;
        let roles = vec![Role::Professional];
        let profession = [
            Profession::Nurse,
            Profession::CareManager,
            Profession::Physician,
        ][self.rng.random_range(0..3)];
        self.push(
            "member",
            &member_id,
            Scope::Municipality(municipality),
            IdentityEvent::MemberInvited {
                member_id: member_id.clone(),
                name: "山田 花子".into(),
                name_kana: "ヤマダ ハナコ".into(),
                profession,
                roles: roles.clone(),
                sites: vec![self.sites[site].id.clone()],
                municipality: municipality.into(),
                expires_at: self.at + Duration::days(14),
            },
        );
        for event in [
            IdentityEvent::MemberActivated {
                member_id: member_id.clone(),
            },
            IdentityEvent::SecondFactorEnrolled {
                member_id: member_id.clone(),
            },
        ] {
            self.push(
                "member",
                &member_id,
                Scope::Municipality(municipality),
                event,
            );
        }
        self.members.push(Member {
            id: member_id,
            site,
            municipality,
            active: true,
            roles,
            sessions: Vec::new(),
        });
    }

    fn active_member(&mut self) -> usize {
        loop {
            let m = self.rng.random_range(0..self.members.len());
            if self.members[m].active {
                return m;
            }
        }
    }

    fn live_patient(&mut self) -> Option<usize> {
        for _ in 0..20 {
            let p = self.rng.random_range(0..self.patients.len().max(1));
            if self.patients.get(p).is_some_and(|p| !p.ended && !p.erased) {
                return Some(p);
            }
        }
        None
    }

    fn patient_event(&mut self, p: usize, event: IdentityEvent) {
        let id = self.patients[p].id.clone();
        let municipality = self.patients[p].municipality;
        self.push("patient", &id, Scope::Patient(municipality), event);
    }

    fn terms(&mut self, sites: &[usize], obtained_by: usize) -> ConsentTerms {
        let day = self.at.date_naive();
        let categories = [
            DataCategory::CareRecords,
            DataCategory::Medication,
            DataCategory::Documents,
            DataCategory::CarePlan,
        ];
        let n = self.rng.random_range(1..=categories.len());
        ConsentTerms {
            model: ConsentModel::ListedSites {
                sites: sites
                    .iter()
                    .map(|&s| self.sites[s].id.as_str().into())
                    .collect(),
            },
            categories: CategorySet::of(&categories[..n]),
            valid_from: day,
            valid_until: None,
            family_information: self.rng.random_bool(0.5),
            form: ConsentForm::Written,
            given_by: GivenBy::Patient,
            signed_on: day,
            obtained_by: ObtainedBy {
                site: self.sites[sites[0]].id.as_str().into(),
                member: self.members[obtained_by].id.as_str().into(),
            },
            scanned_form: None,
        }
    }

    fn seat(&mut self, p: usize, site: usize) {
        let membership_id = self.id();
        let part = [
            TeamPart::CareManager,
            TeamPart::VisitingNurse,
            TeamPart::HomeDoctor,
        ][self.rng.random_range(0..3)];
        let membership = TeamMembership {
            membership_id: membership_id.as_str().into(),
            site: self.sites[site].id.as_str().into(),
            member: None,
            part,
            since: self.at,
            until: None,
        };
        let added_by = self.members[0].id.clone();
        self.patient_event(
            p,
            IdentityEvent::TeamMemberAdded {
                patient_id: self.patients[p].id.clone(),
                membership,
                added_by,
            },
        );
        self.patients[p].seats.push(membership_id);
    }

    /// A patient joins: registered, a consent recorded and activated, two or three seats.
    fn new_patient(&mut self) {
        let patient_id = self.id();
        let registering = self.open_site();
        let municipality = self.sites[registering].municipality;
        let mut sites = vec![registering];
        for _ in 0..self.rng.random_range(1..3) {
            sites.push(self.open_site());
        }
        sites.dedup();
        let registrar = self.active_member();
        self.patients.push(Patient {
            id: patient_id.clone(),
            municipality,
            sites: sites.clone(),
            consents: Vec::new(),
            seats: Vec::new(),
            grants: Vec::new(),
            ended: false,
            erased: false,
        });
        let p = self.patients.len() - 1;
        self.patient_event(
            p,
            IdentityEvent::PatientRegistered {
                patient_id: patient_id.clone(),
                home_municipality: municipality.into(),
                insurer_number: municipality.into(),
                registering_site: Some(self.sites[registering].id.clone()),
                registered_by: self.members[registrar].id.clone(),
                possible_duplicates: Vec::new(),
                personal: None,
            },
        );
        let consent_id = self.id();
        let terms = self.terms(&sites, registrar);
        self.patient_event(
            p,
            IdentityEvent::ConsentRecorded {
                patient_id: patient_id.clone(),
                consent_id: consent_id.clone(),
                version: 1,
                terms,
                personal: None,
            },
        );
        self.patient_event(
            p,
            IdentityEvent::ConsentActivated {
                patient_id: patient_id.clone(),
                consent_id: consent_id.clone(),
                version: 1,
                verified_by: self.members[registrar].id.clone(),
            },
        );
        self.patients[p].consents.push((consent_id, 1));
        for s in sites {
            self.seat(p, s);
        }
    }

    fn step(&mut self) {
        let roll = self.rng.random_range(0..1000);
        match roll {
            // Sign-ins, sign-outs and failures: most of what a running region appends.
            0..=299 => {
                let m = self.active_member();
                let session_id = self.id();
                let member_id = self.members[m].id.clone();
                let municipality = self.members[m].municipality;
                self.push(
                    "member_session",
                    &member_id,
                    Scope::Municipality(municipality),
                    IdentityEvent::MemberSignedIn {
                        member_id: member_id.clone(),
                        session_id: session_id.clone(),
                        amr: vec!["pwd".into(), "otp".into()],
                    },
                );
                self.members[m].sessions.push(session_id);
            }
            300..=379 => {
                let m = self.active_member();
                if let Some(session_id) = self.members[m].sessions.pop() {
                    let member_id = self.members[m].id.clone();
                    let municipality = self.members[m].municipality;
                    self.push(
                        "member_session",
                        &member_id,
                        Scope::Municipality(municipality),
                        IdentityEvent::SessionRevoked {
                            member_id: member_id.clone(),
                            session_id,
                            reason: "signed_out".into(),
                        },
                    );
                }
            }
            380..=419 => {
                let m = self.active_member();
                let member_id = self.members[m].id.clone();
                let municipality = self.members[m].municipality;
                self.push(
                    "member_session",
                    &member_id,
                    Scope::Municipality(municipality),
                    IdentityEvent::SignInFailed {
                        member_id: Some(member_id.clone()),
                        reason: identity_api::events::SignInFailure::WrongCode,
                    },
                );
            }
            // Patients joining (a burst of 5–7 events each).
            420..=479 => self.new_patient(),
            // Documents and the team's daily business.
            480..=599 => {
                if let Some(p) = self.live_patient() {
                    let site = self.patients[p].sites[0];
                    let member = self.active_member();
                    let event = IdentityEvent::DocumentAttached {
                        patient_id: self.patients[p].id.clone(),
                        document_id: self.id(),
                        category: DataCategory::Documents,
                        sha256: format!("{:064x}", self.rng.random::<u128>()),
                        media_type: "application/pdf".into(),
                        size: self.rng.random_range(10_000..2_000_000),
                        attached_by: self.members[member].id.clone(),
                        site: Some(self.sites[site].id.clone()),
                        personal: None,
                    };
                    self.patient_event(p, event);
                }
            }
            600..=659 => {
                if let Some(p) = self.live_patient() {
                    let site = self.open_site();
                    self.seat(p, site);
                }
            }
            660..=689 => {
                if let Some(p) = self.live_patient()
                    && self.patients[p].seats.len() > 1
                {
                    let membership_id = self.patients[p].seats.remove(0);
                    let event = IdentityEvent::TeamMemberRemoved {
                        patient_id: self.patients[p].id.clone(),
                        membership_id,
                        effective_at: self.at,
                        removed_by: self.members[0].id.clone(),
                    };
                    self.patient_event(p, event);
                }
            }
            690..=729 => {
                if let Some(p) = self.live_patient() {
                    let site = self.patients[p].sites[0];
                    let event = IdentityEvent::Contact24hChanged {
                        patient_id: self.patients[p].id.clone(),
                        contact: Some(Contact24h {
                            site: Some(self.sites[site].id.clone()),
                            phone: "090-1234-5678".into(),
                            note: Some("夜間は訪問看護の当番携帯".into()),
                        }),
                    };
                    self.patient_event(p, event);
                }
            }
            730..=769 => {
                if let Some(p) = self.live_patient() {
                    let event = IdentityEvent::CareLevelCertified {
                        patient_id: self.patients[p].id.clone(),
                        personal: None,
                    };
                    self.patient_event(p, event);
                }
            }
            770..=789 => {
                if let Some(p) = self.live_patient()
                    && let Some((consent_id, version)) = self.patients[p].consents.last().cloned()
                {
                    let sites = self.patients[p].sites.clone();
                    let by = self.active_member();
                    let terms = self.terms(&sites, by);
                    let patient_id = self.patients[p].id.clone();
                    self.patient_event(
                        p,
                        IdentityEvent::ConsentAmended {
                            patient_id: patient_id.clone(),
                            consent_id: consent_id.clone(),
                            version: version + 1,
                            terms,
                            in_force_at_once: false,
                            personal: None,
                        },
                    );
                    self.patient_event(
                        p,
                        IdentityEvent::ConsentActivated {
                            patient_id,
                            consent_id: consent_id.clone(),
                            version: version + 1,
                            verified_by: self.members[by].id.clone(),
                        },
                    );
                    if let Some(last) = self.patients[p].consents.last_mut() {
                        last.1 = version + 1;
                    }
                }
            }
            790..=799 => {
                if let Some(p) = self.live_patient()
                    && let Some((consent_id, _)) = self.patients[p].consents.pop()
                {
                    let event = IdentityEvent::ConsentWithdrawn {
                        patient_id: self.patients[p].id.clone(),
                        consent_id,
                        effective_at: self.at,
                        recorded_by: self.members[0].id.clone(),
                    };
                    self.patient_event(p, event);
                }
            }
            800..=809 => {
                if let Some(p) = self.live_patient() {
                    let to = self.municipality();
                    let from = self.patients[p].municipality;
                    if to != from {
                        let event = IdentityEvent::PatientMoved {
                            patient_id: self.patients[p].id.clone(),
                            from_municipality: from.into(),
                            to_municipality: to.into(),
                            insurer_number: to.into(),
                            effective_on: self.at.date_naive(),
                            personal: None,
                        };
                        self.patients[p].municipality = to;
                        self.patient_event(p, event);
                    }
                }
            }
            810..=819 => {
                if let Some(p) = self.live_patient() {
                    let event = IdentityEvent::PatientCareEnded {
                        patient_id: self.patients[p].id.clone(),
                        reason: EndOfCareReason::Death,
                        effective_at: self.at,
                    };
                    self.patient_event(p, event);
                    self.patients[p].ended = true;
                }
            }
            820..=824 => {
                if let Some(p) = self.live_patient() {
                    let event = IdentityEvent::PatientErased {
                        patient_id: self.patients[p].id.clone(),
                        reason: "the patient asked".into(),
                        erased_by: self.members[0].id.clone(),
                    };
                    self.patient_event(p, event);
                    self.patients[p].erased = true;
                }
            }
            825..=834 => {
                if let Some(p) = self.live_patient() {
                    let m = self.active_member();
                    let grant_id = self.id();
                    let expires_at = self.at + Duration::hours(4);
                    let grant = BreakGlassGrant {
                        grant_id: grant_id.as_str().into(),
                        member_id: self.members[m].id.as_str().into(),
                        reason: "救急搬送".into(),
                        opened_at: self.at,
                        expires_at,
                    };
                    let site = Some(self.sites[self.members[m].site].id.clone());
                    let event = IdentityEvent::BreakGlassOpened {
                        patient_id: self.patients[p].id.clone(),
                        grant,
                        site,
                    };
                    self.patient_event(p, event);
                    let member_id = self.members[m].id.clone();
                    self.patients[p]
                        .grants
                        .push((grant_id, member_id, expires_at));
                }
            }
            835..=844 => {
                if let Some(p) = self.live_patient()
                    && let Some((grant_id, member_id, ended_at)) = self.patients[p].grants.pop()
                {
                    let event = IdentityEvent::BreakGlassEnded {
                        patient_id: self.patients[p].id.clone(),
                        grant_id,
                        member_id,
                        ended_at,
                        why: BreakGlassEndReason::Expired,
                    };
                    self.patient_event(p, event);
                }
            }
            // Staff and the directory change too.
            845..=884 => self.new_member(),
            885..=899 => {
                let m = self.active_member();
                let previous_roles = self.members[m].roles.clone();
                let roles = if previous_roles.contains(&Role::SiteAdmin) {
                    vec![Role::Professional]
                } else {
                    vec![Role::Professional, Role::SiteAdmin]
                };
                let member_id = self.members[m].id.clone();
                let municipality = self.members[m].municipality;
                self.members[m].roles = roles.clone();
                self.push(
                    "member",
                    &member_id,
                    Scope::Municipality(municipality),
                    IdentityEvent::MemberRolesChanged {
                        member_id: member_id.clone(),
                        roles,
                        previous_roles,
                        reason: "担当変更".into(),
                    },
                );
            }
            900..=909 => {
                let m = self.active_member();
                if self.members.iter().filter(|m| m.active).count() > 8 {
                    let member_id = self.members[m].id.clone();
                    let municipality = self.members[m].municipality;
                    self.members[m].active = false;
                    self.push(
                        "member",
                        &member_id,
                        Scope::Municipality(municipality),
                        IdentityEvent::MemberDeactivated {
                            member_id: member_id.clone(),
                            reason: "退職".into(),
                        },
                    );
                }
            }
            910..=929 => {
                let s = self.open_site();
                let home = self.sites[s].municipality;
                let entry = self.entry(home);
                let site_id = self.sites[s].id.clone();
                self.push(
                    "site",
                    &site_id,
                    Scope::Region,
                    IdentityEvent::SiteDetailsChanged {
                        site_id: site_id.clone(),
                        entry,
                    },
                );
            }
            930..=934 => self.organisation(),
            935..=936 => {
                let s = self.open_site();
                if self.sites.iter().filter(|s| !s.closed).count() > 6 {
                    let site_id = self.sites[s].id.clone();
                    self.sites[s].closed = true;
                    self.push(
                        "site",
                        &site_id,
                        Scope::Region,
                        IdentityEvent::SiteClosed {
                            site_id: site_id.clone(),
                        },
                    );
                }
            }
            // The rest: more sign-ins (a quiet hour).
            _ => {
                let m = self.active_member();
                let member_id = self.members[m].id.clone();
                let municipality = self.members[m].municipality;
                let session_id = self.id();
                self.push(
                    "member_session",
                    &member_id,
                    Scope::Municipality(municipality),
                    IdentityEvent::MemberSignedIn {
                        member_id: member_id.clone(),
                        session_id,
                        amr: vec!["pwd".into(), "otp".into()],
                    },
                );
            }
        }
    }
}

fn schema(event_type: &str) -> u32 {
    IdentityEvent::current_version(event_type).unwrap_or(1)
}

/// `n` events of the audit stream as the collector writes them for a running region: mostly
/// access records (nine in ten allowed), then the identity mix's security events (sign-ins,
/// failures, staff and consent changes) and a few refusals, each copied with its source
/// position. The identity events come from [`identity_events`] with the same seed.
pub fn audit_events(n: usize, seed: u64) -> Vec<EventEnvelope> {
    use access_log::{AccessRecorded, Accessor};
    use audit_api::SourcePosition;
    use consent::{AccessDecision, Basis, DenialReason, Purpose, Reach};
    let mut rng = StdRng::seed_from_u64(seed ^ 0xa0d1);
    let identity: Vec<EventEnvelope> = identity_events(n, seed)
        .into_iter()
        .filter(audit::records::is_audited)
        .collect();
    let patients: Vec<String> = (0..2_000)
        .map(|_| Uuid::from_u128(rng.random()).to_string())
        .collect();
    let members: Vec<(String, String)> = (0..300)
        .map(|_| {
            (
                Uuid::from_u128(rng.random()).to_string(),
                Uuid::from_u128(rng.random()).to_string(),
            )
        })
        .collect();
    let mut at = Utc.with_ymd_and_hms(2026, 4, 1, 8, 0, 0).unwrap();
    let (mut access_seq, mut identity_seq) = (0u64, 0u64);
    let mut identity = identity.into_iter();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        at += Duration::milliseconds(rng.random_range(10..2_000));
        if rng.random_range(0..100) < 12
            && let Some(event) = identity.next()
        {
            identity_seq += 1;
            let source = SourcePosition {
                stream: "TSUNAGU_IDENTITY".into(),
                sequence: identity_seq,
            };
            out.push(audit::collector::copy_of("identity", source, &event));
            continue;
        }
        let (member_id, session_id) = members[rng.random_range(0..members.len())].clone();
        let patient_id = patients[rng.random_range(0..patients.len())].clone();
        let site = format!("site-{}", rng.random_range(0..200));
        let accessor = Accessor {
            member_id: member_id.clone(),
            session_id,
            roles: vec!["professional".into()],
            profession: Some("nurse".into()),
            sites: vec![site.clone()],
            municipality: Some(MUNICIPALITIES[rng.random_range(0..4)].0.into()),
        };
        let categories = CategorySet::of(&[DataCategory::CareRecords, DataCategory::Medication]);
        let decision = if rng.random_range(0..10) < 9 {
            AccessDecision::Allowed {
                basis: Basis::Consent {
                    consent_id: Uuid::from_u128(rng.random()).to_string().as_str().into(),
                    version: 1,
                    team_membership: Uuid::from_u128(rng.random()).to_string().as_str().into(),
                    site: site.as_str().into(),
                    family_information: false,
                },
                categories,
            }
        } else {
            AccessDecision::Denied {
                reason: DenialReason::NotRegistered,
            }
        };
        let record = AccessRecorded {
            accessor,
            patient_id: patient_id.clone(),
            reach: Reach::ReadClinical { categories },
            resources: vec![
                "personal".into(),
                format!("document:{}", Uuid::from_u128(rng.random())),
            ],
            purpose: Purpose::Care,
            break_glass: false,
            decision,
            client_address: Some("203.0.113.42".into()),
            route: "read_patient_record".into(),
            at,
        };
        let event = EventEnvelope {
            event_id: Uuid::from_u128(rng.random()),
            event_type: access_log::ACCESS_RECORDED.into(),
            schema_version: access_log::VERSION,
            visibility: Visibility::Patient,
            municipality: Some(MUNICIPALITIES[rng.random_range(0..4)].0.into()),
            aggregate_type: access_log::PATIENT.into(),
            aggregate_id: patient_id,
            occurred_at: at,
            actor: Actor(format!("member:{member_id}")),
            correlation_id: Uuid::from_u128(rng.random()),
            causation_id: None,
            traceparent: None,
            payload: serde_json::to_value(&record).unwrap_or_default(),
        };
        access_seq += 1;
        let source = SourcePosition {
            stream: "TSUNAGU_ACCESS".into(),
            sequence: access_seq,
        };
        out.push(audit::collector::copy_of(
            access_log::CONTEXT,
            source,
            &event,
        ));
    }
    out
}
