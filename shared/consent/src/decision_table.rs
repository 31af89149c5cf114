//! The table of access decisions: role × profession × team × consent model × category ×
//! status × time, each row with its expected outcome and reason.
//!
//! The world every row starts from: patient `p1` of 出雲市 (322032), registered by the care
//! management office. Team: the care manager `cm` (named, care office), the home-visit nursing
//! station (whole site), the home doctor `dr` (named, clinic), pharmacy B (whole site), the
//! home-help office (whole site), the community support centre (whole site) and — by mistake,
//! to prove the hard rule — the fire station. Dates are in 2026 unless said otherwise.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use permissions::{Caller, Profession, Relationship, Role, Subject};

use crate::DataCategory::*;
use crate::*;

const HOME: &str = "322032";
const OTHER_TOWN: &str = "322059";

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Noon in Japan on a date.
fn on(s: &str) -> DateTime<Utc> {
    time::noon(date(s))
}

fn caller(
    member: &str,
    roles: &[Role],
    profession: Profession,
    sites: &[&str],
    municipality: &str,
) -> Caller {
    Caller {
        member_id: member.into(),
        session_id: "session".into(),
        subject: Subject::new(roles, Some(profession)),
        sites: sites.iter().map(|s| (*s).to_owned()).collect(),
        municipality: Some(municipality.into()),
    }
}

fn pro(member: &str, profession: Profession, sites: &[&str]) -> Caller {
    caller(member, &[Role::Professional], profession, sites, HOME)
}

fn nurse() -> Caller {
    pro("ns", Profession::Nurse, &["nursing"])
}
fn doctor() -> Caller {
    pro("dr", Profession::Physician, &["clinic"])
}
fn care_manager() -> Caller {
    pro("cm", Profession::CareManager, &["care-office"])
}
fn pharmacist_b() -> Caller {
    pro("ph-b", Profession::Pharmacist, &["pharmacy-b"])
}
fn pharmacist_c() -> Caller {
    pro("ph-c", Profession::Pharmacist, &["pharmacy-c"])
}
fn helper() -> Caller {
    pro("hh", Profession::CareWorker, &["home-help"])
}
fn secretariat(municipality: &str) -> Caller {
    caller(
        "sec",
        &[Role::MunicipalSecretariat],
        Profession::MunicipalStaff,
        &[],
        municipality,
    )
}

fn seat(id: &str, site: &str, member: Option<&str>, part: TeamPart) -> TeamMembership {
    TeamMembership {
        membership_id: id.into(),
        site: site.into(),
        member: member.map(MemberId::from),
        part,
        since: on("2026-04-01"),
        until: None,
    }
}

fn terms(model: ConsentModel, categories: CategorySet) -> ConsentTerms {
    ConsentTerms {
        model,
        categories,
        valid_from: date("2026-04-01"),
        valid_until: Some(date("2027-03-31")),
        family_information: true,
        form: ConsentForm::Written,
        given_by: GivenBy::Patient,
        signed_on: date("2026-04-01"),
        obtained_by: ObtainedBy {
            site: "care-office".into(),
            member: "cm".into(),
        },
        scanned_form: None,
    }
}

fn version(id: &str, v: u32, terms: ConsentTerms, status: ConsentStatus) -> ConsentVersion {
    ConsentVersion {
        consent_id: id.into(),
        version: v,
        terms,
        status,
    }
}

fn all_but_pharmacy_b() -> ConsentModel {
    ConsentModel::AllParticipatingSites {
        excluded: vec!["pharmacy-b".into()],
    }
}

fn listed(sites: &[&str]) -> ConsentModel {
    ConsentModel::ListedSites {
        sites: sites.iter().map(|s| SiteId::from(*s)).collect(),
    }
}

