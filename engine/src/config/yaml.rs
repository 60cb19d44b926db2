//! Reading YAML with positions, for configs and cluster files alike: deserialising with the
//! field path kept, and errors that start with `file:line:column` and name the field. A module of
//! its own below both readers, so that `cluster_file` does not reach up into the config module
//! that uses it (imports run one way).

use crate::error::{Error, Result};
use serde_saphyr::{Location, Spanned};
use std::path::Path;

/// A position in a file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pos {
    pub line: u64,
    pub column: u64,
}

impl From<Location> for Pos {
    fn from(l: Location) -> Pos {
        Pos {
            line: l.line(),
            column: l.column(),
        }
    }
}

pub(super) fn pos<T>(s: &Spanned<T>) -> Pos {
    s.referenced.into()
}

/// A config error at `pos` in `file`, naming `field`.
pub(crate) fn field_error(
    file: &Path,
    pos: Pos,
    field: &str,
    message: impl std::fmt::Display,
) -> Error {
    Error::Config(format!(
        "{}:{}:{}: field `{field}`: {message}",
        file.display(),
        pos.line,
        pos.column
    ))
}

/// Deserializes `text` (read from `path`), reporting errors with position and field path.
pub(crate) fn deserialize_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
) -> Result<T> {
    let mut field = String::new();
    serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            // `Spanned` wraps values in a synthesized `value` field: leave it out of the path.
            field = e
                .path()
                .to_string()
                .replace(".value", "")
                .trim_start_matches("value")
                .trim_start_matches('.')
                .to_string();
            e.into_inner()
        })
    })
    .map_err(|e| yaml_error(path, &e, &field))
}

/// A YAML or serde error with its position (and the field path, when known).
fn yaml_error(path: &Path, e: &serde_saphyr::Error, field: &str) -> Error {
    let field = field.trim_end_matches(".?");
    let field = if field.is_empty() || field == "?" {
        String::new()
    } else {
        format!("field `{field}`: ")
    };
    let plain = e
        .render_with_options({
            let mut options = serde_saphyr::RenderOptions::default();
            options.snippets = serde_saphyr::SnippetMode::Off;
            options
        })
        .to_string();
    match e.location() {
        Some(l) => {
            // The plain rendering ends with " at line L column C"; the prefix says it already.
            let message = plain
                .rsplit_once(" at line ")
                .map(|(m, _)| m.to_string())
                .unwrap_or(plain);
            let message = friendly(&message);
            Error::Config(format!(
                "{}:{}:{}: {field}{message}",
                path.display(),
                l.line(),
                l.column()
            ))
        }
        None => Error::Config(format!("{}: {field}{plain}", path.display())),
    }
}

/// The parser's words for type errors, in the words of a config file's author.
fn friendly(message: &str) -> String {
    const PHRASES: [(&str, &str); 7] = [
        (
            "expected sequence start",
            "expected a list (`[a, b]`, or one `- item` per line)",
        ),
        (
            "expected mapping start",
            "expected a mapping (`key: value` lines)",
        ),
        ("invalid floating point", "expected a number"),
        ("invalid u64", "expected a non-negative integer"),
        ("invalid i64", "expected an integer"),
        ("expected string scalar", "expected a name (a string)"),
        (", set DuplicateKeyPolicy in Options if acceptable", ""),
    ];
    let mut out = message.to_string();
    for (from, to) in PHRASES {
        out = out.replace(from, to);
    }
    out
}
