//! `docs/api.md` against the answers: each example that runs one `curl` and shows its
//! answer is run, in the document's order, against a server holding the fixture year
//! (`tests/fixtures/readings-2023.csv`), and the answer's fields (JSON) or columns
//! (CSV) must be the ones shown. Values are not compared: the document's figures come
//! from its own runs. An example the test cannot run (a pipe, an uploaded file, a
//! stream) is listed with its reason; the test fails if too few examples ran.
//!
//! How a shown JSON answer is read: `…` stands for what is left out. An object holding
//! `…` is partial: its fields must exist in the answer. An object without it is whole:
//! its fields must be the answer's, neither more nor fewer (a field the answer leaves
//! out of some rows, such as `benchmarks`, may be shown or not).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{TestServer, ADMIN_TOKEN};

/// One example: the command, what is shown, and where, with the store it assumes.
struct Example {
    line: usize,
    command: String,
    lang: String,
    shown: String,
    /// Requests that put the store where the example's text says it is ("on a fresh
    /// store, May was reported as 60"), from `<!-- docs-test: PUT /v1/… {json} -->`
    /// lines just before it: invisible on the page, run before the example.
    before: Vec<String>,
}

fn examples(doc: &str) -> Vec<Example> {
    let mut blocks: Vec<(usize, String, String, Vec<String>)> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut lines = doc.lines().enumerate();
    while let Some((i, l)) = lines.next() {
        if let Some(d) = l
            .trim()
            .strip_prefix("<!-- docs-test:")
            .and_then(|d| d.strip_suffix("-->"))
        {
            pending.push(d.trim().to_string());
        } else if let Some(lang) = l.strip_prefix("```") {
            let mut body = String::new();
            for (_, l2) in lines.by_ref() {
                if l2.starts_with("```") {
                    break;
                }
                body.push_str(l2);
                body.push('\n');
            }
            blocks.push((
                i + 1,
                lang.trim().to_string(),
                body,
                std::mem::take(&mut pending),
            ));
        }
    }
    blocks
        .windows(2)
        .filter(|w| w[0].1 == "sh" && (w[1].1 == "json" || w[1].1 == "text"))
        .filter(|w| w[0].2.contains("curl "))
        .map(|w| Example {
            line: w[0].0,
            command: w[0].2.clone(),
            lang: w[1].1.clone(),
            shown: w[1].2.clone(),
            before: w[0].3.clone(),
        })
        .collect()
}

/// Splits one shell command into words: quotes, `\` line continuations, `$VAR`
/// expansion, `#` comments. `None` for what this test does not run.
fn words(cmd: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<Vec<String>, String> {
    let line = cmd.replace("\\\n", " ");
    let line = line.trim();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = line.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars>, cur: &mut String| {
        let mut name = String::new();
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced {
            chars.next();
        }
        match vars(&name) {
            Some(v) => {
                cur.push_str(&v);
                Ok(())
            }
            None => Err(format!("unknown variable ${name}")),
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                has = true;
                for c2 in chars.by_ref() {
                    if c2 == '\'' {
                        break;
                    }
                    cur.push(c2);
                }
            }
            '"' => {
                has = true;
                while let Some(c2) = chars.next() {
                    match c2 {
                        '"' => break,
                        '\\' => {
                            if let Some(c3) = chars.next() {
                                cur.push(c3);
                            }
                        }
                        '$' => expand(&mut chars, &mut cur)?,
                        other => cur.push(other),
                    }
                }
            }
            '$' => {
                has = true;
                expand(&mut chars, &mut cur)?;
            }
            '#' if !has && cur.is_empty() => {
                // A comment runs to the end of its line.
                for c2 in chars.by_ref() {
                    if c2 == '\n' {
                        break;
                    }
                }
                if chars.peek().is_some() && !out.is_empty() {
                    return Err("more than one command".into());
                }
            }
            '\n' => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
                if chars.clone().any(|c| !c.is_whitespace()) {
                    return Err("more than one command".into());
                }
            }
            '|' | ';' | '<' | '>' | '&' | '`' => return Err(format!("shell '{c}'")),
            c if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    has = false;
                }
            }
            other => {
                has = true;
                cur.push(other);
            }
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

