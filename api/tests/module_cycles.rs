//! The api crate's modules must not import each other in a cycle: a module that reaches, through
//! its `crate::`, `super::`, `self::` and child-module paths, a module that reaches it back
//! cannot be understood, moved or tested on its own.
//!
//! The check reads the sources (no compiler help, no dependencies): it follows `mod` declarations
//! from `src/lib.rs` to find one module per file, strips comments, literals and `#[cfg(test)]`
//! items (tests may reach anywhere), collects every path each file names (in `use` trees, code
//! and macro arguments alike), resolves each to the deepest file module it falls in, and finds
//! the strongly connected components of that graph (Tarjan). Run it alone with
//! `cargo test -p revcycle-api --test module_cycles`; a failure lists each cycle's modules and
//! the paths that tie them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[test]
fn api_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = ModuleGraph::read(&src.join("lib.rs"));
    assert!(
        graph.modules.len() > 40,
        "every api file is found ({} modules)",
        graph.modules.len()
    );
    let cycles = graph.cycles();
    assert!(cycles.is_empty(), "{}", graph.describe(&cycles));
}

/// The check itself finds a cycle, through `super::` and a glob, and only a real one.
#[test]
fn a_cycle_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("a")).unwrap();
    let write = |p: &str, s: &str| std::fs::write(root.join(p), s).unwrap();
    write(
        "lib.rs",
        "pub mod a;\npub mod b;\npub mod c;\n#[cfg(test)]\nmod t;\n",
    );
    // a -> a::inner (child path) -> a (super::*), and b -> c with nothing back.
    write("a/mod.rs", "mod inner;\npub fn f() { inner::g() }\n");
    write("a/inner.rs", "use super::*;\npub fn g() {}\n");
    write(
        "b.rs",
        "// crate::a::f() in a comment is no edge\nuse crate::{c::{self, h}};\n\
         pub fn b() { let _ = \"crate::a\"; h() }\n\
         #[cfg(test)]\nmod tests { use crate::a::f; }\n",
    );
    write("c.rs", "pub fn h() {}\n");
    write("t.rs", "use crate::b::b;\n");
    let graph = ModuleGraph::read(&root.join("lib.rs"));
    let cycles = graph.cycles();
    assert_eq!(
        cycles,
        vec![vec!["a".to_string(), "a::inner".to_string()]],
        "{}",
        graph.describe(&cycles)
    );
    assert!(graph.edges["b"].contains_key("c"));
    assert!(
        !graph.edges["b"].contains_key("a"),
        "comments, strings and tests are no edges"
    );
    assert!(
        !graph.modules.contains_key("t"),
        "a test-only module is left out"
    );
}

/// One module per file, named by its path from the crate root (`routes::claims`).
struct ModuleGraph {
    modules: BTreeMap<String, PathBuf>,
    /// From module, to module, and the paths that make the edge.
    edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl ModuleGraph {
    fn read(lib: &Path) -> ModuleGraph {
        let mut modules = BTreeMap::new();
        let mut sources = BTreeMap::new();
        let mut pending = vec![(Vec::<String>::new(), lib.to_path_buf())];
        while let Some((path, file)) = pending.pop() {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let tokens = without_test_items(tokenize(&text));
            // Children of `x.rs` live in `x/`; of `lib.rs` and `mod.rs`, next to them.
            let stem = file.file_stem().unwrap().to_str().unwrap();
            let dir = if path.is_empty() || stem == "mod" {
                file.parent().unwrap().to_path_buf()
            } else {
                file.parent().unwrap().join(stem)
            };
            for child in file_modules(&tokens) {
                let flat = dir.join(format!("{child}.rs"));
                let nested = dir.join(&child).join("mod.rs");
                let child_file = if flat.exists() { flat } else { nested };
                let mut child_path = path.clone();
                child_path.push(child);
                pending.push((child_path, child_file));
            }
            modules.insert(path.join("::"), file);
            sources.insert(path, tokens);
        }
        let known: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
        let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (path, tokens) in &sources {
            let from = path.join("::");
            let out = edges.entry(from.clone()).or_default();
            for (scope, named) in named_paths(tokens) {
                let mut here = path.clone();
                here.extend(scope);
                let Some(target) = resolve(&here, &named, &known) else {
                    continue;
                };
                // The crate root only declares modules; a path that stops there names none.
                if target != *path && !target.is_empty() {
                    out.entry(target.join("::"))
                        .or_default()
                        .insert(named.join("::"));
                }
            }
        }
        ModuleGraph { modules, edges }
    }

    /// Strongly connected components of more than one module, each sorted, in name order.
    fn cycles(&self) -> Vec<Vec<String>> {
        struct Tarjan<'a> {
            graph: &'a ModuleGraph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            found: Vec<Vec<String>>,
        }
        impl<'a> Tarjan<'a> {
            fn visit(&mut self, v: &'a str) {
                let i = self.index.len();
                self.index.insert(v, i);
                self.low.insert(v, i);
                self.stack.push(v);
                self.on_stack.insert(v);
                for w in self.graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                    if !self.index.contains_key(w.as_str()) {
                        self.visit(w);
                        let lw = self.low[w.as_str()];
                        let lv = self.low.get_mut(v).unwrap();
                        *lv = (*lv).min(lw);
                    } else if self.on_stack.contains(w.as_str()) {
                        let iw = self.index[w.as_str()];
                        let lv = self.low.get_mut(v).unwrap();
                        *lv = (*lv).min(iw);
                    }
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    loop {
                        let w = self.stack.pop().unwrap();
                        self.on_stack.remove(w);
                        component.push(w.to_string());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        self.found.push(component);
                    }
                }
            }
        }
        let mut t = Tarjan {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            found: Vec::new(),
        };
        for m in self.modules.keys() {
            if !t.index.contains_key(m.as_str()) {
                t.visit(m);
            }
        }
        t.found.sort();
        t.found
    }

    fn describe(&self, cycles: &[Vec<String>]) -> String {
        let mut s = format!("{} import cycle(s) among the api modules:\n", cycles.len());
        for c in cycles {
            s.push_str(&format!("- {} modules: {}\n", c.len(), c.join(", ")));
            for from in c {
                for (to, paths) in &self.edges[from] {
                    if c.contains(to) {
                        let shown: Vec<&str> = paths.iter().map(String::as_str).take(3).collect();
                        s.push_str(&format!("    {from} -> {to} ({})\n", shown.join(", ")));
                    }
                }
            }
        }
        s
    }
}

