//! JSON paths, matchers and readable mismatch diffs.
//!
//! A path is `a.b[0].c`, with `[-1]` for the last element and `[name=Customs]` for the first
//! element whose `name` is `Customs`; `$` (or an empty path) is the value itself. A JSON string
//! met on the way is parsed (a notification's `message` holds serialized JSON), so
//! `message.body.releaseId` works.
//!
//! A matcher is written as YAML:
//! - a scalar or a list: equal to it (numbers compare by value, `1` equals `1.0`);
//! - a map whose keys are all matcher words: `equals`, `exists`, `regex`, `oneOf`, `contains`,
//!   `gt`, `gte`, `lt`, `lte`, `length`, `not`, `any`, `each` (several words = all must hold);
//! - any other map: each key is a path into the value and each value a matcher (a subset
//!   match: fields not named are not checked).

use std::fmt::Write as _;

use serde_json::Value;

/// Words that make a map a matcher rather than a subset of fields.
pub const MATCHER_WORDS: &[&str] = &[
    "equals", "exists", "regex", "oneOf", "one_of", "contains", "gt", "gte", "lt", "lte", "length",
    "not", "any", "each",
];

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Key(String),
    Index(i64),
    /// `[field=value]`: the first array element whose `field` renders as `value`.
    Filter(String, String),
}

/// Parse `a.b[0].c[name=Customs]`; `$`, `$.a` and `` (empty) are rooted at the value itself.
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let path = path.trim();
    let path = path.strip_prefix('$').unwrap_or(path);
    let path = path.strip_prefix('.').unwrap_or(path);
    let mut out = Vec::new();
    let mut chars = path.char_indices().peekable();
    let mut key = String::new();
    while let Some((_, c)) = chars.next() {
        match c {
            '.' => {
                if !key.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut key)));
                }
            }
            '[' => {
                if !key.is_empty() {
                    out.push(Segment::Key(std::mem::take(&mut key)));
                }
                let mut inner = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(c);
                }
                if !closed {
                    return Err(format!("unclosed `[` in path `{path}`"));
                }
                let inner = inner.trim();
                if let Some((field, value)) = inner.split_once('=') {
                    out.push(Segment::Filter(
                        field.trim().to_owned(),
                        value.trim().trim_matches(['"', '\'']).to_owned(),
                    ));
                } else if let Ok(index) = inner.parse::<i64>() {
                    out.push(Segment::Index(index));
                } else {
                    return Err(format!(
                        "`[{inner}]` in path `{path}` is neither an index nor field=value"
                    ));
                }
            }
            _ => key.push(c),
        }
    }
    if !key.is_empty() {
        out.push(Segment::Key(key));
    }
    Ok(out)
}

/// A JSON string holding an object or an array, parsed.
fn parsed(value: &Value) -> Option<Value> {
    match value {
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            serde_json::from_str(s).ok()
        }
        _ => None,
    }
}

fn render_scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn step<'a>(value: &'a Value, segment: &Segment) -> Option<&'a Value> {
    match (segment, value) {
        (Segment::Key(k), Value::Object(map)) => map.get(k),
        (Segment::Key(k), Value::Array(items)) => {
            k.parse::<usize>().ok().and_then(|i| items.get(i))
        }
        (Segment::Index(i), Value::Array(items)) => {
            let idx = if *i < 0 {
                items.len().checked_sub(i.unsigned_abs() as usize)?
            } else {
                *i as usize
            };
            items.get(idx)
        }
        (Segment::Filter(field, want), Value::Array(items)) => items
            .iter()
            .find(|item| item.get(field).map(render_scalar).as_deref() == Some(want.as_str())),
        _ => None,
    }
}

/// The value at `segments` inside `root`, parsing JSON strings on the way.
pub fn lookup(root: &Value, segments: &[Segment]) -> Option<Value> {
    let mut current: std::borrow::Cow<'_, Value> = std::borrow::Cow::Borrowed(root);
    for segment in segments {
        let next = match step(&current, segment) {
            Some(v) => v.clone(),
            None => {
                let reparsed = parsed(&current)?;
                step(&reparsed, segment)?.clone()
            }
        };
        current = std::borrow::Cow::Owned(next);
    }
    Some(current.into_owned())
}

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Path from the checked document's root (`` for the root).
    pub path: String,
    /// What was expected and what came, in words.
    pub message: String,
    /// For equality checks: the expected value, used to draw the diff.
    pub expected: Option<Value>,
}

