//! The crate's floors (ARCHITECTURE.md), enforced: every `use crate::…`
//! (grouped or not), every inline `crate::module::…` path and every `super::`
//! path that climbs out of its top-level module is read from the sources
//! under `src/`, each file and each target is put on a floor by its
//! top-level module, and an import that points up a floor, or a cycle
//! between top-level modules on one floor, fails the test with the file, the
//! line and the floors involved.
//!
//! The checker reads text only (std, no parser crate): comments, strings and
//! character literals are blanked first, so a path in a doc comment or an
//! error message is not an import.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};

/// The floors, bottom first. A module may import only from floors below its
/// own, and from its own floor without a cycle.
const FLOOR_NAMES: [&str; 6] = ["base", "canvas", "models", "measures", "lessons", "faces"];

/// Top-level module -> floor. The same table is in ARCHITECTURE.md (a test
/// below compares them). `lib` is the crate root (`src/lib.rs`, with its
/// re-exports), `prelude` the module written inside it, `main` the CLI.
const FLOORS: &[(&str, usize)] = &[
    ("error", 0),
    ("device", 0),
    ("rng", 0),
    ("fsutil", 0),
    ("notebook", 0),
    ("data", 0),
    ("progress", 0),
    ("interrupt", 0),
    ("plot", 1),
    ("optim", 2),
    ("gan", 2),
    ("attack", 2),
    ("classifier", 2),
    ("defense", 2),
    ("metrics", 3),
    ("compare", 3),
    ("vanilla", 4),
    ("nash", 4),
    ("latent_space", 4),
    ("adversarial", 4),
    ("adv_gan", 4),
    ("exercises", 4),
    ("prelude", 5),
    ("lib", 5),
    ("main", 5),
];

// ---------------------------------------------------------------------------
// What the checker reports.

/// One reference from a file of module `from` to top-level module `to`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Import {
    /// `src/...` path of the file.
    file: String,
    line: usize,
    from: String,
    to: String,
}

/// An import that points up a floor.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    import: Import,
    from_floor: usize,
    to_floor: usize,
}

/// A cycle between top-level modules of one floor: `modules` starts and ends
/// with the same module; `at[i]` is where `modules[i]` imports `modules[i + 1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cycle {
    floor: usize,
    modules: Vec<String>,
    at: Vec<(String, usize)>,
}

#[derive(Debug, Default)]
struct Report {
    /// Every reference that crosses top-level modules, in file order.
    imports: Vec<Import>,
    violations: Vec<Violation>,
    cycles: Vec<Cycle>,
    /// Modules or paths the mapping does not know, unreadable files.
    errors: Vec<String>,
}

impl Report {
    fn is_clean(&self) -> bool {
        self.violations.is_empty() && self.cycles.is_empty() && self.errors.is_empty()
    }
}

fn floor_label(f: usize) -> String {
    format!("floor {f}, {}", FLOOR_NAMES.get(f).copied().unwrap_or("?"))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.errors {
            writeln!(f, "error: {e}")?;
        }
        for v in &self.violations {
            let i = &v.import;
            writeln!(
                f,
                "{}:{}: `{}` ({}) imports `{}` ({}): a module may import only from floors below its own",
                i.file,
                i.line,
                i.from,
                floor_label(v.from_floor),
                i.to,
                floor_label(v.to_floor)
            )?;
        }
        for c in &self.cycles {
            let at: Vec<String> =
                c.modules.windows(2).zip(&c.at).map(|(w, (file, line))| format!("{} -> {} at {file}:{line}", w[0], w[1])).collect();
            writeln!(f, "cycle on {}: {} ({})", floor_label(c.floor), c.modules.join(" -> "), at.join("; "))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Reading Rust text.

/// The source with comments, string literals and character literals replaced
/// by spaces (newlines kept, so line numbers still hold).
fn blank_comments_and_strings(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let next = c.get(i + 1).copied();
        let prev_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if c[i] == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
            continue;
        }
        if c[i] == '/' && next == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            continue;
        }
        // Raw strings: r"…", r#"…"#, br"…".
        if !prev_ident && (c[i] == 'r' || (c[i] == 'b' && next == Some('r'))) {
            let mut j = i + if c[i] == 'b' { 2 } else { 1 };
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) == Some(&'"') {
                let mut k = j + 1;
                let end = loop {
                    if k >= c.len() {
                        break c.len();
                    }
                    if c[k] == '"' && (1..=hashes).all(|h| c.get(k + h) == Some(&'#')) {
                        break k + 1 + hashes;
                    }
                    k += 1;
                };
                while i < end {
                    out.push(blank(c[i]));
                    i += 1;
                }
                continue;
            }
        }
        if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() {
                if c[i] == '\\' && i + 1 < c.len() {
                    out.push(blank(c[i]));
                    out.push(blank(c[i + 1]));
                    i += 2;
                } else if c[i] == '"' {
                    out.push(' ');
                    i += 1;
                    break;
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            continue;
        }
        if c[i] == '\'' {
            // A character literal ('x', '\n', '\u{..}'), else a lifetime or label.
            let end = if next == Some('\\') {
                (i + 3..c.len()).find(|&k| c[k] == '\'').map(|k| k + 1)
            } else if c.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    while i < end {
                        out.push(blank(c[i]));
                        i += 1;
                    }
                }
                None => {
                    out.push('\'');
                    i += 1;
                }
            }
            continue;
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

