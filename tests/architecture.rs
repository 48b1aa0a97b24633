//! The code's shape, checked on the source tree: dependencies between modules only
//! point one way (no two modules import each other, directly or around a loop),
//! features never reach for the router, and no function in `src/` runs to 60 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `src/accounts/service/members.rs` -> `accounts::service::members`;
/// `src/http/mod.rs` -> `http`; `src/lib.rs` -> `` (the crate root).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix("src").unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The source without its `#[cfg(test)] mod tests` block (tests may look anywhere).
fn without_tests(source: &str) -> &str {
    source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |at| &source[..at])
}

/// The longest known module that `path` (a `crate::...` path) names.
fn resolve<'m>(modules: &'m BTreeSet<String>, path: &str) -> Option<&'m String> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .find_map(|n| modules.get(&parts[..n].join("::")))
}

/// Which modules each module uses, from its `crate::` and `super::` paths.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = rust_files(Path::new("src"));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let path_chars = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut graph = BTreeMap::new();
    for file in &files {
        let module = module_of(file);
        let source = std::fs::read_to_string(file).unwrap();
        let source = without_tests(&source);
        let mut uses = BTreeSet::new();
        for (at, _) in source.match_indices("crate::") {
            let rest = &source[at + "crate::".len()..];
            let path: String = rest.chars().take_while(|c| path_chars(*c)).collect();
            uses.extend(resolve(&modules, path.trim_end_matches(':')).cloned());
        }
        for (at, _) in source.match_indices("super::") {
            if source[..at].ends_with("super::") {
                continue; // part of a `super::super::` chain counted at its start
            }
            let mut rest = &source[at..];
            let mut supers = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                supers += 1;
                rest = after;
            }
            // Each `super` is one step up from the module the file defines.
            let mut base: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
            base.truncate(base.len().saturating_sub(supers));
            let tail: String = rest.chars().take_while(|c| path_chars(*c)).collect();
            let full = base
                .into_iter()
                .chain(tail.trim_end_matches(':').split("::"))
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join("::");
            uses.extend(resolve(&modules, &full).cloned());
        }
        // A module's own parents and itself are not dependencies.
        uses.retain(|used: &String| {
            used != &module && !module.starts_with(&format!("{used}::")) && !used.is_empty()
        });
        graph.insert(module, uses);
    }
    graph
}

/// Every module reachable from `start`.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![start.to_string()];
    while let Some(module) = todo.pop() {
        for next in graph.get(&module).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_two_modules_import_each_other_directly_or_around_a_loop() {
    let graph = module_graph();
    assert!(graph.len() > 30, "the graph was read: {graph:?}");
    let loops: Vec<&String> = graph
        .keys()
        .filter(|module| reachable(&graph, module).contains(*module))
        .collect();
    assert!(loops.is_empty(), "modules on an import loop: {loops:?}");
}

#[test]
fn features_and_foundations_never_use_the_router() {
    let graph = module_graph();
    let allowed = ["", "app", "cli", "http"];
    let users: Vec<&String> = graph
        .iter()
        .filter(|(module, uses)| {
            !allowed.contains(&module.as_str())
                && !module.starts_with("http::")
                && uses.contains("http")
        })
        .map(|(module, _)| module)
        .collect();
    assert!(
        users.is_empty(),
        "modules using the router (http/mod.rs): {users:?}"
    );
}

#[test]
fn no_function_in_src_runs_to_60_lines() {
    let mut long = Vec::new();
    for file in rust_files(Path::new("src")) {
        let source = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = source.lines().collect();
        for (start, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            let is_fn = [
                "fn ",
                "pub fn ",
                "async fn ",
                "pub async fn ",
                "pub(crate) fn ",
                "pub(crate) async fn ",
            ]
            .iter()
            .any(|prefix| code.starts_with(prefix));
            if !is_fn {
                continue;
            }
            let (mut depth, mut opened) = (0i32, false);
            for (offset, body) in lines[start..].iter().enumerate() {
                if !opened && body.trim_end().ends_with(';') {
                    break;
                }
                for c in body.chars() {
                    match c {
                        '{' => {
                            depth += 1;
                            opened = true;
                        }
                        '}' => depth -= 1,
                        _ => {}
                    }
                }
                if opened && depth <= 0 {
                    if offset + 1 >= 60 {
                        long.push(format!(
                            "{}:{} ({} lines)",
                            file.display(),
                            start + 1,
                            offset + 1
                        ));
                    }
                    break;
                }
            }
        }
    }
    assert!(long.is_empty(), "functions of 60 lines or more: {long:?}");
}
