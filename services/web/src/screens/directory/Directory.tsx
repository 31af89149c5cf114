// 事業所をさがす: what the municipality's sites can take now — accepting new users or not,
// with conditions, new clients, vacancies — each with who said it, when, and whether it is
// still fresh. A member of a site says their own site's status here in one step, starting
// from the last answer.
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import type { components } from "../../api/schema.gen";
import { session } from "../../auth/session";
import { useLoad } from "../../lib/load";
import { emptyOnes, useSending } from "../../lib/forms";
import { calendarDate, dateTime, readDate } from "../../lib/dates";
import { personInWords } from "../../lib/people";
import { ACCEPTING, CAPABILITIES, acceptingInWords, freshnessInWords, rank, type Accepting, type AvailabilityView, type Capability, type ListingView } from "../../lib/availability";
import { SITE_KINDS, word } from "../../lib/terms";
import { Button, Choices, Empty, Field, Loading, Page, ProblemNote, SelectField, TextField } from "../../ui/ui";
import { useMunicipalitySites } from "../patients/Register";

type Site = components["schemas"]["SiteView"];
type Vacancy = components["schemas"]["Vacancy"];

export function Directory() {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const me = state.status === "signed-in" ? state.me : null;
  const sites = useMunicipalitySites(me?.municipality ?? "");
  const [after, setAfter] = useState<string | null>(null);
  const board = useLoad(
    () => must(api.GET("/api/v1/availability", { params: { header: after ? { "Tsunagu-Min-Position": after } : undefined } })),
    [after],
  );
  const listings = useLoad(
    () => must(api.GET("/api/v1/listings", { params: { header: after ? { "Tsunagu-Min-Position": after } : undefined } })),
    [after],
  );
  const listingOf = new Map((listings.data?.sites ?? []).map((l) => [l.site_id, l]));
  const [capability, setCapability] = useState("");
  const [kind, setKind] = useState("");
  const [acceptingOnly, setAcceptingOnly] = useState(false);
  const statusOf = new Map((board.data?.sites ?? []).map((s) => [s.site_id, s]));
  const kinds = [...new Set((sites.data ?? []).map((s) => s.kind))];
  const shown = (sites.data ?? [])
    .filter((s) => !kind || s.kind === kind)
    .filter((s) => !capability || (listingOf.get(s.site_id)?.listing.capabilities ?? []).includes(capability as Capability))
    .filter((s) => !acceptingOnly || ["yes", "conditional"].includes(statusOf.get(s.site_id)?.accepting ?? ""))
    .sort((a, b) => rank(statusOf.get(a.site_id)) - rank(statusOf.get(b.site_id)) || a.name_kana.localeCompare(b.name_kana, "ja"));
  const mine = (sites.data ?? []).filter((s) => me?.sites.includes(s.site_id));
  const days = board.data ? Math.round(board.data.fresh_for_hours / 24) : 7;
  return (
    <Page title={t("nav.directory")} lead={t("directory.lead", { days: String(days) })}>
      {mine.map((site) => (
        <UpdateStatus
          key={site.site_id}
          site={site}
          last={statusOf.get(site.site_id)}
          onDone={(position) => {
            if (position && position !== after) setAfter(position);
            else board.reload();
          }}
        />
      ))}
      <section className="panel" aria-labelledby="find">
        <h2 id="find">{t("directory.find")}</h2>
        <div className="grid">
          <SelectField
            label={t("directory.kind")}
            value={kind}
            onChange={setKind}
            options={[["", t("directory.anyKind")], ...kinds.map((k): [string, string] => [k, word(SITE_KINDS, k, lang)])]}
          />
          <SelectField
            label={t("directory.capability")}
            value={capability}
            onChange={setCapability}
            options={[["", t("directory.anyCapability")], ...(Object.keys(CAPABILITIES) as Capability[]).map((c): [string, string] => [c, CAPABILITIES[c][lang === "ja" ? 0 : 1]])]}
          />
        </div>
        <label className="check">
          <input type="checkbox" checked={acceptingOnly} onChange={() => setAcceptingOnly(!acceptingOnly)} />
          {t("directory.acceptingOnly")}
        </label>
        {(sites.loading || board.loading) && !sites.data && <Loading />}
        <ProblemNote problem={sites.problem ?? board.problem} />
        {sites.data && shown.length === 0 && <Empty>{t("directory.none")}</Empty>}
        <ul className="cards" aria-label={t("directory.sites")}>
          {shown.map((site) => (
            <SiteCard
              key={site.site_id}
              site={site}
              status={statusOf.get(site.site_id)}
              listing={listingOf.get(site.site_id)}
              keeps={Boolean(me && (me.roles.includes("municipal_secretariat") || (me.roles.includes("site_admin") && me.sites.includes(site.site_id))))}
              onKept={(position) => {
                if (position && position !== after) setAfter(position);
                else listings.reload();
              }}
            />
          ))}
        </ul>
      </section>
    </Page>
  );
}

