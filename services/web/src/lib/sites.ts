// Sites' names by id, for screens that get ids (a team seat, a consent's sites). Directory
// data, not patient data: kept for the page's life.
import { useEffect, useState } from "react";
import { api } from "../api/client";

const known = new Map<string, Promise<string | null>>();

function nameOf(siteId: string): Promise<string | null> {
  let found = known.get(siteId);
  if (!found) {
    found = api
      .GET("/api/v1/sites/{site_id}", { params: { path: { site_id: siteId } } })
      .then(({ data }) => data?.name ?? null)
      .catch(() => null);
    known.set(siteId, found);
  }
  return found;
}

/** A function from site id to its name ("…" while it loads, the id if it cannot be had). */
export function useSiteNames(ids: string[]): (id: string) => string {
  const [names, setNames] = useState<Record<string, string>>({});
  const key = [...new Set(ids)].sort().join(",");
  useEffect(() => {
    let current = true;
    for (const id of key.split(",").filter(Boolean)) {
      void nameOf(id).then((name) => {
        const shown = name ?? id;
        if (current) setNames((old) => (old[id] === shown ? old : { ...old, [id]: shown }));
      });
    }
    return () => {
      current = false;
    };
  }, [key]);
  return (id) => names[id] ?? "…";
}