fn world() -> PatientAccessFacts {
    PatientAccessFacts {
        patient_id: "p1".into(),
        registered: true,
        home_municipality: Some(HOME.into()),
        registering_site: Some("care-office".into()),
        care_ended_at: None,
        consents: Vec::new(),
        team: vec![
            seat("t-cm", "care-office", Some("cm"), TeamPart::CareManager),
            seat("t-ns", "nursing", None, TeamPart::VisitingNurse),
            seat("t-dr", "clinic", Some("dr"), TeamPart::HomeDoctor),
            seat("t-ph", "pharmacy-b", None, TeamPart::Pharmacy),
            seat("t-hh", "home-help", None, TeamPart::HomeHelper),
            seat(
                "t-sc",
                "support-centre",
                None,
                TeamPart::CommunitySupportCentre,
            ),
            seat("t-fire", "fire-station", None, TeamPart::Other),
        ],
        break_glass: Vec::new(),
        sequence: 7,
    }
}

// Worlds: each a change to the base world.

fn one_consent(
    model: ConsentModel,
    categories: CategorySet,
    status: ConsentStatus,
) -> PatientAccessFacts {
    let mut w = world();
    w.consents
        .push(version("c1", 1, terms(model, categories), status));
    w
}

/// 一括同意, every category, pharmacy B excluded, active.
fn blanket() -> PatientAccessFacts {
    one_consent(
        all_but_pharmacy_b(),
        CategorySet::ALL,
        ConsentStatus::Active,
    )
}

/// Listed: nursing and clinic; care records and medication only.
fn listed_two() -> PatientAccessFacts {
    one_consent(
        listed(&["nursing", "clinic"]),
        CategorySet::of(&[CareRecords, Medication]),
        ConsentStatus::Active,
    )
}

/// Site by site: nursing (everything), clinic (medication only), pharmacy B pending.
fn site_by_site() -> PatientAccessFacts {
    let mut w = world();
    let one = |site: &str| ConsentModel::SiteBySite { site: site.into() };
    w.consents = vec![
        version(
            "c-ns",
            1,
            terms(one("nursing"), CategorySet::ALL),
            ConsentStatus::Active,
        ),
        version(
            "c-dr",
            1,
            terms(one("clinic"), CategorySet::of(&[Medication])),
            ConsentStatus::Active,
        ),
        version(
            "c-ph",
            1,
            terms(one("pharmacy-b"), CategorySet::ALL),
            ConsentStatus::Pending,
        ),
    ];
    w
}

/// Listed nursing only (v1, superseded), amended to add pharmacy B (v2, active).
fn amended() -> PatientAccessFacts {
    let mut w = world();
    w.consents = vec![
        version(
            "c1",
            1,
            terms(listed(&["nursing"]), CategorySet::ALL),
            ConsentStatus::Superseded,
        ),
        version(
            "c1",
            2,
            terms(listed(&["nursing", "pharmacy-b"]), CategorySet::ALL),
            ConsentStatus::Active,
        ),
    ];
    w
}