fn join(parent: &str, key: &str) -> String {
    let key = key.strip_prefix("$.").unwrap_or(key);
    if key == "$" || key.is_empty() {
        parent.to_owned()
    } else if parent.is_empty() {
        key.to_owned()
    } else if key.starts_with('[') {
        format!("{parent}{key}")
    } else {
        format!("{parent}.{key}")
    }
}

/// Compact JSON for messages, shortened when long.
pub fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}...")
    } else {
        text
    }
}

fn show_opt(value: Option<&Value>) -> String {
    match value {
        Some(v) => show(v),
        None => "nothing (the field is missing)".to_owned(),
    }
}

/// Deep equality; numbers compare by value.
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Whether a YAML map is a matcher (all keys are matcher words).
pub fn is_matcher(map: &serde_json::Map<String, Value>) -> bool {
    !map.is_empty() && map.keys().all(|k| MATCHER_WORDS.contains(&k.as_str()))
}

/// Check `actual` (None = missing) against `spec`; mismatches are appended to `out`.
pub fn check(spec: &Value, actual: Option<&Value>, path: &str, out: &mut Vec<Mismatch>) {
    match spec {
        Value::Object(map) if is_matcher(map) => {
            for (word, arg) in map {
                check_word(word, arg, actual, path, out);
            }
        }
        Value::Object(map) => {
            let Some(actual) = actual else {
                out.push(Mismatch {
                    path: path.to_owned(),
                    message: format!("expected {}, got {}", show(spec), show_opt(None)),
                    expected: None,
                });
                return;
            };
            let reparsed = parsed(actual);
            let base = reparsed.as_ref().unwrap_or(actual);
            for (key, sub) in map {
                let sub_path = join(path, key);
                match parse_path(key) {
                    Ok(segments) => {
                        let found = lookup(base, &segments);
                        check(sub, found.as_ref(), &sub_path, out);
                    }
                    Err(e) => out.push(Mismatch {
                        path: sub_path,
                        message: e,
                        expected: None,
                    }),
                }
            }
        }
        _ => {
            if !actual.is_some_and(|a| json_eq(spec, a)) {
                out.push(Mismatch {
                    path: path.to_owned(),
                    message: format!("expected {}, got {}", show(spec), show_opt(actual)),
                    expected: Some(spec.clone()),
                });
            }
        }
    }
}

fn passes(spec: &Value, actual: Option<&Value>) -> bool {
    let mut scratch = Vec::new();
    check(spec, actual, "", &mut scratch);
    scratch.is_empty()
}

fn fail(out: &mut Vec<Mismatch>, path: &str, message: String) {
    out.push(Mismatch {
        path: path.to_owned(),
        message,
        expected: None,
    });
}

