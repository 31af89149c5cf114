import { describe, expect, it } from "vitest";
import { acceptingInWords, freshnessInWords, rank } from "../src/lib/availability";

describe("a site's status as a care manager reads it", () => {
  it("says whether it is fresh, or stale with its age", () => {
    expect(freshnessInWords({ fresh: true, age_days: 2 }, "ja")).toBe("最新");
    expect(freshnessInWords({ fresh: false, age_days: 9 }, "ja")).toBe("古い情報（9日前の更新）");
    expect(freshnessInWords({ fresh: false, age_days: 1 }, "en")).toBe("Out of date (1 day ago)");
    expect(acceptingInWords("conditional", "ja")).toBe("条件付きで可");
  });

  it("puts fresh yeses first and the silent last", () => {
    const view = (accepting: "yes" | "no" | "conditional", fresh: boolean) =>
      ({ accepting, fresh }) as Parameters<typeof rank>[0];
    const order = [view("no", true), undefined, view("yes", false), view("conditional", true), view("yes", true)]
      .map((v) => rank(v));
    expect(order).toEqual([3, 9, 4, 1, 0]);
  });
});
