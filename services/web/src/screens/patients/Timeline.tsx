// A patient's timeline: the care team writes once (報告・連絡・相談), everyone on it reads when
// they can, newest first, each post with who wrote it (name, profession, site) and when.
// Writing is as quick as a chat message: the text, and 至急 / 要返信 when needed, a photo straight
// from the phone's camera (each file is uploaded as soon as it is chosen, with its progress,
// and shown to the team only through the post's access decision). The author
// may edit a post (every earlier text stays in its history) or withdraw it (取り消し: it stays,
// marked, with who withdrew it and why).
import { useEffect, useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, download, fetchFile, must, upload, written, type FileStored } from "../../api/client";
import { problemOf, type Problem } from "../../api/problem";
import { useLoad, usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { dateTime } from "../../lib/dates";
import { personInWords as who } from "../../lib/people";
import { CATEGORIES, PROFESSIONS, word } from "../../lib/terms";
import { Button, Field, ProblemNote, SelectField } from "../../ui/ui";
import type { components } from "../../api/schema.gen";
import { threaded } from "../../lib/threads";

type Post = components["schemas"]["PostView"];
type Attachment = components["schemas"]["AttachmentView"];
/** A file chosen for a post, uploaded already; `preview` shows a photo before it is posted. */
type Chosen = FileStored & { name: string; preview: string | null };

/** The most files one post may carry (the service's limit). */
const MAX_ATTACHMENTS = 10;
type Category = NonNullable<components["schemas"]["NewPost"]["category"]>;

export function Timeline({ patientId }: { patientId: string }) {
  const { t } = useI18n();
  // Read our own writes: after a post, the list waits until it holds it.
  const [position, setPosition] = useState<string | null>(null);
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/patients/{patient_id}/posts", {
          params: {
            path: { patient_id: patientId },
            query: { after: after ?? undefined, limit: 20, purpose: "care" },
            header: position ? { "Tsunagu-Min-Position": position } : undefined,
          },
        }),
      );
      return { items: page.items, next: page.next_after ?? null };
    },
    [patientId, position],
  );
  // What is shown is read (既読): each post not yet read by this member is marked once.
  const [acknowledged, setAcknowledged] = useState<Set<string>>(new Set());
  useEffect(() => {
    for (const post of list.items) {
      if (!post.read_by_me) void receipt(patientId, post.post_id, false);
    }
  }, [list.items, patientId]);
  const [replyTo, setReplyTo] = useState<Post | null>(null);
  const acknowledge = async (postId: string) => {
    if (await receipt(patientId, postId, true)) setAcknowledged((s) => new Set(s).add(postId));
  };
  return (
    <>
      <PostForm
        patientId={patientId}
        replyTo={replyTo}
        onCancelReply={() => setReplyTo(null)}
        onPosted={(p) => {
          setReplyTo(null);
          setPosition(p);
        }}
      />
      <ProblemNote problem={list.problem} />
      {!list.loading && !list.problem && list.items.length === 0 && <p>{t("timeline.empty")}</p>}
      <ol className="rows timeline">
        {threaded(list.items).map((post) => (
          <PostRow
            key={post.post_id}
            patientId={patientId}
            post={post}
            onChanged={setPosition}
            acknowledged={post.acknowledged_by_me || acknowledged.has(post.post_id)}
            onAcknowledge={() => void acknowledge(post.post_id)}
            onReply={() => setReplyTo(post)}
          />
        ))}
      </ol>
      {list.hasMore && (
        <Button kind="secondary" onClick={list.more} disabled={list.loading}>
          {t("timeline.more")}
        </Button>
      )}
      {list.loading && <p className="hint">{t("timeline.loading")}</p>}
    </>
  );
}

/** Marks a post read (or acknowledged); true when it took. */
async function receipt(patientId: string, postId: string, acknowledged: boolean): Promise<boolean> {
  try {
    await must(
      api.POST("/api/v1/patients/{patient_id}/posts/{post_id}/receipt", {
        params: { path: { patient_id: patientId, post_id: postId } },
        body: { acknowledged },
      }),
    );
    return true;
  } catch {
    return false;
  }
}


