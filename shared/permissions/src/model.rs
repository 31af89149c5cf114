//! The words of the access rules: who asks ([`Role`], [`Profession`]), how they are tied to
//! what they ask about ([`Relationship`]), what they ask ([`Action`]) and which visibility
//! class that touches ([`DataClass`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Defines a closed list: the enum, its `ALL` slice, its wire name (`as_str`, the same text
/// serde reads and writes) and `Display`. One list of variants feeds all four, so `ALL` cannot
/// miss a variant and the wire name cannot drift from serde's.
macro_rules! closed_list {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $wire)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire name (snake_case), as serde writes it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

closed_list! {
    /// What a member (or machine client) is on the platform. A member may hold several roles;
    /// the roles add up, except where a hard rule says a role never sees clinical content
    /// (see [`crate::decide`]).
    pub enum Role {
        /// Runs the platform for the whole region: the municipality register, secretariats,
        /// region boards. Not on any patient's team and no patient rule names it.
        Operator = "operator",
        /// The municipality's office (事務局): registers organisations, sites, members and
        /// patients, verifies and activates consents, watches indicators. Registration data
        /// only — never clinical content, whatever other role the same account holds.
        MunicipalSecretariat = "municipal_secretariat",
        /// Coordination centre (在宅医療・介護連携支援センター): boards, broadcasts, association
        /// posts, consultations, resource information, break-glass alerts. Not a member of
        /// patients' teams.
        CoordinationCentreStaff = "coordination_centre_staff",
        /// Community general support centre (地域包括支援センター): on patients' teams like any
        /// care site.
        CommunitySupportCentreStaff = "community_support_centre_staff",
        /// Manages its organisation's staff, provider entries and availability.
        SiteAdmin = "site_admin",
        /// A care professional working at one or more sites; sits on patients' teams.
        Professional = "professional",
        /// Reads the audit record (who accessed which patient, when, why, allowed or not) and
        /// nothing else — never clinical content, whatever other role the same account holds.
        Auditor = "auditor",
        /// A machine client (OAuth2 client credentials) of a vendor system or another
        /// platform; has no profession.
        Integrator = "integrator",
        /// Joined through the coordination centre's invitation link (Izumo's model) and
        /// verified by the centre: receives broadcasts, and nothing else.
        BroadcastRecipient = "broadcast_recipient",
    }
}

closed_list! {
    /// A member's profession (多職種), as registered with their account (issue 3 §2).
    pub enum Profession {
        /// 医師
        Physician = "physician",
        /// 歯科医師
        Dentist = "dentist",
        /// 薬剤師
        Pharmacist = "pharmacist",
        /// 看護師 (including 准看護師)
        Nurse = "nurse",
        /// 保健師
        PublicHealthNurse = "public_health_nurse",
        /// 歯科衛生士
        DentalHygienist = "dental_hygienist",
        /// 理学療法士
        PhysicalTherapist = "physical_therapist",
        /// 作業療法士
        OccupationalTherapist = "occupational_therapist",
        /// 言語聴覚士
        SpeechTherapist = "speech_therapist",
        /// 管理栄養士・栄養士
        Dietitian = "dietitian",
        /// 介護支援専門員 (ケアマネジャー)
        CareManager = "care_manager",
        /// 主任介護支援専門員
        ChiefCareManager = "chief_care_manager",
        /// 介護福祉士・訪問介護員 (helpers and facility care staff)
        CareWorker = "care_worker",
        /// 医療ソーシャルワーカー (MSW)
        MedicalSocialWorker = "medical_social_worker",
        /// 社会福祉士
        SocialWorker = "social_worker",
        /// 市町村職員
        MunicipalStaff = "municipal_staff",
        /// 事務職員
        ClericalStaff = "clerical_staff",
        /// 消防・救急 (fire and ambulance service)
        EmergencyServices = "emergency_services",
        /// 警察
        Police = "police",
        /// Anything else.
        Other = "other",
    }
}

impl Profession {
    /// May this profession break the glass (open a patient without consent in an emergency,
    /// the law's exception for protecting life and body)?
    ///
    /// Clinical means licensed to examine, treat, dispense, nurse or rehabilitate a patient
    /// directly, so that seeing the record in an emergency changes what they do with their
    /// hands: physician, dentist, pharmacist, nurse, public health nurse, dental hygienist and
    /// the three therapists (physical, occupational, speech).
    ///
    /// Deliberately not clinical: dietitians (their work is planned, not emergency care), care
    /// managers, care workers and social workers (welfare professions: they reach the record
    /// through the team and consent, never around it), municipal and clerical staff, `Other`,
    /// and fire and police (who never reach patient data at all).
    pub const fn is_clinical(self) -> bool {
        matches!(
            self,
            Self::Physician
                | Self::Dentist
                | Self::Pharmacist
                | Self::Nurse
                | Self::PublicHealthNurse
                | Self::DentalHygienist
                | Self::PhysicalTherapist
                | Self::OccupationalTherapist
                | Self::SpeechTherapist
        )
    }

