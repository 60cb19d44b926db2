//! Imports run one way (issue 18): within each crate, no module uses a module that uses it,
//! directly or through others, so that each module can be read knowing only those below it.
//!
//! A module's edges are its `use` declarations and paths (`crate::`, `super::`, `self::`, and a
//! parent's bare paths into the children it declares), its tests included: a `tests` child
//! (inline or a `#[path]` file) belongs to the module it tests. The crate root may re-export any
//! module (`pub use`, the crate's public face); its other code counts like any module's.
//! Comments are not read, so rustdoc links may point anywhere. Directions chosen:
//! docs/status.md, "Module layout".
//!
//! The check reads the sources with a small tokenizer instead of a Rust parser (no dependency
//! for xtask); the last test checks it on synthetic sources.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates checked, by their directory in the workspace.
const CRATES: [&str; 6] = ["dsp", "engine", "cli", "plugin", "xtask", "tests/support"];

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    /// `::`
    PathSep,
    Punct(char),
}

/// Tokens with their line numbers; comments dropped, string literals reduced to `Str` (their
/// text is needed only for `#[path = ".."]`), char literals dropped.
fn tokenize(src: &str) -> Vec<(Token, usize)> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let (mut tokens, mut i, mut line) = (Vec::new(), 0, 1);
    while i < c.len() {
        // A string literal opens with `"`, or `b`, `r`, `br` and raw `#`s before the quote.
        let mut q = i + usize::from(at(i) == 'b');
        let raw = at(q) == 'r';
        q += usize::from(raw);
        let hashes = (q..).take_while(|&k| at(k) == '#').count();
        if at(q + hashes) == '"' && (q > i || at(i) == '"') {
            let open = q + hashes + 1;
            let mut j = open;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#')) {
                j += if !raw && c[j] == '\\' { 2 } else { 1 };
            }
            let end = j.min(c.len());
            tokens.push((Token::Str(c[open..end].iter().collect()), line));
            line += c[i..end].iter().filter(|&&ch| ch == '\n').count();
            i = end + 1 + hashes;
        } else if at(i) == '/' && at(i + 1) == '/' {
            i += (i..).take_while(|&k| k < c.len() && c[k] != '\n').count();
        } else if at(i) == '/' && at(i + 1) == '*' {
            // Block comments nest.
            let mut depth = 0;
            while i < c.len() {
                match (c[i], at(i + 1)) {
                    ('/', '*') => (depth, i) = (depth + 1, i + 2),
                    ('*', '/') => (depth, i) = (depth - 1, i + 2),
                    (ch, _) => (line, i) = (line + usize::from(ch == '\n'), i + 1),
                }
                if depth == 0 {
                    break;
                }
            }
        } else if at(i) == '\'' {
            // A char literal ('x', '\n', '\'', '\u{..}'), or a lifetime ('a: no closing quote).
            i += match (at(i + 1), at(i + 2)) {
                ('\\', _) => {
                    4 + (i + 3..)
                        .take_while(|&k| k < c.len() && c[k] != '\'')
                        .count()
                }
                (_, '\'') => 3,
                _ => 1,
            };
        } else if at(i).is_alphanumeric() || at(i) == '_' {
            let n = (i..)
                .take_while(|&k| at(k).is_alphanumeric() || at(k) == '_')
                .count();
            if !at(i).is_ascii_digit() {
                tokens.push((Token::Ident(c[i..i + n].iter().collect()), line));
            }
            i += n;
        } else if at(i) == ':' && at(i + 1) == ':' {
            tokens.push((Token::PathSep, line));
            i += 2;
        } else {
            if at(i) == '\n' {
                line += 1;
            } else if !at(i).is_whitespace() {
                tokens.push((Token::Punct(at(i)), line));
            }
            i += 1;
        }
    }
    tokens
}

fn ident(t: Option<&(Token, usize)>) -> Option<&str> {
    match t {
        Some((Token::Ident(s), _)) => Some(s),
        _ => None,
    }
}

fn is(t: Option<&(Token, usize)>, want: char) -> bool {
    matches!(t, Some((Token::Punct(c), _)) if *c == want)
}

