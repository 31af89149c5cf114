// 掲示板: the boards meant for me — my municipality's and the region's — each opened to read
// its notices. The secretariat and the coordination centre open a board for their
// municipality: for everyone, for everyone with fire and police (emergency notices), or for
// chosen professions. A board never carries patient data: that is the timeline's.
import { useState, useSyncExternalStore, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import { session } from "../../auth/session";
import { usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { PROFESSIONS, word, type Lang, type Profession } from "../../lib/terms";
import { Link } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, Page, ProblemNote, TextField } from "../../ui/ui";
import type { components } from "../../api/schema.gen";
import { BoardSearch } from "./BoardSearch";

type Board = components["schemas"]["BoardView"];

/** Who may open a board (the service decides; this spares others a form they cannot use). */
const OPENERS = ["municipal_secretariat", "coordination_centre_staff", "operator"];

/** Who a board is for, in words. */
export function audienceInWords(board: Board, lang: Lang): string {
  if (board.everyone) {
    if (lang === "en") return board.fire_and_police ? "Everyone, fire and police too" : "Everyone";
    return board.fire_and_police ? "全員（消防・警察を含む）" : "全員";
  }
  const named = [...board.professions.map((p) => word(PROFESSIONS, p, lang)), ...board.sites.map((s) => s.name)];
  return lang === "en" ? `For: ${named.join(", ")}` : `対象：${named.join("・")}`;
}

export function Boards() {
  const { t, lang } = useI18n();
  const state = useSyncExternalStore(session.subscribe, session.snapshot);
  const me = state.status === "signed-in" ? state.me : null;
  const opens = me !== null && me.roles.some((r) => OPENERS.includes(r));
  const [position, setPosition] = useState<string | null>(null);
  const [opening, setOpening] = useState(false);
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/boards", {
          params: {
            query: { after: after ?? undefined, limit: 50 },
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
      title={t("boards.title")}
      lead={t("boards.lead")}
      actions={
        opens && !opening ? (
          <Button onClick={() => setOpening(true)}>{t("boards.open")}</Button>
        ) : undefined
      }
    >
      {opening && me && (
        <OpenBoard
          municipality={me.municipality}
          onDone={(p) => {
            setOpening(false);
            if (p !== undefined) setPosition(p);
          }}
        />
      )}
      <BoardSearch />
      <PagedList
        list={list}
        label={t("boards.title")}
        empty={t("boards.empty")}
        keyOf={(b) => b.board_id}
        render={(b) => (
          <Link to={`/boards/${b.board_id}`} className="card-link">
            <span className="name">{b.name}</span>
            {b.description && <span className="card-sub">{b.description}</span>}
            <span className="tags">
              <span className="tag">{b.municipality ? t("boards.municipal") : t("boards.region")}</span>
              <span className={`tag${b.fire_and_police ? " tag-urgent" : ""}`}>{audienceInWords(b, lang)}</span>
            </span>
          </Link>
        )}
      />
    </Page>
  );
}

type Audience = "everyone" | "fire_and_police" | "professions";

/** Opening a board for the municipality: its name, what it is for, who reads it. */
function OpenBoard({ municipality, onDone }: { municipality: string; onDone: (position?: string | null) => void }) {
  const { t, lang } = useI18n();
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [audience, setAudience] = useState<Audience>("everyone");
  const [professions, setProfessions] = useState<Profession[]>([]);
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const opened = await sending.send(() =>
      written(
        api.POST("/api/v1/boards", {
          body: {
            name,
            municipality,
            ...(description.trim() ? { description } : {}),
            ...(audience === "fire_and_police" ? { fire_and_police: true } : {}),
            ...(audience === "professions" ? { professions } : {}),
          },
        }),
      ),
    );
    if (opened) onDone(opened.position);
  };
  const choices: [Audience, string][] = [
    ["everyone", t("boards.audienceEveryone")],
    ["fire_and_police", t("boards.audienceFire")],
    ["professions", t("boards.audienceProfessions")],
  ];
  return (
    <form className="panel form" onSubmit={(e) => void submit(e)} noValidate>
      <h2>{t("boards.open")}</h2>
      <TextField label={t("boards.name")} value={name} onChange={setName} maxLength={60} required error={sending.fieldError("name")} />
      <TextField label={t("boards.description")} value={description} onChange={setDescription} maxLength={500} error={sending.fieldError("description")} />
      <fieldset className="field checks">
        <legend>{t("boards.audience")}</legend>
        {choices.map(([value, label]) => (
          <label key={value} className="check">
            <input type="radio" name="audience" checked={audience === value} onChange={() => setAudience(value)} />
            {label}
          </label>
        ))}
      </fieldset>
      {audience === "professions" && (
        <fieldset className="field checks">
          <legend>{t("boards.professions")}</legend>
          {(Object.keys(PROFESSIONS) as Profession[]).map((p) => (
            <label key={p} className="check">
              <input
                type="checkbox"
                checked={professions.includes(p)}
                onChange={() => setProfessions((ps) => (ps.includes(p) ? ps.filter((x) => x !== p) : [...ps, p]))}
              />
              {word(PROFESSIONS, p, lang)}
            </label>
          ))}
          {(sending.fieldError("professions") ?? sending.fieldError("professions/0")) && (
            <p className="field-error">⚠ {sending.fieldError("professions") ?? sending.fieldError("professions/0")}</p>
          )}
        </fieldset>
      )}
      <ProblemNote problem={sending.general} />
      <div className="post-actions">
        <Button type="submit" disabled={sending.busy || name.trim() === "" || (audience === "professions" && professions.length === 0)}>
          {t("boards.openConfirm")}
        </Button>
        <Button kind="quiet" onClick={() => onDone()}>
          {t("boards.cancel")}
        </Button>
      </div>
    </form>
  );
}

