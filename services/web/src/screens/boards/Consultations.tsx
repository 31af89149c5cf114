// 相談: ask the coordination centre of my municipality, one to one, optionally about one of my
// patients; the centre's staff answer, take it on (担当) and close it. The patient's name shows
// only to those whose access decision allows it.
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import { session } from "../../auth/session";
import { useLoad, usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { dateTime } from "../../lib/dates";
import { personInWords as who } from "../../lib/people";
import { Link } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, Field, Loading, Page, ProblemNote, SelectField, TextField } from "../../ui/ui";



export function Consultations() {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const me = state.status === "signed-in" ? state.me : null;
  const centre = me !== null && me.roles.includes("coordination_centre_staff");
  const [position, setPosition] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/consultations", {
          params: {
            query: { after: after ?? undefined, limit: 30 },
            header: position ? { "Tsunagu-Min-Position": position } : undefined,
          },
        }),
      );
      return { items: page.items, next: page.next_after ?? null };
    },
    [position],
  );
  return (
    <Page
      title={t("consultations.title")}
      lead={centre ? t("consultations.leadCentre") : t("consultations.lead")}
      actions={!centre && !asking ? <Button onClick={() => setAsking(true)}>{t("consultations.ask")}</Button> : undefined}
    >
      {asking && (
        <AskForm
          onDone={(p) => {
            setAsking(false);
            if (p !== undefined) setPosition(p);
          }}
        />
      )}
      <PagedList
        list={list}
        label={t("consultations.title")}
        empty={t("consultations.empty")}
        keyOf={(c) => c.consultation_id}
        render={(c) => (
          <Link to={`/consultations/${c.consultation_id}`} className="card-link">
            <span className="name">{c.subject}</span>
            <span className="card-sub">
              {who(c.opened_by, lang)}　{dateTime(c.updated_at, lang)}
            </span>
            <span className="tags">
              <span className={`tag${c.open ? " tag-urgent" : " tag-muted"}`}>{c.open ? t("consultations.open") : t("consultations.closed")}</span>
              {c.assignee && <span className="tag">{t("consultations.assignee", { name: c.assignee.name })}</span>}
              {c.names_patient && <span className="tag tag-muted">{t("consultations.aboutPatient")}</span>}
            </span>
          </Link>
        )}
      />
    </Page>
  );
}

function AskForm({ onDone }: { onDone: (position?: string | null) => void }) {
  const { t, lang } = useI18n();
  const [subject, setSubject] = useState("");
  const [text, setText] = useState("");
  const [patient, setPatient] = useState("");
  const patients = useLoad(() => must(api.GET("/api/v1/me/patients", { params: { query: { limit: 100 } } })).then((p) => p.items), []);
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const done = await sending.send(() =>
      written(api.POST("/api/v1/consultations", { body: { subject, text, ...(patient ? { patient_id: patient } : {}) } })),
    );
    if (done) onDone(done.position);
  };
  const named = (patients.data ?? []).filter((p) => p.personal);
  return (
    <form className="panel form" onSubmit={(e) => void submit(e)} noValidate>
      <h2>{t("consultations.ask")}</h2>
      <TextField label={t("consultations.subject")} value={subject} onChange={setSubject} maxLength={100} required error={sending.fieldError("subject")} />
      <Field label={t("consultations.text")} hint={t("consultations.hint")} error={sending.fieldError("text")} required>
        {({ id, describedBy, invalid }) => (
          <textarea id={id} value={text} rows={4} maxLength={4000} onChange={(e) => setText(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} />
        )}
      </Field>
      <SelectField
        label={t("consultations.patient")}
        value={patient}
        onChange={setPatient}
        options={[["", t("consultations.noPatient")], ...named.map((p): [string, string] => [p.patient_id, p.personal?.name ?? ""])]}
        error={sending.fieldError("patient_id")}
      />
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button type="submit" disabled={sending.busy || subject.trim() === "" || text.trim() === ""}>
          {t("consultations.send")}
        </Button>
        <Button kind="quiet" onClick={() => onDone()}>
          {t("boards.cancel")}
        </Button>
      </div>
    </form>
  );
}