/// Parses the path (or use tree) starting at `tokens[i]` (an identifier not preceded by `::`):
/// every full path it names, and the index after it.
fn parse_paths(
    tokens: &[(Token, usize)],
    mut i: usize,
    prefix: &[String],
) -> (Vec<Vec<String>>, usize) {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(i) {
            Some((Token::Ident(s), _)) => {
                path.push(s.clone());
                i += 1;
            }
            Some((Token::Punct('*'), _)) => return (vec![path], i + 1),
            _ => return (vec![path], i),
        }
        if tokens.get(i).map(|t| &t.0) != Some(&Token::PathSep) {
            return (vec![path], i);
        }
        i += 1;
        if is(tokens.get(i), '{') {
            // A use group: each item is a path relative to `path`.
            let mut all = Vec::new();
            i += 1;
            while i < tokens.len() && !is(tokens.get(i), '}') {
                if is(tokens.get(i), ',') {
                    i += 1;
                    continue;
                }
                let (mut paths, next) = parse_paths(tokens, i, &path);
                all.append(&mut paths);
                i = next.max(i + 1);
                // `as alias`
                if ident(tokens.get(i)) == Some("as") {
                    i += 2;
                }
            }
            return (all, i + 1);
        }
    }
}

/// Whether the path at `tokens[i]` starts a `pub use` (or `pub(crate) use`) declaration.
fn is_pub_use(tokens: &[(Token, usize)], i: usize) -> bool {
    if i < 2 || ident(tokens.get(i - 1)) != Some("use") || tokens[i - 2].0 == Token::PathSep {
        return false;
    }
    ident(tokens.get(i - 2)) == Some("pub")
        || (i >= 5 && is(tokens.get(i - 2), ')') && ident(tokens.get(i - 5)) == Some("pub"))
}

/// One source file of a crate: its path relative to `src/` and its text.
struct Source {
    rel: PathBuf,
    text: String,
}