/// The deepest file module `named` (seen from inside module `here`) falls in; `None` for paths
/// into other crates.
fn resolve(
    here: &[String],
    named: &[String],
    known: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let mut segments = named.iter().peekable();
    let mut base: Vec<String> = match segments.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segments.next();
            Vec::new()
        }
        Some("self") => {
            segments.next();
            here.to_vec()
        }
        Some("super") => {
            let mut b = here.to_vec();
            while segments.peek().map(|s| s.as_str()) == Some("super") {
                segments.next();
                b.pop();
            }
            b
        }
        // A child module of `here`, named bare (the caller only passes those).
        Some(_) => here.to_vec(),
        None => return None,
    };
    for s in segments {
        if s == "self" {
            continue;
        }
        base.push(s.clone());
    }
    // Inline modules and items are not files: climb to the file that holds them.
    while !known.contains(&base) {
        base.pop()?;
    }
    Some(base)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Path,
    Punct(char),
}

fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// Identifiers and punctuation of Rust source, without comments, strings, characters, numbers
/// and lifetimes (`::` is one token).
fn tokenize(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else if i >= c.len() {
                    break;
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(&c, i);
        } else if (ch == 'r' || ch == 'b' || ch == 'c')
            && let Some(end) = raw_or_byte_string(&c, i)
        {
            i = end;
        } else if ch == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() {
            while at(i).is_alphanumeric()
                || at(i) == '_'
                || (at(i) == '.' && at(i + 1).is_ascii_digit())
            {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            let mut word: String = c[start..i].iter().collect();
            if word == "r" && at(i) == '#' {
                // A raw identifier: r#type.
                let s = i + 1;
                i += 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
                word = c[s..i].iter().collect();
            }
            out.push(Tok::Ident(word));
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Tok::Path);
            i += 2;
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

fn skip_string(c: &[char], mut i: usize) -> usize {
    i += 1;
    while i < c.len() && c[i] != '"' {
        if c[i] == '\\' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// The end of a raw (`r"…"`, `r#"…"#`), byte (`b"…"`, `br"…"`) or C (`c"…"`) string starting
/// at `i`, if one does.
fn raw_or_byte_string(c: &[char], i: usize) -> Option<usize> {
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut j = i;
    if at(j) == 'b' || at(j) == 'c' {
        j += 1;
    }
    // Only at the start of a token: `br` inside `abr"` is no prefix.
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    if at(j) == 'r' {
        j += 1;
        let mut hashes = 0;
        while at(j) == '#' {
            hashes += 1;
            j += 1;
        }
        if at(j) != '"' {
            return None;
        }
        j += 1;
        loop {
            if j >= c.len() {
                return Some(j);
            }
            if c[j] == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#') {
                return Some(j + 1 + hashes);
            }
            j += 1;
        }
    }
    if j > i && at(j) == '"' {
        return Some(skip_string(c, j));
    }
    if j > i && at(j) == '\'' {
        // b'x', b'\n'
        let mut k = j + 1;
        if at(k) == '\\' {
            k += 1;
        }
        k += 1;
        while k < c.len() && c[k] != '\'' {
            k += 1;
        }
        return Some(k + 1);
    }
    None
}

/// The tokens without the items marked `#[cfg(test)]`.
fn without_test_items(t: Vec<Tok>) -> Vec<Tok> {
    let cfg_test = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if !t[i..].starts_with(&cfg_test) {
            out.push(t[i].clone());
            i += 1;
            continue;
        }
        i += cfg_test.len();
        // Other attributes of the same item.
        while t.get(i) == Some(&Tok::Punct('#')) {
            i = skip_group(&t, i + 1);
        }
        let to_semicolon = matches!(ident(t.get(i)), Some("use" | "const" | "static" | "type"))
            || (ident(t.get(i)) == Some("pub") && matches!(ident(t.get(i + 1)), Some("use")));
        let mut depth = 0i32;
        while i < t.len() {
            match &t[i] {
                Tok::Punct('(' | '[') => depth += 1,
                Tok::Punct(')' | ']') => depth -= 1,
                Tok::Punct('{') if !to_semicolon && depth == 0 => {
                    i = skip_group(&t, i);
                    break;
                }
                Tok::Punct('{') => depth += 1,
                Tok::Punct('}') => depth -= 1,
                Tok::Punct(';') if depth == 0 => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}

/// Past the bracketed group that opens at or after `i` (`[..]`, `(..)` or `{..}`).
fn skip_group(t: &[Tok], mut i: usize) -> usize {
    let mut depth = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The modules a file declares with `mod name;` (files of their own).
fn file_modules(t: &[Tok]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, tok) in t.iter().enumerate() {
        if tok == &Tok::Ident("mod".into())
            && let Some(name) = ident(t.get(i + 1))
            && t.get(i + 2) == Some(&Tok::Punct(';'))
        {
            out.push(name.to_string());
        }
    }
    out
}

/// Every path a file names that starts at this crate: `crate::`, `super::`, `self::`, or a
/// module the file declares, with `use` groups expanded. Each comes with the inline module it
/// is written in (relative to the file's module).
fn named_paths(t: &[Tok]) -> Vec<(Vec<String>, Vec<String>)> {
    let children: BTreeSet<String> = t
        .iter()
        .enumerate()
        .filter(|(_, tok)| **tok == Tok::Ident("mod".into()))
        .filter_map(|(i, _)| ident(t.get(i + 1)).map(str::to_string))
        .collect();
    let mut out = Vec::new();
    // Inline modules (`mod x { .. }`) the walk is in, with the brace depth each closes at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let mut i = 0;
    while i < t.len() {
        match &t[i] {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
                continue;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
                i += 1;
                continue;
            }
            Tok::Ident(w) if w == "mod" && t.get(i + 2) == Some(&Tok::Punct('{')) => {
                if let Some(name) = ident(t.get(i + 1)) {
                    inline.push((name.to_string(), depth + 1));
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        let starts = match ident(t.get(i)) {
            Some("crate" | "super" | "self") => true,
            Some(w) => children.contains(w),
            None => false,
        };
        let after_path = i > 0 && t[i - 1] == Tok::Path;
        if starts && !after_path && t.get(i + 1) == Some(&Tok::Path) {
            let scope: Vec<String> = inline.iter().map(|(n, _)| n.clone()).collect();
            let mut paths = Vec::new();
            i = use_tree(t, i, Vec::new(), &mut paths);
            out.extend(paths.into_iter().map(|p| (scope.clone(), p)));
        } else {
            i += 1;
        }
    }
    out
}

/// Reads a path or `use` tree starting at `i` under `prefix`; returns the index after it.
fn use_tree(t: &[Tok], mut i: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match t.get(i) {
            Some(Tok::Ident(w)) => {
                prefix.push(w.clone());
                i += 1;
            }
            Some(Tok::Punct('*')) => {
                out.push(prefix);
                return i + 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    match t.get(i) {
                        Some(Tok::Punct('}')) | None => return i + 1,
                        Some(Tok::Punct(',')) => i += 1,
                        Some(_) => {
                            let before = i;
                            i = use_tree(t, i, prefix.clone(), out);
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            _ => {
                if !prefix.is_empty() {
                    out.push(prefix);
                }
                return i;
            }
        }
        if t.get(i) == Some(&Tok::Path) {
            i += 1;
        } else {
            out.push(prefix);
            return i;
        }
    }
}