fn pending() -> PatientAccessFacts {
    one_consent(
        all_but_pharmacy_b(),
        CategorySet::ALL,
        ConsentStatus::Pending,
    )
}
fn withdrawn() -> PatientAccessFacts {
    one_consent(
        all_but_pharmacy_b(),
        CategorySet::ALL,
        ConsentStatus::Withdrawn,
    )
}
fn expired() -> PatientAccessFacts {
    one_consent(
        all_but_pharmacy_b(),
        CategorySet::ALL,
        ConsentStatus::Expired,
    )
}
fn rejected() -> PatientAccessFacts {
    one_consent(
        all_but_pharmacy_b(),
        CategorySet::ALL,
        ConsentStatus::Rejected,
    )
}
/// Withdrawn, and a new consent recorded but not yet verified.
fn withdrawn_then_pending() -> PatientAccessFacts {
    let mut w = withdrawn();
    w.consents.push(version(
        "c2",
        1,
        terms(all_but_pharmacy_b(), CategorySet::ALL),
        ConsentStatus::Pending,
    ));
    w
}
fn care_ended() -> PatientAccessFacts {
    let mut w = blanket();
    w.care_ended_at = Some(on("2026-10-01"));
    w
}
fn not_registered() -> PatientAccessFacts {
    PatientAccessFacts::new("p1".into())
}
/// The nurse's site left the team on 1 October.
fn nursing_left() -> PatientAccessFacts {
    let mut w = blanket();
    w.team[1].until = Some(on("2026-10-01"));
    w
}
/// Pharmacist C (not on the team) opened break-glass on 1 October at noon.
fn glass_for_c() -> PatientAccessFacts {
    let mut w = withdrawn();
    w.break_glass.push(BreakGlassGrant {
        grant_id: "g1".into(),
        member_id: "ph-c".into(),
        reason: "急変".into(),
        opened_at: on("2026-10-01"),
        expires_at: on("2026-10-01") + Duration::hours(4),
    });
    w
}
/// Pharmacist B (on the team, excluded by consent) opened break-glass.
fn glass_for_b() -> PatientAccessFacts {
    let mut w = blanket();
    w.break_glass.push(BreakGlassGrant {
        grant_id: "g2".into(),
        member_id: "ph-b".into(),
        reason: "急変".into(),
        opened_at: on("2026-10-01"),
        expires_at: on("2026-10-01") + Duration::hours(4),
    });
    w
}

