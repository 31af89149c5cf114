//! What a file is, decided from its bytes alone. A client's `Content-Type` and file name
//! are claims anyone can make; the first bytes are what a viewer will act on.

/// How many bytes of a body [`sniff`] looks at (and the store keeps in memory to decide).
pub const SNIFF_LEN: usize = 64 * 1024;

/// A media type the platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaType {
    Pdf,
    Png,
    Jpeg,
    Gif,
    Webp,
    /// HEIC still image (iPhone photos).
    Heic,
    /// HEIC image sequence.
    HeicSequence,
    /// HEIF with another codec.
    Heif,
    /// HEIF image sequence with another codec.
    HeifSequence,
    Tiff,
    Mp4,
    /// MPEG-4 audio (voice memos).
    Mp4Audio,
    QuickTime,
    /// UTF-8 text.
    Text,
    /// Word (Office Open XML, no macros).
    Docx,
    /// Excel (Office Open XML, no macros).
    Xlsx,
}

impl MediaType {
    /// Every type the store accepts.
    pub const ALL: &'static [Self] = &[
        Self::Pdf,
        Self::Png,
        Self::Jpeg,
        Self::Gif,
        Self::Webp,
        Self::Heic,
        Self::HeicSequence,
        Self::Heif,
        Self::HeifSequence,
        Self::Tiff,
        Self::Mp4,
        Self::Mp4Audio,
        Self::QuickTime,
        Self::Text,
        Self::Docx,
        Self::Xlsx,
    ];

    /// The media type as sent in `Content-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
            Self::HeicSequence => "image/heic-sequence",
            Self::Heif => "image/heif",
            Self::HeifSequence => "image/heif-sequence",
            Self::Tiff => "image/tiff",
            Self::Mp4 => "video/mp4",
            Self::Mp4Audio => "audio/mp4",
            Self::QuickTime => "video/quicktime",
            Self::Text => "text/plain; charset=utf-8",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

impl std::fmt::Display for MediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why content is refused. Executables are named by kind, so a client (and the log) can
/// tell a refused program from a format the platform merely does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Refusal {
    #[error("an ELF executable")]
    Elf,
    #[error("a Windows executable (MZ/PE)")]
    WindowsExecutable,
    #[error("a Mach-O executable")]
    MachO,
    #[error("a script (#!)")]
    Script,
    #[error("a WebAssembly module")]
    WebAssembly,
    #[error("a Java class file")]
    JavaClass,
    /// OLE compound files: MSI installers, and legacy Office files that carry macros.
    #[error("a compound file (an MSI installer or a legacy Office document)")]
    CompoundFile,
    /// An Office Open XML document with a VBA project.
    #[error("an Office document with macros")]
    Macros,
    #[error("not a file type this platform accepts")]
    Unrecognised,
}

impl Refusal {
    /// A stable kebab-case name, e.g. for a problem type URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::Elf => "executable-elf",
            Self::WindowsExecutable => "executable-windows",
            Self::MachO => "executable-mach-o",
            Self::Script => "executable-script",
            Self::WebAssembly => "executable-webassembly",
            Self::JavaClass => "executable-java-class",
            Self::CompoundFile => "compound-file",
            Self::Macros => "office-macros",
            Self::Unrecognised => "unrecognised-file-type",
        }
    }

    /// Whether the content is (or carries) something that runs.
    pub fn is_executable(self) -> bool {
        !matches!(self, Self::Unrecognised)
    }
}

/// Decides the media type from the first bytes of a body (up to [`SNIFF_LEN`]), or why it
/// is refused. A multi-byte character cut by the end of `head` is taken as cut by the
/// head's length, not as invalid text. A zip is judged by the entries its local headers
/// show within `head`; [`crate::BlobStore::put`] confirms it from the central directory.
pub fn sniff(head: &[u8]) -> Result<MediaType, Refusal> {
    match verdict(head, false) {
        Verdict::Accept(m) => Ok(m),
        Verdict::Refuse(r) => Err(r),
        Verdict::Zip => office(local_entry_names(head).into_iter()),
    }
}