fn tokens(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch.is_ascii_digit() {
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Punct('0'), line));
        } else if ch == '\'' {
            // A lifetime or a label ('a, 'static): not a name of the crate.
            i += 1;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Punct('\''), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// A path as written: its segments with their lines, and the name it binds
/// (for `use`: the `as` name or the last segment).
#[derive(Debug, Clone, PartialEq)]
struct WrittenPath {
    segments: Vec<(String, usize)>,
    binds: Option<String>,
}

/// Parses the use tree in `toks` (the tokens between `use` and `;`).
fn parse_use_tree(toks: &[(Tok, usize)], pos: &mut usize, prefix: Vec<(String, usize)>, out: &mut Vec<WrittenPath>) {
    let mut segs = prefix;
    while *pos < toks.len() {
        match &toks[*pos].0 {
            Tok::Sep => *pos += 1,
            Tok::Punct('{') => {
                *pos += 1;
                while *pos < toks.len() {
                    match toks[*pos].0 {
                        Tok::Punct('}') => {
                            *pos += 1;
                            return;
                        }
                        Tok::Punct(',') => *pos += 1,
                        _ => {
                            let before = *pos;
                            parse_use_tree(toks, pos, segs.clone(), out);
                            if *pos == before {
                                *pos += 1; // malformed: skip a token rather than loop
                            }
                        }
                    }
                }
                return;
            }
            Tok::Punct('*') => {
                *pos += 1;
                out.push(WrittenPath { segments: segs, binds: None });
                return;
            }
            Tok::Ident(name) => {
                segs.push((name.clone(), toks[*pos].1));
                *pos += 1;
                if matches!(toks.get(*pos), Some((Tok::Sep, _))) {
                    continue;
                }
                let mut binds = Some(name.clone());
                if matches!(toks.get(*pos), Some((Tok::Ident(a), _)) if a == "as") {
                    binds = match toks.get(*pos + 1) {
                        Some((Tok::Ident(alias), _)) if alias != "_" => Some(alias.clone()),
                        _ => None,
                    };
                    *pos += 2;
                }
                if name == "self" {
                    segs.pop();
                    if binds.as_deref() == Some("self") {
                        binds = segs.last().map(|s| s.0.clone());
                    }
                }
                out.push(WrittenPath { segments: segs, binds });
                return;
            }
            _ => return,
        }
    }
}

/// What one file says: its `use` paths and inline `crate::`/`super::`/`self::`
/// paths, each with the inline modules (`mod tests { … }`) it sits in, and,
/// at the top level of the file, the items and modules it declares.
#[derive(Debug, Default)]
struct FileFacts {
    /// (inline module path, path, from a `use`)
    paths: Vec<(Vec<String>, WrittenPath, bool)>,
    /// Names bound by top-level `use` declarations, with their paths.
    top_uses: Vec<WrittenPath>,
    /// Top-level `mod name;` / `mod name { … }`.
    top_mods: BTreeSet<String>,
    /// Top-level fns, types, consts, statics, traits, macros.
    top_items: BTreeSet<String>,
}

fn read_facts(src: &str) -> FileFacts {
    let toks = tokens(&blank_comments_and_strings(src));
    let mut facts = FileFacts::default();
    let mut depth = 0usize;
    let mut inline: Vec<(String, usize)> = Vec::new(); // (name, depth inside its braces)
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let mut i = 0;
    while i < toks.len() {
        let prev = if i > 0 { Some(&toks[i - 1].0) } else { None };
        let inline_path: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(kw) if kw == "use" && !matches!(toks.get(i + 1), Some((Tok::Punct('<'), _))) => {
                let end = (i + 1..toks.len()).find(|&k| toks[k].0 == Tok::Punct(';')).unwrap_or(toks.len());
                let mut found = Vec::new();
                let mut pos = 0;
                parse_use_tree(&toks[i + 1..end], &mut pos, Vec::new(), &mut found);
                for p in found {
                    if depth == 0 {
                        facts.top_uses.push(p.clone());
                    }
                    facts.paths.push((inline_path.clone(), p, true));
                }
                i = end + 1;
            }
            Tok::Ident(kw) if kw == "mod" && ident(i + 1).is_some() => {
                let name = ident(i + 1).unwrap_or_default().to_string();
                if depth == 0 {
                    facts.top_mods.insert(name.clone());
                }
                if matches!(toks.get(i + 2), Some((Tok::Punct('{'), _))) {
                    depth += 1;
                    inline.push((name, depth));
                    i += 3;
                } else {
                    i += 2;
                }
            }
            Tok::Ident(kw)
                if depth == 0
                    && matches!(kw.as_str(), "fn" | "struct" | "enum" | "union" | "trait" | "type" | "const" | "static")
                    && ident(i + 1).is_some() =>
            {
                facts.top_items.insert(ident(i + 1).unwrap_or_default().to_string());
                i += 2;
            }
            Tok::Ident(kw) if kw == "macro_rules" && depth == 0 && matches!(toks.get(i + 1), Some((Tok::Punct('!'), _))) => {
                if let Some(name) = ident(i + 2) {
                    facts.top_items.insert(name.to_string());
                }
                i += 3;
            }
            Tok::Ident(kw)
                if matches!(kw.as_str(), "crate" | "super" | "self")
                    && matches!(toks.get(i + 1), Some((Tok::Sep, _)))
                    && !matches!(prev, Some(Tok::Sep) | Some(Tok::Punct('$'))) =>
            {
                // An inline path: crate::a::…, super::super::a::…, self::a::…
                let mut segs = Vec::new();
                let mut k = i;
                while let Some(name) = ident(k) {
                    segs.push((name.to_string(), toks[k].1));
                    if !matches!(toks.get(k + 1), Some((Tok::Sep, _))) {
                        break;
                    }
                    k += 2;
                }
                facts.paths.push((inline_path, WrittenPath { segments: segs, binds: None }, false));
                i = k + 1;
            }
            _ => i += 1,
        }
    }
    facts
}

