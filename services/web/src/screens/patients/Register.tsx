// Bringing a patient into the network, as the paper process goes: the secretariat (or the
// care manager's site) registers the patient, builds the care team from the municipality's
// sites, and sets the 24-hour contact; the site that received the signed consent form
// records it; the secretariat checks it against the paper and makes it active. Each form
// names every field at fault at once and keeps everything typed.
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import type { components } from "../../api/schema.gen";
import { session, type Me } from "../../auth/session";
import { emptyOnes, useSending, type FieldMessages } from "../../lib/forms";
import { useLoad } from "../../lib/load";
import { readDate, todayInJapan, wareki } from "../../lib/dates";
import { CARE_LEVELS, CATEGORIES, SEXES, SITE_KINDS, TEAM_PARTS, word, type CareLevel, type Category, type Sex, type SiteKind, type TeamPart } from "../../lib/terms";
import { navigate, query } from "../../app/router";
import { Button, Choices, Page, ProblemNote, SelectField, TextField } from "../../ui/ui";

type Site = components["schemas"]["SiteView"];
type ConsentDetails = components["schemas"]["ConsentDetails"];

const SECRETARIAT = ["municipal_secretariat", "operator"];

function useMe(): Me | null {
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  return state.status === "signed-in" ? state.me : null;
}