fn check_word(
    word: &str,
    arg: &Value,
    actual: Option<&Value>,
    path: &str,
    out: &mut Vec<Mismatch>,
) {
    match word {
        "equals" => {
            if !actual.is_some_and(|a| json_eq(arg, a)) {
                out.push(Mismatch {
                    path: path.to_owned(),
                    message: format!("expected {}, got {}", show(arg), show_opt(actual)),
                    expected: Some(arg.clone()),
                });
            }
        }
        "exists" => {
            let want = arg.as_bool().unwrap_or(true);
            let present = actual.is_some_and(|a| !a.is_null());
            if want && !present {
                fail(
                    out,
                    path,
                    format!("expected a value, got {}", show_opt(actual)),
                );
            } else if !want && present {
                fail(
                    out,
                    path,
                    format!("expected no value, got {}", show_opt(actual)),
                );
            }
        }
        "regex" => {
            let pattern = render_scalar(arg);
            match regex::Regex::new(&pattern) {
                Err(e) => fail(out, path, format!("bad regex `{pattern}`: {e}")),
                Ok(re) => match actual {
                    Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => {
                        if !re.is_match(&render_scalar(v)) {
                            fail(
                                out,
                                path,
                                format!("expected to match /{pattern}/, got {}", show(v)),
                            );
                        }
                    }
                    other => fail(
                        out,
                        path,
                        format!(
                            "expected text matching /{pattern}/, got {}",
                            show_opt(other)
                        ),
                    ),
                },
            }
        }
        "oneOf" | "one_of" => {
            let options = arg.as_array().cloned().unwrap_or_else(|| vec![arg.clone()]);
            if !actual.is_some_and(|a| options.iter().any(|o| json_eq(o, a))) {
                fail(
                    out,
                    path,
                    format!("expected one of {}, got {}", show(arg), show_opt(actual)),
                );
            }
        }
        "contains" => {
            let ok = match actual {
                Some(Value::String(s)) => s.contains(&render_scalar(arg)),
                Some(Value::Array(items)) => items.iter().any(|i| passes(arg, Some(i))),
                Some(v @ Value::Object(_)) => passes(arg, Some(v)),
                _ => false,
            };
            if !ok {
                fail(
                    out,
                    path,
                    format!(
                        "expected to contain {}, got {}",
                        show(arg),
                        show_opt(actual)
                    ),
                );
            }
        }
        "gt" | "gte" | "lt" | "lte" => {
            let (Some(limit), Some(value)) = (arg.as_f64(), actual.and_then(Value::as_f64)) else {
                fail(
                    out,
                    path,
                    format!(
                        "expected a number {word} {}, got {}",
                        show(arg),
                        show_opt(actual)
                    ),
                );
                return;
            };
            let ok = match word {
                "gt" => value > limit,
                "gte" => value >= limit,
                "lt" => value < limit,
                _ => value <= limit,
            };
            if !ok {
                let sign = match word {
                    "gt" => ">",
                    "gte" => ">=",
                    "lt" => "<",
                    _ => "<=",
                };
                fail(
                    out,
                    path,
                    format!(
                        "expected a number {sign} {}, got {}",
                        show(arg),
                        show(actual.unwrap_or(&Value::Null))
                    ),
                );
            }
        }
        "length" => {
            let len = match actual {
                Some(Value::Array(a)) => Some(a.len()),
                Some(Value::String(s)) => Some(s.chars().count()),
                Some(Value::Object(o)) => Some(o.len()),
                _ => None,
            };
            match len {
                None => fail(
                    out,
                    path,
                    format!("expected something with a length, got {}", show_opt(actual)),
                ),
                Some(len) => {
                    let len_value = Value::from(len);
                    if !passes(arg, Some(&len_value)) {
                        fail(
                            out,
                            path,
                            format!("expected length {}, got length {len}", show(arg)),
                        );
                    }
                }
            }
        }
        "not" => {
            if passes(arg, actual) {
                fail(
                    out,
                    path,
                    format!("expected not {}, got {}", show(arg), show_opt(actual)),
                );
            }
        }
        "any" => match actual {
            Some(Value::Array(items)) if items.iter().any(|i| passes(arg, Some(i))) => {}
            Some(Value::Array(items)) => fail(
                out,
                path,
                format!(
                    "expected an element matching {}, none of {} did",
                    show(arg),
                    items.len()
                ),
            ),
            other => fail(
                out,
                path,
                format!("expected a list, got {}", show_opt(other)),
            ),
        },
        "each" => match actual {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    check(arg, Some(item), &format!("{path}[{i}]"), out);
                }
            }
            other => fail(
                out,
                path,
                format!("expected a list, got {}", show_opt(other)),
            ),
        },
        other => fail(out, path, format!("unknown matcher `{other}`")),
    }
}

/// Set `value` at `segments` inside `root`, creating object keys; false when impossible.
fn set_path(root: &mut Value, segments: &[Segment], value: Value) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        *root = value;
        return true;
    };
    let child = match (first, &mut *root) {
        (Segment::Key(k), Value::Object(map)) => {
            if rest.is_empty() {
                map.insert(k.clone(), value);
                return true;
            }
            match map.get_mut(k) {
                Some(c) => c,
                None => return false,
            }
        }
        (Segment::Index(i), Value::Array(items)) => {
            let idx = if *i < 0 {
                match items.len().checked_sub(i.unsigned_abs() as usize) {
                    Some(idx) => idx,
                    None => return false,
                }
            } else {
                *i as usize
            };
            match items.get_mut(idx) {
                Some(c) => c,
                None => return false,
            }
        }
        (Segment::Filter(field, want), Value::Array(items)) => {
            match items
                .iter_mut()
                .find(|item| item.get(field).map(render_scalar).as_deref() == Some(want.as_str()))
            {
                Some(c) => c,
                None => return false,
            }
        }
        _ => return false,
    };
    set_path(child, rest, value)
}