    /// Fire/ambulance and police: they take part in boards and emergency notices and never
    /// reach patient data, whatever roles they are given.
    pub const fn is_emergency_or_police(self) -> bool {
        matches!(self, Self::EmergencyServices | Self::Police)
    }
}

closed_list! {
    /// What ties the caller to the object of a request. The gateway or the service works these
    /// out from its own projections and passes every one that holds to [`crate::decide`]; this
    /// crate never sees the object itself.
    ///
    /// A rule lists the relationships it accepts; one of them is enough.
    pub enum Relationship {
        /// The caller's site (and the caller) is on this patient's care team.
        OnPatientTeam = "on_patient_team",
        /// The caller works at the site that registered this patient.
        RegisteringSite = "registering_site",
        /// The caller holds an active, unexpired break-glass access to this patient (opened
        /// with [`Action::BreakGlass`]).
        BreakGlass = "break_glass",
        /// The object is a site the caller works at (or belongs to one).
        OwnSite = "own_site",
        /// The object is the caller's organisation (法人), one of its sites or one of its
        /// staff. Consent names sites, so this never stands in for a patient relationship.
        OwnOrganisation = "own_organisation",
        /// The object belongs to a municipality the caller is a member of or serves (a
        /// coordination centre serving several municipalities has each). For a patient it is
        /// the patient's home municipality.
        OwnMunicipality = "own_municipality",
        /// The object is the caller's own account.
        Self_ = "self",
        /// No tie. In a rule it means "no relationship is needed": every caller with the right
        /// role and profession passes. A caller need not pass it; it always holds.
        None = "none",
    }
}

closed_list! {
    /// The visibility class of what an action reads or writes; the values are the envelope's
    /// `visibility` (ARCHITECTURE.md, "Visibility classes").
    pub enum DataClass {
        /// The municipality register, directory listings, region boards: every signed-in member
        /// of the region.
        Region = "region",
        /// A municipality's own data (its boards, indicators, registrations): members of that
        /// municipality and the operator.
        Municipality = "municipality",
        /// Anything about one patient, including the record of who accessed it: never fire or
        /// police; clinical content only through consent and team membership, or break-glass.
        Patient = "patient",
    }
}