/// What the head alone says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Accept(MediaType),
    Refuse(Refusal),
    /// A zip: only its list of entries can tell a document from an archive.
    Zip,
}

/// `complete`: `head` is the whole body, so an incomplete character at its end is invalid.
pub(crate) fn verdict(head: &[u8], complete: bool) -> Verdict {
    if head.is_empty() {
        return Verdict::Refuse(Refusal::Unrecognised);
    }
    if let Some(refusal) = executable(head) {
        return Verdict::Refuse(refusal);
    }
    let media = if head.starts_with(b"%PDF-") {
        Some(MediaType::Pdf)
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(MediaType::Png)
    } else if head.starts_with(b"\xff\xd8\xff") {
        Some(MediaType::Jpeg)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(MediaType::Gif)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Some(MediaType::Webp)
    } else if [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"]
        .iter()
        .any(|m| head.starts_with(*m))
    {
        Some(MediaType::Tiff)
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return iso_media(head).map_or(Verdict::Refuse(Refusal::Unrecognised), Verdict::Accept);
    } else {
        None
    };
    if let Some(m) = media {
        return Verdict::Accept(m);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Verdict::Zip;
    }
    if is_text(head, complete) {
        return Verdict::Accept(MediaType::Text);
    }
    Verdict::Refuse(Refusal::Unrecognised)
}

fn executable(head: &[u8]) -> Option<Refusal> {
    let magic = |m: &[u8]| head.starts_with(m);
    if magic(b"\x7fELF") {
        Some(Refusal::Elf)
    } else if magic(b"MZ") {
        Some(Refusal::WindowsExecutable)
    } else if [
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbf",
        b"\xbf\xba\xfe\xca",
        b"\xbe\xba\xfe\xca",
    ]
    .iter()
    .any(|m| magic(*m))
    {
        Some(Refusal::MachO)
    } else if magic(b"\xca\xfe\xba\xbe") {
        // Shared by universal binaries and Java classes: a universal binary counts its
        // architectures (a handful) where a class file has its version (45 and up).
        let second = head
            .get(4..8)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        match second {
            Some(n) if n < 45 => Some(Refusal::MachO),
            _ => Some(Refusal::JavaClass),
        }
    } else if magic(b"#!") {
        Some(Refusal::Script)
    } else if magic(b"\0asm") {
        Some(Refusal::WebAssembly)
    } else if magic(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
        Some(Refusal::CompoundFile)
    } else {
        None
    }
}

/// ISO base media files (`ftyp` box): the major brand decides, else the first compatible
/// brand that names a type we accept.
fn iso_media(head: &[u8]) -> Option<MediaType> {
    let brand = |b: &[u8]| -> Option<MediaType> {
        Some(match b {
            b"heic" | b"heix" | b"heim" | b"heis" => MediaType::Heic,
            b"hevc" | b"hevx" | b"hevm" | b"hevs" => MediaType::HeicSequence,
            b"mif1" => MediaType::Heif,
            b"msf1" => MediaType::HeifSequence,
            b"qt  " => MediaType::QuickTime,
            b"M4A " => MediaType::Mp4Audio,
            b"isom" | b"iso2" | b"iso3" | b"iso4" | b"iso5" | b"iso6" | b"mp41" | b"mp42"
            | b"avc1" | b"M4V " | b"dash" | b"mmp4" => MediaType::Mp4,
            _ => return None,
        })
    };
    if let Some(m) = brand(&head[8..12]) {
        return Some(m);
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.min(head.len());
    head.get(16..end)?.chunks_exact(4).find_map(brand)
}

fn is_text(head: &[u8], complete: bool) -> bool {
    let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    // NUL and other C0 controls do not occur in text people write; they mark binary data.
    if body
        .iter()
        .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
    {
        return false;
    }
    match std::str::from_utf8(body) {
        Ok(_) => true,
        // `error_len() == None`: valid up to a character the end of the head cut short.
        Err(e) => !complete && e.error_len().is_none(),
    }
}

/// Classifies a zip by its entry names: OOXML declares `[Content_Types].xml` and keeps
/// its parts under `word/` or `xl/`; a VBA project means macros.
pub(crate) fn office<'a>(names: impl Iterator<Item = &'a [u8]>) -> Result<MediaType, Refusal> {
    let (mut content_types, mut word, mut excel) = (false, false, false);
    for name in names {
        if name.ends_with(b"vbaProject.bin") {
            return Err(Refusal::Macros);
        }
        content_types |= name == b"[Content_Types].xml";
        word |= name.starts_with(b"word/");
        excel |= name.starts_with(b"xl/");
    }
    match (content_types, word, excel) {
        (true, true, false) => Ok(MediaType::Docx),
        (true, false, true) => Ok(MediaType::Xlsx),
        _ => Err(Refusal::Unrecognised),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
}

fn u32_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as u64)
}

