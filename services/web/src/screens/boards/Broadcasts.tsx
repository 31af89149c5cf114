// 一斉配信: what the coordination centre sent to my municipality (or to my profession), newest
// first. The centre sends at once; a site (its admin) submits one for the centre's review and
// follows it — returned with a reason, revised and resubmitted, published — every step kept
// in its history. Never patient data.
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import { session } from "../../auth/session";
import { useLoad, usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { dateTime } from "../../lib/dates";
import { personInWords as who } from "../../lib/people";
import { PROFESSIONS, word, type Lang, type Profession } from "../../lib/terms";
import { PagedList } from "../../ui/list";
import { Button, Field, Loading, Page, ProblemNote, TextField } from "../../ui/ui";
import type { components } from "../../api/schema.gen";

type Broadcast = components["schemas"]["BroadcastView"];
type Status = components["schemas"]["BroadcastStatus"];

const STATUSES: Record<Status, [string, string]> = {
  pending: ["確認待ち", "Waiting for review"],
  returned: ["差し戻し", "Returned"],
  published: ["配信済み", "Published"],
};


function audience(b: Broadcast, lang: Lang): string {
  if (b.professions.length === 0) return lang === "en" ? "Everyone" : "全員";
  return b.professions.map((p) => word(PROFESSIONS, p, lang)).join(lang === "en" ? ", " : "・");
}

export function Broadcasts() {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const me = state.status === "signed-in" ? state.me : null;
  const centre = me !== null && me.roles.some((r) => r === "coordination_centre_staff" || r === "operator");
  const submitter = me !== null && me.roles.includes("site_admin");
  const [position, setPosition] = useState<string | null>(null);
  const [writing, setWriting] = useState(false);
  const received = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/broadcasts", {
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
      title={t("broadcasts.title")}
      lead={t("broadcasts.lead")}
      actions={
        (centre || submitter) && !writing ? (
          <Button onClick={() => setWriting(true)}>{centre ? t("broadcasts.send") : t("broadcasts.submit")}</Button>
        ) : undefined
      }
    >
      {writing && me && (
        <BroadcastForm
          municipality={me.municipality}
          sends={centre}
          onDone={(p) => {
            setWriting(false);
            if (p !== undefined) setPosition(p);
          }}
        />
      )}
      {(centre || submitter) && <Submissions centre={centre} position={position} onChanged={setPosition} />}
      <h2>{t("broadcasts.received")}</h2>
      <PagedList
        list={received}
        label={t("broadcasts.received")}
        empty={t("broadcasts.empty")}
        keyOf={(b) => b.broadcast_id}
        render={(b) => (
          <article className="broadcast">
            <h3>{b.title}</h3>
            <p className="post-text">{b.text}</p>
            <p className="hint">
              {b.published_by && who(b.published_by, lang)}　{b.published_at && dateTime(b.published_at, lang)}
            </p>
            <span className="tags">
              <span className="tag">{audience(b, lang)}</span>
              {b.submitted_by && <span className="tag tag-muted">{t("broadcasts.from", { who: b.submitted_by.site_name ?? b.submitted_by.name })}</span>}
            </span>
          </article>
        )}
      />
    </Page>
  );
}

