//! The crate's layering, checked on its source: no import cycle between top-level modules of
//! `src/`, and the pure core (the workspace crate `notaryd-verify` in `src/verify/`: `verify`,
//! `oci`, `reference`) depends on no async, network or gRPC crate and names no I/O, async runtime or
//! clock. docs/architecture.md draws the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules of the pure core, as the adapters name them (`crate::verify` and so on, the
/// core crate re-exported by lib.rs).
const CORE: [&str; 3] = ["verify", "oci", "reference"];

/// The crates the core may depend on (normal dependencies): encodings, DER and X.509,
/// crypto, time arithmetic, error derive. A new one is a decision, made here on purpose.
const CORE_DEPENDENCIES: [&str; 11] = [
    "aws-lc-rs",
    "base64",
    "const-oid",
    "der",
    "rustls-pki-types",
    "serde",
    "serde_json",
    "spki",
    "thiserror",
    "time",
    "x509-cert",
];

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

/// The `.rs` files under `dir`, not descending into another package (a directory with its own
/// Cargo.toml: the core crate inside src/).
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && path.join("Cargo.toml").is_file() {
            continue;
        }
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

/// The module graph of `src`, and the lines of core modules that name something impure
/// (`all_core`: every module of `src` is core, as in the core crate).
fn graph_of(src: &Path, all_core: bool) -> (Graph, Vec<String>) {
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
            if all_core || CORE.contains(&module.as_str()) {
                for word in IMPURE {
                    if code.contains(word) {
                        impure.push(format!(
                            "{}:{}: {word}: {}",
                            file.display(),
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
    let (graph, _) = graph_of(&src, false);
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The core lives only in its crate: no module of the adapters' crate may take its names.
    for module in CORE {
        let src = root.join("src");
        assert!(
            !src.join(format!("{module}.rs")).exists() && !src.join(module).join("mod.rs").exists(),
            "src/{module} is a module of the adapters' crate: the core's modules belong in \
             the notaryd-verify crate (src/verify/)"
        );
    }
    let core = root.join("src/verify");
    let manifest: toml::Table = std::fs::read_to_string(core.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let dependencies: Vec<&str> = manifest["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(dependencies.len() > 5, "{dependencies:?}");
    let extra: Vec<_> = dependencies
        .iter()
        .filter(|d| !CORE_DEPENDENCIES.contains(d))
        .collect();
    assert!(
        extra.is_empty(),
        "src/verify/Cargo.toml (the core) depends on {extra:?}, outside the core's list (no async, \
         network, gRPC or process crate may reach the core)"
    );
    for section in ["build-dependencies", "target"] {
        assert!(
            !manifest.contains_key(section),
            "src/verify/Cargo.toml has [{section}]: the core has no build script \
             and no platform-specific dependencies"
        );
    }
    // The core's clippy bans live outside its tree and CI runs clippy on the core with them.
    let bans = std::fs::read_to_string(root.join("lints/verify/clippy.toml")).unwrap();
    for banned in [
        "std::fs::read",
        "std::time::Instant::now",
        "std::env::var",
        "std::fs::File",
    ] {
        assert!(
            bans.contains(banned),
            "lints/verify/clippy.toml does not ban {banned}"
        );
    }
    let test_sh = std::fs::read_to_string(root.join("scripts/test.sh")).unwrap();
    assert!(
        test_sh.contains("CLIPPY_CONF_DIR=lints/verify cargo clippy --locked -p notaryd-verify"),
        "scripts/test.sh does not run clippy on the core with lints/verify/clippy.toml"
    );
    let (graph, impure) = graph_of(&core, true);
    assert!(
        graph.len() >= 3,
        "the core's module graph was not read: {graph:?}"
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
    let (graph, impure) = graph_of(src, false);
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

/// The registry's verification steps, which only the use case (`src/service/`) may call: every
/// adapter (the one-shot CLI, the gRPC service, the CRI proxy) asks the `Decider` instead.
const REGISTRY_VERIFICATION: [&str; 3] =
    ["verify_in_registry", "verify_resolved", "resolve_target"];

#[test]
fn only_the_use_case_runs_a_registry_verification() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "the sources were not read: {files:?}");
    let mut callers = Vec::new();
    let mut seen_in_service = false;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let text = std::fs::read_to_string(file).unwrap();
        let mentions = text
            .lines()
            .map(code_of)
            .any(|l| REGISTRY_VERIFICATION.iter().any(|f| l.contains(f)));
        match relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
        {
            Some("registry") => {}
            Some("service") => seen_in_service |= mentions,
            _ if mentions => callers.push(relative.display().to_string()),
            _ => {}
        }
    }
    assert!(
        seen_in_service,
        "src/service/ no longer names {REGISTRY_VERIFICATION:?}: update this test"
    );
    assert!(
        callers.is_empty(),
        "{callers:?} run a registry verification themselves; adapters ask \
         service::decider::Decider (docs/architecture.md)"
    );
}

/// `unsafe` is denied in the workspace and forbidden in the core; the one exception is
/// glibc's allocator calls in `src/daemon/memory.rs`. No other file of `notaryd` allows it,
/// and the core keeps its `#![forbid(unsafe_code)]`.
#[test]
fn unsafe_code_is_allowed_only_for_the_allocator_calls() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "the sources were not read: {files:?}");
    let mut allowing = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        if text
            .lines()
            .map(code_of)
            .any(|l| l.contains("unsafe_code") || l.contains("unsafe {") || l.contains("unsafe fn"))
        {
            allowing.push(file.strip_prefix(&src).unwrap().display().to_string());
        }
    }
    assert_eq!(
        allowing,
        vec!["daemon/memory.rs".to_owned()],
        "files with unsafe code"
    );
    let core = std::fs::read_to_string(src.join("verify/lib.rs")).unwrap();
    assert!(
        core.lines()
            .any(|l| code_of(l).trim() == "#![forbid(unsafe_code)]"),
        "the core no longer forbids unsafe code"
    );
}