function PostRow({
  patientId,
  post,
  acknowledged,
  onAcknowledge,
  onReply,
  onChanged,
}: {
  patientId: string;
  post: Post;
  acknowledged: boolean;
  onAcknowledge: () => void;
  onReply: () => void;
  onChanged: (position: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const [changing, setChanging] = useState<"edit" | "retract" | null>(null);
  const retraction = post.retraction;
  const profession = post.author.profession ? word(PROFESSIONS, post.author.profession, lang) : null;
  const acks = post.readers.filter((r) => r.acknowledged);
  return (
    <li className={`post${post.urgent ? " urgent" : ""}${post.reply_to ? " reply" : ""}`}>
      <p className="post-head">
        {post.reply_to && <span className="tag tag-muted">{t("timeline.reply")}</span>}
        {post.urgent && <span className="tag tag-urgent">{t("timeline.urgent")}</span>}
        {post.reply_requested && <span className="tag">{t("timeline.replyRequested")}</span>}
        <span className="tag">{word(CATEGORIES, post.category, lang)}</span>
        {post.mentions_me && <span className="tag tag-urgent">{t("timeline.toYou")}</span>}
      </p>
      {post.mentions.length > 0 && (
        <p className="hint mentions">
          {t("timeline.to")}
          {post.mentions.map((m) => `@${who(m, lang)}`).join("、")}
        </p>
      )}
      {retraction ? (
        <div className="note note-info">
          <p>{t("timeline.retracted", { who: who(retraction.retracted_by, lang), at: dateTime(retraction.retracted_at, lang) })}</p>
          {retraction.reason && <p>{t("timeline.retractedReason", { reason: retraction.reason })}</p>}
        </div>
      ) : changing === "edit" ? (
        <EditBox
          patientId={patientId}
          post={post}
          onDone={(position) => {
            setChanging(null);
            if (position !== undefined) onChanged(position);
          }}
        />
      ) : post.text === null || post.text === undefined ? (
        <p className="hint">{t("timeline.erased")}</p>
      ) : (
        <p className="post-text">{post.text}</p>
      )}
      {!retraction && post.attachments.length > 0 && (
        <ul className="attachments">
          {post.attachments.map((a, i) => (
            <li key={a.sha256}>
              <AttachmentItem attachment={a} n={i + 1} />
            </li>
          ))}
        </ul>
      )}
      {post.edited_at && (
        <HistoryView patientId={patientId} postId={post.post_id} label={`${t("timeline.edited")}（${dateTime(post.edited_at, lang)}）`} />
      )}
      {changing === "retract" && (
        <RetractBox
          patientId={patientId}
          postId={post.post_id}
          onDone={(position) => {
            setChanging(null);
            if (position !== undefined) onChanged(position);
          }}
        />
      )}
      <p className="hint">
        {post.author.name}
        {profession && `（${profession}）`}
        {post.author.site_name && `・${post.author.site_name}`}　{dateTime(post.posted_at, lang)}
      </p>
      <details className="receipts">
        <summary>
          {t("timeline.readCount", { n: String(post.readers.length) })}
          {acks.length > 0 && `・${t("timeline.ackCount", { n: String(acks.length) })}`}
          {post.unread.length > 0 && `・${t("timeline.unreadCount", { n: String(post.unread.length) })}`}
        </summary>
        {post.readers.length > 0 && (
          <ul className="plain">
            {post.readers.map((r) => (
              <li key={r.member_id}>
                {who(r, lang)} {r.acknowledged && <span className="tag">{t("timeline.acknowledged")}</span>}
              </li>
            ))}
          </ul>
        )}
        {post.unread.length > 0 && (
          <p>
            {t("timeline.unread")}：{post.unread.map((u) => who(u, lang)).join("、")}
          </p>
        )}
      </details>
      <div className="post-actions">
        {!post.mine && (
          <Button kind="secondary" onClick={onAcknowledge} disabled={acknowledged} aria-pressed={acknowledged}>
            {acknowledged ? t("timeline.acknowledgedDone") : t("timeline.acknowledge")}
          </Button>
        )}
        {!retraction && (
          <Button kind="quiet" onClick={onReply}>
            {t("timeline.replyTo")}
          </Button>
        )}
        {post.mine && !retraction && changing === null && (
          <>
            <Button kind="quiet" onClick={() => setChanging("edit")}>
              {t("timeline.edit")}
            </Button>
            <Button kind="quiet" onClick={() => setChanging("retract")}>
              {t("timeline.retract")}
            </Button>
          </>
        )}
      </div>
    </li>
  );
}

/** Whether the browser shows this type itself (a phone's HEIC photo is offered as a file). */
function shown(mediaType: string): "image" | "video" | null {
  if (["image/jpeg", "image/png", "image/gif", "image/webp"].includes(mediaType)) return "image";
  if (mediaType === "video/mp4") return "video";
  return null;
}

const EXTENSIONS: Record<string, string> = {
  "application/pdf": "pdf",
  "image/heic": "heic",
  "image/heif": "heif",
  "image/tiff": "tiff",
  "video/quicktime": "mov",
  "text/plain": "txt",
};

function sizeInWords(bytes: number): string {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** One file of a post: a photo or video shown in place (fetched with the access token, each
 * fetch decided and recorded), any other file offered to save. */
function AttachmentItem({ attachment, n }: { attachment: Attachment; n: number }) {
  const { t } = useI18n();
  const kind = shown(attachment.media_type);
  const [url, setUrl] = useState<string | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  useEffect(() => {
    if (!kind) return;
    let live = true;
    let made: string | null = null;
    fetchFile(attachment.href).then(
      (blob) => {
        if (!live) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      },
      (e: unknown) => live && setProblem(problemOf(e)),
    );
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [attachment.href, kind]);
  const label = kind === "image" ? t("timeline.photo", { n: String(n) }) : t("timeline.file", { n: String(n) });
  const save = async () => {
    try {
      await download(attachment.href, `${t("timeline.fileName", { n: String(n) })}.${EXTENSIONS[attachment.media_type] ?? "bin"}`);
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  if (problem) return <ProblemNote problem={problem} />;
  if (kind === "image")
    return url ? (
      <a href={url} target="_blank" rel="noopener">
        <img className="attachment-photo" src={url} alt={label} />
      </a>
    ) : (
      <p className="hint">{t("timeline.photoLoading")}</p>
    );
  if (kind === "video")
    return url ? <video className="attachment-photo" src={url} controls aria-label={label} /> : <p className="hint">{t("timeline.photoLoading")}</p>;
  return (
    <Button kind="secondary" onClick={() => void save()}>
      {label}（{sizeInWords(attachment.size)}）
    </Button>
  );
}

/** Files for a post: each uploaded as soon as it is chosen (the camera on a phone), with how
 * much has gone; a refused one is said beside the button, and nothing else is lost. */
function FilePicker({
  chosen,
  onChosen,
  onRemove,
  error,
}: {
  chosen: Chosen[];
  onChosen: (file: Chosen) => void;
  onRemove: (sha256: string) => void;
  error: string | undefined;
}) {
  const { t } = useI18n();
  const [progress, setProgress] = useState<{ name: string; sent: number } | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const choose = async (files: FileList | null) => {
    if (!files) return;
    setProblem(null);
    for (const file of Array.from(files).slice(0, MAX_ATTACHMENTS - chosen.length)) {
      setProgress({ name: file.name, sent: 0 });
      try {
        const stored = await upload(file, (sent) => setProgress({ name: file.name, sent }));
        const preview = shown(stored.media_type) === "image" ? URL.createObjectURL(file) : null;
        onChosen({ ...stored, name: file.name, preview });
      } catch (e) {
        setProblem(problemOf(e));
        break;
      } finally {
        setProgress(null);
      }
    }
  };
  return (
    <div className="file-picker">
      <label className={`button button-secondary${progress || chosen.length >= MAX_ATTACHMENTS ? " disabled" : ""}`}>
        {t("timeline.attach")}
        <input
          type="file"
          className="visually-hidden"
          accept="image/*,video/mp4,video/quicktime,application/pdf"
          multiple
          disabled={progress !== null || chosen.length >= MAX_ATTACHMENTS}
          onChange={(e) => {
            void choose(e.target.files);
            e.target.value = "";
          }}
        />
      </label>
      {progress && (
        <p className="hint" role="status" aria-live="polite">
          {t("timeline.uploading", { name: progress.name, percent: String(Math.round(progress.sent * 100)) })}
          <progress max={1} value={progress.sent} />
        </p>
      )}
      <ProblemNote problem={problem} />
      {error && <p className="field-error">⚠ {error}</p>}
      {chosen.length > 0 && (
        <ul className="attachments chosen">
          {chosen.map((c) => (
            <li key={c.sha256}>
              {c.preview ? <img className="attachment-thumb" src={c.preview} alt={c.name} /> : <span>{c.name}</span>}
              <span className="hint">{sizeInWords(c.size)}</span>
              <Button kind="quiet" onClick={() => onRemove(c.sha256)} aria-label={t("timeline.detachNamed", { name: c.name })}>
                {t("timeline.detach")}
              </Button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A post's text, as written and as edited: the same box, the same limit as the service's. */
function PostText({
  label,
  value,
  onChange,
  error,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  error: string | undefined;
  placeholder?: string;
}) {
  return (
    <Field label={label} error={error} required>
      {({ id, describedBy, invalid }) => (
        <textarea
          id={id}
          value={value}
          rows={3}
          maxLength={4000}
          onChange={(e) => onChange(e.target.value)}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          placeholder={placeholder}
        />
      )}
    </Field>
  );
}

/** The author's edit of a post, in place; `onDone` gets the write's position (undefined: cancelled). */
function EditBox({ patientId, post, onDone }: { patientId: string; post: Post; onDone: (position?: string | null) => void }) {
  const { t, lang } = useI18n();
  const [text, setText] = useState(post.text ?? "");
  const sending = useSending(lang);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const edited = await sending.send(() =>
      written(
        api.POST("/api/v1/patients/{patient_id}/posts/{post_id}/edits", {
          params: { path: { patient_id: patientId, post_id: post.post_id } },
          body: { text },
        }),
      ),
    );
    if (edited) onDone(edited.position);
  };
  return (
    <form className="post-edit" onSubmit={(e) => void save(e)} noValidate>
      <PostText label={t("timeline.edit")} value={text} onChange={setText} error={sending.fieldError("text")} />
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button type="submit" disabled={sending.busy || text.trim() === ""}>
          {t("timeline.editSave")}
        </Button>
        <Button kind="quiet" onClick={() => onDone()}>
          {t("timeline.editCancel")}
        </Button>
      </div>
    </form>
  );
}

/** Withdrawing a post, confirmed with an optional reason. */
function RetractBox({ patientId, postId, onDone }: { patientId: string; postId: string; onDone: (position?: string | null) => void }) {
  const { t, lang } = useI18n();
  const [reason, setReason] = useState("");
  const sending = useSending(lang);
  const retract = async (e: FormEvent) => {
    e.preventDefault();
    const done = await sending.send(() =>
      written(
        api.POST("/api/v1/patients/{patient_id}/posts/{post_id}/retraction", {
          params: { path: { patient_id: patientId, post_id: postId } },
          body: reason.trim() ? { reason } : {},
        }),
      ),
    );
    if (done) onDone(done.position);
  };
  return (
    <form className="note note-refusal" onSubmit={(e) => void retract(e)} noValidate>
      <p>{t("timeline.retractNote")}</p>
      <Field label={t("timeline.retractReason")} error={sending.fieldError("reason")}>
        {({ id, describedBy, invalid }) => (
          <input id={id} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} />
        )}
      </Field>
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button kind="danger" type="submit" disabled={sending.busy}>
          {t("timeline.retractConfirm")}
        </Button>
        <Button kind="quiet" onClick={() => onDone()}>
          {t("timeline.retractCancel")}
        </Button>
      </div>
    </form>
  );
}

/** An edited post's texts, first to last: read (and recorded) only when opened. */
function HistoryView({ patientId, postId, label }: { patientId: string; postId: string; label: string }) {
  const { t } = useI18n();
  const [opened, setOpened] = useState(false);
  return (
    <details className="history" onToggle={(e) => e.currentTarget.open && setOpened(true)}>
      <summary>
        <span className="tag tag-muted">{label}</span> {t("timeline.history")}
      </summary>
      {opened && <HistoryList patientId={patientId} postId={postId} />}
    </details>
  );
}

function HistoryList({ patientId, postId }: { patientId: string; postId: string }) {
  const { t, lang } = useI18n();
  const history = useLoad(
    () =>
      must(
        api.GET("/api/v1/patients/{patient_id}/posts/{post_id}/history", {
          params: { path: { patient_id: patientId, post_id: postId }, query: { purpose: "care" } },
        }),
      ),
    [patientId, postId],
  );
  if (history.loading) return <p className="hint">{t("timeline.historyLoading")}</p>;
  if (history.problem || !history.data) return <ProblemNote problem={history.problem} />;
  return (
    <ol className="plain">
      {history.data.versions.map((v) => (
        <li key={v.version}>
          <p className="hint">
            {t("timeline.historyVersion", { n: String(v.version) })}・{who(v.written_by, lang)}・{dateTime(v.written_at, lang)}
          </p>
          <p className="post-text">{v.text ?? t("timeline.erased")}</p>
        </li>
      ))}
    </ol>
  );
}

function PostForm({
  patientId,
  replyTo,
  onCancelReply,
  onPosted,
}: {
  patientId: string;
  replyTo: Post | null;
  onCancelReply: () => void;
  onPosted: (position: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const [text, setText] = useState("");
  const [urgent, setUrgent] = useState(false);
  const [replyRequested, setReplyRequested] = useState(false);
  const [category, setCategory] = useState<Category>("care_records");
  const [mentions, setMentions] = useState<string[]>([]);
  const [files, setFiles] = useState<Chosen[]>([]);
  const people = useLoad(
    () =>
      must(api.GET("/api/v1/patients/{patient_id}/team/people", { params: { path: { patient_id: patientId } } })).then(
        (t) => t.people,
      ),
    [patientId],
  );
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const posted = await sending.send(() =>
      written(
        api.POST("/api/v1/patients/{patient_id}/posts", {
          params: { path: { patient_id: patientId } },
          body: {
            text,
            urgent,
            reply_requested: replyRequested,
            category,
            ...(mentions.length > 0 ? { mentions } : {}),
            ...(files.length > 0 ? { attachments: files.map((f) => f.sha256) } : {}),
            ...(replyTo ? { reply_to: replyTo.post_id } : {}),
          },
        }),
      ),
    );
    if (posted) {
      setText("");
      setUrgent(false);
      setReplyRequested(false);
      setMentions([]);
      for (const f of files) if (f.preview) URL.revokeObjectURL(f.preview);
      setFiles([]);
      onPosted(posted.position);
    }
  };
  return (
    <form className="post-form" onSubmit={(e) => void submit(e)} noValidate>
      {replyTo && (
        <p className="note note-info">
          {t("timeline.replyingTo", { name: replyTo.author.name })}{" "}
          <Button kind="quiet" type="button" onClick={onCancelReply}>
            {t("timeline.cancelReply")}
          </Button>
        </p>
      )}
      <PostText
        label={t("timeline.write")}
        value={text}
        onChange={setText}
        error={sending.fieldError("text")}
        placeholder={t("timeline.placeholder")}
      />
      <FilePicker
        chosen={files}
        onChosen={(f) => setFiles((fs) => (fs.some((x) => x.sha256 === f.sha256) ? fs : [...fs, f]))}
        onRemove={(sha256) => setFiles((fs) => fs.filter((f) => f.sha256 !== sha256))}
        error={sending.fieldError("attachments") ?? files.map((_, i) => sending.fieldError(`attachments/${i}`)).find(Boolean)}
      />
      <div className="checks-inline">
        <label className="check">
          <input type="checkbox" checked={urgent} onChange={(e) => setUrgent(e.target.checked)} />
          {t("timeline.urgent")}
        </label>
        <label className="check">
          <input type="checkbox" checked={replyRequested} onChange={(e) => setReplyRequested(e.target.checked)} />
          {t("timeline.replyRequested")}
        </label>
      </div>
      {people.data && people.data.length > 0 && (
        <details className="mention-picker">
          <summary>
            {t("timeline.mention")}
            {mentions.length > 0 && `（${mentions.length}）`}
          </summary>
          <fieldset className="field checks">
            <legend className="visually-hidden">{t("timeline.mention")}</legend>
            {people.data.map((person) => (
              <label key={person.member_id} className="check">
                <input
                  type="checkbox"
                  checked={mentions.includes(person.member_id)}
                  onChange={() =>
                    setMentions((m) => (m.includes(person.member_id) ? m.filter((x) => x !== person.member_id) : [...m, person.member_id]))
                  }
                />
                {who(person, lang)}
              </label>
            ))}
          </fieldset>
          {(sending.fieldError("mentions") ?? sending.fieldError("mentions/0")) && (
            <p className="field-error">⚠ {sending.fieldError("mentions") ?? sending.fieldError("mentions/0")}</p>
          )}
        </details>
      )}
      <SelectField
        label={t("timeline.category")}
        value={category}
        onChange={(v) => setCategory(v as Category)}
        options={Object.keys(CATEGORIES).map((c) => [c, word(CATEGORIES, c, lang)])}
        error={sending.fieldError("category")}
      />
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy || (text.trim() === "" && files.length === 0)}>
        {t("timeline.post")}
      </Button>
    </form>
  );
}