/// A request read from a `curl` command line.
#[derive(Debug, Default)]
struct Request {
    method: Option<String>,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    get_data: Vec<(String, String)>,
    include: bool,
    get: bool,
    output: Option<String>,
}

fn request(words: &[String]) -> Result<Request, String> {
    if words.first().map(String::as_str) != Some("curl") {
        return Err("not curl".into());
    }
    let mut r = Request::default();
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        let mut next = || it.next().cloned().ok_or(format!("{w} needs a value"));
        match w.as_str() {
            "-s" | "-S" | "-sS" | "-N" | "--compressed" => {}
            "-i" | "-si" => r.include = true,
            "-G" => r.get = true,
            "-X" => r.method = Some(next()?),
            "-H" => {
                let h = next()?;
                let (k, v) = h.split_once(':').ok_or("a header without ':'")?;
                r.headers.push((k.trim().to_string(), v.trim().to_string()));
            }
            "-d" | "--data" | "--data-raw" => {
                let d = next()?;
                if d.starts_with('@') {
                    return Err("a body from a file".into());
                }
                r.body = Some(d);
            }
            "--data-urlencode" => {
                let d = next()?;
                let (k, v) = d.split_once('=').ok_or("--data-urlencode without '='")?;
                r.get_data.push((k.to_string(), v.to_string()));
            }
            "-o" => r.output = Some(next()?),
            "--data-binary" | "-F" | "-OJ" | "-O" | "-T" => {
                return Err(format!("{w}: a file"));
            }
            u if !u.starts_with('-') && r.url.is_empty() => r.url = u.to_string(),
            other => return Err(format!("curl option {other}")),
        }
    }
    if r.url.is_empty() {
        return Err("no URL".into());
    }
    Ok(r)
}

/// Reads a shown JSON answer, with each `…` outside a string made a marker: a `"…": null`
/// field in an object (the object is partial), a `"…"` value elsewhere (skipped).
fn lenient_json(shown: &str) -> Result<Value, String> {
    let mut out = String::new();
    let mut stack: Vec<char> = Vec::new();
    let mut in_str = false;
    let mut escaped = false;
    let mut last = ' ';
    for c in shown.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
                last = '"';
            }
            continue;
        }
        match c {
            '"' => {
                in_str = true;
                out.push(c);
            }
            '{' | '[' => {
                stack.push(c);
                out.push(c);
                last = c;
            }
            '}' | ']' => {
                stack.pop();
                out.push(c);
                last = c;
            }
            '…' => {
                if last == ':' || stack.last() != Some(&'{') {
                    out.push_str("\"…\"");
                } else {
                    out.push_str("\"…\":null");
                }
                last = '"';
            }
            c if c.is_whitespace() => out.push(c),
            other => {
                out.push(other);
                last = other;
            }
        }
    }
    serde_json::from_str(&out).map_err(|e| format!("the shown JSON does not parse: {e}"))
}

/// Compares a shown JSON value with the answer's candidates at the same place.
fn compare(path: &str, shown: &Value, actual: &[&Value], out: &mut Vec<String>) {
    match shown {
        Value::Object(m) => {
            let objs: Vec<&serde_json::Map<String, Value>> =
                actual.iter().filter_map(|v| v.as_object()).collect();
            if objs.is_empty() {
                if !actual.is_empty() && actual.iter().all(|v| !v.is_null()) {
                    out.push(format!("{path}: shown an object, answered {}", actual[0]));
                }
                return;
            }
            let partial = m.contains_key("…");
            for (k, v) in m {
                if k == "…" {
                    continue;
                }
                let under: Vec<&Value> = objs.iter().filter_map(|o| o.get(k)).collect();
                if under.is_empty() {
                    out.push(format!("{path}.{k}: shown, not in the answer"));
                    continue;
                }
                compare(&format!("{path}.{k}"), v, &under, out);
            }
            if !partial {
                let always: BTreeSet<&String> = objs[0]
                    .keys()
                    .filter(|k| objs.iter().all(|o| o.contains_key(*k)))
                    .collect();
                for k in always {
                    if !m.contains_key(k) {
                        out.push(format!("{path}.{k}: in the answer, not shown"));
                    }
                }
            }
        }
        Value::Array(a) => {
            let elems: Vec<&Value> = actual
                .iter()
                .filter_map(|v| v.as_array())
                .flatten()
                .collect();
            for (i, s) in a.iter().enumerate() {
                if s == "…" || elems.is_empty() {
                    continue;
                }
                compare(&format!("{path}[{i}]"), s, &elems, out);
            }
        }
        _ => {}
    }
}

