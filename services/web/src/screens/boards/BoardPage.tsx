// One board: its pinned notices first, then every post newest first with its replies under
// it, each with what it is (お知らせ・緊急・通行止め・教えてほしい) and who wrote it, by name,
// profession and site. Posting is as quick as on a timeline; the board's managers pin a
// notice to the top. A board that is not for me answers as one that does not exist.
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must, written } from "../../api/client";
import { problemOf, type Problem } from "../../api/problem";
import { usePaged } from "../../lib/load";
import { useSending } from "../../lib/forms";
import { dateTime } from "../../lib/dates";
import { personInWords as who } from "../../lib/people";
import { word } from "../../lib/terms";
import { threaded } from "../../lib/threads";
import { Link } from "../../app/router";
import { Button, Field, Loading, Page, ProblemNote, SelectField } from "../../ui/ui";
import type { components } from "../../api/schema.gen";
import { audienceInWords } from "./Boards";

type Board = components["schemas"]["BoardView"];
type Post = components["schemas"]["BoardPostView"];
type Kind = components["schemas"]["BoardPostKind"];

const KINDS: Record<Kind, [string, string]> = {
  announcement: ["お知らせ", "Announcement"],
  emergency: ["緊急", "Emergency"],
  road_closure: ["通行止め", "Road closure"],
  question: ["教えてほしい", "Question"],
};


export function BoardPage({ params }: { params: Record<string, string> }) {
  const { t, lang } = useI18n();
  const boardId = params.id ?? "";
  const [position, setPosition] = useState<string | null>(null);
  const [board, setBoard] = useState<Board | null>(null);
  const [pinned, setPinned] = useState<Post[]>([]);
  const [replyTo, setReplyTo] = useState<Post | null>(null);
  const list = usePaged(
    async (after) => {
      const page = await must(
        api.GET("/api/v1/boards/{board_id}/posts", {
          params: {
            path: { board_id: boardId },
            query: { after: after ?? undefined, limit: 30 },
            header: position ? { "Tsunagu-Min-Position": position } : undefined,
          },
        }),
      );
      setBoard(page.board);
      setPinned(page.pinned);
      return { items: page.items, next: page.next_after ?? null };
    },
    [boardId, position],
  );
  if (!board) {
    return (
      <Page title={t("boards.title")}>
        {list.loading ? <Loading /> : <ProblemNote problem={list.problem} />}
        <Link to="/boards" className="tap">{t("boards.back")}</Link>
      </Page>
    );
  }
  return (
    <Page title={board.name} lead={board.description ?? undefined}>
      <p className="hint">
        <Link to="/boards" className="tap">{t("boards.back")}</Link>　{audienceInWords(board, lang)}
      </p>
      {pinned.length > 0 && (
        <section aria-labelledby="pinned" className="panel pinned">
          <h2 id="pinned">{t("boards.pinned")}</h2>
          <ol className="rows timeline">
            {pinned.map((post) => (
              <BoardPost key={post.post_id} boardId={boardId} post={post} manage={board.manage} onChanged={setPosition} />
            ))}
          </ol>
        </section>
      )}
      <PostForm
        boardId={boardId}
        replyTo={replyTo}
        onCancelReply={() => setReplyTo(null)}
        onPosted={(p) => {
          setReplyTo(null);
          setPosition(p);
        }}
      />
      <ProblemNote problem={list.problem} />
      {!list.loading && !list.problem && list.items.length === 0 && <p>{t("boards.noPosts")}</p>}
      <ol className="rows timeline">
        {threaded(list.items).map((post) => (
          <BoardPost
            key={post.post_id}
            boardId={boardId}
            post={post}
            manage={board.manage}
            onChanged={setPosition}
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
    </Page>
  );
}

function BoardPost({
  boardId,
  post,
  manage,
  onChanged,
  onReply,
}: {
  boardId: string;
  post: Post;
  manage: boolean;
  onChanged: (position: string | null) => void;
  onReply?: () => void;
}) {
  const { t, lang } = useI18n();
  const [problem, setProblem] = useState<Problem | null>(null);
  const pin = async (pinned: boolean) => {
    setProblem(null);
    try {
      const done = await written(
        api.POST("/api/v1/boards/{board_id}/posts/{post_id}/pin", {
          params: { path: { board_id: boardId, post_id: post.post_id } },
          body: { pinned },
        }),
      );
      onChanged(done.position);
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  const urgent = post.kind === "emergency";
  return (
    <li className={`post${urgent ? " urgent" : ""}${post.reply_to ? " reply" : ""}`}>
      <p className="post-head">
        {post.reply_to && <span className="tag tag-muted">{t("timeline.reply")}</span>}
        <span className={`tag${urgent ? " tag-urgent" : ""}`}>{word(KINDS, post.kind, lang)}</span>
        {post.pinned && <span className="tag">{t("boards.pinnedTag")}</span>}
      </p>
      <p className="post-text">{post.text}</p>
      <p className="hint">
        {who(post.author, lang)}　{dateTime(post.posted_at, lang)}
      </p>
      <ProblemNote problem={problem} />
      <div className="post-actions">
        {onReply && !post.reply_to && (
          <Button kind="quiet" onClick={onReply}>
            {t("timeline.replyTo")}
          </Button>
        )}
        {manage && !post.reply_to && (
          <Button kind="quiet" onClick={() => void pin(!post.pinned)}>
            {post.pinned ? t("boards.unpin") : t("boards.pin")}
          </Button>
        )}
      </div>
    </li>
  );
}

function PostForm({
  boardId,
  replyTo,
  onCancelReply,
  onPosted,
}: {
  boardId: string;
  replyTo: Post | null;
  onCancelReply: () => void;
  onPosted: (position: string | null) => void;
}) {
  const { t, lang } = useI18n();
  const [text, setText] = useState("");
  const [kind, setKind] = useState<Kind>("announcement");
  const sending = useSending(lang);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const posted = await sending.send(() =>
      written(
        api.POST("/api/v1/boards/{board_id}/posts", {
          params: { path: { board_id: boardId } },
          body: { text, kind, ...(replyTo ? { reply_to: replyTo.post_id } : {}) },
        }),
      ),
    );
    if (posted) {
      setText("");
      setKind("announcement");
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
      <Field label={t("boards.write")} hint={t("boards.noPatients")} error={sending.fieldError("text")} required>
        {({ id, describedBy, invalid }) => (
          <textarea
            id={id}
            value={text}
            rows={3}
            maxLength={4000}
            onChange={(e) => setText(e.target.value)}
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
          />
        )}
      </Field>
      {!replyTo && (
        <SelectField
          label={t("boards.kind")}
          value={kind}
          onChange={(v) => setKind(v as Kind)}
          options={(Object.keys(KINDS) as Kind[]).map((k) => [k, word(KINDS, k, lang)])}
          error={sending.fieldError("kind")}
        />
      )}
      <ProblemNote problem={sending.general} />
      <Button type="submit" disabled={sending.busy || text.trim() === ""}>
        {t("timeline.post")}
      </Button>
    </form>
  );
}
