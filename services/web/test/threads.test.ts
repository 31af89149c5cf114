import { describe, expect, it } from "vitest";
import { threaded } from "../src/lib/threads";

describe("threads on a timeline", () => {
  it("puts replies under the post they answer, oldest reply first, and keeps orphans in place", () => {
    // Newest first, as the API answers: r2 and r1 answer a; o answers a post on an older page.
    const page = [
      { post_id: "r2", reply_to: "a" },
      { post_id: "b" },
      { post_id: "o", reply_to: "older" },
      { post_id: "r1", reply_to: "a" },
      { post_id: "a" },
    ];
    expect(threaded(page).map((p) => p.post_id)).toEqual(["b", "o", "a", "r1", "r2"]);
  });

  it("leaves a timeline without replies as it is", () => {
    const page = [{ post_id: "c" }, { post_id: "b", reply_to: null }, { post_id: "a" }];
    expect(threaded(page).map((p) => p.post_id)).toEqual(["c", "b", "a"]);
  });
});