/// The names in the zip's local file headers that lie within `head`.
fn local_entry_names(head: &[u8]) -> Vec<&[u8]> {
    const LOCAL: &[u8] = b"PK\x03\x04";
    let mut names = Vec::new();
    let mut at = 0;
    while head.get(at..at + 4) == Some(LOCAL) {
        let (Some(flags), Some(compressed), Some(name_len), Some(extra_len)) = (
            u16_at(head, at + 6),
            u32_at(head, at + 18),
            u16_at(head, at + 26),
            u16_at(head, at + 28),
        ) else {
            break;
        };
        let name_at = at + 30;
        let Some(name) = head.get(name_at..name_at + name_len) else {
            break;
        };
        names.push(name);
        let data_at = name_at + name_len + extra_len;
        if flags & 0x08 == 0 {
            at = data_at + compressed as usize;
        } else {
            // Sizes follow the data (data descriptor): find the next header instead.
            match head
                .get(data_at..)
                .and_then(|rest| rest.windows(4).position(|w| w == LOCAL))
            {
                Some(p) => at = data_at + p,
                None => break,
            }
        }
    }
    names
}

/// Where a zip's central directory lies, from the tail of the file (the last bytes, at
/// most 22 + 65 535: the end record and its comment). `None` if there is no end record or
/// the archive is zip64 (not needed for documents of any sensible size).
pub(crate) fn central_directory(tail: &[u8], file_len: u64) -> Option<(u64, u64)> {
    let tail_start = file_len.checked_sub(tail.len() as u64)?;
    let end = tail
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .filter(|&p| tail.len() - p >= 22)?;
    let size = u32_at(tail, end + 12)?;
    let offset = u32_at(tail, end + 16)?;
    if size == 0xffff_ffff || offset == 0xffff_ffff {
        return None;
    }
    (offset + size <= tail_start + end as u64).then_some((offset, size))
}

