//! The layout the README promises, held by a test: within each crate the
//! modules import one way (the one circle allowed is the HTTP answer and the
//! problem that becomes one), no source file grows past 600 lines, and the
//! management API stays within 125 lines per route it serves (4,000 when it
//! had 28 routes: the budget grows with the API, never with what is not the
//! API). Crates cannot form circles at all: Cargo refuses them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The circles a crate may have: a type and its error, each knowing the other.
const ALLOWED_CIRCLES: &[(&str, &[&str])] = &[("shared/api", &["http", "problem"])];

const MAX_FILE_LINES: usize = 600;
/// What the API crate may hold per route of `api::routes::TABLE`.
const MAX_API_LINES_PER_ROUTE: usize = 125;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every crate whose layout we keep: the shared crates, the functions and
/// the Rust client.
fn crates() -> Vec<String> {
    let mut crates = vec!["clients/rust".to_owned()];
    for parent in ["shared", "functions"] {
        let dir = workspace().join(parent);
        for entry in std::fs::read_dir(&dir).expect("read the crates' folder") {
            let entry = entry.expect("read a crate");
            if entry.path().join("src").is_dir() {
                crates.push(format!("{parent}/{}", entry.file_name().to_string_lossy()));
            }
        }
    }
    crates.sort();
    crates
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read a source folder") {
        let path = entry.expect("read an entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

/// The top-level module a file belongs to (`lib.rs` and `main.rs` are the
/// crate's root, `""`).
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).expect("under src");
    let first = relative
        .components()
        .next()
        .expect("a file name")
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned();
    if first == "lib" || first == "main" {
        String::new()
    } else {
        first
    }
}

/// The code a module runs, without comments (doc links are not imports)
/// and without its unit tests (by our convention the last thing in a file).
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The modules `code` names after `prefix` (`crate::` or `super::`).
fn named_after<'a>(code: &'a str, prefix: &str) -> impl Iterator<Item = &'a str> {
    code.match_indices(prefix).map(move |(at, _)| {
        let rest = &code[at + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    })
}

/// Which top-level module of the crate imports which.
fn imports(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|file| module_of(src, file)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let code = code_of(&std::fs::read_to_string(file).expect("read a source file"));
        let top_level = file.parent() == Some(src) || file.ends_with("mod.rs");
        let mut named: Vec<&str> = named_after(&code, "crate::").collect();
        if top_level && !from.is_empty() {
            named.extend(named_after(&code, "super::"));
        }
        let arrows = graph.entry(from.clone()).or_default();
        for to in named {
            if to != from && modules.contains(to) {
                arrows.insert(to.to_owned());
            }
        }
    }
    graph
}

/// The modules that reach each other (strongly connected, more than one).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |start: &str| {
        let mut seen = BTreeSet::new();
        let mut next = vec![start.to_owned()];
        while let Some(module) = next.pop() {
            for to in graph.get(&module).into_iter().flatten() {
                if seen.insert(to.clone()) {
                    next.push(to.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|module| (module, reach(module))).collect();
    let mut found: Vec<BTreeSet<String>> = Vec::new();
    for (module, from_it) in &reached {
        let circle: BTreeSet<String> = from_it
            .iter()
            .filter(|other| {
                reached
                    .get(other)
                    .is_some_and(|back| back.contains(*module))
            })
            .cloned()
            .collect();
        if circle.len() > 1 && !found.contains(&circle) {
            found.push(circle);
        }
    }
    found
}

#[test]
fn modules_import_one_way_but_for_a_type_and_its_error() {
    let mut unexpected = Vec::new();
    for name in crates() {
        let found = circles(&imports(&workspace().join(&name).join("src")));
        let allowed: Vec<BTreeSet<String>> = ALLOWED_CIRCLES
            .iter()
            .filter(|(crate_name, _)| *crate_name == name)
            .map(|(_, modules)| modules.iter().map(|m| (*m).to_owned()).collect())
            .collect();
        for circle in found {
            if !allowed.contains(&circle) {
                unexpected.push(format!("{name}: {circle:?}"));
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "modules that import each other (move what both need below them): {unexpected:?}"
    );
}

#[test]
fn the_check_finds_a_circle_when_there_is_one() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    let expected: BTreeSet<String> = ["a", "b", "c"].map(str::to_owned).into();
    assert_eq!(circles(&graph), vec![expected]);
    let api = imports(&workspace().join("shared/api/src"));
    assert!(
        api.get("handlers").is_some_and(|to| to.contains("routes")),
        "the reader sees the handlers import the routes: {api:?}"
    );
}

#[test]
fn no_source_file_is_over_600_lines_and_the_api_is_within_its_budget_per_route() {
    let mut too_long = Vec::new();
    let mut api_lines = 0;
    for name in crates() {
        let mut files = Vec::new();
        rust_files(&workspace().join(&name).join("src"), &mut files);
        for file in files {
            let lines = std::fs::read_to_string(&file)
                .expect("read a source file")
                .lines()
                .count();
            if lines > MAX_FILE_LINES {
                too_long.push(format!("{} ({lines})", file.display()));
            }
            if name == "shared/api" {
                api_lines += lines;
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "files over {MAX_FILE_LINES} lines (split them by what they do): {too_long:?}"
    );
    let budget = MAX_API_LINES_PER_ROUTE * api::routes::TABLE.len();
    assert!(
        api_lines <= budget,
        "shared/api/src is {api_lines} lines, over {budget} ({MAX_API_LINES_PER_ROUTE} per \
         route): move what is not the management API out of it"
    );
}
