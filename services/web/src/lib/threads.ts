// Threads on a timeline, as a person reads them.

/** What ordering needs of a post. */
export interface Threaded {
  post_id: string;
  reply_to?: string | null;
}

/** Each first post where it falls (newest first), its replies right under it, oldest first;
 * a reply whose first post is on an older page stays where it falls. */
export function threaded<P extends Threaded>(posts: P[]): P[] {
  const shown = new Set(posts.map((p) => p.post_id));
  const out: P[] = [];
  for (const post of posts) {
    if (post.reply_to && shown.has(post.reply_to)) continue;
    out.push(post);
    if (!post.reply_to) {
      out.push(...posts.filter((r) => r.reply_to === post.post_id).reverse());
    }
  }
  return out;
}
