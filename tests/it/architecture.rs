//! The crate's layering, checked on its source: no import cycle between top-level modules of
//! `src/`, and the pure core (`verify`, `oci`, `reference`) imports nothing outside itself and
//! names no I/O, async runtime or clock. docs/architecture.md draws the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules of the pure core.
const CORE: [&str; 3] = ["verify", "oci", "reference"];

/// What the core may never name (I/O, async, clocks, the adapters' error crate).
const IMPURE: [&str; 11] = [
    "tokio",
    "tonic",
    "reqwest",
    "hyper",
    "anyhow",
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "SystemTime::now",
    "Instant::now",
];

/// One use of another top-level module: where it is written.
#[derive(Debug, Clone)]
struct Edge {
    file: String,
    line: usize,
}

/// `top-level module → module it uses → the first place it does`.
type Graph = BTreeMap<String, BTreeMap<String, Edge>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None`: the crate root or a binary).
fn module_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first {
        "lib.rs" | "main.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_owned()),
    }
}

/// The line up to its first `//`. String literals are not parsed: a `//` inside one (a URL)
/// hides the rest of its line, and a `crate::` path inside one counts as a use.
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// The top-level modules named in `text` as `crate::NAME` or inside `crate::{NAME, ...}`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `notaryd_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of a use group: split at commas outside nested braces.
            let mut depth = 0usize;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if at_start && !name.is_empty() {
                            found.push(std::mem::take(&mut name));
                        }
                        at_start = true;
                        name.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && at_start {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                    } else if !name.is_empty() {
                        found.push(std::mem::take(&mut name));
                        at_start = false;
                    }
                }
            }
            if at_start && !name.is_empty() {
                found.push(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.push(name);
            }
        }
    }
    found
}

fn graph_of(src: &Path) -> (Graph, Vec<String>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut graph = Graph::new();
    let mut impure = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src).unwrap().to_owned();
        let Some(module) = module_of(&relative) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        // A multi-line `use crate::{...}` is read as one statement.
        let mut statement = String::new();
        let mut statement_line = 0;
        for (n, line) in text.lines().enumerate() {
            let code = code_of(line);
            if CORE.contains(&module.as_str()) {
                for word in IMPURE {
                    if code.contains(word) {
                        impure.push(format!(
                            "src/{}:{}: {word}: {}",
                            relative.display(),
                            n + 1,
                            line.trim()
                        ));
                    }
                }
            }
            if statement.is_empty() && code.contains("crate::{") && !code.contains('}') {
                statement_line = n + 1;
            }
            if !statement.is_empty() || (code.contains("crate::{") && !code.contains('}')) {
                statement.push_str(code);
                if !code.contains(';') {
                    continue;
                }
            }
            let (text, line_no) = if statement.is_empty() {
                (code.to_owned(), n + 1)
            } else {
                (std::mem::take(&mut statement), statement_line)
            };
            for used in crate_paths(&text) {
                let is_module = src.join(format!("{used}.rs")).is_file()
                    || src.join(&used).join("mod.rs").is_file();
                if used != module && is_module {
                    graph
                        .entry(module.clone())
                        .or_default()
                        .entry(used)
                        .or_insert(Edge {
                            file: format!("src/{}", relative.display()),
                            line: line_no,
                        });
                }
            }
        }
    }
    (graph, impure)
}

/// Every cycle's modules, each cycle once (by its smallest rotation), shortest first.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    fn walk(
        graph: &Graph,
        start: &str,
        at: &str,
        path: &mut Vec<String>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        for next in graph.get(at).into_iter().flat_map(BTreeMap::keys) {
            if next == start {
                let mut cycle = path.clone();
                let min = (0..cycle.len()).min_by_key(|&i| &cycle[i]).unwrap();
                cycle.rotate_left(min);
                found.insert(cycle);
            } else if !path.contains(next) && path.len() < 12 {
                path.push(next.clone());
                walk(graph, start, next, path, found);
                path.pop();
            }
        }
    }
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        walk(graph, start, start, &mut vec![start.clone()], &mut found);
    }
    let mut all: Vec<_> = found.into_iter().collect();
    all.sort_by_key(Vec::len);
    all
}

fn describe(graph: &Graph, cycle: &[String]) -> String {
    let mut s = cycle.join(" → ");
    s.push_str(&format!(" → {}\n", cycle[0]));
    for (i, from) in cycle.iter().enumerate() {
        let to = &cycle[(i + 1) % cycle.len()];
        let e = &graph[from][to];
        s.push_str(&format!("    {from} uses {to} at {}:{}\n", e.file, e.line));
    }
    s
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (graph, _) = graph_of(&src);
    assert!(graph.len() > 5, "the module graph was not read: {graph:?}");
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles between top-level modules of src/ (docs/architecture.md says which \
         module may use which):\n{}",
        found
            .iter()
            .map(|c| describe(&graph, c))
            .collect::<String>()
    );
}

#[test]
fn the_core_uses_only_the_core_and_no_io() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let (graph, impure) = graph_of(&src);
    let mut outside = Vec::new();
    for module in CORE {
        for (used, e) in graph.get(module).into_iter().flatten() {
            if !CORE.contains(&used.as_str()) {
                outside.push(format!("{module} uses {used} at {}:{}", e.file, e.line));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "the core reaches an adapter:\n{}",
        outside.join("\n")
    );
    assert!(
        impure.is_empty(),
        "the core names I/O, async or a clock:\n{}",
        impure.join("\n")
    );
}

/// The checker itself: it must see cycles, use groups and multi-line `use` statements, or the
/// two tests above could never fail.
#[test]
fn the_checker_finds_a_cycle_through_a_use_group() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::create_dir_all(src.join("verify")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod a; pub mod b; pub mod c; pub mod verify;\n",
    )
    .unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::b::x; // crate::c is only a comment\n",
    )
    .unwrap();
    std::fs::write(
        src.join("b").join("mod.rs"),
        "use crate::{\n    c::{self, y},\n    verify,\n};\n",
    )
    .unwrap();
    std::fs::write(src.join("c.rs"), "fn f() { crate::a::g(); }\n").unwrap();
    std::fs::write(
        src.join("verify").join("mod.rs"),
        "use crate::a;\nfn now() { std::time::Instant::now(); }\n",
    )
    .unwrap();
    let (graph, impure) = graph_of(src);
    let found = cycles(&graph);
    assert_eq!(
        found,
        // a → b → c → a through the group; a → b → verify → a through the core's `use`.
        [
            vec!["a".to_owned(), "b".into(), "c".into()],
            vec!["a".to_owned(), "b".into(), "verify".into()]
        ],
        "{graph:?}"
    );
    assert_eq!(graph["b"].keys().collect::<Vec<_>>(), ["c", "verify"]);
    assert_eq!(impure.len(), 1, "{impure:?}");
    assert!(graph["verify"].contains_key("a"));
}
