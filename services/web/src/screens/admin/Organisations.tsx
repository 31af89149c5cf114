// 事務局: organisations (法人) and the sites (事業所) they run, and registering both.
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import type { components } from "../../api/schema.gen";
import { session } from "../../auth/session";
import { useLoad, usePaged } from "../../lib/load";
import { emptyOnes, useSending } from "../../lib/forms";
import { ORGANISATION_KINDS, SITE_KINDS, word, type OrganisationKind, type SiteKind } from "../../lib/terms";
import { Link, navigate, query, useLocation } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, Facts, Loading, Page, PersonName, ProblemNote, SelectField, TextField } from "../../ui/ui";

type ServiceTypeCode = components["schemas"]["ServiceTypeCodeText"];

function useMunicipality(): string {
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  return state.status === "signed-in" ? state.me.municipality : "";
}

export function Organisations() {
  const { t, lang } = useI18n();
  const [adding, setAdding] = useState(false);
  const list = usePaged(async (after) => {
    const page = await must(api.GET("/api/v1/organisations", { params: { query: { after: after ?? undefined, limit: 30 } } }));
    return { items: page.items, next: page.next_after ?? null };
  }, []);
  return (
    <Page
      title={t("orgs.title")}
      actions={
        <Button kind={adding ? "secondary" : "primary"} aria-expanded={adding} onClick={() => setAdding((a) => !a)}>
          {adding ? t("close") : t("orgs.add")}
        </Button>
      }
    >
      {adding && (
        <NewOrganisation onDone={(id, position) => navigate(`/admin/organisations/${id}${query({ after: position })}`)} />
      )}
      <PagedList
        list={list}
        label={t("orgs.title")}
        empty={t("orgs.empty")}
        keyOf={(o) => o.organisation_id}
        render={(o) => (
          <Link to={`/admin/organisations/${o.organisation_id}`} className="card-link">
            <PersonName name={o.name} kana={o.name_kana} />
            <span className="card-sub">
              {word(ORGANISATION_KINDS, o.kind, lang)}・{o.home_municipality.name}
            </span>
          </Link>
        )}
      />
    </Page>
  );
}

function NewOrganisation({ onDone }: { onDone: (id: string, position: string | null) => void }) {
  const { t, lang } = useI18n();
  const municipality = useMunicipality();
  const [name, setName] = useState("");
  const [kana, setKana] = useState("");
  const [kind, setKind] = useState<OrganisationKind>("medical_corporation");
  const [corporate, setCorporate] = useState("");
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const made = await sending.send(() =>
      written(
        api.POST("/api/v1/organisations", {
          body: {
            name,
            name_kana: kana,
            kind,
            home_municipality: municipality,
            corporate_number: corporate.trim() || null,
          },
        }),
      ),
    );
    if (made) onDone(made.value.organisation_id, made.position);
  };
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="new-org">
      <h2 id="new-org">{t("orgs.add")}</h2>
      <TextField label={t("field.name")} value={name} onChange={setName} required error={sending.fieldError("name")} />
      <TextField label={t("field.kana")} hint={t("field.kanaHint")} value={kana} onChange={setKana} required error={sending.fieldError("name_kana")} />
      <SelectField
        label={t("orgs.kind")}
        value={kind}
        onChange={(v) => setKind(v as OrganisationKind)}
        options={Object.keys(ORGANISATION_KINDS).map((k) => [k, word(ORGANISATION_KINDS, k, lang)])}
        error={sending.fieldError("kind")}
      />
      <TextField label={t("orgs.corporate")} hint={t("orgs.corporateHint")} value={corporate} onChange={setCorporate} inputMode="numeric" error={sending.fieldError("corporate_number")} />
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("save")}
      </Button>
    </form>
  );
}