#[derive(Debug)]
enum Expect {
    /// Allowed through consent `consent` version `version`, seat `seat`, these categories.
    Consent(&'static str, u32, &'static str, CategorySet),
    BreakGlass(&'static str),
    Registration(Relationship),
    ReadsAccessRecord,
    Denied(DenialReason),
}

struct Row {
    case: &'static str,
    who: Caller,
    world: PatientAccessFacts,
    reach: Reach,
    purpose: Purpose,
    at: DateTime<Utc>,
    expect: Expect,
}

fn read(categories: &[DataCategory]) -> Reach {
    Reach::ReadClinical {
        categories: CategorySet::of(categories),
    }
}
fn read_all() -> Reach {
    Reach::ReadClinical {
        categories: CategorySet::ALL,
    }
}
fn write(categories: &[DataCategory]) -> Reach {
    Reach::WriteClinical {
        categories: CategorySet::of(categories),
    }
}
fn cats(categories: &[DataCategory]) -> CategorySet {
    CategorySet::of(categories)
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use DenialReason as R;
    use Expect::*;
    use Purpose::*;
    let hard = |rule| Denied(R::NotPermitted { rule });
    let day = on("2026-10-15");
    let all = CategorySet::ALL;
    let row = |case, who, world, reach, purpose, expect| Row {
        case,
        who,
        world,
        reach,
        purpose,
        at: day,
        expect,
    };
    vec![
        // ── 一括同意 (all participating sites, pharmacy B excluded) ──────────────────────
        row("blanket: nurse at a team site reads everything", nurse(), blanket(), read_all(), Care, Consent("c1", 1, "t-ns", all)),
        row("blanket: named home doctor reads medication", doctor(), blanket(), read(&[Medication]), Care, Consent("c1", 1, "t-dr", cats(&[Medication]))),
        row("blanket: care manager writes the care plan", care_manager(), blanket(), write(&[CarePlan]), Care, Consent("c1", 1, "t-cm", cats(&[CarePlan]))),
        row("blanket: helper reads care records", helper(), blanket(), read(&[CareRecords]), Care, Consent("c1", 1, "t-hh", cats(&[CareRecords]))),
        row("blanket: community support centre staff read care records",
            caller("sc", &[Role::CommunitySupportCentreStaff], Profession::SocialWorker, &["support-centre"], HOME),
            blanket(), read(&[CareRecords]), Care, Consent("c1", 1, "t-sc", cats(&[CareRecords]))),
        row("blanket: excluded pharmacy on the team is refused", pharmacist_b(), blanket(), read(&[Medication]), Care, Denied(R::SiteExcluded)),
        row("blanket: pharmacist of a site not on the team is refused", pharmacist_c(), blanket(), read(&[Medication]), Care, Denied(R::NotOnCareTeam)),
        row("blanket: another doctor at the named doctor's clinic is not on the team",
            pro("dr2", Profession::Physician, &["clinic"]), blanket(), read(&[Medication]), Care, Denied(R::NotOnCareTeam)),
        row("blanket: the named doctor working elsewhere now is not on the team",
            pro("dr", Profession::Physician, &["hospital"]), blanket(), read(&[Medication]), Care, Denied(R::NotOnCareTeam)),
        row("blanket: a nurse at two sites is seated through the team one",
            pro("ns2", Profession::Nurse, &["pharmacy-c", "nursing"]), blanket(), read(&[LabResults]), Care, Consent("c1", 1, "t-ns", cats(&[LabResults]))),
        row("blanket: a team member with an emergency purpose is still served through consent", nurse(), blanket(), read_all(), Emergency, Consent("c1", 1, "t-ns", all)),
        row("blanket: a nurse of the registering site who is not on the team is refused clinical content",
            pro("ns3", Profession::Nurse, &["care-office"]), blanket(), read(&[CareRecords]), Care, Denied(R::NotOnCareTeam)),
        // ── hard rules ──────────────────────────────────────────────────────────────────
        row("fire: even seated on the team, never", pro("ff", Profession::EmergencyServices, &["fire-station"]), blanket(), read(&[CareRecords]), Emergency,
            hard(permissions::DenialReason::EmergencyServicesNeverSeePatientData)),
        row("fire: not even registration data", pro("ff", Profession::EmergencyServices, &["fire-station"]), blanket(), Reach::Registration, Care,
            hard(permissions::DenialReason::EmergencyServicesNeverSeePatientData)),
        row("police: never, also for a patient nobody registered", pro("po", Profession::Police, &["fire-station"]), not_registered(), read_all(), Care,
            hard(permissions::DenialReason::EmergencyServicesNeverSeePatientData)),
        row("secretariat: no clinical content", secretariat(HOME), blanket(), read(&[CareRecords]), Administration,
            hard(permissions::DenialReason::RoleNeverSeesClinicalContent { role: Role::MunicipalSecretariat })),
        row("secretariat: no clinical content whatever the purpose", secretariat(HOME), blanket(), read(&[CareRecords]), Care,
            hard(permissions::DenialReason::RoleNeverSeesClinicalContent { role: Role::MunicipalSecretariat })),
        row("secretariat and nurse in one account: still no clinical content",
            caller("both", &[Role::Professional, Role::MunicipalSecretariat], Profession::PublicHealthNurse, &["nursing"], HOME),
            blanket(), read(&[CareRecords]), Care,
            hard(permissions::DenialReason::RoleNeverSeesClinicalContent { role: Role::MunicipalSecretariat })),
        row("auditor: no clinical content", caller("au", &[Role::Auditor], Profession::Other, &[], HOME), blanket(), read_all(), Care,
            hard(permissions::DenialReason::RoleNeverSeesClinicalContent { role: Role::Auditor })),
        row("site admin: no patient rule names the role", caller("adm", &[Role::SiteAdmin], Profession::ClericalStaff, &["nursing"], HOME), blanket(), read_all(), Care,
            hard(permissions::DenialReason::RoleNotAllowed)),
        row("coordination centre: not on teams", caller("cc", &[Role::CoordinationCentreStaff], Profession::PublicHealthNurse, &["nursing"], HOME), blanket(), read_all(), Care,
            hard(permissions::DenialReason::RoleNotAllowed)),
        // ── registration data ───────────────────────────────────────────────────────────
        row("secretariat of the home municipality reads registration", secretariat(HOME), pending(), Reach::Registration, Administration, Registration(Relationship::OwnMunicipality)),
        row("secretariat of another municipality does not", secretariat(OTHER_TOWN), blanket(), Reach::Registration, Administration, Denied(R::OtherMunicipality)),
        row("a team member reads registration before any consent", helper(), world(), Reach::Registration, Care, Registration(Relationship::OnPatientTeam)),
        row("the registering site reads registration",
            pro("cm2", Profession::CareManager, &["care-office"]), world(), Reach::Registration, Care, Registration(Relationship::RegisteringSite)),
        row("a professional with no tie does not read registration", pharmacist_c(), blanket(), Reach::Registration, Care, Denied(R::NotOnCareTeam)),
        row("auditors do not read registration for care", caller("au", &[Role::Auditor], Profession::Other, &[], HOME), blanket(), Reach::Registration, Care,
            Denied(R::PurposeDoesNotFit)),
        row("nor does anyone but an auditor read it for an audit", nurse(), blanket(), Reach::Registration, Audit, Denied(R::PurposeDoesNotFit)),
        // ── listed sites ────────────────────────────────────────────────────────────────
        row("listed: nurse reads what is listed, and only that", nurse(), listed_two(), read_all(), Care, Consent("c1", 1, "t-ns", cats(&[CareRecords, Medication]))),
        row("listed: category not covered", nurse(), listed_two(), read(&[PhotosVideo]), Care, Denied(R::CategoriesNotCovered)),
        row("listed: a write needs every category", nurse(), listed_two(), write(&[CareRecords, PhotosVideo]), Care, Denied(R::CategoriesNotCovered)),
        row("listed: a write of a covered category", nurse(), listed_two(), write(&[CareRecords]), Care, Consent("c1", 1, "t-ns", cats(&[CareRecords]))),
        row("listed: helper on the team, site not listed", helper(), listed_two(), read(&[CareRecords]), Care, Denied(R::SiteNotCovered)),
        // ── site by site ────────────────────────────────────────────────────────────────
        row("site by site: nurse through the nursing consent", nurse(), site_by_site(), read_all(), Care, Consent("c-ns", 1, "t-ns", all)),
        row("site by site: doctor's consent covers medication only", doctor(), site_by_site(), read_all(), Care, Consent("c-dr", 1, "t-dr", cats(&[Medication]))),
        row("site by site: pharmacy's consent still pending", pharmacist_b(), site_by_site(), read(&[Medication]), Care, Denied(R::ConsentPending)),
        row("site by site: helper's site has no consent", helper(), site_by_site(), read(&[CareRecords]), Care, Denied(R::SiteNotCovered)),
        // ── amendments and status ───────────────────────────────────────────────────────
        row("amended: the pharmacy added in version 2 reads", pharmacist_b(), amended(), read(&[Medication]), Care, Consent("c1", 2, "t-ph", cats(&[Medication]))),
        row("amended: the nurse is served by version 2, not the superseded 1", nurse(), amended(), read(&[CareRecords]), Care, Consent("c1", 2, "t-ns", cats(&[CareRecords]))),
        row("pending: a consent not yet verified opens nothing", nurse(), pending(), read_all(), Care, Denied(R::ConsentPending)),
        row("withdrawn: refused", nurse(), withdrawn(), read_all(), Care, Denied(R::ConsentWithdrawn)),
        row("withdrawn and a new one pending: waiting for the secretariat", nurse(), withdrawn_then_pending(), read_all(), Care, Denied(R::ConsentPending)),
        row("expired status: refused", nurse(), expired(), read_all(), Care, Denied(R::ConsentExpired)),
        row("rejected: refused", nurse(), rejected(), read_all(), Care, Denied(R::ConsentRejected)),
        row("no consent at all", nurse(), world(), read_all(), Care, Denied(R::NoConsent)),
        row("the patient's current word wins: a withdrawn consent named the pharmacy, the one in force excludes it",
            pharmacist_b(), { let mut w = amended(); w.consents[1].status = ConsentStatus::Withdrawn; w.consents.push(version("c2", 1, terms(all_but_pharmacy_b(), all), ConsentStatus::Active)); w },
            read(&[Medication]), Care, Denied(R::SiteExcluded)),
        row("a withdrawn consent that named the site tells more than an expired one that never did",
            helper(), { let mut w = withdrawn(); w.consents.push(version("c2", 1, terms(listed(&["nursing"]), all), ConsentStatus::Expired)); w },
            read(&[CareRecords]), Care, Denied(R::ConsentWithdrawn)),
        row("of two consents covering the site, the one opening more is the basis",
            nurse(), { let mut w = listed_two(); w.consents.push(version("c2", 1, terms(listed(&["nursing"]), cats(&[CareRecords, LabResults, PhotosVideo])), ConsentStatus::Active)); w },
            read_all(), Care, Consent("c2", 1, "t-ns", cats(&[CareRecords, LabResults, PhotosVideo]))),
        // ── time ────────────────────────────────────────────────────────────────────────
        Row { at: on("2026-03-31"), ..row("before the first valid day (and before the seat)", doctor(), blanket(), read_all(), Care, Denied(R::NotOnCareTeam)) },
        Row { at: on("2027-04-01"), ..row("after the last valid day, still marked active", nurse(), blanket(), read_all(), Care, Denied(R::ConsentExpired)) },
        Row { at: on("2027-03-31"), ..row("on the last valid day", nurse(), blanket(), read_all(), Care, Consent("c1", 1, "t-ns", all)) },
        Row { at: on("2026-09-30"), ..row("the day before the nursing station left the team", nurse(), nursing_left(), read_all(), Care, Consent("c1", 1, "t-ns", all)) },
        Row { at: on("2026-10-01"), ..row("the nursing station left the team", nurse(), nursing_left(), read_all(), Care, Denied(R::NotOnCareTeam)) },
        // ── end of care, registration ───────────────────────────────────────────────────
        row("care ended: the team is refused", nurse(), care_ended(), read_all(), Care, Denied(R::CareEnded)),
        row("care ended: the home municipality's secretariat still reads the registration", secretariat(HOME), care_ended(), Reach::Registration, Administration, Registration(Relationship::OwnMunicipality)),
        row("care ended: another municipality's secretariat does not", secretariat(OTHER_TOWN), care_ended(), Reach::Registration, Administration, Denied(R::CareEnded)),
        row("care ended: the team no longer reads the registration", nurse(), care_ended(), Reach::Registration, Care, Denied(R::CareEnded)),
        row("care ended: nor does the registering site", pro("cm2", Profession::CareManager, &["care-office"]), { let mut w = care_ended(); w.registering_site = Some("care-office".into()); w }, Reach::Registration, Care, Denied(R::CareEnded)),
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("care ended: a break-glass grant opens nothing", pharmacist_c(), { let mut w = glass_for_c(); w.care_ended_at = Some(on("2026-10-01")); w }, Reach::Registration, Emergency, Denied(R::CareEnded)) },
        row("care ended: the auditor reads the access record", caller("au", &[Role::Auditor], Profession::Other, &[], HOME), care_ended(), Reach::AccessRecord, Audit, ReadsAccessRecord),
        row("care ended: the auditor reads the registration", caller("au", &[Role::Auditor], Profession::Other, &[], HOME), care_ended(), Reach::Registration, Audit, Registration(Relationship::None)),
        row("an auditor of another town reads a registration in care too (the region is theirs)", caller("au", &[Role::Auditor], Profession::Other, &[], OTHER_TOWN), blanket(), Reach::Registration, Audit, Registration(Relationship::None)),
        row("an auditor never reads clinical content", caller("au", &[Role::Auditor], Profession::Other, &[], HOME), blanket(), read_all(), Audit, hard(permissions::DenialReason::RoleNeverSeesClinicalContent { role: Role::Auditor })),
        row("access record: not for a nurse", nurse(), blanket(), Reach::AccessRecord, Audit, hard(permissions::DenialReason::RoleNotAllowed)),
        row("access record: audits only", caller("au", &[Role::Auditor], Profession::Other, &[], HOME), blanket(), Reach::AccessRecord, Care, Denied(R::PurposeDoesNotFit)),
        Row { at: on("2026-09-30"), ..row("care not ended yet the day before", nurse(), care_ended(), read_all(), Care, Consent("c1", 1, "t-ns", all)) },
        row("not registered", nurse(), not_registered(), read_all(), Care, Denied(R::NotRegistered)),
        // ── break-glass ─────────────────────────────────────────────────────────────────
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: a pharmacist off the team, emergency, live grant", pharmacist_c(), glass_for_c(), read_all(), Emergency, BreakGlass("g1")) },
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: registration too, flagged", pharmacist_c(), glass_for_c(), Reach::Registration, Emergency, BreakGlass("g1")) },
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: not for routine care", pharmacist_c(), glass_for_c(), read_all(), Care, Denied(R::BreakGlassOnlyForEmergencies)) },
        Row { at: on("2026-10-01") + Duration::hours(4), ..row("break-glass: ended by itself after 4 hours", pharmacist_c(), glass_for_c(), read_all(), Emergency, Denied(R::NotOnCareTeam)) },
        Row { at: on("2026-10-01") - Duration::minutes(1), ..row("break-glass: not before it was opened", pharmacist_c(), glass_for_c(), read_all(), Emergency, Denied(R::NotOnCareTeam)) },
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: a team member the consent excludes, in an emergency", pharmacist_b(), glass_for_b(), read(&[Medication]), Emergency, BreakGlass("g2")) },
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: the same member for routine care gets the consent's reason", pharmacist_b(), glass_for_b(), read(&[Medication]), Care, Denied(R::SiteExcluded)) },
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: someone else's grant opens nothing", pro("ph-d", Profession::Pharmacist, &["pharmacy-c"]), glass_for_c(), read_all(), Emergency, Denied(R::NotOnCareTeam)) },
        Row { at: on("2026-10-01") + Duration::hours(1), ..row("break-glass: a care manager cannot use a grant",
            pro("ph-c", Profession::CareManager, &["pharmacy-c"]), glass_for_c(), read_all(), Emergency, Denied(R::NotOnCareTeam)) },
        Row { at: on("2026-10-02"), ..row("break-glass: not after the end of care", pharmacist_c(), { let mut w = glass_for_c(); w.care_ended_at = Some(on("2026-10-01")); w }, read_all(), Emergency, Denied(R::CareEnded)) },
        // ── purposes ────────────────────────────────────────────────────────────────────
        row("purpose: clinical content is not administration", nurse(), blanket(), read_all(), Administration, Denied(R::PurposeDoesNotFit)),
        row("purpose: clinical content is not an audit", nurse(), blanket(), read_all(), Audit, Denied(R::PurposeDoesNotFit)),
        row("a clinical read must name a category", nurse(), blanket(), read(&[]), Care, Denied(R::NoCategoryAsked)),
    ]
}

