// 掲示板を検索: posts of the boards meant for me holding every word typed (通行止め is found;
// kana width and Latin case do not matter), newest first, each under its board's name.
import { useState, type FormEvent } from "react";
import { useI18n } from "../../i18n/i18n";
import { api, must } from "../../api/client";
import { usePaged } from "../../lib/load";
import { dateTime } from "../../lib/dates";
import { personInWords } from "../../lib/people";
import { Link } from "../../app/router";
import { PagedList } from "../../ui/list";
import { Button, TextField } from "../../ui/ui";

export function BoardSearch() {
  const { t } = useI18n();
  const [typed, setTyped] = useState("");
  const [asked, setAsked] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (typed.trim()) setAsked(typed.trim());
  };
  return (
    <section className="panel" aria-label={t("boardSearch.title")}>
      <form className="search-form" role="search" onSubmit={submit} noValidate>
        <TextField label={t("boardSearch.label")} hint={t("boardSearch.hint")} value={typed} onChange={setTyped} type="search" enterKeyHint="search" />
        <Button type="submit" disabled={typed.trim() === ""}>
          {t("search.go")}
        </Button>
      </form>
      {asked && <Found q={asked} />}
    </section>
  );
}

function Found({ q }: { q: string }) {
  const { t, lang } = useI18n();
  const list = usePaged(async (after) => {
    const page = await must(api.GET("/api/v1/boards/search", { params: { query: { q, after: after ?? undefined, limit: 20 } } }));
    return { items: page.items, next: page.next_after ?? null };
  }, [q]);
  return (
    <PagedList
      list={list}
      label={t("search.results", { q })}
      empty={t("boardSearch.none", { q })}
      keyOf={(hit) => hit.post.post_id}
      render={(hit) => (
        <Link to={`/boards/${hit.board_id}`} className="card-link">
          <span className="name">{hit.board_name}</span>
          <span className="post-text">{hit.post.text}</span>
          <span className="card-sub">
            {personInWords({ name: hit.post.author.name, profession: hit.post.author.profession, site_name: hit.post.author.site_name }, lang)}　{dateTime(hit.post.posted_at, lang)}
          </span>
        </Link>
      )}
    />
  );
}