// ---------------------------------------------------------------------------
// The checker.

/// A source file: its path under `src/` (`/`-separated) and its text.
struct Source {
    rel: String,
    text: String,
}

fn collect_sources(dir: &Path, base: &Path, out: &mut Vec<Source>, errors: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            errors.push(format!("{}: cannot read the directory: {e}", dir.display()));
            return;
        }
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_sources(&p, base, out, errors);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let rel = p.strip_prefix(base).unwrap_or(&p).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            match std::fs::read_to_string(&p) {
                Ok(text) => out.push(Source { rel, text }),
                Err(e) => errors.push(format!("{}: cannot read: {e}", p.display())),
            }
        }
    }
}

/// Checks every `.rs` file under `src_dir` against `floors`.
fn check_tree(src_dir: &Path, floors: &[(&str, usize)]) -> Report {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    collect_sources(src_dir, src_dir, &mut sources, &mut errors);
    if sources.is_empty() {
        errors.push(format!("{}: no .rs files found", src_dir.display()));
    }
    let mut report = check_sources(&sources, floors);
    errors.append(&mut report.errors);
    report.errors = errors;
    report
}

/// The top-level module of a file and its module path inside the crate:
/// `gan/nets.rs` -> (`gan`, [gan, nets]); `gan/mod.rs` -> (`gan`, [gan]);
/// `lib.rs` -> (`lib`, []). `main.rs` and `bin/…` are the binary crate.
fn module_of(rel: &str) -> (String, Vec<String>, bool) {
    let parts: Vec<&str> = rel.split('/').collect();
    if rel == "lib.rs" {
        return ("lib".into(), Vec::new(), false);
    }
    if rel == "main.rs" || parts[0] == "bin" {
        return ("main".into(), Vec::new(), true);
    }
    let mut path: Vec<String> = parts.iter().map(|p| p.trim_end_matches(".rs").to_string()).collect();
    if path.last().is_some_and(|l| l == "mod") {
        path.pop();
    }
    (path[0].clone(), path, false)
}