/// The entry names in a central directory.
pub(crate) fn directory_entry_names(directory: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let mut at = 0;
    while directory.get(at..at + 4) == Some(b"PK\x01\x02") {
        let (Some(name_len), Some(extra_len), Some(comment_len)) = (
            u16_at(directory, at + 28),
            u16_at(directory, at + 30),
            u16_at(directory, at + 32),
        ) else {
            break;
        };
        let Some(name) = directory.get(at + 46..at + 46 + name_len) else {
            break;
        };
        names.push(name);
        at += 46 + name_len + extra_len + comment_len;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A zip local file header for `name` with `data` stored uncompressed.
    fn entry(name: &str, data: &[u8]) -> Vec<u8> {
        let mut e = b"PK\x03\x04".to_vec();
        e.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        e.extend_from_slice(&(data.len() as u32).to_le_bytes());
        e.extend_from_slice(&(data.len() as u32).to_le_bytes());
        e.extend_from_slice(&(name.len() as u16).to_le_bytes());
        e.extend_from_slice(&0u16.to_le_bytes());
        e.extend_from_slice(name.as_bytes());
        e.extend_from_slice(data);
        e
    }

    fn zip(names: &[&str]) -> Vec<u8> {
        names
            .iter()
            .flat_map(|n| entry(n, b"<x/>"))
            .collect::<Vec<_>>()
    }

    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len() as u32;
        let mut b = size.to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compatible {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(b"\0\0\0\x08free");
        b
    }

    #[test]
    fn accepted_heads_get_the_media_type_their_bytes_show() {
        let cases: Vec<(&str, Vec<u8>, MediaType)> = vec![
            (
                "pdf",
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec(),
                MediaType::Pdf,
            ),
            (
                "png",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                MediaType::Png,
            ),
            (
                "jpeg jfif",
                b"\xff\xd8\xff\xe0\0\x10JFIF\0".to_vec(),
                MediaType::Jpeg,
            ),
            (
                "jpeg exif",
                b"\xff\xd8\xff\xe1\x12\x34Exif\0\0".to_vec(),
                MediaType::Jpeg,
            ),
            ("gif87", b"GIF87a\x01\0\x01\0".to_vec(), MediaType::Gif),
            ("gif89", b"GIF89a\x01\0\x01\0".to_vec(), MediaType::Gif),
            ("webp", b"RIFF\x24\0\0\0WEBPVP8 ".to_vec(), MediaType::Webp),
            ("tiff le", b"II*\0\x08\0\0\0".to_vec(), MediaType::Tiff),
            ("tiff be", b"MM\0*\0\0\0\x08".to_vec(), MediaType::Tiff),
            ("heic", ftyp(b"heic", &[b"mif1", b"heic"]), MediaType::Heic),
            ("heif", ftyp(b"mif1", &[b"mif1"]), MediaType::Heif),
            (
                "heic via compatible brand",
                ftyp(b"XXXX", &[b"heic"]),
                MediaType::Heic,
            ),
            ("mp4", ftyp(b"isom", &[b"isom", b"avc1"]), MediaType::Mp4),
            (
                "mp4 via compatible brand",
                ftyp(b"XAVC", &[b"mp42"]),
                MediaType::Mp4,
            ),
            ("quicktime", ftyp(b"qt  ", &[b"qt  "]), MediaType::QuickTime),
            ("m4a", ftyp(b"M4A ", &[b"isom"]), MediaType::Mp4Audio),
            (
                "ascii text",
                b"visit at 10:00\r\n\tbring the chart".to_vec(),
                MediaType::Text,
            ),
            (
                "japanese text",
                "訪問看護記録\n血圧 128/76".as_bytes().to_vec(),
                MediaType::Text,
            ),
            (
                "text with bom",
                "\u{feff}申し送り".as_bytes().to_vec(),
                MediaType::Text,
            ),
            (
                "docx",
                zip(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"]),
                MediaType::Docx,
            ),
            (
                "xlsx",
                zip(&["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"]),
                MediaType::Xlsx,
            ),
        ];
        for (name, head, expected) in cases {
            assert_eq!(sniff(&head), Ok(expected), "{name}");
        }
    }

    #[test]
    fn executables_are_refused_by_kind() {
        let cases: Vec<(&str, &[u8], Refusal)> = vec![
            ("elf", b"\x7fELF\x02\x01\x01\0", Refusal::Elf),
            (
                "pe",
                b"MZ\x90\0\x03\0\0\0\x04\0",
                Refusal::WindowsExecutable,
            ),
            ("mach-o 64", b"\xcf\xfa\xed\xfe\x0c\0\0\x01", Refusal::MachO),
            (
                "mach-o 32 be",
                b"\xfe\xed\xfa\xce\0\0\0\x07",
                Refusal::MachO,
            ),
            (
                "universal binary",
                b"\xca\xfe\xba\xbe\0\0\0\x02\x01\0\0\x07",
                Refusal::MachO,
            ),
            (
                "universal binary 64",
                b"\xca\xfe\xba\xbf\0\0\0\x02",
                Refusal::MachO,
            ),
            (
                "java class",
                b"\xca\xfe\xba\xbe\0\0\0\x41\0\x1d",
                Refusal::JavaClass,
            ),
            ("shell script", b"#!/bin/sh\nrm -rf /\n", Refusal::Script),
            ("env script", b"#!/usr/bin/env python3\n", Refusal::Script),
            ("wasm", b"\0asm\x01\0\0\0", Refusal::WebAssembly),
            (
                "msi",
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0",
                Refusal::CompoundFile,
            ),
        ];
        for (name, head, expected) in cases {
            assert_eq!(sniff(head), Err(expected), "{name}");
            assert!(expected.is_executable(), "{name}");
        }
    }

    #[test]
    fn unknown_and_ambiguous_heads_are_refused_as_unrecognised() {
        let docm = zip(&[
            "[Content_Types].xml",
            "word/document.xml",
            "word/vbaProject.bin",
        ]);
        assert_eq!(sniff(&docm), Err(Refusal::Macros));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("nul in text", b"hello\0world".to_vec()),
            (
                "utf-16",
                "\u{feff}hi"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes)
                    .collect(),
            ),
            ("latin-1", b"caf\xe9 au lait".to_vec()),
            ("invalid utf-8 mid-head", b"ok \xff\xfe then more".to_vec()),
            ("control characters", b"\x01\x02\x03\x04binary".to_vec()),
            ("plain zip", zip(&["notes.txt", "photo.jpg"])),
            ("jar", zip(&["META-INF/MANIFEST.MF", "Main.class"])),
            ("zip without content types", zip(&["word/document.xml"])),
            ("unknown iso brand", ftyp(b"avif", &[b"avif", b"mif2"])),
            ("random bytes", vec![0x8c, 0x12, 0xfe, 0x00, 0x44, 0x91]),
        ];
        for (name, head) in cases {
            assert_eq!(sniff(&head), Err(Refusal::Unrecognised), "{name}");
        }
    }

    #[test]
    fn a_character_cut_by_the_end_of_the_head_is_still_text_but_not_at_the_end_of_the_body() {
        let text = "記録".repeat(10);
        let cut = &text.as_bytes()[..text.len() - 1];
        assert_eq!(sniff(cut), Ok(MediaType::Text));
        assert_eq!(verdict(cut, false), Verdict::Accept(MediaType::Text));
        assert_eq!(verdict(cut, true), Verdict::Refuse(Refusal::Unrecognised));
    }

    #[test]
    fn a_zip_is_classified_by_its_central_directory() {
        // Entries, then a central directory naming them, then the end record.
        let names = ["_rels/.rels", "xl/workbook.xml", "[Content_Types].xml"];
        let mut file = zip(&names);
        let offset = file.len() as u32;
        let mut directory = Vec::new();
        for n in names {
            directory.extend_from_slice(b"PK\x01\x02");
            directory.extend_from_slice(&[0; 24]);
            directory.extend_from_slice(&(n.len() as u16).to_le_bytes());
            directory.extend_from_slice(&[0; 16]);
            directory.extend_from_slice(n.as_bytes());
        }
        file.extend_from_slice(&directory);
        file.extend_from_slice(b"PK\x05\x06\0\0\0\0\x03\0\x03\0");
        file.extend_from_slice(&(directory.len() as u32).to_le_bytes());
        file.extend_from_slice(&offset.to_le_bytes());
        file.extend_from_slice(&[0, 0]);
        let (at, size) = central_directory(&file, file.len() as u64).unwrap();
        assert_eq!((at, size), (offset as u64, directory.len() as u64));
        let listed = directory_entry_names(&file[at as usize..(at + size) as usize]);
        assert_eq!(listed.len(), 3);
        assert_eq!(office(listed.into_iter()), Ok(MediaType::Xlsx));
    }

    #[test]
    fn every_refusal_has_a_distinct_slug() {
        let all = [
            Refusal::Elf,
            Refusal::WindowsExecutable,
            Refusal::MachO,
            Refusal::Script,
            Refusal::WebAssembly,
            Refusal::JavaClass,
            Refusal::CompoundFile,
            Refusal::Macros,
            Refusal::Unrecognised,
        ];
        let slugs: std::collections::HashSet<_> = all.iter().map(|r| r.slug()).collect();
        assert_eq!(slugs.len(), all.len());
    }
}