/// The module path a file defines by its location (`a/b.rs`, `a/b/mod.rs` -> `a::b`).
fn module_of_location(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().map(String::as_str) == Some("mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The node a module belongs to: a `tests` module is part of the module it tests.
fn node(module: &[String]) -> String {
    let m = match module.last() {
        Some(last) if last == "tests" => &module[..module.len() - 1],
        _ => module,
    };
    if m.is_empty() {
        "<crate root>".into()
    } else {
        m.join("::")
    }
}

/// The edges between modules: `from` -> `to` -> where (`file:line `path``) each is written.
fn module_edges(sources: &[Source]) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let tokenized: Vec<Vec<(Token, usize)>> = sources.iter().map(|s| tokenize(&s.text)).collect();
    // `#[path = "x.rs"] mod name;` puts a file at another module path.
    let mut modules: Vec<Vec<String>> =
        sources.iter().map(|s| module_of_location(&s.rel)).collect();
    for (s, tokens) in sources.iter().zip(&tokenized) {
        let parent = module_of_location(&s.rel);
        for w in tokens.windows(8) {
            if let [
                (Token::Punct('#'), _),
                (Token::Punct('['), _),
                (Token::Ident(p), _),
                (Token::Punct('='), _),
                (Token::Str(file), _),
                (Token::Punct(']'), _),
                (Token::Ident(m), _),
                (Token::Ident(name), _),
            ] = w
                && p == "path"
                && m == "mod"
            {
                let target = s.rel.parent().unwrap_or(Path::new("")).join(file);
                if let Some(k) = sources.iter().position(|o| o.rel == target) {
                    modules[k] = parent.iter().cloned().chain([name.clone()]).collect();
                }
            }
        }
    }
    let known: BTreeSet<Vec<String>> = modules.iter().cloned().collect();
    let root = modules.iter().position(|m| m.is_empty());
    // The crate root's re-exports: name -> the path it stands for.
    let mut reexports: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(r) = root {
        let tokens = &tokenized[r];
        for k in 0..tokens.len() {
            if is_pub_use(tokens, k) {
                for mut path in parse_paths(tokens, k, &[]).0 {
                    if matches!(path.first().map(String::as_str), Some("crate" | "self")) {
                        path.remove(0);
                    }
                    if let Some(name) = path.last() {
                        reexports.insert(name.clone(), path.clone());
                    }
                }
            }
        }
    }
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        let mut longest: Vec<String> = Vec::new();
        for n in 1..=path.len() {
            if known.contains(&path[..n]) {
                longest = path[..n].to_vec();
            }
        }
        if longest.is_empty()
            && let Some(target) = path.first().and_then(|name| reexports.get(name))
        {
            // Through the root's re-export, to where it points (nowhere for another crate).
            return known.contains(&target[..1]).then(|| target[..1].to_vec());
        }
        Some(longest)
    };

    let mut edges: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for ((s, tokens), module) in sources.iter().zip(&tokenized).zip(&modules) {
        let from = node(module);
        // Children declared in this file (`mod name;`), which its top level may name bare.
        let children: BTreeSet<&str> = tokens
            .windows(3)
            .filter(|w| ident(w.first()) == Some("mod") && is(w.get(2), ';'))
            .filter_map(|w| ident(w.get(1)))
            .collect();
        // Inline `mod name { .. }` blocks: (name, brace depth inside).
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut depth = 0;
        let mut i = 0;
        while i < tokens.len() {
            let t = &tokens[i];
            if is(Some(t), '{') {
                depth += 1;
            } else if is(Some(t), '}') {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            if ident(Some(t)) == Some("mod")
                && let Some(name) = ident(tokens.get(i + 1))
                && is(tokens.get(i + 2), '{')
            {
                inline.push((name.to_string(), depth + 1));
            }
            let Some(word) = ident(Some(t)) else {
                i += 1;
                continue;
            };
            let after_sep = i > 0 && tokens[i - 1].0 == Token::PathSep;
            let starts_path = !after_sep
                && tokens.get(i + 1).map(|t| &t.0) == Some(&Token::PathSep)
                && (matches!(word, "crate" | "super" | "self")
                    || (inline.is_empty() && children.contains(word)));
            if !starts_path {
                i += 1;
                continue;
            }
            // The root's `pub use` lines are its public face, not a use of the module.
            let reexport = module.is_empty() && is_pub_use(tokens, i);
            let (paths, next) = parse_paths(tokens, i, &[]);
            let scope: Vec<String> = module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _)| n.clone()))
                .collect();
            for path in paths {
                let mut absolute = scope.clone();
                let mut rest = path.as_slice();
                match rest.first().map(String::as_str) {
                    Some("crate") => {
                        absolute.clear();
                        rest = &rest[1..];
                    }
                    Some("self") => rest = &rest[1..],
                    _ => {}
                }
                while rest.first().map(String::as_str) == Some("super") {
                    absolute.pop();
                    rest = &rest[1..];
                }
                absolute.extend(rest.iter().cloned());
                let Some(target) = resolve(&absolute) else {
                    continue;
                };
                let to = node(&target);
                if to != from && !reexport {
                    let place =
                        format!("{}:{} `{}`", s.rel.display(), tokens[i].1, path.join("::"));
                    edges
                        .entry(from.clone())
                        .or_default()
                        .entry(to)
                        .or_default()
                        .push(place);
                }
            }
            i = next.max(i + 1);
        }
    }
    edges
}