export function Organisation({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params["id"] ?? "";
  const [adding, setAdding] = useState(false);
  const [registered, setRegistered] = useState<string | null>(null);
  // Read our own writes: after a registration, wait until the directory has it.
  const [after, setAfter] = useState<string | null>(useLocation().query.get("after"));
  const org = useLoad(
    () =>
      must(
        api.GET("/api/v1/organisations/{organisation_id}", {
          params: {
            path: { organisation_id: id },
            header: after ? { "Tsunagu-Min-Position": after } : undefined,
          },
        }),
      ),
    [id, after],
  );
  if (!org.data) {
    return (
      <Page title={t("orgs.one")}>
        {org.loading ? <Loading /> : <ProblemNote problem={org.problem} />}
      </Page>
    );
  }
  const o = org.data;
  return (
    <Page title={o.name} kicker={o.name_kana}>
      <p>
        <Link to="/admin/organisations" className="tap">{t("orgs.back")}</Link>
      </p>
      <Facts
        rows={[
          [t("orgs.kind"), word(ORGANISATION_KINDS, o.kind, lang)],
          [t("orgs.municipality"), o.home_municipality.name],
          [t("orgs.corporate"), o.corporate_number ?? t("none")],
        ]}
      />
      <section className="panel" aria-labelledby="sites">
        <div className="panel-head">
          <h2 id="sites">{t("sites.title")}</h2>
          <Button kind={adding ? "secondary" : "primary"} aria-expanded={adding} onClick={() => setAdding((a) => !a)}>
            {adding ? t("close") : t("sites.add")}
          </Button>
        </div>
        {adding && (
          <NewSite
            organisationId={id}
            onDone={(position, name) => {
              setAdding(false);
              setRegistered(name);
              if (position && position !== after) setAfter(position);
              else org.reload();
            }}
          />
        )}
        {registered && (
          <p className="note note-info" role="status">
            {t("sites.registered", { name: registered })}
          </p>
        )}
        {o.sites.length === 0 ? (
          <p className="empty">{t("sites.empty")}</p>
        ) : (
          <ul className="cards" aria-label={t("sites.title")}>
            {o.sites.map((s) => (
              <li key={s.site_id} className="card">
                <Link to={`/admin/sites/${s.site_id}`} className="card-link">
                  <PersonName name={s.name} kana={s.name_kana} />
                  <span className="card-sub">
                    {word(SITE_KINDS, s.kind, lang)}
                    {s.provider_number ? `・${t("sites.providerNumber")} ${s.provider_number}` : ""}
                    {s.closed_at ? `・${t("sites.closed")}` : ""}
                  </span>
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </Page>
  );
}

type SiteDetails = components["schemas"]["SiteDetails"];
type SiteView = components["schemas"]["SiteView"];

/** The site form: empty to register a site, filled from `site` to change one (the body is
 * the whole editable set, so what the form does not show is sent back as it was). */
function SiteForm({ site, label, onSubmit }: { site?: SiteView; label: string; onSubmit: (body: SiteDetails) => Promise<unknown> }) {
  const { t, lang } = useI18n();
  const municipality = useMunicipality();
  const [form, setForm] = useState({
    name: site?.name ?? "",
    name_kana: site?.name_kana ?? "",
    kind: (site?.kind ?? "home_visit_nursing_station") as SiteKind,
    address: site?.address ?? "",
    phone: site?.phone ?? "",
    provider_number: site?.provider_number ?? "",
    service_types: (site?.service_types ?? []).join(", "),
    contact_24h: site?.contact_24h ?? "",
  });
  const set = (key: keyof typeof form) => (value: string) => setForm((f) => ({ ...f, [key]: value }));
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing = emptyOnes(
      [
        ["/name", form.name, t("field.name")],
        ["/name_kana", form.name_kana, t("field.kana")],
        ["/address", form.address, t("field.address")],
        ["/phone", form.phone, t("field.phone")],
      ],
      (label) => t("form.missing", { field: label }),
    );
    await sending.sendChecked(missing, () =>
      onSubmit({
        name: form.name,
        name_kana: form.name_kana,
        kind: form.kind,
        home_municipality: site?.home_municipality.code ?? municipality,
        address: form.address,
        phone: form.phone,
        provider_number: form.provider_number.trim() || null,
        // Typed codes go as typed: the service names a code it does not list at this field.
        service_types: form.service_types.split(/[,、\s]+/).filter(Boolean) as ServiceTypeCode[],
        contact_24h: form.contact_24h.trim() || null,
        fax: site?.fax ?? null,
        area_id: site?.area_id ?? null,
        municipalities_served: site ? site.municipalities_served.map((m) => m.code) : [],
      }),
    );
  };
  return (
    <form className="form" onSubmit={submit} noValidate aria-label={label}>
      <TextField label={t("field.name")} value={form.name} onChange={set("name")} required error={sending.fieldError("name")} />
      <TextField label={t("field.kana")} hint={t("field.kanaHint")} value={form.name_kana} onChange={set("name_kana")} required error={sending.fieldError("name_kana")} />
      <SelectField
        label={t("sites.kind")}
        value={form.kind}
        onChange={set("kind")}
        options={Object.keys(SITE_KINDS).map((k) => [k, word(SITE_KINDS, k, lang)])}
        error={sending.fieldError("kind")}
      />
      <TextField label={t("field.address")} value={form.address} onChange={set("address")} required error={sending.fieldError("address")} />
      <TextField label={t("field.phone")} hint={t("field.phoneHint")} type="tel" value={form.phone} onChange={set("phone")} required error={sending.fieldError("phone")} />
      <TextField label={t("sites.contact24h")} hint={t("field.phoneHint")} type="tel" value={form.contact_24h} onChange={set("contact_24h")} error={sending.fieldError("contact_24h")} />
      <TextField label={t("sites.providerNumber")} hint={t("sites.providerNumberHint")} inputMode="numeric" value={form.provider_number} onChange={set("provider_number")} error={sending.fieldError("provider_number")} />
      <TextField label={t("sites.serviceTypes")} hint={t("sites.serviceTypesHint")} inputMode="numeric" value={form.service_types} onChange={set("service_types")} error={sending.fieldError("service_types")} />
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("save")}
      </Button>
    </form>
  );
}

function NewSite({ organisationId, onDone }: { organisationId: string; onDone: (position: string | null, name: string) => void }) {
  const { t } = useI18n();
  return (
    <SiteForm
      label={t("sites.add")}
      onSubmit={async (body) => {
        const made = await written(
          api.POST("/api/v1/organisations/{organisation_id}/sites", { params: { path: { organisation_id: organisationId } }, body }),
        );
        onDone(made.position, body.name);
      }}
    />
  );
}

/** 事業所: one site's details, changed by the secretariat of its municipality. */
export function Site({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params["id"] ?? "";
  const [after, setAfter] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const site = useLoad(
    () =>
      must(
        api.GET("/api/v1/sites/{site_id}", {
          params: { path: { site_id: id }, header: after ? { "Tsunagu-Min-Position": after } : undefined },
        }),
      ),
    [id, after],
  );
  if (!site.data) {
    return <Page title={t("sites.one")}>{site.loading ? <Loading /> : <ProblemNote problem={site.problem} />}</Page>;
  }
  const s = site.data;
  return (
    <Page
      title={s.name}
      kicker={s.name_kana}
      actions={
        <Button kind={editing ? "secondary" : "primary"} aria-expanded={editing} onClick={() => setEditing((e) => !e)}>
          {editing ? t("close") : t("sites.edit")}
        </Button>
      }
    >
      <p>
        <Link to={`/admin/organisations/${s.organisation.organisation_id}`} className="tap">
          {t("sites.backTo", { name: s.organisation.name })}
        </Link>
      </p>
      {saved && (
        <p className="note note-info" role="status">
          {t("sites.saved")}
        </p>
      )}
      {editing ? (
        <SiteForm
          site={s}
          label={t("sites.edit")}
          onSubmit={async (body) => {
            const done = await written(api.PUT("/api/v1/sites/{site_id}", { params: { path: { site_id: id } }, body }));
            setEditing(false);
            setSaved(true);
            if (done.position && done.position !== after) setAfter(done.position);
            else site.reload();
          }}
        />
      ) : (
        <Facts
          rows={[
            [t("sites.kind"), word(SITE_KINDS, s.kind, lang)],
            [t("field.address"), s.address],
            [t("field.phone"), s.phone],
            [t("sites.contact24h"), s.contact_24h ?? t("none")],
            [t("sites.providerNumber"), s.provider_number ?? t("none")],
            [t("sites.serviceTypes"), s.service_types.length ? s.service_types.join("、") : t("none")],
          ]}
        />
      )}
    </Page>
  );
}
