// 事務局: the municipality's members, and inviting someone: the answer is a one-time link,
// shown as a QR code the new member scans with their phone (or as text to send them).
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { QrCode } from "../../ui/qr";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import { session } from "../../auth/session";
import { useLoad, usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { dateTime } from "../../lib/dates";
import { MEMBER_STATUSES, PROFESSIONS, ROLES, SITE_KINDS, word, type Profession } from "../../lib/terms";
import type { components } from "../../api/schema.gen";
import { PagedList } from "../../ui/list";
import { Link } from "../../app/router";
import { Button, Field, Page, PersonName, ProblemNote, SelectField, TextField } from "../../ui/ui";

type Invitation = components["schemas"]["Invitation"];
/** A role, as the document names them. */
type Role = components["schemas"]["InviteMember"]["roles"][number];

/** Roles the secretariat hands out when inviting. */
const INVITABLE: Role[] = ["professional", "site_admin", "community_support_centre_staff", "coordination_centre_staff", "municipal_secretariat", "auditor"];

export function Members() {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const municipality = state.status === "signed-in" ? state.me.municipality : "";
  const [inviting, setInviting] = useState(false);
  const [invited, setInvited] = useState<{ invitation: Invitation; name: string; position: string | null } | null>(null);
  // Read our own writes: after an invitation, the list waits until it holds the new member.
  const position = invited?.position ?? null;
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/municipalities/{code}/members", {
          params: {
            path: { code: municipality },
            query: { after: after ?? undefined, limit: 50 },
            header: position ? { "Tsunagu-Min-Position": position } : undefined,
          },
        }),
      );
      return { items: page.items, next: page.next_after ?? null };
    },
    [municipality, position],
  );
  return (
    <Page
      title={t("members.title")}
      actions={
        <Button kind={inviting ? "secondary" : "primary"} aria-expanded={inviting} onClick={() => setInviting((i) => !i)}>
          {inviting ? t("close") : t("members.invite")}
        </Button>
      }
    >
      {invited && <InvitationCard invitation={invited.invitation} name={invited.name} onClose={() => setInvited(null)} />}
      {inviting && (
        <InviteForm
          municipality={municipality}
          onDone={(invitation, name, position) => {
            setInviting(false);
            setInvited({ invitation, name, position });
          }}
        />
      )}
      <PagedList
        list={list}
        label={t("members.title")}
        empty={t("members.empty")}
        keyOf={(m) => m.member_id}
        render={(m) => (
          <Link to={`/admin/members/${m.member_id}`} className="card-link">
            <PersonName name={m.name} kana={m.name_kana} />
            <span className="card-sub">
              {word(PROFESSIONS, m.profession, lang)}・{m.roles.map((r) => word(ROLES, r, lang)).join("・")}
            </span>
            <span className={`status status-member-${m.status}`}>{word(MEMBER_STATUSES, m.status, lang)}</span>
          </Link>
        )}
      />
    </Page>
  );
}

function InvitationCard({ invitation, name, onClose }: { invitation: Invitation; name: string; onClose: () => void }) {
  const { t } = useI18n();
  return (
    <OneTimeLinkCard
      title={t("members.invitedTitle", { name })}
      name={name}
      token={invitation.activation_token}
      expiresAt={invitation.expires_at}
      onClose={onClose}
    />
  );
}

/** A one-time link into this application (an invitation, a credential reset) as a QR code
 * the member scans, and as text: shown once. */
export function OneTimeLinkCard({
  title,
  name,
  token,
  expiresAt,
  onClose,
}: {
  title: string;
  name: string;
  token: string;
  expiresAt: string;
  onClose: () => void;
}) {
  const { t, lang } = useI18n();
  const link = `${location.origin}/activate?token=${encodeURIComponent(token)}`;
  return (
    <section className="panel invitation" aria-labelledby="one-time-link" role="status">
      <h2 id="one-time-link">{title}</h2>
      <p>{t("members.invitedLead")}</p>
      <div className="qr-box">
        <QrCode text={link} label={t("members.qrLabel", { name })} />
      </div>
      <p className="link-text">
        <code>{link}</code>
      </p>
      <p className="hint">{t("members.expires", { at: dateTime(expiresAt, lang) })}</p>
      <p className="hint">{t("members.onceOnly")}</p>
      <Button kind="secondary" onClick={onClose}>
        {t("close")}
      </Button>
    </section>
  );
}

function InviteForm({
  municipality,
  onDone,
}: {
  municipality: string;
  onDone: (i: Invitation, name: string, position: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const [name, setName] = useState("");
  const [kana, setKana] = useState("");
  const [profession, setProfession] = useState<Profession>("nurse");
  const [roles, setRoles] = useState<Role[]>(["professional"]);
  const [site, setSite] = useState("");
  const sending = useSending(lang);
  const sites = useLoad(
    () =>
      must(api.GET("/api/v1/sites", { params: { query: { municipality, limit: 200 } } })).then((p) => p.items),
    [municipality],
  );
  const toggle = (role: Role) => setRoles((r) => (r.includes(role) ? r.filter((x) => x !== role) : [...r, role]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const invited = await sending.send(() =>
      written(
        api.POST("/api/v1/invitations", {
          body: { name, name_kana: kana, profession, roles, sites: site ? [site] : [], municipality },
        }),
      ),
    );
    if (invited) onDone(invited.value, name, invited.position);
  };
  return (
    <form className="form panel" onSubmit={submit} noValidate aria-labelledby="invite">
      <h2 id="invite">{t("members.invite")}</h2>
      <TextField label={t("field.name")} value={name} onChange={setName} required autoComplete="off" error={sending.fieldError("name")} />
      <TextField label={t("field.kana")} hint={t("field.kanaHint")} value={kana} onChange={setKana} required autoComplete="off" error={sending.fieldError("name_kana")} />
      <SelectField
        label={t("members.profession")}
        value={profession}
        onChange={(v) => setProfession(v as Profession)}
        options={Object.keys(PROFESSIONS).map((p) => [p, word(PROFESSIONS, p, lang)])}
        error={sending.fieldError("profession")}
      />
      <fieldset className="field checks" aria-describedby={sending.fieldError("roles") ? "roles-error" : undefined}>
        <legend>{t("members.roles")}</legend>
        {INVITABLE.map((role) => (
          <label key={role} className="check">
            <input type="checkbox" checked={roles.includes(role)} onChange={() => toggle(role)} />
            {word(ROLES, role, lang)}
          </label>
        ))}
        {sending.fieldError("roles") && (
          <p className="field-error" id="roles-error">
            ⚠ {sending.fieldError("roles")}
          </p>
        )}
      </fieldset>
      <SelectField
        label={t("members.site")}
        hint={t("members.siteHint")}
        value={site}
        onChange={setSite}
        options={[["", t("members.noSite")], ...(sites.data ?? []).map((s): [string, string] => [s.site_id, `${s.name}（${word(SITE_KINDS, s.kind, lang)}）`])]}
        error={sending.fieldError("sites") ?? sending.fieldError("sites/0")}
      />
      <Field label={t("field.municipality")}>{({ id }) => <output id={id}>{municipality}</output>}</Field>
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy}>
        {t("members.send")}
      </Button>
    </form>
  );
}
