// 事務局: one member — who they are and where they work, and what the secretariat may do for
// them: reset their password and second factor (the answer is a one-time link, as an
// invitation's), change their roles, or stop their use when they leave. Each change is
// confirmed with a reason, and recorded (the audit log chains it).
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import type { components } from "../../api/schema.gen";
import { useLoad } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { useSiteNames } from "../../lib/sites";
import { MEMBER_STATUSES, PROFESSIONS, ROLES, word } from "../../lib/terms";
import { Link } from "../../app/router";
import { OneTimeLinkCard } from "./Members";
import { Button, Facts, Loading, Page, PersonName, ProblemNote, TextField } from "../../ui/ui";

type MemberView = components["schemas"]["MemberView"];
type Role = components["schemas"]["RoleChange"]["roles"][number];
type Reset = components["schemas"]["CredentialReset"];

/** Roles the secretariat may hand out (as when inviting). */
const GRANTABLE: Role[] = ["professional", "site_admin", "community_support_centre_staff", "coordination_centre_staff", "municipal_secretariat", "auditor"];

type Change = "reset" | "roles" | "deactivate";

export function Member({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params.id ?? "";
  const loaded = useLoad(() => must(api.GET("/api/v1/members/{member_id}", { params: { path: { member_id: id } } })), [id]);
  // What this screen changed since it loaded (the answers say it; the list reads it later).
  const [changed, setChanged] = useState<Partial<MemberView>>({});
  const [open, setOpen] = useState<Change | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [reset, setReset] = useState<Reset | null>(null);
  const member = loaded.data ? { ...loaded.data, ...changed } : undefined;
  const siteName = useSiteNames(member?.sites ?? []);
  const finished = (message: string) => {
    setOpen(null);
    setDone(message);
  };
  return (
    <Page title={member ? member.name : t("member.title")}>
      <p>
        <Link to="/admin/members" className="tap">{t("member.back")}</Link>
      </p>
      {loaded.loading && <Loading />}
      <ProblemNote problem={loaded.problem} />
      {member && (
        <>
          <section className="panel" aria-labelledby="who">
            <h2 id="who">
              <PersonName name={member.name} kana={member.name_kana} />
            </h2>
            <Facts
              rows={[
                [t("members.profession"), word(PROFESSIONS, member.profession, lang)],
                [t("members.roles"), member.roles.map((r) => word(ROLES, r, lang)).join("・")],
                [t("members.site"), member.sites.map(siteName).join("、") || t("members.noSite")],
                [t("member.status"), word(MEMBER_STATUSES, member.status, lang)],
              ]}
            />
          </section>
          {done && (
            <p className="note note-success" role="status">
              {done}
            </p>
          )}
          {reset && (
            <OneTimeLinkCard
              title={t("member.resetTitle", { name: member.name })}
              name={member.name}
              token={reset.activation_token}
              expiresAt={reset.expires_at}
              onClose={() => setReset(null)}
            />
          )}
          {member.status !== "deactivated" && (
            <section className="panel" aria-labelledby="changes">
              <h2 id="changes">{t("member.changes")}</h2>
              <div className="post-actions">
                <Button kind="secondary" aria-expanded={open === "reset"} onClick={() => setOpen(open === "reset" ? null : "reset")}>
                  {t("member.reset")}
                </Button>
                <Button kind="secondary" aria-expanded={open === "roles"} onClick={() => setOpen(open === "roles" ? null : "roles")}>
                  {t("member.changeRoles")}
                </Button>
                <Button kind="danger" aria-expanded={open === "deactivate"} onClick={() => setOpen(open === "deactivate" ? null : "deactivate")}>
                  {t("member.deactivate")}
                </Button>
              </div>
              {open === "reset" && (
                <ReasonForm
                  lead={t("member.resetLead", { name: member.name })}
                  confirm={t("member.resetConfirm")}
                  send={(reason) =>
                    must(api.POST("/api/v1/members/{member_id}/credential-reset", { params: { path: { member_id: id } }, body: { reason } }))
                  }
                  onDone={(answer) => {
                    setReset(answer);
                    finished(t("member.resetDone", { name: member.name }));
                  }}
                  onCancel={() => setOpen(null)}
                />
              )}
              {open === "roles" && (
                <RolesForm
                  current={member.roles as Role[]}
                  id={id}
                  onDone={(roles) => {
                    setChanged((c) => ({ ...c, roles }));
                    finished(t("member.rolesDone", { name: member.name }));
                  }}
                  onCancel={() => setOpen(null)}
                />
              )}
              {open === "deactivate" && (
                <ReasonForm
                  lead={t("member.deactivateLead", { name: member.name })}
                  confirm={t("member.deactivateConfirm")}
                  danger
                  send={(reason) =>
                    must(api.POST("/api/v1/members/{member_id}/deactivation", { params: { path: { member_id: id } }, body: { reason } }))
                  }
                  onDone={() => {
                    setChanged((c) => ({ ...c, status: "deactivated" }));
                    finished(t("member.deactivateDone", { name: member.name }));
                  }}
                  onCancel={() => setOpen(null)}
                />
              )}
            </section>
          )}
        </>
      )}
    </Page>
  );
}

/** A change confirmed with its reason, which the record keeps. */
function ReasonForm<T>({
  lead,
  confirm,
  danger,
  send,
  onDone,
  onCancel,
}: {
  lead: string;
  confirm: string;
  danger?: boolean;
  send: (reason: string) => Promise<T>;
  onDone: (answer: T) => void;
  onCancel: () => void;
}) {
  const { t, lang } = useI18n();
  const [reason, setReason] = useState("");
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const answer = await sending.send(() => send(reason));
    if (answer !== undefined && answer !== null) onDone(answer);
  };
  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate>
      <p>{lead}</p>
      <TextField label={t("member.reason")} hint={t("member.reasonHint")} value={reason} onChange={setReason} required error={sending.fieldError("reason")} />
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button kind={danger ? "danger" : "primary"} type="submit" disabled={sending.busy || reason.trim() === ""}>
          {confirm}
        </Button>
        <Button kind="quiet" onClick={onCancel}>
          {t("member.cancel")}
        </Button>
      </div>
    </form>
  );
}

function RolesForm({ current, id, onDone, onCancel }: { current: Role[]; id: string; onDone: (roles: Role[]) => void; onCancel: () => void }) {
  const { t, lang } = useI18n();
  const [roles, setRoles] = useState<Role[]>(current);
  const [reason, setReason] = useState("");
  const sending = useSending(lang);
  const toggle = (role: Role) => setRoles((r) => (r.includes(role) ? r.filter((x) => x !== role) : [...r, role]));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const answer = await sending.send(() =>
      must(api.PUT("/api/v1/members/{member_id}/roles", { params: { path: { member_id: id } }, body: { roles, reason } })),
    );
    if (answer) onDone(answer.roles as Role[]);
  };
  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate>
      <fieldset className="field checks" aria-describedby={sending.fieldError("roles") ? "roles-error" : undefined}>
        <legend>{t("members.roles")}</legend>
        {GRANTABLE.map((role) => (
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
      <TextField label={t("member.reason")} hint={t("member.reasonHint")} value={reason} onChange={setReason} required error={sending.fieldError("reason")} />
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button type="submit" disabled={sending.busy || reason.trim() === ""}>
          {t("member.rolesConfirm")}
        </Button>
        <Button kind="quiet" onClick={onCancel}>
          {t("member.cancel")}
        </Button>
      </div>
    </form>
  );
}
