import type { ReactNode } from "react";
import { useI18n } from "../i18n/i18n";
import type { Paged } from "../lib/load";
import { Button, Empty, Loading, ProblemNote } from "./ui";

/** A list a page at a time: loading, empty, the problem if a page failed, and "more". */
export function PagedList<T>({
  list,
  empty,
  label,
  render,
  keyOf,
}: {
  list: Paged<T>;
  empty: ReactNode;
  label: string;
  render: (item: T) => ReactNode;
  keyOf: (item: T) => string;
}) {
  const { t } = useI18n();
  return (
    <div className="list-block">
      {list.items.length > 0 && (
        <ul className="cards" aria-label={label}>
          {list.items.map((item) => (
            <li key={keyOf(item)} className="card">
              {render(item)}
            </li>
          ))}
        </ul>
      )}
      {list.loading && <Loading />}
      {!list.loading && !list.problem && list.items.length === 0 && <Empty>{empty}</Empty>}
      <ProblemNote problem={list.problem}>
        <Button kind="secondary" onClick={list.items.length ? list.more : list.reload}>
          {t("retry")}
        </Button>
      </ProblemNote>
      {list.hasMore && !list.loading && !list.problem && (
        <Button kind="secondary" className="more" onClick={list.more}>
          {t("list.more")}
        </Button>
      )}
    </div>
  );
}