function SiteCard({
  site,
  status,
  listing,
  keeps,
  onKept,
}: {
  site: Site;
  status: AvailabilityView | undefined;
  listing: ListingView | undefined;
  keeps: boolean;
  onKept: (position: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const [editing, setEditing] = useState(false);
  const l = listing?.listing;
  return (
    <li className="card">
      <div className="card-body">
        <p className="card-title">{site.name}</p>
        <p className="card-sub">
          {word(SITE_KINDS, site.kind, lang)}・{site.address}
        </p>
        {status ? (
          <>
            <p>
              <span className={`status status-accepting-${status.accepting}`}>{acceptingInWords(status.accepting, lang)}</span>{" "}
              <span className={status.fresh ? "tag" : "tag tag-stale"}>{freshnessInWords(status, lang)}</span>
            </p>
            {status.conditions && <p className="conditions">{status.conditions}</p>}
            {status.new_clients != null && <p>{t("directory.newClients", { n: String(status.new_clients) })}</p>}
            {status.vacancies.length > 0 && (
              <ul className="rows" aria-label={t("directory.vacancies")}>
                {status.vacancies.map((v, i) => (
                  <li key={i}>{t("directory.vacancy", { from: calendarDate(v.from, lang), until: calendarDate(v.until, lang), beds: String(v.beds) })}</li>
                ))}
              </ul>
            )}
            <p className="hint">
              {t("directory.updated", {
                at: dateTime(status.updated_at, lang),
                by: personInWords({ name: status.updated_by.name, profession: status.updated_by.profession, site_name: status.updated_by.site_name }, lang),
              })}
            </p>
          </>
        ) : (
          <p className="hint">{t("directory.noStatus")}</p>
        )}
        {l && (
          <>
            {l.capabilities && l.capabilities.length > 0 && (
              <p className="tags">
                {l.capabilities.map((c) => (
                  <span key={c} className="tag">
                    {CAPABILITIES[c][lang === "ja" ? 0 : 1]}
                  </span>
                ))}
              </p>
            )}
            {l.opening_hours && <p>{t("directory.hours", { hours: l.opening_hours })}</p>}
            {l.capacity != null && <p>{t("directory.capacity", { n: String(l.capacity) })}</p>}
            {l.languages && l.languages.length > 0 && <p>{t("directory.languages", { list: l.languages.join("・") })}</p>}
            {l.description && <p className="conditions">{l.description}</p>}
          </>
        )}
        <p>
          <a className="tap" href={`tel:${site.phone.replace(/-/g, "")}`}>
            {t("patient.phone")} {site.phone}
          </a>
        </p>
        {keeps && (
          <Button kind="secondary" aria-expanded={editing} onClick={() => setEditing(!editing)}>
            {editing ? t("close") : t("directory.editListing")}
          </Button>
        )}
        {editing && (
          <ListingForm
            site={site}
            listing={l}
            onDone={(position) => {
              setEditing(false);
              onKept(position);
            }}
          />
        )}
      </div>
    </li>
  );
}

/** 掲載情報: where the site is and what it can do — the whole listing, sent at once. */
function ListingForm({ site, listing, onDone }: { site: Site; listing: ListingView["listing"] | undefined; onDone: (position: string | null) => void }) {
  const { t, lang } = useI18n();
  const [latitude, setLatitude] = useState(listing?.latitude != null ? String(listing.latitude) : "");
  const [longitude, setLongitude] = useState(listing?.longitude != null ? String(listing.longitude) : "");
  const [hours, setHours] = useState(listing?.opening_hours ?? "");
  const [capacity, setCapacity] = useState(listing?.capacity != null ? String(listing.capacity) : "");
  const [capabilities, setCapabilities] = useState<Capability[]>(listing?.capabilities ?? []);
  const [languages, setLanguages] = useState((listing?.languages ?? []).join("、"));
  const [description, setDescription] = useState(listing?.description ?? "");
  const sending = useSending(lang);
  const number = (text: string) => (text.trim() === "" ? null : Number(text.trim()));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const faults: Record<string, string> = {};
    if (latitude.trim() && Number.isNaN(Number(latitude))) faults["/latitude"] = t("directory.degrees");
    if (longitude.trim() && Number.isNaN(Number(longitude))) faults["/longitude"] = t("directory.degrees");
    if (capacity.trim() && !/^\d{1,4}$/.test(capacity.trim())) faults["/capacity"] = t("directory.capacityHint");
    const done = await sending.sendChecked(faults, () =>
      written(
        api.PUT("/api/v1/sites/{site_id}/listing", {
          params: { path: { site_id: site.site_id } },
          body: {
            latitude: number(latitude),
            longitude: number(longitude),
            opening_hours: hours.trim() || null,
            capacity: number(capacity),
            capabilities,
            languages: languages.split(/[,、]/).map((x) => x.trim()).filter(Boolean),
            description: description.trim() || null,
          },
        }),
      ),
    );
    if (done) onDone(done.position);
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={t("directory.editListing")}>
      <div className="field-pair">
        <TextField label={t("directory.latitude")} hint={t("directory.latitudeHint")} inputMode="decimal" value={latitude} onChange={setLatitude} error={sending.fieldError("latitude")} />
        <TextField label={t("directory.longitude")} hint={t("directory.longitudeHint")} inputMode="decimal" value={longitude} onChange={setLongitude} error={sending.fieldError("longitude")} />
      </div>
      <TextField label={t("directory.hoursLabel")} value={hours} onChange={setHours} maxLength={200} error={sending.fieldError("opening_hours")} />
      <TextField label={t("directory.capacityLabel")} hint={t("directory.capacityHint")} inputMode="numeric" value={capacity} onChange={setCapacity} error={sending.fieldError("capacity")} />
      <Choices legend={t("directory.capabilities")} error={sending.fieldError("capabilities")}>
        {(Object.keys(CAPABILITIES) as Capability[]).map((c) => (
          <label key={c} className="check">
            <input type="checkbox" checked={capabilities.includes(c)} onChange={() => setCapabilities(capabilities.includes(c) ? capabilities.filter((x) => x !== c) : [...capabilities, c])} />
            {CAPABILITIES[c][lang === "ja" ? 0 : 1]}
          </label>
        ))}
      </Choices>
      <TextField label={t("directory.languagesLabel")} hint={t("directory.languagesHint")} value={languages} onChange={setLanguages} error={sending.fieldError("languages")} />
      <Field label={t("directory.description")} error={sending.fieldError("description")}>
        {({ id, describedBy, invalid }) => (
          <textarea id={id} value={description} rows={3} maxLength={1000} onChange={(e) => setDescription(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} />
        )}
      </Field>
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("directory.saveListing")}
      </Button>
    </form>
  );
}

/** 受け入れ状況を更新: one form, filled with the last answer, sent in one request. */
function UpdateStatus({ site, last, onDone }: { site: Site; last: AvailabilityView | undefined; onDone: (position: string | null) => void }) {
  const { t, lang } = useI18n();
  const [open, setOpen] = useState(false);
  const [accepting, setAccepting] = useState<Accepting>(last?.accepting ?? "yes");
  const [conditions, setConditions] = useState(last?.conditions ?? "");
  const [newClients, setNewClients] = useState(last?.new_clients != null ? String(last.new_clients) : "");
  const [vacancies, setVacancies] = useState<{ from: string; until: string; beds: string }[]>(
    (last?.vacancies ?? []).map((v) => ({ from: v.from, until: v.until, beds: String(v.beds) })),
  );
  const [saved, setSaved] = useState(false);
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const faults = accepting === "conditional" ? emptyOnes([["/conditions", conditions, t("directory.conditions")]], (label) => t("form.missing", { field: label })) : {};
    if (newClients.trim() && !/^\d{1,3}$/.test(newClients.trim())) faults["/new_clients"] = t("directory.countHint");
    vacancies.forEach((v, i) => {
      if (!readDate(v.from)) faults[`/vacancies/${i}/from`] = t("form.notADate");
      if (!readDate(v.until)) faults[`/vacancies/${i}/until`] = t("form.notADate");
      if (!/^\d{1,3}$/.test(v.beds.trim()) || Number(v.beds) === 0) faults[`/vacancies/${i}/beds`] = t("directory.bedsHint");
    });
    const done = await sending.sendChecked(faults, () =>
      written(
        api.PUT("/api/v1/sites/{site_id}/availability", {
          params: { path: { site_id: site.site_id } },
          body: {
            accepting,
            conditions: conditions.trim() || null,
            new_clients: newClients.trim() ? Number(newClients) : null,
            vacancies: vacancies.map((v): Vacancy => ({ from: readDate(v.from) ?? v.from, until: readDate(v.until) ?? v.until, beds: Number(v.beds) })),
          },
        }),
      ),
    );
    if (done) {
      setSaved(true);
      setOpen(false);
      onDone(done.position);
    }
  };
  return (
    <section className="panel" aria-label={t("directory.mine", { site: site.name })}>
      <div className="panel-head">
        <h2>{t("directory.mine", { site: site.name })}</h2>
        <Button kind={open ? "secondary" : "primary"} aria-expanded={open} onClick={() => { setOpen(!open); setSaved(false); }}>
          {open ? t("close") : t("directory.update")}
        </Button>
      </div>
      {saved && (
        <p className="note note-info" role="status">
          {t("directory.saved")}
        </p>
      )}
      {!open && last && (
        <p>
          <span className={`status status-accepting-${last.accepting}`}>{acceptingInWords(last.accepting, lang)}</span>{" "}
          <span className={last.fresh ? "tag" : "tag tag-stale"}>{freshnessInWords(last, lang)}</span>
        </p>
      )}
      {!open && !last && <p className="hint">{t("directory.neverSaid")}</p>}
      {open && (
        <form className="form" onSubmit={submit} noValidate aria-label={t("directory.update")}>
          <Choices legend={t("directory.accepting")}>
            {(Object.keys(ACCEPTING) as Accepting[]).map((a) => (
              <label key={a} className="check">
                <input type="radio" name={`accepting-${site.site_id}`} checked={accepting === a} onChange={() => setAccepting(a)} />
                {acceptingInWords(a, lang)}
              </label>
            ))}
          </Choices>
          <Field label={t("directory.conditions")} hint={t("directory.conditionsHint")} error={sending.fieldError("conditions")} required={accepting === "conditional"}>
            {({ id, describedBy, invalid }) => (
              <textarea id={id} value={conditions} rows={3} maxLength={500} onChange={(e) => setConditions(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} />
            )}
          </Field>
          <TextField label={t("directory.newClientsLabel")} hint={t("directory.countHint")} inputMode="numeric" value={newClients} onChange={setNewClients} error={sending.fieldError("new_clients")} />
          {vacancies.map((v, i) => (
            <div key={i} className="field-pair">
              <TextField label={t("directory.vacancyFrom", { n: String(i + 1) })} value={v.from} onChange={(from) => setVacancies(vacancies.map((x, j) => (j === i ? { ...x, from } : x)))} error={sending.fieldError(`vacancies/${i}/from`)} />
              <TextField label={t("directory.vacancyUntil", { n: String(i + 1) })} value={v.until} onChange={(until) => setVacancies(vacancies.map((x, j) => (j === i ? { ...x, until } : x)))} error={sending.fieldError(`vacancies/${i}/until`)} />
              <TextField label={t("directory.vacancyBeds", { n: String(i + 1) })} inputMode="numeric" value={v.beds} onChange={(beds) => setVacancies(vacancies.map((x, j) => (j === i ? { ...x, beds } : x)))} error={sending.fieldError(`vacancies/${i}/beds`)} />
              <Button kind="quiet" onClick={() => setVacancies(vacancies.filter((_, j) => j !== i))}>
                {t("directory.removeVacancy")}
              </Button>
            </div>
          ))}
          <Button kind="secondary" onClick={() => setVacancies([...vacancies, { from: "", until: "", beds: "1" }])}>
            {t("directory.addVacancy")}
          </Button>
          <ProblemNote problem={sending.general} />
          <Button type="submit" disabled={sending.busy}>
            {t("directory.save")}
          </Button>
        </form>
      )}
    </section>
  );
}
