import { describe, expect, it } from "vitest";
import { fileName, titleOf } from "../src/lib/files";

describe("a file as a person saves it", () => {
  it("is named by its title with the extension of its type", () => {
    expect(fileName("訪問看護報告書", "application/pdf", "文書")).toBe("訪問看護報告書.pdf");
    expect(fileName("仙骨部 写真", "image/jpeg", "文書")).toBe("仙骨部 写真.jpg");
    expect(fileName("report.pdf", "application/pdf", "文書")).toBe("report.pdf");
  });

  it("never by an id, and never with a character a file system refuses", () => {
    expect(fileName(null, "application/pdf", "処方・服薬 2026年10月1日")).toBe("処方・服薬 2026年10月1日.pdf");
    expect(fileName("a/b:c", "application/octet-stream", "文書")).toBe("a_b_c");
    expect(titleOf("退院時サマリー.pdf")).toBe("退院時サマリー");
  });
});
