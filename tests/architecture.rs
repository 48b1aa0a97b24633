//! The code's shape, checked on the source tree as Rust (parsed with `syn`):
//! - layers only point down: start-up (`main`, `cli`) > router (`http`) > shell
//!   (`app`) > features (`accounts`, `audit`, `licensing`, `releases`) >
//!   foundations (every other module); a module may use its own layer and lower;
//! - no two modules import each other, directly or around a loop, counted by file
//!   and by top-level module (so features form a line: licensing > audit > accounts);
//! - no file of the crate (`src/`, `tests/`, `bench/`) runs over 400 lines and no
//!   function in `src/` over 60.

#[path = "architecture/paths.rs"]
mod paths;

use paths::PathsOfFile;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

const FEATURES: [&str; 5] = ["accounts", "audit", "billing", "licensing", "releases"];

/// A top-level module's layer: the higher, the further from the foundations.
fn layer(top: &str) -> (u8, &'static str) {
    match top {
        "" | "cli" => (5, "start-up"),
        "http" => (4, "router"),
        "app" => (3, "shell"),
        _ if FEATURES.contains(&top) => (2, "features"),
        _ => (1, "foundations"),
    }
}

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

/// `src/accounts/service/members.rs` -> `["accounts", "service", "members"]`;
/// `src/http/mod.rs` -> `["http"]`; `src/lib.rs` and `src/main.rs` -> `[]`.
fn module_of(file: &Path) -> Vec<String> {
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
    parts
}

struct Source {
    file: PathBuf,
    module: Vec<String>,
    syntax: syn::File,
}

fn sources() -> Vec<Source> {
    rust_files(Path::new("src"))
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let syntax = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", file.display()));
            Source {
                module: module_of(&file),
                file,
                syntax,
            }
        })
        .collect()
}

/// The longest known module that `path` names.
fn resolve<'m>(modules: &'m BTreeSet<Vec<String>>, path: &[String]) -> Option<&'m Vec<String>> {
    (1..=path.len()).rev().find_map(|n| modules.get(&path[..n]))
}

/// Which modules (by file) each module uses. A module's own parents and itself
/// are not dependencies.
fn module_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph = BTreeMap::new();
    for source in &sources {
        let mut visitor = PathsOfFile {
            module: source.module.clone(),
            found: Vec::new(),
        };
        visitor.visit_file(&source.syntax);
        let uses: BTreeSet<Vec<String>> = visitor
            .found
            .iter()
            .filter_map(|path| resolve(&modules, path).cloned())
            .filter(|used| !used.is_empty() && !source.module.starts_with(used))
            .collect();
        graph
            .entry(source.module.clone())
            .or_insert_with(BTreeSet::new)
            .extend(uses);
    }
    graph
}

fn top(module: &[String]) -> String {
    module.first().cloned().unwrap_or_default()
}

/// The same graph counted by top-level module.
fn top_level_graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, uses) in module_graph() {
        let from = top(&module);
        let entry = graph.entry(from.clone()).or_default();
        entry.extend(
            uses.iter()
                .map(|used| top(used))
                .filter(|used| *used != from),
        );
    }
    graph
}

fn modules_on_a_loop<N: Ord + Clone + std::fmt::Debug>(graph: &BTreeMap<N, BTreeSet<N>>) -> Vec<N> {
    let reaches_itself = |start: &N| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(node) = todo.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    return true;
                }
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        false
    };
    graph
        .keys()
        .filter(|n| reaches_itself(n))
        .cloned()
        .collect()
}

#[test]
fn layers_only_point_down() {
    let graph = top_level_graph();
    for expected in ["http", "app", "accounts", "licensing", "web", "error"] {
        assert!(
            graph.contains_key(expected),
            "{expected} was read: {graph:?}"
        );
    }
    let upward: Vec<String> = graph
        .iter()
        .flat_map(|(from, uses)| {
            uses.iter()
                .filter(|used| layer(used).0 > layer(from).0)
                .map(move |used| {
                    format!("{from} ({}) uses {used} ({})", layer(from).1, layer(used).1)
                })
        })
        .collect();
    assert!(upward.is_empty(), "imports that point up: {upward:#?}");
}

#[test]
fn no_two_modules_import_each_other_directly_or_around_a_loop() {
    let graph = module_graph();
    assert!(graph.len() > 30, "the graph was read: {graph:?}");
    let by_file = modules_on_a_loop(&graph);
    assert!(by_file.is_empty(), "modules on an import loop: {by_file:?}");
    let by_top_level = modules_on_a_loop(&top_level_graph());
    assert!(
        by_top_level.is_empty(),
        "top-level modules on an import loop: {by_top_level:?}"
    );
}

#[test]
fn the_layer_check_sees_every_kind_of_path() {
    let syntax: syn::File = syn::parse_str(
        "use crate::a::{b, c::d};\n\
         fn f() { crate::e::g(); super::h::i(); }\n\
         #[server(output = crate::j::K)] fn s() { view! { <crate::m::N/> } }\n\
         #[cfg(test)] mod tests { use crate::hidden::X; }",
    )
    .unwrap();
    let mut visitor = PathsOfFile {
        module: vec!["feature".into(), "file".into()],
        found: Vec::new(),
    };
    visitor.visit_file(&syntax);
    let tops: BTreeSet<String> = visitor.found.iter().map(|p| top(p)).collect();
    let expected: BTreeSet<String> = ["a", "e", "feature", "j", "m"]
        .map(String::from)
        .into_iter()
        .collect();
    assert_eq!(tops, expected);
}

#[test]
fn no_file_runs_over_400_lines() {
    let mut long = Vec::new();
    for dir in ["src", "tests", "bench"] {
        for file in rust_files(Path::new(dir)) {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            if lines > 400 {
                long.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(long.is_empty(), "files over 400 lines: {long:#?}");
}

/// Every function and method, with its first line and length in lines.
struct Functions(Vec<(String, usize, usize)>);

impl Functions {
    fn add(&mut self, name: &syn::Ident, block: &syn::Block) {
        let (start, end) = (name.span().start().line, block_end(block));
        self.0.push((name.to_string(), start, end + 1 - start));
    }
}

fn block_end(block: &syn::Block) -> usize {
    block.brace_token.span.close().end().line
}

impl<'ast> Visit<'ast> for Functions {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.add(&item.sig.ident, &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.add(&item.sig.ident, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }
}

#[test]
fn no_function_in_src_runs_over_60_lines() {
    let mut long = Vec::new();
    let mut counted = 0;
    for source in sources() {
        let mut functions = Functions(Vec::new());
        functions.visit_file(&source.syntax);
        counted += functions.0.len();
        for (name, line, length) in functions.0 {
            if length > 60 {
                long.push(format!(
                    "{}:{line} {name} ({length} lines)",
                    source.file.display()
                ));
            }
        }
    }
    assert!(counted > 300, "the functions were read: {counted}");
    assert!(long.is_empty(), "functions over 60 lines: {long:#?}");
}