/// A unified diff between the document as expected (the actual one with each failed equality
/// replaced by its expected value) and the actual document; None when nothing can be drawn.
pub fn diff(actual: &Value, mismatches: &[Mismatch]) -> Option<String> {
    if !matches!(actual, Value::Object(_) | Value::Array(_)) {
        return None;
    }
    let mut expected = actual.clone();
    let mut changed = false;
    for m in mismatches {
        let (Some(value), Ok(segments)) = (&m.expected, parse_path(&m.path)) else {
            continue;
        };
        changed |= set_path(&mut expected, &segments, value.clone());
    }
    if !changed {
        return None;
    }
    let expected_text = serde_json::to_string_pretty(&expected).ok()? + "\n";
    let actual_text = serde_json::to_string_pretty(actual).ok()? + "\n";
    if expected_text == actual_text {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&expected_text, &actual_text);
    let mut out = String::new();
    let _ = write!(
        out,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header("expected", "actual")
    );
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(spec: Value, actual: Value) -> Vec<Mismatch> {
        let mut out = Vec::new();
        check(&spec, Some(&actual), "", &mut out);
        out
    }

    #[test]
    fn paths() {
        let doc = json!({"a": [{"name": "Customs", "value": "RELEASED"}, {"name": "X", "n": 2}], "m": "{\"b\": {\"c\": 5}}"});
        let get = |p: &str| lookup(&doc, &parse_path(p).unwrap());
        assert_eq!(get("a[0].value"), Some(json!("RELEASED")));
        assert_eq!(get("a[-1].n"), Some(json!(2)));
        assert_eq!(get("a[name=Customs].value"), Some(json!("RELEASED")));
        assert_eq!(get("a.1.n"), Some(json!(2)));
        assert_eq!(get("m.b.c"), Some(json!(5)));
        assert_eq!(get("$"), Some(doc.clone()));
        assert_eq!(get("a[5]"), None);
        assert!(parse_path("a[x").is_err());
        assert!(parse_path("a[x]").is_err());
    }

    #[test]
    fn equality_and_subsets() {
        assert!(run(json!(202), json!(202.0)).is_empty());
        assert!(run(
            json!({"a.b": 1, "c": "x"}),
            json!({"a": {"b": 1}, "c": "x", "d": 0})
        )
        .is_empty());
        let m = run(
            json!({"releaseIdentification[0].isValid": true}),
            json!({"releaseIdentification": [{"isValid": false}]}),
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].path, "releaseIdentification[0].isValid");
        assert_eq!(m[0].message, "expected true, got false");
        let m = run(json!({"x": 1}), json!({}));
        assert_eq!(
            m[0].message,
            "expected 1, got nothing (the field is missing)"
        );
    }

    #[test]
    fn matcher_words() {
        assert!(run(json!({"exists": true}), json!("x")).is_empty());
        assert!(!run(json!({"exists": true}), json!(null)).is_empty());
        assert!(run(json!({"a": {"exists": false}}), json!({})).is_empty());
        assert!(run(
            json!({"regex": "^[0-9a-f-]{36}$"}),
            json!("3fa85f64-5717-4562-b3fc-2c963f66afa6")
        )
        .is_empty());
        assert!(!run(json!({"regex": "^x$"}), json!("y")).is_empty());
        assert!(run(json!({"oneOf": [200, 202]}), json!(202)).is_empty());
        assert!(!run(json!({"oneOf": [200, 202]}), json!(400)).is_empty());
        assert!(run(
            json!({"contains": "Alfapass"}),
            json!("Invalid Alfapass number")
        )
        .is_empty());
        assert!(run(
            json!({"contains": {"event": "Release"}}),
            json!([{"event": "Release", "x": 1}])
        )
        .is_empty());
        assert!(run(json!({"gte": 2, "lt": 3}), json!(2)).is_empty());
        assert!(!run(json!({"gt": 2}), json!(2)).is_empty());
        assert!(run(json!({"length": 2}), json!([1, 2])).is_empty());
        assert!(run(json!({"length": {"gte": 1}}), json!([1])).is_empty());
        assert!(run(json!({"not": "x"}), json!("y")).is_empty());
        assert!(run(
            json!({"any": {"event": "A"}}),
            json!([{"event": "B"}, {"event": "A"}])
        )
        .is_empty());
        assert_eq!(
            run(
                json!({"each": {"ok": true}}),
                json!([{"ok": true}, {"ok": false}])
            )[0]
            .path,
            "[1].ok"
        );
        // `type` is a field, not a matcher word.
        assert!(run(
            json!({"type": "ReleaseLight"}),
            json!({"type": "ReleaseLight"})
        )
        .is_empty());
    }

    #[test]
    fn diff_shows_expected_against_actual() {
        let actual = json!({"alfapassNumber": "123", "releaseIdentification": [{"isValid": false, "status": "BLOCKED"}]});
        let m = run(
            json!({"releaseIdentification[0].isValid": true}),
            actual.clone(),
        );
        let d = diff(&actual, &m).unwrap();
        assert!(d.contains("-      \"isValid\": true,"), "{d}");
        assert!(d.contains("+      \"isValid\": false,"), "{d}");
        assert!(d.starts_with("--- expected\n+++ actual\n"), "{d}");
    }
}