fn check_sources(sources: &[Source], floors: &[(&str, usize)]) -> Report {
    let floor_of: BTreeMap<&str, usize> = floors.iter().copied().collect();
    let mut report = Report::default();

    // The crate root: its modules, its items and what its `use`s re-export.
    let root = sources.iter().find(|s| s.rel == "lib.rs").map(|s| read_facts(&s.text)).unwrap_or_default();
    let mut root_alias: BTreeMap<String, String> = BTreeMap::new();
    for u in &root.top_uses {
        let segs: Vec<&str> = u.segments.iter().map(|s| s.0.as_str()).collect();
        let first = match segs.as_slice() {
            ["crate" | "self", m, ..] => *m,
            [m, _, ..] => *m,
            _ => continue,
        };
        if let Some(name) = &u.binds {
            if floor_of.contains_key(first) || root.top_mods.contains(first) {
                root_alias.insert(name.clone(), first.to_string());
            }
        }
    }
    for m in &root.top_mods {
        if !floor_of.contains_key(m.as_str()) {
            report.errors.push(format!("src/lib.rs declares module `{m}`, which the floor mapping does not place: add it"));
        }
    }

    let mut seen_unknown = BTreeSet::new();
    for s in sources {
        let (top, file_path, is_bin) = module_of(&s.rel);
        let file = format!("src/{}", s.rel);
        if !floor_of.contains_key(top.as_str()) {
            if seen_unknown.insert(top.clone()) {
                report.errors.push(format!("{file}: module `{top}` is not in the floor mapping: add it"));
            }
            continue;
        }
        if is_bin {
            continue; // the CLI reaches the library as `gan_tutorial::`, and faces may use every floor
        }
        let facts = read_facts(&s.text);
        for (inline, p, from_use) in &facts.paths {
            let here: Vec<&str> = file_path.iter().chain(inline).map(String::as_str).collect();
            let segs: Vec<(&str, usize)> = p.segments.iter().map(|(n, l)| (n.as_str(), *l)).collect();
            // The top-level name the path reaches, if it leaves the file's module.
            let target: Option<(&str, usize)> = match segs.first().map(|s| s.0) {
                Some("crate") => segs.get(1).copied(),
                Some("super") => {
                    let ups = segs.iter().take_while(|s| s.0 == "super").count();
                    if ups > here.len() {
                        report.errors.push(format!("{file}:{}: `super` climbs above the crate root", segs[0].1));
                        None
                    } else if ups == here.len() {
                        segs.get(ups).copied().filter(|s| s.0 != "self" && s.0 != "super")
                    } else {
                        None // stays inside the file's top-level module
                    }
                }
                Some("self") if here.is_empty() => segs.get(1).copied(),
                Some(m) if here.is_empty() && *from_use && (floor_of.contains_key(m) || root.top_mods.contains(m)) => segs.first().copied(),
                _ => None,
            };
            let Some((name, line)) = target else { continue };
            let to = if floor_of.contains_key(name) {
                name.to_string()
            } else if let Some(m) = root_alias.get(name) {
                m.clone()
            } else if root.top_items.contains(name) {
                "lib".to_string()
            } else if root.top_mods.contains(name) {
                report.errors.push(format!("{file}:{line}: module `{name}` is not in the floor mapping: add it"));
                continue;
            } else {
                report.errors.push(format!("{file}:{line}: `crate::{name}` is neither a module of the floor mapping nor an item of src/lib.rs"));
                continue;
            };
            if to == top {
                continue;
            }
            report.imports.push(Import { file: file.clone(), line, from: top.clone(), to });
        }
    }

    report.imports.dedup(); // `use crate::m::{A, B}` is one import of m
    // Upward imports, and the same-floor graph.
    let mut graph: BTreeMap<String, BTreeMap<String, (String, usize)>> = BTreeMap::new();
    for i in &report.imports {
        let (Some(&ff), Some(&tf)) = (floor_of.get(i.from.as_str()), floor_of.get(i.to.as_str())) else {
            report.errors.push(format!("{}:{}: `{}` is not in the floor mapping", i.file, i.line, i.to));
            continue;
        };
        if tf > ff {
            report.violations.push(Violation { import: i.clone(), from_floor: ff, to_floor: tf });
        } else if tf == ff {
            graph.entry(i.from.clone()).or_default().entry(i.to.clone()).or_insert((i.file.clone(), i.line));
        }
    }
    report.cycles = same_floor_cycles(&graph, &floor_of);
    report
}