/// The groups of modules that reach each other, each with the references that tie it.
fn cycles(sources: &[Source]) -> Vec<String> {
    let edges = module_edges(sources);
    // Every module each one reaches, directly or through others (a few dozen modules a crate).
    let reach = |start: &String| {
        let mut seen: BTreeSet<&String> = BTreeSet::new();
        let mut todo = vec![start];
        while let Some(n) = todo.pop() {
            for to in edges.get(n).into_iter().flat_map(|e| e.keys()) {
                if seen.insert(to) {
                    todo.push(to);
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<&String>> =
        edges.keys().map(|n| (n, reach(n))).collect();
    let mut groups: BTreeSet<BTreeSet<&String>> = BTreeSet::new();
    for (n, seen) in &reached {
        let group: BTreeSet<&String> = seen
            .iter()
            .filter(|m| reached.get(*m).is_some_and(|back| back.contains(n)))
            .copied()
            .collect();
        if !group.is_empty() {
            groups.insert(group);
        }
    }
    groups
        .iter()
        .map(|group| {
            let names: Vec<&str> = group.iter().map(|s| s.as_str()).collect();
            let mut text = format!("{}:", names.join(" <-> "));
            for from in group {
                for (to, refs) in &edges[*from] {
                    if group.contains(to) {
                        let more = match refs.len() {
                            1 => String::new(),
                            n => format!(" and {} more", n - 1),
                        };
                        text += &format!("\n    {from} -> {to} ({}{more})", refs[0]);
                    }
                }
            }
            text
        })
        .collect()
}

fn read_sources(dir: &Path, src: &Path, out: &mut Vec<Source>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            read_sources(&path, src, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(Source {
                rel: path.strip_prefix(src).expect("under src").to_path_buf(),
                text: std::fs::read_to_string(&path).expect("readable source"),
            });
        }
    }
}

#[test]
fn modules_import_one_way_in_every_crate() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace");
    let mut found = Vec::new();
    for krate in CRATES {
        let src = workspace.join(krate).join("src");
        let mut sources = Vec::new();
        read_sources(&src, &src, &mut sources);
        assert!(
            module_edges(&sources).len() > 1 || krate == "tests/support",
            "{krate}: no module edges found; is the tokenizer broken?"
        );
        found.extend(
            cycles(&sources)
                .into_iter()
                .map(|c| format!("{krate}: {c}")),
        );
    }
    assert!(
        found.is_empty(),
        "modules that use each other (give each pair a direction: move what both need into the \
         lower one or a module of its own):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_cycles_and_lets_tests_and_reexports_be() {
    let src = |rel: &str, text: &str| Source {
        rel: PathBuf::from(rel),
        text: text.into(),
    };
    let sources = [
        src(
            "lib.rs",
            "mod a; mod b; mod c; pub mod d; #[cfg(test)] mod t;\n\
             pub use a::{A, inner::{B as Bee}};\npub const N: usize = 1;",
        ),
        // a -> c through a use group; c -> a through the root's re-export: a cycle.
        src(
            "a.rs",
            "use crate::{c::C, N};\npub struct A; // crate::b::x\n",
        ),
        src(
            "b.rs",
            r##"fn f() -> usize { crate::N + "crate::c::C".len() + r#"x "crate::c" y"#.len() }
                fn g() -> bool { '"' == '\'' }
                #[path = "b_tests.rs"]
                mod tests;"##,
        ),
        src("b_tests.rs", "use super::*; use crate::t::helper;"),
        src(
            "c.rs",
            "use crate::{A as _, b::{self}}; pub struct C;\nmod tests { use super::super::a::A; }",
        ),
        // A parent whose child uses it, and which uses the child: a cycle.
        src("d/mod.rs", "mod e; pub use e::E; pub(crate) fn g() {}"),
        src(
            "d/e.rs",
            "pub struct E; fn h() { super::g(); let _ = '{'; }",
        ),
        src("t.rs", "pub fn helper() {}"),
    ];
    let mut found = cycles(&sources);
    found.sort();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with("a <-> c:"), "{}", found[0]);
    assert!(
        found[0].contains("a -> c (a.rs:1 `crate::c::C`)"),
        "{}",
        found[0]
    );
    assert!(
        found[0].contains("c -> a (c.rs:1 `crate::A`"),
        "{}",
        found[0]
    );
    assert!(found[1].starts_with("d <-> d::e:"), "{}", found[1]);
    let edges = module_edges(&sources);
    // b's tests (a #[path] file) are b's; strings and comments are not read.
    assert_eq!(edges["b"].keys().collect::<Vec<_>>(), ["<crate root>", "t"]);
    assert!(
        !edges.contains_key("<crate root>"),
        "re-exports only: {:?}",
        edges.get("<crate root>")
    );
}