function isoToday(): string {
  const d = todayInJapan();
  return `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
}

/** The sites of the caller's municipality, for choosing team seats and consent sites. */
export function useMunicipalitySites(municipality: string) {
  return useLoad(async () => {
    const sites: Site[] = [];
    let after: string | undefined;
    // A municipality has tens of sites, a city a few hundred: all of them fit one choice.
    for (let round = 0; round < 10; round++) {
      const page = await must(api.GET("/api/v1/sites", { params: { query: { municipality, after, limit: 100 } } }));
      sites.push(...page.items);
      if (!page.next_after) break;
      after = page.next_after;
    }
    return sites;
  }, [municipality]);
}

/** 患者を登録: name and reading, date of birth in 和暦 or 西暦, sex, address, insurance numbers,
 * care level. The secretariat registers for its municipality; a member of a care site
 * registers as that site. */
export function NewPatient() {
  const { t, lang } = useI18n();
  const me = useMe();
  const secretariat = Boolean(me?.roles.some((r) => SECRETARIAT.includes(r)));
  const [form, setForm] = useState({
    name: "",
    name_kana: "",
    date_of_birth: "",
    sex: "female" as Sex,
    address: "",
    insurer_number: me?.municipality ?? "",
    insured_number: "",
    care_level: "" as CareLevel | "",
    care_from: "",
    care_until: "",
    registering_site: me?.sites[0] ?? "",
  });
  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  const sending = useSending(lang);
  const born = readDate(form.date_of_birth);
  const mySites = useLoad(
    () => Promise.all((me?.sites ?? []).map((id) => must(api.GET("/api/v1/sites/{site_id}", { params: { path: { site_id: id } } })))),
    [me?.sites.join(",")],
  );

  const check = (): FieldMessages => {
    const missing = emptyOnes(
      [
        ["/name", form.name, t("register.name")],
        ["/name_kana", form.name_kana, t("field.kana")],
        ["/date_of_birth", form.date_of_birth, t("register.dob")],
        ["/address", form.address, t("field.address")],
        ["/insurer_number", form.insurer_number, t("register.insurer")],
        ["/insured_number", form.insured_number, t("register.insured")],
      ],
      (label) => t("form.missing", { field: label }),
    );
    if (form.date_of_birth.trim() && !born) missing["/date_of_birth"] = t("form.notADate");
    if (form.care_level) {
      if (!readDate(form.care_from)) missing["/care_level/valid_from"] = t("form.notADate");
      if (!readDate(form.care_until)) missing["/care_level/valid_until"] = t("form.notADate");
    }
    return missing;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const made = await sending.sendChecked(check(), () =>
      written(
        api.POST("/api/v1/patients", {
          body: {
            name: form.name,
            name_kana: form.name_kana,
            date_of_birth: born ?? form.date_of_birth,
            sex: form.sex,
            address: form.address,
            insurer_number: form.insurer_number.trim(),
            insured_number: form.insured_number.trim(),
            home_municipality: me?.municipality ?? "",
            care_level: form.care_level
              ? { level: form.care_level, valid_from: readDate(form.care_from) ?? "", valid_until: readDate(form.care_until) ?? "" }
              : null,
            ...(secretariat || !form.registering_site ? {} : { registering_site: form.registering_site }),
          },
        }),
      ),
    );
    if (!made) return;
    const to = secretariat ? `/admin/patients/${made.value.patient_id}` : `/patients/${made.value.patient_id}`;
    navigate(to + query({ after: made.position, registered: "1" }));
  };

  return (
    <Page title={t("register.title")} lead={t("register.lead")}>
      <form className="form panel" onSubmit={submit} noValidate aria-label={t("register.title")}>
        <TextField label={t("register.name")} value={form.name} onChange={set("name")} required autoComplete="off" error={sending.fieldError("name")} />
        <TextField label={t("field.kana")} hint={t("field.kanaHint")} value={form.name_kana} onChange={set("name_kana")} required autoComplete="off" error={sending.fieldError("name_kana")} />
        <TextField
          label={t("register.dob")}
          hint={born ? t("register.dobRead", { date: wareki(born), iso: born }) : t("register.dobHint")}
          value={form.date_of_birth}
          onChange={set("date_of_birth")}
          required
          autoComplete="off"
          error={sending.fieldError("date_of_birth")}
        />
        <SelectField
          label={t("patient.sex")}
          value={form.sex}
          onChange={set("sex")}
          options={Object.keys(SEXES).map((k) => [k, word(SEXES, k, lang)])}
          error={sending.fieldError("sex")}
        />
        <TextField label={t("field.address")} value={form.address} onChange={set("address")} required autoComplete="off" error={sending.fieldError("address")} />
        <TextField label={t("register.insurer")} hint={t("register.insurerHint")} inputMode="numeric" value={form.insurer_number} onChange={set("insurer_number")} required error={sending.fieldError("insurer_number")} />
        <TextField label={t("register.insured")} hint={t("register.insuredHint")} inputMode="numeric" value={form.insured_number} onChange={set("insured_number")} required error={sending.fieldError("insured_number")} />
        <SelectField
          label={t("patient.careLevel")}
          value={form.care_level}
          onChange={set("care_level")}
          options={[["", t("patient.noCareLevel")], ...Object.keys(CARE_LEVELS).map((k): [string, string] => [k, word(CARE_LEVELS, k, lang)])]}
          error={sending.fieldError("care_level/level")}
        />
        {form.care_level && (
          <div className="field-pair">
            <TextField label={t("register.careFrom")} hint={t("register.dateHint")} value={form.care_from} onChange={set("care_from")} required error={sending.fieldError("care_level/valid_from")} />
            <TextField label={t("register.careUntil")} hint={t("register.dateHint")} value={form.care_until} onChange={set("care_until")} required error={sending.fieldError("care_level/valid_until")} />
          </div>
        )}
        {!secretariat && (mySites.data?.length ?? 0) > 0 && (
          <SelectField
            label={t("register.site")}
            value={form.registering_site}
            onChange={set("registering_site")}
            options={(mySites.data ?? []).map((s) => [s.site_id, s.name])}
            error={sending.fieldError("registering_site")}
          />
        )}
        <ProblemNote problem={sending.general} />
        <Button type="submit" disabled={sending.busy}>
          {t("register.submit")}
        </Button>
      </form>
    </Page>
  );
}

/** The part a site usually plays on a team, by its kind. */
function usualPart(kind: SiteKind): TeamPart {
  const parts: Partial<Record<SiteKind, TeamPart>> = {
    care_management_office: "care_manager",
    clinic: "home_doctor",
    hospital: "hospital",
    hospital_regional_liaison_office: "hospital",
    home_visit_nursing_station: "visiting_nurse",
    pharmacy: "pharmacy",
    dental_clinic: "dentist",
    home_visit_care: "home_helper",
    day_service: "day_service",
    short_stay: "short_stay",
    community_general_support_centre: "community_support_centre",
  };
  return parts[kind] ?? "other";
}

/** チームに事業所を加える: a seat for one of the municipality's sites, with its part. */
export function TeamBuilder({ patientId, sites, onDone }: { patientId: string; sites: Site[]; onDone: (position: string | null) => void }) {
  const { t, lang } = useI18n();
  const [site, setSite] = useState("");
  const [part, setPart] = useState<TeamPart>("care_manager");
  const sending = useSending(lang);
  const choose = (id: string) => {
    setSite(id);
    const chosen = sites.find((s) => s.site_id === id);
    if (chosen) setPart(usualPart(chosen.kind));
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const made = await sending.sendChecked(site ? {} : { "/site": t("team.chooseSite") }, () =>
      written(api.POST("/api/v1/patients/{patient_id}/team", { params: { path: { patient_id: patientId } }, body: { site, part } })),
    );
    if (made) {
      setSite("");
      onDone(made.position);
    }
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t("team.add")}>
      <SelectField
        label={t("team.site")}
        value={site}
        onChange={choose}
        required
        options={[["", t("team.chooseSite")], ...sites.map((s): [string, string] => [s.site_id, `${s.name}（${word(SITE_KINDS, s.kind, lang)}）`])]}
        error={sending.fieldError("site")}
      />
      <SelectField
        label={t("team.part")}
        value={part}
        onChange={(v) => setPart(v as TeamPart)}
        options={Object.keys(TEAM_PARTS).map((k) => [k, word(TEAM_PARTS, k, lang)])}
        error={sending.fieldError("part")}
      />
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("team.addNow")}
      </Button>
    </form>
  );
}

/** 24時間連絡先: the phone that answers day and night, and which team site answers it. */
export function Contact24hForm({ patientId, teamSites, onDone }: { patientId: string; teamSites: { site: string; name: string }[]; onDone: (position: string | null) => void }) {
  const { t, lang } = useI18n();
  const [phone, setPhone] = useState("");
  const [site, setSite] = useState("");
  const [note, setNote] = useState("");
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const made = await sending.sendChecked(emptyOnes([["/phone", phone, t("field.phone")]], (label) => t("form.missing", { field: label })), () =>
      written(
        api.PUT("/api/v1/patients/{patient_id}/contact-24h", {
          params: { path: { patient_id: patientId } },
          body: { phone: phone.trim(), note: note.trim() || null, ...(site ? { site } : {}) },
        }),
      ),
    );
    if (made) onDone(made.position);
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t("contact.set")}>
      <TextField label={t("field.phone")} hint={t("field.phoneHint")} type="tel" value={phone} onChange={setPhone} required error={sending.fieldError("phone")} />
      <SelectField
        label={t("contact.site")}
        value={site}
        onChange={setSite}
        options={[["", t("contact.noSite")], ...teamSites.map((s): [string, string] => [s.site, s.name])]}
        error={sending.fieldError("site")}
      />
      <TextField label={t("contact.note")} hint={t("contact.noteHint")} value={note} onChange={setNote} error={sending.fieldError("note")} />
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("contact.setNow")}
      </Button>
    </form>
  );
}

type ModelChoice = "all_participating_sites" | "listed_sites" | "site_by_site";

/** 同意書を記録: the signed form as the receiving site has it — which sites (one of the three
 * models), which kinds of information, from when until when, who signed, on what day. It
 * waits for the secretariat's check before it opens anything. */
export function RecordConsent({
  patientId,
  teamSites,
  mySites,
  onDone,
}: {
  patientId: string;
  /** The sites the form may name: the team's, by name. */
  teamSites: { site: string; name: string }[];
  /** The sites the member works at: one of them received the form. */
  mySites: { site: string; name: string }[];
  onDone: (position: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const today = isoToday();
  const [model, setModel] = useState<ModelChoice>("listed_sites");
  const [chosen, setChosen] = useState<string[]>(teamSites.map((s) => s.site));
  const [categories, setCategories] = useState<Category[]>(Object.keys(CATEGORIES) as Category[]);
  const [validFrom, setValidFrom] = useState(today);
  const [validUntil, setValidUntil] = useState("");
  const [signedOn, setSignedOn] = useState(today);
  const [form, setForm] = useState<"written" | "electronic">("written");
  const [givenBy, setGivenBy] = useState<"patient" | "proxy">("patient");
  const [proxyName, setProxyName] = useState("");
  const [relationship, setRelationship] = useState("");
  const [family, setFamily] = useState(false);
  const [receivedAt, setReceivedAt] = useState(mySites[0]?.site ?? "");
  const sending = useSending(lang);
  const toggle = <T,>(list: T[], value: T) => (list.includes(value) ? list.filter((v) => v !== value) : [...list, value]);

  const check = (): FieldMessages => {
    const out: FieldMessages = {};
    if (model === "listed_sites" && chosen.length === 0) out["/model/sites"] = t("consentForm.chooseSites");
    if (model === "site_by_site" && chosen.length !== 1) out["/model/site"] = t("consentForm.chooseOne");
    if (categories.length === 0) out["/categories"] = t("consentForm.chooseCategories");
    if (!readDate(validFrom)) out["/valid_from"] = t("form.notADate");
    if (validUntil.trim() && !readDate(validUntil)) out["/valid_until"] = t("form.notADate");
    if (!readDate(signedOn)) out["/signed_on"] = t("form.notADate");
    if (givenBy === "proxy") Object.assign(out, emptyOnes([["/given_by/name", proxyName, t("consentForm.proxyName")], ["/given_by/relationship", relationship, t("consentForm.relationship")]], (label) => t("form.missing", { field: label })));
    if (!receivedAt) out["/received_at_site"] = t("consentForm.chooseReceiver");
    return out;
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: ConsentDetails = {
      model:
        model === "all_participating_sites"
          ? { model, excluded: chosen }
          : model === "listed_sites"
            ? { model, sites: chosen }
            : { model, site: chosen[0] ?? "" },
      categories,
      valid_from: readDate(validFrom) ?? validFrom,
      valid_until: validUntil.trim() ? (readDate(validUntil) ?? validUntil) : null,
      form,
      given_by: givenBy === "patient" ? { by: "patient" } : { by: "proxy", name: proxyName, relationship },
      signed_on: readDate(signedOn) ?? signedOn,
      received_at_site: receivedAt,
      family_information: family,
    };
    const made = await sending.sendChecked(check(), () =>
      written(api.POST("/api/v1/patients/{patient_id}/consents", { params: { path: { patient_id: patientId } }, body })),
    );
    if (made) onDone(made.position);
  };

  const sitesLabel =
    model === "all_participating_sites" ? t("consentForm.excluded") : model === "listed_sites" ? t("consentForm.sites") : t("consentForm.site");
  const sitesPointer = model === "all_participating_sites" ? "model/excluded" : model === "listed_sites" ? "model/sites" : "model/site";
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t("consentForm.title")}>
      <Choices legend={t("consentForm.model")}>
        {(["all_participating_sites", "listed_sites", "site_by_site"] as ModelChoice[]).map((m) => (
          <label key={m} className="check">
            <input
              type="radio"
              name="consent-model"
              checked={model === m}
              onChange={() => {
                setModel(m);
                setChosen(m === "listed_sites" ? teamSites.map((s) => s.site) : []);
              }}
            />
            {t(`consentForm.model.${m}`)}
          </label>
        ))}
      </Choices>
      <Choices legend={sitesLabel} error={sending.fieldError(sitesPointer)} required={model !== "all_participating_sites"}>
        {teamSites.length === 0 && <p className="hint">{t("consentForm.noTeam")}</p>}
        {teamSites.map((s) => (
          <label key={s.site} className="check">
            <input
              type={model === "site_by_site" ? "radio" : "checkbox"}
              name="consent-sites"
              checked={chosen.includes(s.site)}
              onChange={() => setChosen(model === "site_by_site" ? [s.site] : toggle(chosen, s.site))}
            />
            {s.name}
          </label>
        ))}
      </Choices>
      <Choices legend={t("consent.categories")} error={sending.fieldError("categories")} required>
        {(Object.keys(CATEGORIES) as Category[]).map((c) => (
          <label key={c} className="check">
            <input type="checkbox" checked={categories.includes(c)} onChange={() => setCategories(toggle(categories, c))} />
            {word(CATEGORIES, c, lang)}
          </label>
        ))}
      </Choices>
      <label className="check">
        <input type="checkbox" checked={family} onChange={() => setFamily(!family)} />
        {t("consentForm.family")}
      </label>
      <div className="field-pair">
        <TextField label={t("consentForm.validFrom")} hint={t("register.dateHint")} value={validFrom} onChange={setValidFrom} required error={sending.fieldError("valid_from")} />
        <TextField label={t("consentForm.validUntil")} hint={t("consentForm.validUntilHint")} value={validUntil} onChange={setValidUntil} error={sending.fieldError("valid_until")} />
      </div>
      <TextField label={t("consentForm.signedOn")} hint={t("register.dateHint")} value={signedOn} onChange={setSignedOn} required error={sending.fieldError("signed_on")} />
      <SelectField
        label={t("consentForm.form")}
        value={form}
        onChange={(v) => setForm(v as "written" | "electronic")}
        options={[
          ["written", t("consentForm.written")],
          ["electronic", t("consentForm.electronic")],
        ]}
        error={sending.fieldError("form")}
      />
      <SelectField
        label={t("consentForm.givenBy")}
        value={givenBy}
        onChange={(v) => setGivenBy(v as "patient" | "proxy")}
        options={[
          ["patient", t("consentForm.byPatient")],
          ["proxy", t("consentForm.byProxy")],
        ]}
        error={sending.fieldError("given_by")}
      />
      {givenBy === "proxy" && (
        <div className="field-pair">
          <TextField label={t("consentForm.proxyName")} value={proxyName} onChange={setProxyName} required error={sending.fieldError("given_by/name")} />
          <TextField label={t("consentForm.relationship")} hint={t("consentForm.relationshipHint")} value={relationship} onChange={setRelationship} required error={sending.fieldError("given_by/relationship")} />
        </div>
      )}
      <SelectField
        label={t("consentForm.receivedAt")}
        value={receivedAt}
        onChange={setReceivedAt}
        required
        options={mySites.map((s) => [s.site, s.name])}
        error={sending.fieldError("received_at_site")}
      />
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("consentForm.submit")}
      </Button>
    </form>
  );
}