closed_list! {
    /// Everything that can be asked of the platform. Every route and every bus endpoint maps
    /// to exactly one action; [`Action::data_class`] groups them by visibility class.
    pub enum Action {
        // ── region ─────────────────────────────────────────────────────────────
        /// Read the municipality register.
        ReadRegister = "read_register",
        /// Register municipalities and change their entries.
        ManageRegister = "manage_register",
        /// Rotate the keys that sign access tokens.
        RotateSigningKeys = "rotate_signing_keys",
        /// Register integrators (systems that subscribe to events) and their client credentials.
        ManageIntegrators = "manage_integrators",
        /// Upload a file to the blob store and download the files one's site holds.
        ShareFiles = "share_files",
        /// Read the member directory (who works where, in which profession).
        ReadMemberDirectory = "read_member_directory",
        /// Read resource information: the provider list, vacancies and acceptance status, the
        /// event calendar.
        ReadResources = "read_resources",
        /// Edit a site's provider entry (contacts, services offered, conditions).
        UpdateProviderEntry = "update_provider_entry",
        /// Publish a site's vacancies and acceptance status.
        UpdateAvailability = "update_availability",
        /// Read the region's boards.
        ReadRegionBoards = "read_region_boards",
        /// Post to a region board.
        PostToRegionBoard = "post_to_region_board",

        // ── municipality ───────────────────────────────────────────────────────
        /// Register organisations (法人) and change them.
        ManageOrganisations = "manage_organisations",
        /// Register service sites (事業所) and change or close them.
        ManageSites = "manage_sites",
        /// Invite and deactivate staff of one's own organisation.
        ManageOwnStaff = "manage_own_staff",
        /// Invite, change and deactivate any member of a municipality (the secretariat; the
        /// operator registers the secretariats).
        ManageMembersOfMunicipality = "manage_members_of_municipality",
        /// Reset another member's password or second factor.
        ResetCredentials = "reset_credentials",
        /// Change one's own password, second factor and sessions.
        ManageOwnAccount = "manage_own_account",
        /// Verify a self-registered (broadcast-only) member before any other access.
        VerifySelfRegistration = "verify_self_registration",
        /// Open a board for a municipality (the operator also region-wide) and pin its posts.
        ManageBoards = "manage_boards",
        /// Read a municipality's boards.
        ReadBoards = "read_boards",
        /// Post to a municipality's board (including emergency notices).
        PostToBoard = "post_to_board",
        /// Send a broadcast to every profession at once.
        SendBroadcast = "send_broadcast",
        /// Submit a broadcast for the coordination centre to review (a site, a professional
        /// association), and revise it when it comes back.
        SubmitBroadcast = "submit_broadcast",
        /// Receive the coordination centre's broadcasts.
        ReceiveBroadcasts = "receive_broadcasts",
        /// Check and relay posts submitted by professional associations.
        ReviewAssociationPosts = "review_association_posts",
        /// Ask the coordination centre a 1:1 consultation.
        OpenConsultation = "open_consultation",
        /// Answer consultations.
        AnswerConsultation = "answer_consultation",
        /// Read a municipality's indicators.
        ReadIndicators = "read_indicators",
        /// Subscribe to the event streams an integrator is entitled to.
        SubscribeEvents = "subscribe_events",

        // ── patient ────────────────────────────────────────────────────────────
        /// Register a patient with the network.
        RegisterPatient = "register_patient",
        /// Read that a patient is registered, their consent status and team composition — no
        /// clinical content.
        ReadPatientRegistration = "read_patient_registration",
        /// Read clinical content: care records, medication, lab results, documents, care
        /// plans, photos and video.
        ReadPatientClinical = "read_patient_clinical",
        /// Write clinical content.
        WritePatientClinical = "write_patient_clinical",
        /// Add or remove sites and members on a patient's care team.
        ManageCareTeam = "manage_care_team",
        /// Record a signed consent form received at one's site (pending until verified), or
        /// amend it.
        RecordConsent = "record_consent",
        /// Verify and activate a recorded consent.
        VerifyConsent = "verify_consent",
        /// Record a patient's withdrawal of consent (effective at once).
        WithdrawConsent = "withdraw_consent",
        /// Open a patient without consent in an emergency: reason required, time-limited,
        /// flagged.
        BreakGlass = "break_glass",
        /// Erase a patient's personal data (destroy their data key): the history stays,
        /// the personal fields become unreadable everywhere.
        ErasePatientData = "erase_patient_data",
        /// Read the break-glass alerts (who opened which patient, when, why).
        ReadBreakGlassAlerts = "read_break_glass_alerts",
        /// Read the audit record of accesses to patient data.
        ReadAuditLog = "read_audit_log",
        /// Read the audit record of one's own organisation's staff.
        ReadOwnStaffAudit = "read_own_staff_audit",
        /// Read the audit record of one's own municipality, without clinical content.
        ReadMunicipalityAudit = "read_municipality_audit",
    }
}

impl Action {
    /// The visibility class this action reads or writes.
    ///
    /// The audit record is `Patient` class: it says who saw which patient (by a pseudonymous
    /// id), which is itself about that patient, so fire and police never read it either.
    pub const fn data_class(self) -> DataClass {
        match self {
            Self::ReadRegister
            | Self::ManageRegister
            | Self::RotateSigningKeys
            | Self::ManageIntegrators
            | Self::ShareFiles
            | Self::ReadMemberDirectory
            | Self::ReadResources
            | Self::UpdateProviderEntry
            | Self::UpdateAvailability
            | Self::ReadRegionBoards
            | Self::PostToRegionBoard => DataClass::Region,

            Self::ManageOrganisations
            | Self::ManageSites
            | Self::ManageOwnStaff
            | Self::ManageMembersOfMunicipality
            | Self::ResetCredentials
            | Self::ManageOwnAccount
            | Self::VerifySelfRegistration
            | Self::ManageBoards
            | Self::ReadBoards
            | Self::PostToBoard
            | Self::SendBroadcast
            | Self::SubmitBroadcast
            | Self::ReceiveBroadcasts
            | Self::ReviewAssociationPosts
            | Self::OpenConsultation
            | Self::AnswerConsultation
            | Self::ReadIndicators
            | Self::SubscribeEvents => DataClass::Municipality,

            Self::RegisterPatient
            | Self::ReadPatientRegistration
            | Self::ReadPatientClinical
            | Self::WritePatientClinical
            | Self::ManageCareTeam
            | Self::RecordConsent
            | Self::VerifyConsent
            | Self::WithdrawConsent
            | Self::BreakGlass
            | Self::ErasePatientData
            | Self::ReadBreakGlassAlerts
            | Self::ReadAuditLog
            | Self::ReadOwnStaffAudit
            | Self::ReadMunicipalityAudit => DataClass::Patient,
        }
    }

