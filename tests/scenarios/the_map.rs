//! ARCHITECTURE.md's code map is the map of the tree: every crate under `services/` and
//! `shared/` has its line there, and the map names no crate that is gone (as rust-analyzer's
//! tidy tests keep its docs honest).

use std::collections::BTreeSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
}

/// The folders under `top` that are a crate or a package (a Cargo.toml or a package.json).
fn crates_under(top: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join(top))
        .unwrap_or_else(|e| panic!("{top}/ cannot be read: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|dir| dir.join("Cargo.toml").is_file() || dir.join("package.json").is_file())
        .map(|dir| {
            dir.file_name()
                .expect("a folder name")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// The crates the code map lists under the heading `top/`: the lines `  <name>/` that follow
/// the line `<top>/` in the fenced block after `## Code map`, up to the next top-level line.
fn mapped_under(map: &str, top: &str) -> BTreeSet<String> {
    let block = map
        .split("## Code map")
        .nth(1)
        .and_then(|after| after.split("```").nth(1))
        .expect("ARCHITECTURE.md has a fenced code map after `## Code map`");
    let mut inside = false;
    let mut names = BTreeSet::new();
    for line in block.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.starts_with(&format!("{top}/"));
            continue;
        }
        if !inside {
            continue;
        }
        // A crate's line is indented by exactly two spaces; deeper lines are its files.
        if let Some(rest) = line.strip_prefix("  ")
            && !rest.starts_with(' ')
            && let Some((name, _)) = rest.split_once('/')
        {
            names.insert(name.to_string());
        }
    }
    names
}

#[test]
fn every_crate_has_its_line_in_the_code_map_and_the_map_names_none_that_is_gone() {
    let map = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    for top in ["services", "shared"] {
        let in_tree = crates_under(top);
        let in_map = mapped_under(&map, top);
        let missing: Vec<_> = in_tree.difference(&in_map).collect();
        let gone: Vec<_> = in_map.difference(&in_tree).collect();
        assert!(
            missing.is_empty(),
            "ARCHITECTURE.md's code map has no line for {top}/{missing:?}: say what it is for"
        );
        assert!(
            gone.is_empty(),
            "ARCHITECTURE.md's code map names {top}/{gone:?}, which the tree no longer has"
        );
        assert!(in_tree.len() >= 2, "{top}/ holds the project's crates");
    }
}
