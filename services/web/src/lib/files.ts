// A file as a person saves it: named by its title, with the extension its type has —
// never by an id (訪問看護報告書.pdf, not 01a2….pdf).

const EXTENSIONS: Record<string, string> = {
  "application/pdf": "pdf",
  "image/jpeg": "jpg",
  "image/png": "png",
  "image/heic": "heic",
  "image/heif": "heif",
  "image/webp": "webp",
  "video/mp4": "mp4",
  "video/quicktime": "mov",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
};

/** `title.ext`, the title made safe for every file system; `fallback` when there is none. */
export function fileName(title: string | null | undefined, mediaType: string, fallback: string): string {
  const base = (title ?? "").replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_").trim() || fallback;
  const ext = EXTENSIONS[mediaType.split(";")[0]!.trim().toLowerCase()];
  return ext && !base.toLowerCase().endsWith(`.${ext}`) ? `${base}.${ext}` : base;
}

/** A chosen file's name without its extension, as the starting title of a document. */
export function titleOf(name: string): string {
  return name.replace(/\.[^.]+$/, "");
}
