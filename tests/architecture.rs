//! The architecture invariants of ARCHITECTURE.md that a compiler does not check: modules
//! import one way, in data-flow order, and the exporter never depends on the simulator.
//! Read from the sources, so a new sideways import or cycle fails `make test`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::util::walk;

/// Each top-level module of `src/` and the modules it may use, bottom layer first.
const ALLOWED: &[(&str, &[&str])] = &[
    ("model", &[]),
    ("source", &["model"]),
    ("decode", &["model"]),
    ("sink", &["model"]),
    ("catalog", &["model", "source"]),
    ("manifest", &["model", "sink"]),
    (
        "export",
        &["model", "source", "decode", "sink", "catalog", "manifest"],
    ),
    ("change", &["model", "source", "sink", "manifest", "export"]),
    (
        "config",
        &[
            "model", "source", "decode", "sink", "catalog", "export", "change",
        ],
    ),
    (
        "cli",
        &[
            "model", "source", "decode", "sink", "catalog", "manifest", "export", "change",
            "config",
        ],
    ),
];

/// The top-level module a source file belongs to (`src/export/stage.rs` → `export`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every `crate::<module>` a file names outside comments.
fn uses(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
        // `use crate::{a, b}` names several.
        if let Some(i) = code.find("crate::{") {
            let group = &code[i + "crate::{".len()..];
            for part in group.split([',', '}']) {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn modules_import_one_way_in_data_flow_order() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for file in walk(&src)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        seen.insert(module.clone());
        let Some(ok) = allowed.get(module.as_str()) else {
            problems.push(format!(
                "{}: module {module} has no rule in ALLOWED",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for used in uses(&text) {
            if used != module && !ok.contains(&used.as_str()) {
                problems.push(format!(
                    "{}: {module} must not import {used}",
                    file.strip_prefix(&src).unwrap_or(&file).display()
                ));
            }
        }
        let sim_ok = module == "cli";
        if !sim_ok && text.contains("jclake_sim") {
            problems.push(format!(
                "{}: only the CLI may embed the simulator",
                file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let expected: BTreeSet<String> = ALLOWED.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(
        seen, expected,
        "every module of src/ has a rule, every rule a module"
    );
}

#[test]
fn the_rule_reader_finds_imports() {
    let text = "use crate::model::EVENTS;\nuse crate::{sink, source::Api};\n// crate::cli in a comment\nlet x = crate::decode::f();";
    let got: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(got, ["decode", "model", "sink", "source"]);
}