export function ConsultationPage({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const id = params.id ?? "";
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const myId = state.status === "signed-in" ? state.me.member_id : "";
  const [position, setPosition] = useState<string | null>(null);
  const view = useLoad(
    () =>
      must(
        api.GET("/api/v1/consultations/{consultation_id}", {
          params: { path: { consultation_id: id }, header: position ? { "Tsunagu-Min-Position": position } : undefined },
        }),
      ),
    [id, position],
  );
  const [text, setText] = useState("");
  const sending = useSending(lang);
  const write = async (e: FormEvent) => {
    e.preventDefault();
    const done = await sending.send(() =>
      written(api.POST("/api/v1/consultations/{consultation_id}/messages", { params: { path: { consultation_id: id } }, body: { text } })),
    );
    if (done) {
      setText("");
      setPosition(done.position);
    }
  };
  const act = async (what: "take" | "close") => {
    const done = await sending.send(() =>
      what === "take"
        ? written(api.POST("/api/v1/consultations/{consultation_id}/assignment", { params: { path: { consultation_id: id } }, body: { member_id: myId } }))
        : written(api.POST("/api/v1/consultations/{consultation_id}/closure", { params: { path: { consultation_id: id } } })),
    );
    if (done) setPosition(done.position);
  };
  if (!view.data)
    return (
      <Page title={t("consultations.title")}>
        {view.loading ? <Loading /> : <ProblemNote problem={view.problem} />}
        <Link to="/consultations" className="tap">{t("consultations.back")}</Link>
      </Page>
    );
  const c = view.data.consultation;
  const patient = view.data.patient;
  return (
    <Page title={c.subject}>
      <p className="post-head">
        <Link to="/consultations" className="tap">{t("consultations.back")}</Link>　
        <span className={`tag${c.open ? " tag-urgent" : " tag-muted"}`}>{c.open ? t("consultations.open") : t("consultations.closed")}</span>
        {c.assignee && <span className="tag">{t("consultations.assignee", { name: c.assignee.name })}</span>}
      </p>
      {patient && <p className="note note-info">{patient.name ? t("consultations.patientNamed", { name: patient.name }) : t("consultations.patientWithheld")}</p>}
      <ol className="rows timeline">
        {view.data.messages.map((m, i) => (
          <li key={i} className={`post${m.from_centre ? " reply" : ""}`}>
            <p className="post-head">{m.from_centre && <span className="tag">{t("consultations.fromCentre")}</span>}</p>
            <p className="post-text">{m.text}</p>
            <p className="hint">
              {who(m.by, lang)}　{dateTime(m.at, lang)}
            </p>
          </li>
        ))}
      </ol>
      <ProblemNote problem={sending.general} />
      {c.open && (
        <form className="post-form" onSubmit={(e) => void write(e)} noValidate>
          <Field label={t("consultations.reply")} error={sending.fieldError("text")} required>
            {({ id: fieldId, describedBy, invalid }) => (
              <textarea id={fieldId} value={text} rows={3} maxLength={4000} onChange={(e) => setText(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} />
            )}
          </Field>
          <div className="post-actions">
            <Button type="submit" disabled={sending.busy || text.trim() === ""}>
              {t("consultations.send")}
            </Button>
            {view.data.centre && c.assignee?.member_id !== myId && (
              <Button kind="secondary" onClick={() => void act("take")} disabled={sending.busy}>
                {t("consultations.take")}
              </Button>
            )}
            <Button kind="quiet" onClick={() => void act("close")} disabled={sending.busy}>
              {t("consultations.close")}
            </Button>
          </div>
        </form>
      )}
    </Page>
  );
}