fn header_line(text: &str) -> String {
    text.trim_start_matches('\u{feff}')
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn every_example_of_the_api_guide_answers_with_the_fields_and_columns_it_shows() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .expect("docs/api.md");
    let s = TestServer::start();
    s.load_fixture_year();
    let base = s.url("");
    let base = base.trim_end_matches('/').to_string();
    let vars = |name: &str| -> Option<String> {
        match name {
            "B" => Some(base.clone()),
            "ZHIBIAO_ADMIN_TOKEN"
            | "TJJ"
            | "TOKEN"
            | "ADMIN"
            | "ZHIBIAO_TOKEN"
            | "READER_TOKEN"
            | "KGJ" => Some(ADMIN_TOKEN.to_string()),
            _ => None,
        }
    };
    let mut ran = 0;
    let mut skipped: Vec<String> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for ex in examples(&doc) {
        let at = format!("docs/api.md:{}", ex.line);
        for d in &ex.before {
            let mut parts = d.splitn(3, ' ');
            let (m, path, body) = (parts.next().unwrap(), parts.next().unwrap(), parts.next());
            // MERGE: the definition as GET answers it, these fields changed, PUT back
            // (the `jq` edit the page shows).
            let (m, body) = if m == "MERGE" {
                let mut cur: Value = s.client.get(s.url(path)).send().unwrap().json().unwrap();
                let change: Value = serde_json::from_str(body.unwrap()).unwrap();
                for (k, v) in change.as_object().unwrap() {
                    cur[k] = v.clone();
                }
                ("PUT", Some(cur.to_string()))
            } else {
                (m, body.map(str::to_string))
            };
            let mut b = s
                .client
                .request(m.parse().unwrap(), s.url(path))
                .bearer_auth(ADMIN_TOKEN);
            if let Some(body) = body {
                b = b.header("content-type", "application/json").body(body);
            }
            let r = b.send().unwrap();
            assert!(r.status().is_success(), "{at}: {d}: {}", r.text().unwrap());
        }
        let req = match words(&ex.command, &vars).and_then(|w| request(&w)) {
            Ok(r) => r,
            Err(why) => {
                skipped.push(format!("{at}: {why}"));
                continue;
            }
        };
        let csv = ex.lang == "text"
            && (req.url.contains("format=csv")
                || req.output.as_deref().is_some_and(|o| o.ends_with(".csv"))
                || req
                    .headers
                    .iter()
                    .any(|(k, v)| k.eq_ignore_ascii_case("accept") && v.contains("csv")));
        if ex.lang == "text" && !csv && !req.include {
            skipped.push(format!(
                "{at}: a text answer that is neither CSV nor headers"
            ));
            continue;
        }
        let method = req.method.clone().unwrap_or_else(|| {
            if req.body.is_some() {
                "POST".into()
            } else {
                "GET".into()
            }
        });
        let mut url = reqwest::Url::parse(&req.url).expect("a URL");
        if req.get || req.body.is_none() {
            for (k, v) in &req.get_data {
                url.query_pairs_mut().append_pair(k, v);
            }
        }
        let mut b = s.client.request(method.parse().unwrap(), url.clone());
        let mut authorised = false;
        for (k, v) in &req.headers {
            if k.eq_ignore_ascii_case("authorization") {
                authorised = true;
            }
            // The tag of the document's run means nothing here: this store's own tag
            // for the same URL stands in for it.
            if k.eq_ignore_ascii_case("if-none-match") {
                let tag = s.client.get(url.clone()).send().unwrap().headers()["etag"]
                    .to_str()
                    .unwrap()
                    .to_string();
                b = b.header(k.as_str(), tag);
                continue;
            }
            b = b.header(k.as_str(), v.as_str());
        }
        if !authorised && method != "GET" {
            b = b.bearer_auth(ADMIN_TOKEN);
        }
        if let Some(body) = &req.body {
            b = b.body(body.clone());
        }
        let resp = b.send().expect("the request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        ran += 1;
        let mut diffs = Vec::new();
        if req.include {
            let shown_status = ex
                .shown
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|c| c.parse::<u16>().ok());
            if shown_status != Some(status) {
                diffs.push(format!("status {status}, shown {shown_status:?}"));
            }
        } else if csv {
            let (want, got) = (header_line(&ex.shown), header_line(&text));
            if want != got {
                diffs.push(format!(
                    "columns differ:\n  shown:    {want}\n  answered: {got}"
                ));
            }
        } else {
            match (
                lenient_json(&ex.shown),
                serde_json::from_str::<Value>(&text),
            ) {
                (Err(e), _) => diffs.push(e),
                (_, Err(_)) => diffs.push(format!("answered {status}, not JSON: {text:.200}")),
                (Ok(shown), Ok(actual)) => {
                    let shown_problem = shown.get("type").is_some_and(|t| {
                        t.as_str()
                            .is_some_and(|t| t.starts_with("urn:zhibiao:problem"))
                    });
                    if shown_problem != (status >= 400) {
                        diffs.push(format!("answered {status}: {text:.300}"));
                    } else {
                        compare("$", &shown, &[&actual], &mut diffs);
                    }
                }
            }
        }
        if !diffs.is_empty() {
            failures.push(format!(
                "{at}: {method} {}\n    {}",
                url.as_str().trim_start_matches(&base),
                diffs.join("\n    ")
            ));
        }
    }
    eprintln!(
        "docs/api.md: {ran} examples run; {} skipped:",
        skipped.len()
    );
    for sk in &skipped {
        eprintln!("  {sk}");
    }
    assert!(
        failures.is_empty(),
        "{} examples differ from their answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(ran >= 20, "only {ran} examples ran: {skipped:?}");
}

#[test]
fn the_shown_json_reader_marks_what_is_left_out() {
    let v = lenient_json(r#"{"a":1,"rows":[{"x":1,…},…],"b":…}"#).unwrap();
    assert_eq!(v["rows"][0]["…"], Value::Null);
    assert!(v["rows"][0].as_object().unwrap().contains_key("…"));
    assert_eq!(v["rows"][1], "…");
    assert_eq!(v["b"], "…");
    let mut d = Vec::new();
    let actual = serde_json::json!({"a": 2, "rows": [{"x": 1, "y": 2}], "b": [], "c": 0});
    compare("$", &v, &[&actual], &mut d);
    assert_eq!(d, ["$.c: in the answer, not shown"]);
    let mut d = Vec::new();
    let shown = serde_json::json!({"a": 1, "z": 2, "rows": [], "b": 0, "c": 0});
    compare("$", &shown, &[&actual], &mut d);
    assert_eq!(d, ["$.z: shown, not in the answer"]);
    let w = words(
        "curl -s -G $B/v1/x --data-urlencode 'a=1 2' -H \"Authorization: Bearer $T\"  # note",
        &|n| Some(format!("<{n}>")),
    )
    .unwrap();
    assert_eq!(
        w,
        [
            "curl",
            "-s",
            "-G",
            "<B>/v1/x",
            "--data-urlencode",
            "a=1 2",
            "-H",
            "Authorization: Bearer <T>"
        ]
    );
}