#[test]
fn the_table_of_access_decisions_holds_row_by_row() {
    let rows = rows();
    assert!(rows.len() >= 60, "{} rows", rows.len());
    let mut failures = Vec::new();
    for row in &rows {
        let request = AccessRequest {
            member: &row.who,
            patient: "p1",
            reach: row.reach,
            purpose: row.purpose,
            at: row.at,
            subject_last_sequence: Some(row.world.sequence),
        };
        let got = decide(&row.world, &request);
        let ok = match (&row.expect, &got) {
            (
                Expect::Consent(consent, v, seat, categories),
                AccessDecision::Allowed {
                    basis:
                        Basis::Consent {
                            consent_id,
                            version,
                            team_membership,
                            ..
                        },
                    categories: got_categories,
                },
            ) => {
                consent_id == consent
                    && version == v
                    && team_membership == seat
                    && got_categories == categories
            }
            (
                Expect::BreakGlass(grant),
                AccessDecision::Allowed {
                    basis: Basis::BreakGlass { grant_id, .. },
                    ..
                },
            ) => grant_id == grant && got.is_break_glass(),
            (
                Expect::Registration(tie),
                AccessDecision::Allowed {
                    basis: Basis::Registration { tie: got_tie },
                    categories,
                },
            ) => tie == got_tie && categories.is_empty(),
            (
                Expect::ReadsAccessRecord,
                AccessDecision::Allowed {
                    basis: Basis::Audit,
                    ..
                },
            ) => true,
            (Expect::Denied(reason), AccessDecision::Denied { reason: got_reason }) => {
                reason == got_reason
            }
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{}:\n    expected {:?}\n    got      {:?}",
                row.case, row.expect, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_decision_on_facts_that_lag_behind_the_subject_is_refused() {
    let facts = blanket();
    let nurse = nurse();
    let request = AccessRequest {
        member: &nurse,
        patient: "p1",
        reach: read_all(),
        purpose: Purpose::Care,
        at: on("2026-10-15"),
        subject_last_sequence: Some(8),
    };
    assert_eq!(
        decide(&facts, &request).reason(),
        Some(DenialReason::FactsBehind {
            facts_sequence: 7,
            subject_sequence: 8
        })
    );
    let other = AccessRequest {
        patient: "p2",
        subject_last_sequence: None,
        ..request
    };
    assert_eq!(
        decide(&facts, &other).reason(),
        Some(DenialReason::FactsForAnotherPatient)
    );
}

#[test]
fn withdrawal_refuses_the_very_next_request_of_everyone_on_the_team() {
    let mut facts = blanket();
    let at = on("2026-10-15");
    let team = [nurse(), doctor(), care_manager(), helper()];
    let ask = |facts: &PatientAccessFacts, who: &Caller| {
        decide(
            facts,
            &AccessRequest {
                member: who,
                patient: "p1",
                reach: read(&[CareRecords]),
                purpose: Purpose::Care,
                at,
                subject_last_sequence: Some(facts.sequence),
            },
        )
    };
    assert!(team.iter().all(|who| ask(&facts, who).is_allowed()));
    facts.apply(&Change::ConsentWithdrawn {
        consent_id: "c1".into(),
        effective_at: at,
    });
    facts.sequence += 1;
    for who in &team {
        assert_eq!(
            ask(&facts, who).reason(),
            Some(DenialReason::ConsentWithdrawn)
        );
    }
}

#[test]
fn decisions_and_reasons_serialise_with_a_stable_shape() {
    let allowed = AccessDecision::Allowed {
        basis: Basis::Consent {
            consent_id: "c1".into(),
            version: 2,
            team_membership: "t-ns".into(),
            site: "nursing".into(),
            family_information: false,
        },
        categories: cats(&[CareRecords, Medication]),
    };
    assert_eq!(
        serde_json::to_value(&allowed).unwrap(),
        serde_json::json!({
            "outcome": "allowed",
            "basis": {"kind": "consent", "consent_id": "c1", "version": 2,
                      "team_membership": "t-ns", "site": "nursing", "family_information": false},
            "categories": ["care_records", "medication"]
        })
    );
    let denied = AccessDecision::Denied {
        reason: DenialReason::NotPermitted {
            rule: permissions::DenialReason::EmergencyServicesNeverSeePatientData,
        },
    };
    assert_eq!(
        serde_json::to_value(&denied).unwrap(),
        serde_json::json!({
            "outcome": "denied",
            "reason": {"kind": "not_permitted",
                       "rule": {"kind": "emergency_services_never_see_patient_data"}}
        })
    );
    let back: AccessDecision =
        serde_json::from_value(serde_json::to_value(&allowed).unwrap()).unwrap();
    assert_eq!(back, allowed);
    for reason in [
        DenialReason::SiteExcluded,
        DenialReason::ConsentPending,
        DenialReason::CareEnded,
    ] {
        assert_eq!(
            serde_json::to_value(reason).unwrap()["kind"],
            reason.as_str()
        );
    }
}
