//! The CLI's `attainment` and `GET /v1/attainment` answer the same question through the
//! same query (`Queries::attainment_list`): on the fixture store, at the default
//! `as_of` and at an earlier one, every row agrees, field by field.
//!
//! The server runs in this process (`cli::serve::start`), with a fixed clock; the CLI
//! runs as the real binary on the same store once the server has stopped.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use zhibiao::cli::serve::{start, ServeConfig};
use zhibiao::clock::Clock;

const ADMIN: &str = "agree-test-admin-token-0123456789";
const READINGS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/readings-2023.csv"
));

/// The server's answer for each `as_of` (None: the default), after loading the
/// fixture readings.
async fn api_answers(db: &Path, as_ofs: &[Option<&str>]) -> Vec<Value> {
    let mut cfg = ServeConfig::from_args(
        [
            "--db",
            db.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
            "--publish",
            "immediate",
        ],
        Some(ADMIN),
    )
    .expect("serve flags");
    cfg.clock = Clock::fixed(
        "2024-03-15T02:00:00Z".parse().unwrap(),
        zhibiao::clock::DEFAULT_TZ,
    );
    let server = start(cfg).await.expect("start the server");
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{}/v1/readings", server.url()))
        .bearer_auth(ADMIN)
        .header("content-type", "text/csv")
        .body(READINGS)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "loading the fixture: {}",
        res.text().await.unwrap()
    );
    let mut out = Vec::new();
    for as_of in as_ofs {
        let url = match as_of {
            Some(p) => format!("{}/v1/attainment?as_of={p}", server.url()),
            None => format!("{}/v1/attainment", server.url()),
        };
        let res = client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        out.push(res.json::<Value>().await.unwrap());
    }
    server.stop().await.expect("stop");
    out
}

fn cli_answer(db: &Path, as_of: Option<&str>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhibiao"));
    cmd.args(["attainment", "--json", "--db", db.to_str().unwrap()]);
    if let Some(p) = as_of {
        cmd.args(["--as-of", p]);
    }
    let out = cmd.output().expect("run zhibiao attainment");
    assert!(
        out.status.success(),
        "zhibiao attainment: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the CLI prints JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_attainment_table_and_the_api_agree_on_every_row() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let as_ofs = [None, Some("2023-06")];
    let api = api_answers(&db, &as_ofs).await;
    for (as_of, api) in as_ofs.iter().zip(api) {
        let cli = tokio::task::spawn_blocking({
            let db = db.clone();
            let as_of = as_of.map(str::to_string);
            move || cli_answer(&db, as_of.as_deref())
        })
        .await
        .unwrap();
        assert_eq!(cli["as_of"], api["as_of"], "as_of {as_of:?}");
        let (c, a) = (
            cli["attainment"].as_array().unwrap(),
            api["attainment"].as_array().unwrap(),
        );
        assert!(a.len() > 100, "the whole catalogue: {}", a.len());
        assert_eq!(c.len(), a.len(), "row count at as_of {as_of:?}");
        // Rows with figures are what could differ; make sure the fixture has them.
        assert!(
            a.iter().filter(|r| !r["actual"].is_null()).count() > 50,
            "the fixture readings were loaded"
        );
        for (c, a) in c.iter().zip(a) {
            assert_eq!(c, a, "row {} at as_of {as_of:?}", a["indicator"]);
        }
    }
}