/** A broadcast's words and audience: a new one (sent or submitted), or a revision. */
function BroadcastForm({
  municipality,
  sends,
  revising,
  onDone,
}: {
  municipality: string;
  sends: boolean;
  revising?: Broadcast;
  onDone: (position?: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const [title, setTitle] = useState(revising?.title ?? "");
  const [text, setText] = useState(revising?.text ?? "");
  const [professions, setProfessions] = useState<Profession[]>((revising?.professions ?? []) as Profession[]);
  const [choosing, setChoosing] = useState(professions.length > 0);
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = { title, text, ...(choosing ? { professions } : {}) };
    const done = await sending.send(() =>
      revising
        ? written(
            api.POST("/api/v1/broadcasts/{broadcast_id}/revisions", {
              params: { path: { broadcast_id: revising.broadcast_id } },
              body,
            }),
          )
        : written(api.POST("/api/v1/broadcasts", { body: { municipality, ...body } })),
    );
    if (done) onDone(done.position);
  };
  return (
    <form className="panel form" onSubmit={(e) => void submit(e)} noValidate>
      <h2>{revising ? t("broadcasts.revise") : sends ? t("broadcasts.send") : t("broadcasts.submit")}</h2>
      {!sends && !revising && <p className="hint">{t("broadcasts.reviewNote")}</p>}
      <TextField label={t("broadcasts.titleField")} value={title} onChange={setTitle} maxLength={100} required error={sending.fieldError("title")} />
      <Field label={t("broadcasts.text")} hint={t("boards.noPatients")} error={sending.fieldError("text")} required>
        {({ id, describedBy, invalid }) => (
          <textarea id={id} value={text} rows={4} maxLength={4000} onChange={(e) => setText(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} />
        )}
      </Field>
      <label className="check">
        <input type="checkbox" checked={choosing} onChange={(e) => setChoosing(e.target.checked)} />
        {t("broadcasts.chooseProfessions")}
      </label>
      {choosing && (
        <fieldset className="field checks">
          <legend>{t("boards.professions")}</legend>
          {(Object.keys(PROFESSIONS) as Profession[]).map((p) => (
            <label key={p} className="check">
              <input type="checkbox" checked={professions.includes(p)} onChange={() => setProfessions((ps) => (ps.includes(p) ? ps.filter((x) => x !== p) : [...ps, p]))} />
              {word(PROFESSIONS, p, lang)}
            </label>
          ))}
        </fieldset>
      )}
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button type="submit" disabled={sending.busy || title.trim() === "" || text.trim() === ""}>
          {revising ? t("broadcasts.resubmit") : sends ? t("broadcasts.sendConfirm") : t("broadcasts.submitConfirm")}
        </Button>
        <Button kind="quiet" onClick={() => onDone()}>
          {t("boards.cancel")}
        </Button>
      </div>
    </form>
  );
}

/** Submissions: the centre reviews its municipality's, a site follows its own. */
function Submissions({ centre, position, onChanged }: { centre: boolean; position: string | null; onChanged: (p: string | null) => void }) {
  const { t, lang } = useI18n();
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/broadcasts/submissions", {
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
    <section aria-labelledby="submissions">
      <h2 id="submissions">{centre ? t("broadcasts.toReview") : t("broadcasts.mine")}</h2>
      <PagedList
        list={list}
        label={centre ? t("broadcasts.toReview") : t("broadcasts.mine")}
        empty={t("broadcasts.noSubmissions")}
        keyOf={(b) => b.broadcast_id}
        render={(b) => <Submission b={b} centre={centre} lang={lang} onChanged={onChanged} />}
      />
    </section>
  );
}

function Submission({ b, centre, lang, onChanged }: { b: Broadcast; centre: boolean; lang: Lang; onChanged: (p: string | null) => void }) {
  const { t } = useI18n();
  const [returning, setReturning] = useState(false);
  const [revising, setRevising] = useState(false);
  const [reason, setReason] = useState("");
  const sending = useSending(lang);
  const review = async (decision: "publish" | "return") => {
    const done = await sending.send(() =>
      written(
        api.POST("/api/v1/broadcasts/{broadcast_id}/review", {
          params: { path: { broadcast_id: b.broadcast_id } },
          body: decision === "return" ? { decision, reason } : { decision },
        }),
      ),
    );
    if (done) onChanged(done.position);
  };
  if (revising)
    return (
      <BroadcastForm
        municipality={b.municipality}
        sends={false}
        revising={b}
        onDone={(p) => {
          setRevising(false);
          if (p !== undefined) onChanged(p);
        }}
      />
    );
  return (
    <article className="broadcast">
      <p className="post-head">
        <span className={`tag${b.status === "returned" ? " tag-urgent" : ""}`}>{word(STATUSES, b.status, lang)}</span>
        <span className="tag tag-muted">{t("broadcasts.version", { n: String(b.version) })}</span>
      </p>
      <h3>{b.title}</h3>
      <p className="post-text">{b.text}</p>
      <p className="hint">
        {b.submitted_by && who(b.submitted_by, lang)}　{dateTime(b.updated_at, lang)}
      </p>
      {b.returned_reason && <p className="note note-info">{t("broadcasts.returnedWhy", { reason: b.returned_reason })}</p>}
      <History id={b.broadcast_id} lang={lang} />
      <ProblemNote problem={sending.general} />
      {centre && b.status === "pending" && !returning && (
        <div className="post-actions">
          <Button onClick={() => void review("publish")} disabled={sending.busy}>
            {t("broadcasts.publish")}
          </Button>
          <Button kind="secondary" onClick={() => setReturning(true)}>
            {t("broadcasts.return")}
          </Button>
        </div>
      )}
      {returning && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void review("return");
          }}
          noValidate
        >
          <TextField label={t("broadcasts.returnReason")} value={reason} onChange={setReason} maxLength={500} required error={sending.fieldError("reason")} />
          <div className="post-actions">
            <Button kind="danger" type="submit" disabled={sending.busy}>
              {t("broadcasts.returnConfirm")}
            </Button>
            <Button kind="quiet" onClick={() => setReturning(false)}>
              {t("boards.cancel")}
            </Button>
          </div>
        </form>
      )}
      {!centre && b.status === "returned" && (
        <Button kind="secondary" onClick={() => setRevising(true)}>
          {t("broadcasts.revise")}
        </Button>
      )}
    </article>
  );
}

/** A submission's steps, read only when opened. */
function History({ id, lang }: { id: string; lang: Lang }) {
  const { t } = useI18n();
  const [opened, setOpened] = useState(false);
  return (
    <details className="history" onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary>{t("broadcasts.history")}</summary>
      {opened && <Steps id={id} lang={lang} />}
    </details>
  );
}

function Steps({ id, lang }: { id: string; lang: Lang }) {
  const { t } = useI18n();
  const history = useLoad(() => must(api.GET("/api/v1/broadcasts/{broadcast_id}/history", { params: { path: { broadcast_id: id } } })), [id]);
  if (history.loading) return <Loading />;
  if (!history.data) return <ProblemNote problem={history.problem} />;
  return (
    <ol className="plain">
      {history.data.steps.map((s, i) => (
        <li key={i}>
          <span className="tag">{word(STATUSES, s.step, lang)}</span> {t("broadcasts.version", { n: String(s.version) })}・{who(s.by, lang)}・{dateTime(s.at, lang)}
          {s.reason && <p>{t("broadcasts.returnedWhy", { reason: s.reason })}</p>}
        </li>
      ))}
    </ol>
  );
}
