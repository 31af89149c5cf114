// The platform's closed lists in the words of the people who use it. The keys are the
// API's own values (from the served document), so a renamed value shows up here as a
// type error at build time.
import type { components } from "../api/schema.gen";

type Schemas = components["schemas"];
export type Profession = Schemas["MemberView"]["profession"];
export type SiteKind = Schemas["SiteKind"];
export type ConsentStatus = Schemas["ConsentSummary"]["status"];
export type TeamPart = Schemas["TeamSeat"]["part"];
export type Category = Schemas["DocumentView"]["category"];
export type MemberStatus = Schemas["MemberStatus"];
export type RecordKind = Schemas["RecordKind"];
export type OrganisationKind = Schemas["OrganisationKind"];
export type Sex = Schemas["Sex"];
export type CareLevel = Schemas["CareLevel"];
export type Lang = "ja" | "en";

type Words<K extends string> = Record<K, [ja: string, en: string]>;

export const PROFESSIONS: Words<Profession> = {
  physician: ["医師", "Physician"],
  dentist: ["歯科医師", "Dentist"],
  pharmacist: ["薬剤師", "Pharmacist"],
  nurse: ["看護師", "Nurse"],
  public_health_nurse: ["保健師", "Public health nurse"],
  dental_hygienist: ["歯科衛生士", "Dental hygienist"],
  physical_therapist: ["理学療法士", "Physical therapist"],
  occupational_therapist: ["作業療法士", "Occupational therapist"],
  speech_therapist: ["言語聴覚士", "Speech therapist"],
  dietitian: ["管理栄養士", "Dietitian"],
  care_manager: ["介護支援専門員（ケアマネジャー）", "Care manager"],
  chief_care_manager: ["主任介護支援専門員", "Chief care manager"],
  care_worker: ["介護職員・ヘルパー", "Care worker"],
  medical_social_worker: ["医療ソーシャルワーカー", "Medical social worker"],
  social_worker: ["社会福祉士", "Social worker"],
  municipal_staff: ["市町村職員", "Municipal staff"],
  clerical_staff: ["事務職員", "Clerical staff"],
  emergency_services: ["消防・救急", "Fire and ambulance"],
  police: ["警察", "Police"],
  other: ["その他", "Other"],
};

export const ROLES: Record<string, [string, string]> = {
  operator: ["運用管理者", "Operator"],
  municipal_secretariat: ["事務局", "Secretariat"],
  coordination_centre_staff: ["連携支援センター", "Coordination centre"],
  community_support_centre_staff: ["地域包括支援センター", "Community support centre"],
  site_admin: ["事業所管理者", "Site administrator"],
  professional: ["専門職", "Professional"],
  auditor: ["監査担当", "Auditor"],
  integrator: ["連携システム", "Integrator"],
  broadcast_recipient: ["一斉配信の受信者", "Broadcast recipient"],
};

export const SITE_KINDS: Words<SiteKind> = {
  hospital: ["病院", "Hospital"],
  clinic: ["診療所", "Clinic"],
  dental_clinic: ["歯科診療所", "Dental clinic"],
  pharmacy: ["薬局", "Pharmacy"],
  home_visit_nursing_station: ["訪問看護ステーション", "Home-visit nursing station"],
  home_visit_care: ["訪問介護", "Home-visit care"],
  day_service: ["通所介護（デイサービス）", "Day service"],
  short_stay: ["短期入所（ショートステイ）", "Short stay"],
  care_management_office: ["居宅介護支援事業所", "Care management office"],
  community_general_support_centre: ["地域包括支援センター", "Community general support centre"],
  coordination_centre: ["在宅医療・介護連携支援センター", "Coordination centre"],
  residential_facility: ["入所施設", "Residential facility"],
  municipal_office: ["市町村", "Municipal office"],
  professional_association: ["職能団体", "Professional association"],
  council_of_social_welfare: ["社会福祉協議会", "Council of social welfare"],
  dementia_medical_centre: ["認知症疾患医療センター", "Dementia medical centre"],
  hospital_regional_liaison_office: ["病院の地域連携室", "Hospital liaison office"],
  fire: ["消防", "Fire"],
  police: ["警察", "Police"],
  other: ["その他", "Other"],
};

export const ORGANISATION_KINDS: Words<OrganisationKind> = {
  medical_corporation: ["医療法人", "Medical corporation"],
  social_welfare_corporation: ["社会福祉法人", "Social welfare corporation"],
  company: ["株式会社など", "Company"],
  npo: ["NPO法人", "NPO"],
  municipality: ["地方公共団体", "Municipality"],
  association: ["一般社団法人など", "Association"],
  other: ["その他", "Other"],
};