    /// Does this action read or write a patient's clinical content? These are the actions
    /// that pass the consent decision (unless by break-glass).
    pub const fn is_clinical(self) -> bool {
        matches!(self, Self::ReadPatientClinical | Self::WritePatientClinical)
    }

    /// Does this action reach clinical content, directly or by opening it? The clinical
    /// actions and [`Action::BreakGlass`]. Roles that never see clinical content are refused
    /// these whatever else they hold.
    pub const fn reaches_clinical_content(self) -> bool {
        self.is_clinical() || matches!(self, Self::BreakGlass)
    }
}

/// Who is asking: every role the member holds, and their profession (`None` for an
/// integrator, which is a machine client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The roles the member holds; order and repetition do not matter.
    pub roles: Vec<Role>,
    /// The member's profession; `None` for a machine client.
    pub profession: Option<Profession>,
}

impl Subject {
    /// A subject with these roles and this profession.
    pub fn new(roles: impl Into<Vec<Role>>, profession: Option<Profession>) -> Self {
        Self {
            roles: roles.into(),
            profession,
        }
    }

    /// Does the subject hold this role?
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire<T: Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .expect("serialises")
            .as_str()
            .expect("a string")
            .to_owned()
    }

    #[test]
    fn wire_names_are_snake_case_and_round_trip() {
        fn check<T>(all: &[T], as_str: fn(T) -> &'static str)
        where
            T: Copy + Serialize + for<'de> Deserialize<'de> + PartialEq + fmt::Debug,
        {
            for &value in all {
                let name = as_str(value);
                assert_eq!(wire(value), name);
                assert!(
                    name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{name} is not snake_case"
                );
                let back: T = serde_json::from_value(serde_json::json!(name)).expect("reads");
                assert_eq!(back, value);
            }
        }
        check(Role::ALL, Role::as_str);
        check(Profession::ALL, Profession::as_str);
        check(Relationship::ALL, Relationship::as_str);
        check(DataClass::ALL, DataClass::as_str);
        check(Action::ALL, Action::as_str);
    }

    #[test]
    fn the_own_account_relationship_is_called_self_on_the_wire() {
        assert_eq!(wire(Relationship::Self_), "self");
    }

    #[test]
    fn the_issue_lists_twenty_professions() {
        assert_eq!(Profession::ALL.len(), 20);
    }

    #[test]
    fn fire_and_police_are_not_clinical() {
        for &profession in Profession::ALL {
            assert!(!(profession.is_emergency_or_police() && profession.is_clinical()));
        }
    }

    #[test]
    fn nine_professions_are_clinical_and_care_managers_are_not() {
        let clinical: Vec<_> = Profession::ALL.iter().filter(|p| p.is_clinical()).collect();
        assert_eq!(clinical.len(), 9);
        assert!(!Profession::CareManager.is_clinical());
        assert!(!Profession::Dietitian.is_clinical());
    }

    #[test]
    fn every_data_class_has_an_action() {
        for &class in DataClass::ALL {
            assert!(
                Action::ALL.iter().any(|a| a.data_class() == class),
                "{class}"
            );
        }
    }

    #[test]
    fn clinical_actions_are_patient_data() {
        for &action in Action::ALL {
            if action.reaches_clinical_content() {
                assert_eq!(action.data_class(), DataClass::Patient, "{action}");
            }
        }
    }
}

/// Who is calling, as the gateway learnt it from a verified access token: what the
/// services need to decide relationships (own site, own organisation, own municipality).
/// It travels on the internal bus only, where nothing but the gateway sends requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The member (or integrator client).
    pub member_id: String,
    /// The session the token belongs to.
    pub session_id: String,
    /// Roles and profession.
    #[serde(flatten)]
    pub subject: Subject,
    /// Sites the member works at.
    pub sites: Vec<String>,
    /// The member's municipality.
    pub municipality: Option<String>,
}