/// One cycle per strongly connected group of modules (Tarjan), from its
/// first module by name, along the shortest way back.
fn same_floor_cycles(graph: &BTreeMap<String, BTreeMap<String, (String, usize)>>, floor_of: &BTreeMap<&str, usize>) -> Vec<Cycle> {
    struct Tarjan<'a> {
        graph: &'a BTreeMap<String, BTreeMap<String, (String, usize)>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        groups: Vec<Vec<&'a str>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            if let Some(next) = self.graph.get(v) {
                for w in next.keys() {
                    let w = w.as_str();
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let lw = self.low[w];
                        let lv = self.low.get_mut(v).unwrap();
                        *lv = (*lv).min(lw);
                    } else if self.on_stack.contains(w) {
                        let iw = self.index[w];
                        let lv = self.low.get_mut(v).unwrap();
                        *lv = (*lv).min(iw);
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(w);
                    if w == v {
                        break;
                    }
                }
                self.groups.push(group);
            }
        }
    }
    let mut t = Tarjan { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), groups: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    let mut cycles = Vec::new();
    for mut group in t.groups.into_iter().filter(|g| g.len() > 1) {
        group.sort();
        let members: BTreeSet<&str> = group.iter().copied().collect();
        let start = group[0];
        // Shortest way from `start` back to `start` inside the group.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut last = None;
        'bfs: while let Some(v) = queue.pop_front() {
            for w in graph.get(v).map(|m| m.keys()).into_iter().flatten() {
                let w = w.as_str();
                if w == start {
                    last = Some(v);
                    break 'bfs;
                }
                if members.contains(w) && !came_from.contains_key(w) && w != start {
                    came_from.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        let Some(mut v) = last else { continue };
        let mut modules = vec![start.to_string(), v.to_string()];
        while v != start {
            v = came_from[v];
            modules.push(v.to_string());
        }
        modules.reverse();
        let at = modules.windows(2).map(|w| graph[&w[0]][&w[1]].clone()).collect();
        cycles.push(Cycle { floor: floor_of[start], modules, at });
    }
    cycles
}

// ---------------------------------------------------------------------------
// Tests.

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn src_imports_only_downward_and_has_no_same_floor_cycle() {
    let report = check_tree(&manifest_dir().join("src"), FLOORS);
    assert!(report.is_clean(), "the floors of ARCHITECTURE.md are broken:\n{report}");
    // The checker did read the crate: the trainer imports the data floor.
    assert!(report.imports.iter().any(|i| i.from == "gan" && i.to == "data"), "no gan -> data import found: is the checker reading src/?");
}

#[test]
fn fixture_backedge_and_cycle_are_reported_exactly() {
    let report = check_tree(&manifest_dir().join("tests/fixtures/arch_backedge/src"), FLOORS);
    assert!(report.errors.is_empty(), "{report}");
    let imp = |file: &str, line, from: &str, to: &str| Import { file: file.into(), line, from: from.into(), to: to.into() };
    // Every cross-module reference, grouped, inline and through `super`;
    // none from the comments, strings and `$crate` of the fixture.
    let mut got = report.imports.clone();
    got.sort();
    let mut want = vec![
        imp("src/attack/mod.rs", 2, "attack", "error"),
        imp("src/attack/mod.rs", 3, "attack", "gan"),
        imp("src/gan/mod.rs", 2, "gan", "error"),
        imp("src/gan/nets.rs", 6, "gan", "error"),
        imp("src/gan/nets.rs", 9, "gan", "attack"),
        imp("src/gan/nets.rs", 14, "gan", "plot"),
        imp("src/lib.rs", 6, "lib", "error"),
        imp("src/lib.rs", 8, "lib", "gan"),
        imp("src/plot/figure.rs", 3, "plot", "error"),
        imp("src/plot/figure.rs", 6, "plot", "gan"),
        imp("src/plot/figure.rs", 7, "plot", "error"),
        imp("src/plot/figure.rs", 12, "plot", "error"),
    ];
    want.sort();
    assert_eq!(got, want, "{report}");
    assert_eq!(
        report.violations,
        vec![Violation { import: imp("src/plot/figure.rs", 6, "plot", "gan"), from_floor: 1, to_floor: 2 }],
        "{report}"
    );
    assert_eq!(
        report.cycles,
        vec![Cycle {
            floor: 2,
            modules: vec!["attack".into(), "gan".into(), "attack".into()],
            at: vec![("src/attack/mod.rs".into(), 3), ("src/gan/nets.rs".into(), 9)],
        }],
        "{report}"
    );
    let text = report.to_string();
    assert!(text.contains("src/plot/figure.rs:6: `plot` (floor 1, canvas) imports `gan` (floor 2, models)"), "{text}");
    assert!(text.contains("cycle on floor 2, models: attack -> gan -> attack"), "{text}");
}

#[test]
fn unknown_modules_and_root_items_are_named() {
    let src = |rel: &str, text: &str| Source { rel: rel.into(), text: text.into() };
    let report = check_sources(
        &[
            src("lib.rs", "pub mod gan;\npub mod widgets;\npub use gan::Gan as G;\npub fn helper() {}\n"),
            src("gan/mod.rs", "pub struct Gan;\nfn f() { crate::helper(); }\nuse crate::G;\nuse crate::nowhere::X;\n"),
            src("widgets.rs", "use crate::gan::Gan;\n"),
        ],
        FLOORS,
    );
    let text = report.to_string();
    assert!(text.contains("src/lib.rs declares module `widgets`"), "{text}");
    assert!(text.contains("src/widgets.rs: module `widgets` is not in the floor mapping"), "{text}");
    assert!(text.contains("src/gan/mod.rs:4: `crate::nowhere`"), "{text}");
    // A function of lib.rs is on the faces floor: calling it from a model points up.
    assert_eq!(report.violations.len(), 1, "{text}");
    assert_eq!((report.violations[0].import.line, report.violations[0].import.to.as_str(), report.violations[0].to_floor), (2, "lib", 5));
    // `crate::G` is lib.rs's re-export of gan: a reference to gan itself, not an import.
    assert!(!report.imports.iter().any(|i| i.file == "src/gan/mod.rs" && i.line == 3), "{text}");
}

#[test]
fn use_trees_and_blanking() {
    let facts = read_facts(
        "use crate::{a, b::{c, self}, d::E as F};\n\
         // use crate::commented;\n\
         let s = \"crate::in_string\"; let c = '\"'; let r = r#\"crate::raw\"#;\n\
         fn f<'a>(x: &'a str) { crate::g::h(x); }\n",
    );
    let got: Vec<(Vec<String>, Option<String>, bool)> = facts
        .paths
        .iter()
        .map(|(_, p, u)| (p.segments.iter().map(|s| format!("{}@{}", s.0, s.1)).collect(), p.binds.clone(), *u))
        .collect();
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (v(&["crate@1", "a@1"]), Some("a".into()), true),
            (v(&["crate@1", "b@1", "c@1"]), Some("c".into()), true),
            (v(&["crate@1", "b@1"]), Some("b".into()), true),
            (v(&["crate@1", "d@1", "E@1"]), Some("F".into()), true),
            (v(&["crate@4", "g@4", "h@4"]), None, false),
        ]
    );
}

/// The table of ARCHITECTURE.md (rows `| \`module\` | N name | … |`) and
/// [`FLOORS`] say the same.
#[test]
fn architecture_md_lists_the_same_floors() {
    let path = manifest_dir().join("ARCHITECTURE.md");
    let md = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut table = BTreeMap::new();
    for line in md.lines().filter(|l| l.trim_start().starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(module), Some(floor)) = (cells.get(1), cells.get(2)) else { continue };
        let Some(module) = module.strip_prefix('`').and_then(|m| m.strip_suffix('`')) else { continue };
        let Some(floor) = floor.split_whitespace().next().and_then(|f| f.parse::<usize>().ok()) else { continue };
        assert!(table.insert(module.to_string(), floor).is_none(), "ARCHITECTURE.md lists `{module}` twice");
    }
    let mapping: BTreeMap<String, usize> = FLOORS.iter().map(|(m, f)| (m.to_string(), *f)).collect();
    assert_eq!(table, mapping, "ARCHITECTURE.md's module table and FLOORS in tests/architecture.rs differ");
}