export const CONSENT_STATUSES: Words<ConsentStatus> = {
  pending: ["確認待ち（事務局の確認前）", "Waiting for the secretariat"],
  active: ["有効", "In force"],
  rejected: ["差し戻し", "Returned"],
  superseded: ["新しい版に置き換え済み", "Replaced by a newer version"],
  withdrawn: ["撤回済み", "Withdrawn"],
  expired: ["期限切れ", "Expired"],
};

export const TEAM_PARTS: Words<TeamPart> = {
  care_manager: ["ケアマネジャー", "Care manager"],
  home_doctor: ["かかりつけ医", "Home doctor"],
  hospital: ["病院", "Hospital"],
  visiting_nurse: ["訪問看護", "Visiting nurse"],
  pharmacy: ["薬局", "Pharmacy"],
  dentist: ["歯科", "Dentist"],
  rehabilitation: ["リハビリ", "Rehabilitation"],
  home_helper: ["訪問介護", "Home helper"],
  day_service: ["デイサービス", "Day service"],
  short_stay: ["ショートステイ", "Short stay"],
  welfare_equipment: ["福祉用具", "Welfare equipment"],
  community_support_centre: ["地域包括支援センター", "Community support centre"],
  other: ["その他", "Other"],
};

export const CATEGORIES: Words<Category> = {
  care_records: ["経過・介護記録", "Care records"],
  medication: ["処方・服薬", "Medication"],
  lab_results: ["検査結果", "Lab results"],
  documents: ["文書", "Documents"],
  care_plan: ["ケアプラン", "Care plan"],
  photos_video: ["写真・動画", "Photos and video"],
};

export const MEMBER_STATUSES: Words<MemberStatus> = {
  invited: ["招待済み（未登録）", "Invited"],
  activating: ["登録中（二段階認証の設定前）", "Setting up"],
  awaiting_verification: ["確認待ち", "Awaiting verification"],
  active: ["利用中", "Active"],
  deactivated: ["利用停止", "Deactivated"],
};

export const RECORD_KINDS: Words<RecordKind> = {
  patient_access: ["患者情報へのアクセス", "Patient data access"],
  sign_in: ["サインイン", "Sign-in"],
  sign_in_failed: ["サインイン失敗", "Failed sign-in"],
  locked_out: ["ロック", "Locked out"],
  second_factor_enrolled: ["二段階認証の登録", "Second factor enrolled"],
  credentials_reset: ["認証情報のリセット", "Credentials reset"],
  member_change: ["会員の変更", "Member change"],
  session_revoked: ["サインアウト・セッション終了", "Session ended"],
  security_change: ["セキュリティ設定の変更", "Security change"],
  site_change: ["事業所の変更", "Site change"],
  patient_change: ["患者登録の変更", "Patient change"],
  consent_change: ["同意の変更", "Consent change"],
  team_change: ["ケアチームの変更", "Care team change"],
  break_glass_opened: ["緊急アクセスの開始", "Break-glass opened"],
  break_glass_ended: ["緊急アクセスの終了", "Break-glass ended"],
  document_attached: ["文書の添付", "Document attached"],
  post_written: ["タイムラインへの投稿", "Timeline post"],
  broadcast_reviewed: ["一斉配信の確認（配信・差し戻し）", "Broadcast reviewed (published or returned)"],
  consultation_change: ["相談（受付・担当の割り当て）", "Consultation opened or assigned"],
  audit_read: ["監査ログの閲覧", "Audit log read"],
  permission_denied: ["権限による拒否", "Permission denied"],
};

/** Why someone accessed a patient's data, as the access record says it. */
export const PURPOSES: Record<string, [string, string]> = {
  care: ["ケア（担当チームとして）", "Care (as the team)"],
  emergency: ["緊急時（緊急アクセス）", "Emergency (break-glass)"],
  audit: ["監査", "Audit"],
  administration: ["事務手続き（登録情報）", "Administration (registration data)"],
};

export const SEXES: Words<Sex> = {
  male: ["男性", "Male"],
  female: ["女性", "Female"],
  not_stated: ["記載なし", "Not stated"],
};

export const CARE_LEVELS: Words<CareLevel> = {
  support_level1: ["要支援1", "Support level 1"],
  support_level2: ["要支援2", "Support level 2"],
  care_level1: ["要介護1", "Care level 1"],
  care_level2: ["要介護2", "Care level 2"],
  care_level3: ["要介護3", "Care level 3"],
  care_level4: ["要介護4", "Care level 4"],
  care_level5: ["要介護5", "Care level 5"],
};

/** The word for `value` in `lang`, or the value itself for one the list does not know. */
export function word<K extends string>(list: Words<K> | Record<string, [string, string]>, value: K | string, lang: Lang): string {
  const entry = (list as Record<string, [string, string]>)[value];
  return entry ? entry[lang === "ja" ? 0 : 1] : value;
}
